#!/usr/bin/env bash
# bench/training.sh -- how long `stance train` takes and how much memory it
# needs, as the number of labeled sentences grows.
#
# Usage (from anywhere inside the repository):
#   bash bench/training.sh > bench/TRAINING.md
#
# Environment:
#   SIZES    labeled-sentence counts to train on beyond the shipped labels
#            (default: 5000 10000 20000)
#   REPEATS  runs per measurement, the best is kept (default 3)
#
# Sizes larger than the shipped labels are made by repeating every shipped
# label with a varied prefix and number ("Update 7: ..."), so the vocabulary
# grows with the size the way new labels make it grow. Each figure is
# `/usr/bin/time` of one `stance train --no-cv` (wall seconds, peak RSS), plus
# one run with the leave-one-article-out check that `stance train` prints by
# default. Prints Markdown on stdout; nothing is written into the repository
# except target/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
sizes="${SIZES:-5000 10000 20000}"
repeats="${REPEATS:-3}"
log() { echo "[training] $*" >&2; }
command -v /usr/bin/time > /dev/null || { echo "training.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }

log "building stance (release)"
cargo build --release --quiet
stance="$repo/target/release/stance"
work="$(mktemp -d "${TMPDIR:-/tmp}/stance-train-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

all="$work/all.jsonl"
find seeds -name '*.jsonl' | sort | xargs cat > "$all"
shipped=$(grep -c . "$all")

# best of $repeats: prints "seconds peak_MB features"
measure() {
  local best_s="" best_mb="" s mb
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$stance" train "$@" --out "$work/m.json" > "$work/out" 2>&1
    read -r s mb < "$work/time"
    if [[ -z "$best_s" ]] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; fi
    if [[ -z "$best_mb" ]] || (( mb < best_mb )); then best_mb=$mb; fi
  done
  local features  # one line per vocabulary term: `    ["term", idf, [weights]],`
  features=$(grep -c '^ *\["' "$work/m.json" || true)
  printf '%s %s %s\n' "$best_s" "$(awk "BEGIN{printf \"%.0f\", $best_mb/1024}")" "$features"
}

variants() { # $1 = target size: the shipped labels, then varied copies
  python3 - "$all" "$1" <<'PY'
import json, sys
src, n = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
out, i = [], 0
while len(out) < n:
    r = dict(rows[i % len(rows)])
    k = i // len(rows)
    if k:
        r["text"] = f"Update {k * 7 + i % 13}: {r['text']}"
        r.pop("article", None)
    out.append(r)
    i += 1
for r in out:
    print(json.dumps(r, ensure_ascii=False))
PY
}

echo "# stance train: time and memory"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory, $(uname -sr)."
echo "Command: \`bash bench/training.sh > bench/TRAINING.md\` (best of $repeats runs; default options: naive Bayes)."
echo
echo "| training sentences | run | features | wall s | peak RSS MB |"
echo "|---:|---|---:|---:|---:|"
seed_labels=$(grep -c . seeds/labels.jsonl)
log "hand labels of the seed articles ($seed_labels sentences), with the cross-validation"
read -r s mb f < <(measure --labels seeds/labels.jsonl)
echo "| $seed_labels (hand labels of the five seed articles) | \`stance train --labels seeds/labels.jsonl\` (with the check) | $f | $s | $mb |"
log "shipped labels ($shipped sentences), with the cross-validation"
read -r s mb f < <(measure)
echo "| $shipped (shipped labels) | \`stance train\` (with the leave-one-article-out check: 5 folds and the final fit side by side) | $f | $s | $mb |"
log "shipped labels, --no-cv"
read -r s mb f < <(measure --no-cv)
echo "| $shipped (shipped labels) | \`stance train --no-cv\` | $f | $s | $mb |"
for n in $sizes; do
  variants "$n" > "$work/n$n.jsonl"
  log "$n sentences, --no-cv"
  read -r s mb f < <(measure --no-cv --labels "$work/n$n.jsonl")
  echo "| $n (shipped labels + varied copies) | \`stance train --no-cv\` | $f | $s | $mb |"
done
