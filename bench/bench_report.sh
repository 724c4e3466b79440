#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTML report at scale: a prompt in 4 versions over 10,000 cases, evaluated against the
# zero-latency loopback model server (promptops-llm-server), then `git promptops report` timed as a
# whole process. Prints the wall time, the CPU time, the peak RSS and the page's size; targets: the
# page under 20 MB, written in under 2 s.
#
# usage: bench/bench_report.sh [BUILD_DIR] [--runs N] [--cases N]
#   BUILD_DIR   a tree with git-promptops, promptops-llm-server and peak_rss built (default: build)
#   --runs N    timed runs of `report` (default 5); the median is reported
#   --cases N   cases per version (default 10000)
#   PROMPTOPS_BENCH_REPORT_DIR  where the repository is generated (default
#               /tmp/promptops-bench-report; removed and recreated on every run)
# Exits 1 when the evaluation or a report fails; a missed target is reported as MISS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
runs=5
cases=10000
usage="usage: bench_report.sh [BUILD_DIR] [--runs N] [--cases N]"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?$usage}; shift 2 ;;
    --cases) cases=${2:?$usage}; shift 2 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "bench_report.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
    *) build=$1; shift ;;
  esac
done

build=$(cd "$build" && pwd)
for file in git-promptops libgit-promptops-core.so promptops-llm-server peak_rss; do
  if [ ! -f "$build/bin/$file" ]; then
    echo "bench_report.sh: $build/bin/$file is missing; build it first:" >&2
    echo "  cmake --build build -j2 --target git-promptops promptops-llm-server peak_rss" >&2
    exit 2
  fi
done
data=${PROMPTOPS_BENCH_REPORT_DIR:-/tmp/promptops-bench-report}
case $data in
  /tmp/?* | /var/tmp/?*) ;;
  *) echo "bench_report.sh: PROMPTOPS_BENCH_REPORT_DIR must be under /tmp or /var/tmp (it is removed first)" >&2; exit 2 ;;
esac
rm -rf "$data"
mkdir -p "$data/repo"
tool=$build/bin/git-promptops

# The server echoes each question at once; it stops when its stdin (fd 3) closes.
mkfifo "$data/server.stdin"
"$build/bin/promptops-llm-server" --latency-ms 0 --port 0 <"$data/server.stdin" >"$data/server.out" 2>"$data/server.err" &
server_pid=$!
exec 3>"$data/server.stdin"
trap 'exec 3>&-; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 500); do
  [ -s "$data/server.out" ] && break
  sleep 0.01
done
server_url=$(head -n 1 "$data/server.out")
[ -n "$server_url" ] || { echo "bench_report.sh: the server did not start" >&2; cat "$data/server.err" >&2; exit 1; }

# The repository: prompts/bench.toml in 4 versions; each case passes unless its number is a
# multiple of the version's divisor, so the columns differ and cases flip.
cd "$data/repo"
git init -q -b main
git config user.name bench
git config user.email bench@example.com
mkdir -p prompts evals
cat >.promptops.toml <<TOML
prompts = ["prompts"]
[providers.bench]
kind = "openai"
base_url = "$server_url"
max_concurrency = 64
[defaults.model]
provider = "bench"
name = "bench-model"
TOML
awk -v n="$cases" 'BEGIN {
    for (i = 1; i <= n; i++) {
      printf "{\"id\": \"c%d\", \"vars\": {\"q\": \"case %d: the quick brown fox jumps over the lazy dog\"}}\n", i, i
    }
  }' >evals/bench.jsonl
for version in 1 2 3 4; do
  divisor=$((version + 6))
  cat >prompts/bench.toml <<TOML
template = "v$version {{q}}"
[vars]
q = { required = true }
[eval]
dataset = "evals/bench.jsonl"
assert = [{ type = "not-regex", value = "case [0-9]*[$((divisor % 10))]: " }]
TOML
  git add -A
  git commit -q -m "bench: version $version"
done
first=$(git rev-list --max-parents=0 HEAD)
start=$(date +%s.%N)
"$tool" eval >/dev/null 2>"$data/eval.err" "$first" || { cat "$data/eval.err" >&2; exit 1; }
"$tool" eval >/dev/null 2>>"$data/eval.err" "$first..HEAD" || { cat "$data/eval.err" >&2; exit 1; }
eval_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

echo "git-promptops report benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "$cases cases x 4 versions, evaluated in $eval_s s ($((cases * 4)) model calls); report of the 4, $runs runs"
: >"$data/wall"
: >"$data/cpu"
: >"$data/rss"
for ((run = 1; run <= runs; run++)); do
  rm -f "$data/report.html"
  "$build/bin/peak_rss" "$tool" report -o "$data/report.html" 2>"$data/report.err" ||
    { cat "$data/report.err" >&2; exit 1; }
  read -r wall_s cpu_s rss_kb <<<"$(awk '/^peak_rss: / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { print v["wall_s"], v["user_s"] + v["sys_s"], v["max_rss_kb"] }' "$data/report.err")"
  echo "$wall_s" >>"$data/wall"
  echo "$cpu_s" >>"$data/cpu"
  echo "$rss_kb" >>"$data/rss"
  printf '   run %d  wall %6.3f s  cpu %6.3f s\n' "$run" "$wall_s" "$cpu_s"
done
median() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
wall=$(median <"$data/wall")
cpu=$(median <"$data/cpu")
rss_kb=$(median <"$data/rss")
bytes=$(stat -c %s "$data/report.html")
rows=$(grep -c '<tr class="case"' "$data/report.html")
[ "$rows" = "$cases" ] || { echo "bench_report.sh: the page has $rows cases, expected $cases" >&2; exit 1; }
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
printf '   median wall s      %6.3f   target < 2     %s\n' "$wall" "$(awk -v w="$wall" 'BEGIN { print (w < 2) ? "PASS" : "MISS" }')"
printf '   median cpu s       %6.3f\n' "$cpu"
printf '   peak RSS           %6.1f MiB\n' "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')"
printf '   page               %6s MB  target < 20    %s\n' "$mb" "$(awk -v b="$bytes" 'BEGIN { print (b < 20e6) ? "PASS" : "MISS" }')"
