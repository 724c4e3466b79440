#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scoring cost: the CPU time (user + sys) of `git promptops eval --no-cache` over 10,000 cases at
# the zero-latency loopback model server (promptops-llm-server), with 20 assertions per case (the
# text graders, negations and the older deterministic types) against one `equals`. Runs are
# interleaved (one of each per round) and the medians compared; target: ratio < 1.10.
#
# usage: bench/bench_graders.sh [BUILD_DIR] [--runs N] [--cases N] [--nice N]
#   BUILD_DIR   a tree with git-promptops, promptops-llm-server and peak_rss built (default: build)
#   --runs N    rounds (default 5)
#   --cases N   cases per run (default 10000)
#   --nice N    run the server and git-promptops under `nice -n N`
#   PROMPTOPS_BENCH_GRADERS_DIR  where repositories are generated (default
#               /tmp/promptops-bench-graders; removed and recreated on every run)
# Exits 1 when a run fails or makes the wrong number of model calls; a missed target is reported
# as MISS but does not change the exit status (timings on a shared VM are noisy).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
runs=5
cases=10000
nice_level=
usage="usage: bench_graders.sh [BUILD_DIR] [--runs N] [--cases N] [--nice N]"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?$usage}; shift 2 ;;
    --cases) cases=${2:?$usage}; shift 2 ;;
    --nice) nice_level=${2:?$usage}; shift 2 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "bench_graders.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
    *) build=$1; shift ;;
  esac
done

build=$(cd "$build" && pwd)
bins="git-promptops libgit-promptops-core.so promptops-llm-server peak_rss"
for file in $bins; do
  if [ ! -f "$build/bin/$file" ]; then
    echo "bench_graders.sh: $build/bin/$file is missing; build it first:" >&2
    echo "  cmake --build build -j2 --target git-promptops promptops-llm-server peak_rss" >&2
    exit 2
  fi
done

data=${PROMPTOPS_BENCH_GRADERS_DIR:-/tmp/promptops-bench-graders}
case $data in
  /tmp/?* | /var/tmp/?*) ;;
  *) echo "bench_graders.sh: PROMPTOPS_BENCH_GRADERS_DIR must be under /tmp or /var/tmp (it is removed first)" >&2; exit 2 ;;
esac
rm -rf "$data"
mkdir -p "$data/bin"
for file in $bins; do
  cp "$build/bin/$file" "$data/bin/$file"  # a rebuild of BUILD_DIR during the run changes nothing
done
tool=$data/bin/git-promptops
peak=$data/bin/peak_rss
run=()
[ -n "$nice_level" ] && run=(nice -n "$nice_level")
status=0

# ---- the model server: echoes each question, 0 ms ------------------------------------------------

server_pid=
server_url=
start_server() {
  local fifo=$data/server.stdin
  mkfifo "$fifo"
  "${run[@]}" "$data/bin/promptops-llm-server" --latency-ms 0 --port 0 <"$fifo" >"$data/server.out" 2>"$data/server.err" &
  server_pid=$!
  exec 3>"$fifo"
  local tries=0
  until [ -s "$data/server.out" ] && server_url=$(head -n 1 "$data/server.out") && [ -n "$server_url" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 500 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench_graders.sh: the server did not start" >&2
      cat "$data/server.err" >&2
      exit 1
    fi
    sleep 0.01
  done
}
stop_server() {
  [ -n "$server_pid" ] || return 0
  exec 3>&-
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
trap 'stop_server' EXIT

# ---- repositories --------------------------------------------------------------------------------

# The 20 assertions of the "graders" repository: every case passes them all.
graders_asserts() {
  cat <<'EOF'
assert = [
  { type = "equals", value = "{{expected}}", trim = true },
  { type = "contains", value = "quick brown" },
  { type = "icontains", value = "LAZY DOG" },
  { type = "not-contains", value = "purple" },
  { type = "starts-with", value = "case " },
  { type = "regex", value = "^case \\d+: " },
  { type = "length", min = 10, max = 400 },
  { type = "contains-any", value = "fox, wolf, \"hare, grey\"" },
  { type = "contains-all", value = ["quick", "brown", "fox"] },
  { type = "icontains-any", value = ["RIVER", "SEA"] },
  { type = "icontains-all", value = ["Jumps", "Over", "Bank"] },
  { type = "ends-with", value = "bank" },
  { type = "word-count", value = { min = 5, max = 40 } },
  { type = "levenshtein", value = "{{expected}}", threshold = 5 },
  { type = "rouge-n", value = "{{expected}}" },
  { type = "bleu", value = "{{expected}}" },
  { type = "f-score", value = "{{expected}}" },
  { type = "not-regex", value = "\\bcat\\b" },
  { type = "not-contains-any", value = ["purple", "orange"] },
  { type = "not-word-count", value = { max = 3 } },
]
EOF
}

# make_repo DIR SHAPE: SHAPE "equals" (one assertion) or "graders" (the 20 above); the same
# $cases cases, each asking for its own sentence, which the server echoes.
make_repo() {
  local dir=$1 shape=$2
  mkdir -p "$dir/prompts" "$dir/evals"
  git init -q -b main "$dir"
  git -C "$dir" config user.name bench
  git -C "$dir" config user.email bench@example.com
  cat >"$dir/.promptops.toml" <<EOF
prompts = ["prompts"]

[providers.bench]
kind = "openai"
base_url = "$server_url"
max_concurrency = 64

[defaults.model]
provider = "bench"
name = "bench-model"
EOF
  {
    printf '[vars]\nq = { required = true }\n\n[[messages]]\nrole = "user"\ncontent = "{{q}}"\n\n'
    printf '[eval]\ndataset = "evals/bench.jsonl"\n'
    if [ "$shape" = equals ]; then
      echo 'assert = [{ type = "equals", value = "{{expected}}", trim = true }]'
    else
      graders_asserts
    fi
  } >"$dir/prompts/bench.toml"
  awk -v n="$cases" 'BEGIN {
      for (i = 1; i <= n; i++) {
        s = "case " i ": the quick brown fox jumps over the lazy dog near the river bank"
        printf "{\"id\": \"c%d\", \"vars\": {\"q\": \"%s\"}, \"expected\": \"%s\"}\n", i, s, s
      }
    }' >"$dir/evals/bench.jsonl"
  git -C "$dir" add -A
  git -C "$dir" commit -q -m "bench"
}

# ---- measuring -----------------------------------------------------------------------------------

# measure DIR: one `eval HEAD --no-cache` in DIR under peak_rss; prints "cpu_s status calls
# pass_rate" (the pass rate from the table's VALUE column).
measure() {
  (cd "$1" && "${run[@]}" "$peak" "$tool" eval HEAD --no-cache >"$data/run.out" 2>"$data/run.err") || true
  local cpu st calls value
  read -r cpu st <<<"$(awk '/^peak_rss: / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { print v["user_s"] + v["sys_s"], v["status"] }' "$data/run.err")"
  calls=$(sed -n 's/.* \([0-9]*\) model calls\{0,1\}, .*/\1/p' "$data/run.err" | tail -n 1)
  value=$(awk 'NR == 2 { print $5 }' "$data/run.out")
  echo "$cpu $st ${calls:-?} ${value:-?}"
}

median() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }

start_server
make_repo "$data/equals" equals
make_repo "$data/graders" graders
echo "git-promptops scoring benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "$cases cases, 0 ms per answer, --no-cache; cpu = user + sys of the git-promptops process; $runs interleaved rounds"
: >"$data/cpu.equals"
: >"$data/cpu.graders"
for ((round = 1; round <= runs; round++)); do
  for shape in equals graders; do
    read -r cpu st calls value <<<"$(measure "$data/$shape")"
    if [ "$st" != 0 ] || [ "$calls" != "$cases" ] || [ "$value" != 1.000 ]; then
      echo "   !! $shape run $round: exit status $st, model calls $calls (expected $cases), pass rate $value (expected 1.000):" >&2
      grep -v '^peak_rss: ' "$data/run.err" | tail -n 5 >&2
      status=1
      continue
    fi
    echo "$cpu" >>"$data/cpu.$shape"
    printf '   round %d %-8s cpu %6.2f s\n' "$round" "$shape" "$cpu"
  done
done
equals=$(median <"$data/cpu.equals")
graders=$(median <"$data/cpu.graders")
ratio=$(awk -v a="$graders" -v b="$equals" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r < 1.10) ? "PASS" : "MISS" }')
printf '   %-30s %8s\n' "median cpu s, 1 equals" "$equals"
printf '   %-30s %8s\n' "median cpu s, 20 assertions" "$graders"
printf '   %-30s %8s   target < 1.10 %s\n' "ratio" "$ratio" "$verdict"
exit "$status"
