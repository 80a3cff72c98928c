#!/usr/bin/env bash
# scikit-learn (and fastText) baselines on exactly the folds `stance eval` uses.
#
# Usage, from the repository root:
#   bash eval/sklearn_folds.sh            # writes eval/sklearn.jsonl
#
# For each held-out seed article, `stance eval --write-folds` writes the
# training file (every other seed sentence, plus the authored sentences, or
# not) and the test file (that article's labeled sentences); the peer script
# `baselines.py accuracy` then trains and tests on them. Each JSON line it
# prints is tagged `authored=yes|no article=NAME`; `stance eval --report`
# reads eval/sklearn.jsonl and puts the figures beside stance's own.
#
# Environment:
#   BASELINES     the peer script (default ../shared/bench/baselines.py)
#   BENCH_PYTHON  Python with scikit-learn (default /tmp/benchvenv/bin/python,
#                 made by the peer scripts' setup.sh)
#   STANCE        how to run stance (default: cargo run --release --quiet --)
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINES="${BASELINES:-../shared/bench/baselines.py}"
PY="${BENCH_PYTHON:-/tmp/benchvenv/bin/python}"
read -r -a STANCE_CMD <<< "${STANCE:-cargo run --release --quiet --}"
OUT=eval/sklearn.jsonl

[[ -f "$BASELINES" ]] || { echo "sklearn_folds.sh: $BASELINES not found; set BASELINES=path/to/baselines.py" >&2; exit 1; }
[[ -x "$PY" ]] || { echo "sklearn_folds.sh: $PY not found; run the peer scripts' setup.sh or set BENCH_PYTHON" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/out.jsonl"
for authored in yes no; do
  flags=()
  [[ $authored == no ]] && flags=(--no-authored)
  "${STANCE_CMD[@]}" eval --write-folds "$tmp/$authored" "${flags[@]}" > "$tmp/$authored.folds"
  while IFS=$'\t' read -r fold articles n_train n_test; do
    echo "sklearn_folds.sh: authored=$authored fold $fold ($articles): $n_train train, $n_test test" >&2
    "$PY" "$BASELINES" accuracy \
      --train "$tmp/$authored/fold-$fold-train.jsonl" \
      --test "$tmp/$authored/fold-$fold-test.jsonl" \
      --ft-autotune-seconds 0 --seed 0 \
      --tag "authored=$authored article=$articles" >> "$tmp/out.jsonl" 2> "$tmp/stderr.log" \
      || { cat "$tmp/stderr.log" >&2; exit 1; }
  done < "$tmp/$authored.folds"
done
mv "$tmp/out.jsonl" "$OUT"
echo "sklearn_folds.sh: wrote $OUT" >&2
