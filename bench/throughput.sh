#!/usr/bin/env bash
# bench/throughput.sh -- stance label throughput against fastText's C++ CLI and
# scikit-learn, in one run, on the 1,000,000-line corpus of the peer scripts.
#
# Usage (from anywhere inside the repository):
#   bash bench/throughput.sh > bench/RESULTS.md
#
# Environment:
#   STANCE_PEER_BENCH  folder of the peer scripts (default: ../shared/bench, next to the repository)
#   BENCH_VENV         their virtualenv (default: /tmp/benchvenv; made by setup.sh when missing)
#   LINES              corpus lines (default 1000000)
#   REPEATS            rounds per measurement (default 3)
#
# Prints a Markdown report on stdout (machine, command, table of sentences/s,
# MB/s, peak RSS and ratios); progress on stderr. Nothing is written into the
# repository except target/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
peer="${STANCE_PEER_BENCH:-../shared/bench}"
venv="${BENCH_VENV:-/tmp/benchvenv}"
lines="${LINES:-1000000}"
repeats="${REPEATS:-3}"
[[ -f "$peer/compare_throughput.py" ]] || {
  echo "throughput.sh: no peer scripts in $peer; set STANCE_PEER_BENCH" >&2
  exit 1
}
log() { echo "[throughput] $*" >&2; }

if [[ ! -x "$venv/bin/fasttext" ]]; then
  log "setting up the peer virtualenv in $venv"
  BENCH_VENV="$venv" bash "$peer/setup.sh" >&2
fi
py="$venv/bin/python"

log "building stance (release)"
cargo build --release --quiet
stance="$repo/target/release/stance"

work="$(mktemp -d "${TMPDIR:-/tmp}/stance-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
corpus="$work/corpus.txt"
train="$work/train.jsonl"
log "corpus: $lines lines"
python3 "$peer/make_corpus.py" "$corpus" -n "$lines" >&2
# The training data of the shipped model: every labels file under seeds/.
find seeds -name '*.jsonl' | sort | xargs cat > "$train"

cores="$(nproc)"
log "stance, 1 thread, against fastText CLI (pinned to one core)"
"$py" "$peer/compare_throughput.py" --train "$train" --corpus "$corpus" --repeats "$repeats" \
  --cmd "$stance label --format tsv --threads 1" > "$work/one.json" 2> "$work/one.txt"
log "stance, all $cores threads, against fastText CLI (not pinned)"
"$py" "$peer/compare_throughput.py" --train "$train" --corpus "$corpus" --repeats "$repeats" --no-pin \
  --cmd "$stance label --format tsv" > "$work/all.json" 2> "$work/all.txt"
log "stance, 1 thread, --format jsonl"
"$py" "$peer/compare_throughput.py" --train "$train" --corpus "$corpus" --repeats "$repeats" \
  --cmd "$stance label --format jsonl --threads 1" > "$work/jsonl.json" 2> "$work/jsonl.txt"
log "scikit-learn TF-IDF + LogisticRegression (pinned to one core)"
"$py" "$peer/baselines.py" throughput --train "$train" --corpus "$corpus" \
  --models tfidf_logreg --repeats 1 > "$work/sklearn.json" 2> "$work/sklearn.txt"

log "start-up: embedded model, one sentence, 20 runs"
start="$(python3 - "$stance" <<'PY'
import subprocess, sys, time
runs = []
for _ in range(20):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "label", "The talks ended on Monday."],
                   stdout=subprocess.DEVNULL, check=True, cwd="/")
    runs.append(time.perf_counter() - t)
runs.sort()
print(f"{runs[len(runs) // 2] * 1000:.1f}")
PY
)"

log "two cores at once: one single-thread stance per core, against one alone"
ceiling="$(python3 - "$stance" "$corpus" "$cores" "$repeats" <<'PY'
import subprocess, sys, time
stance, corpus, cores, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def run(n):
    """Wall time of n single-thread labelers, one pinned per core, each on the whole corpus."""
    t = time.perf_counter()
    procs = []
    for core in range(n):
        with open(corpus, "rb") as stdin:
            procs.append(subprocess.Popen(
                ["taskset", "-c", str(core), stance, "label", "--format", "tsv", "--threads", "1"],
                stdin=stdin, stdout=subprocess.DEVNULL))
    for p in procs:
        if p.wait() != 0:
            sys.exit("stance failed")
    return time.perf_counter() - t
one, many = [], []
for _ in range(max(int(repeats), 1)):  # alternated, so drift hits both alike
    one.append(run(1))
    many.append(run(cores))
# n processes label n corpora in min(many); one labels one in min(one).
print(f"{cores * min(one) / min(many):.2f}")
PY
)"

python3 - "$work" "$cores" "$repeats" "$start" "$ceiling" <<'PY'
import json, os, platform, sys
work, cores, repeats, start_ms, ceiling = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
def last_json(name):
    with open(os.path.join(work, name)) as fh:
        rows = [json.loads(l) for l in fh if l.strip().startswith("{")]
    return rows
one, = last_json("one.json"); allt, = last_json("all.json"); jl, = last_json("jsonl.json")
sk = [r for r in last_json("sklearn.json") if r.get("model") == "tfidf_logreg" and "sentences_per_s" in r]
cpu = "unknown"
with open("/proc/cpuinfo") as fh:
    for line in fh:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
mem_kb = 0
with open("/proc/meminfo") as fh:
    for line in fh:
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
mb = one["corpus_bytes"] / 1e6
def row(name, sps, rss, ratio_ft, ratio_sk):
    return f"| {name} | {sps:,} | {sps * mb / one['corpus_lines']:.1f} | {rss:.1f} | {ratio_ft} | {ratio_sk} |"
sk_sps = sk[0]["sentences_per_s"] if sk else None
def vs_sk(sps):
    return f"{sps / sk_sps:.1f}×" if sk_sps else "n/a"
print("# stance label throughput\n")
print(f"Machine: {cores} cores, {cpu}, {mem_kb / 2**20:.1f} GiB memory, {platform.system()} {platform.release()}.")
print(f"Corpus: {one['corpus_lines']:,} lines, {mb:.1f} MB (make_corpus.py, seed 12345). "
      f"Best of {repeats} rounds; ratios to fastText are medians of per-round ratios, "
      "measured alternately in the same run.\n")
print("Command: `bash bench/throughput.sh > bench/RESULTS.md`\n")
print("| program | sentences/s | MB/s | peak RSS MB | vs fastText CLI | vs sklearn |")
print("|---|---:|---:|---:|---:|---:|")
print(row("stance label --format tsv --threads 1 (one pinned core)", one["cmd_sentences_per_s"], one["cmd_peak_rss_mb"],
          f"{one['ratio_cmd_over_fasttext_median']:.2f}×", vs_sk(one["cmd_sentences_per_s"])))
print(row(f"stance label --format tsv (all {cores} threads)", allt["cmd_sentences_per_s"], allt["cmd_peak_rss_mb"],
          f"{allt['ratio_cmd_over_fasttext_median']:.2f}×", vs_sk(allt["cmd_sentences_per_s"])))
print(row("stance label --format jsonl --threads 1 (one pinned core)", jl["cmd_sentences_per_s"], jl["cmd_peak_rss_mb"],
          f"{jl['ratio_cmd_over_fasttext_median']:.2f}×", vs_sk(jl["cmd_sentences_per_s"])))
print(row("fastText C++ CLI predict (one pinned core)", one["fasttext_sentences_per_s"], one["fasttext_peak_rss_mb"], "1.00×",
          vs_sk(one["fasttext_sentences_per_s"])))
if sk:
    print(row("scikit-learn TF-IDF + LogisticRegression (one pinned core)", sk_sps, sk[0]["peak_rss_mb"],
              f"{sk_sps / one['fasttext_sentences_per_s']:.2f}×", "1.0×"))
scale = allt["ratio_cmd_over_fasttext_median"] / one["ratio_cmd_over_fasttext_median"]
print(f"\nScaling, all {cores} threads over one thread: {scale:.2f}× measured as the ratio of the two "
      "fastText-relative speeds (each alternated with fastText, so load from other processes cancels "
      f"out); raw best rounds: {allt['cmd_sentences_per_s'] / one['cmd_sentences_per_s']:.2f}×. "
      "Threads beyond one can only use cores that other processes leave idle.")
print(f"\nTwo cores at once: {cores} independent single-thread `stance label` processes, one pinned "
      f"to each core and run at the same time, labeled {ceiling:.2f}× as many sentences per second "
      f"as one alone (best of {repeats} rounds, alternated with the single runs). On a virtual "
      "machine whose cores share a host, this shows how much of the extra cores the host gave "
      "during this run; it varies between runs like the scaling above.")
print("\nThe scikit-learn figure is a separate measurement in the same run (not alternated), "
      "so its ratios move with the machine's load more than the fastText ones.")
print(f"\nStart-up (embedded model, label one sentence, median of 20 runs): {start_ms} ms.")
PY
