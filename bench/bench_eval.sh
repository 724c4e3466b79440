#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Times `git promptops eval` against the loopback model server (promptops-llm-server) and prints
# figures with their ratios to the targets:
#   1. throughput: 1,000 cases, max_concurrency 64, 50 ms per answer; wall / floor <= 1.15, with
#      --no-cache and with the cache on but empty (also on a free-text dataset, and http_floor, the
#      same requests with bare libcurl); and the promptfoo shape (200 cases, 32, 50 ms), speed-up
#   2. memory: 100,000 small cases at 64 in flight, 0 ms per answer; peak RSS <= 64 MB; and how
#      free-text datasets grow
#   3. cached: 10 prompt versions x 200 cases, `eval HEAD~10..HEAD` fully cached; median < 0.2 s
# See bench/README.md.
#
# usage: bench/bench_eval.sh [BUILD_DIR] [--build] [--runs N] [--mem-cases N] [--mem-latency-ms N]
#                            [--mem-cache] [--only 1|2|3] [--nice N]
#   BUILD_DIR           a tree with git-promptops, promptops-llm-server, peak_rss and http_floor built
#                       (default: build)
#   --build             configure and build those targets first (RelWithDebInfo)
#   --runs N            timed runs per measurement of parts 1 and 3 (default 5; part 3 uses 2N+1)
#   --mem-cases N       cases of part 2 (default 100000)
#   --mem-latency-ms N  server latency of part 2 (default 0)
#   --mem-cache         part 2 also runs with the cache on (one file per answer: slower)
#   --only P            run part P only
#   --nice N            run the server and git-promptops under `nice -n N` (N < 0 needs root): on a
#                       shared machine, less time waiting for a CPU behind other jobs
#   PROMPTOPS_BENCH_EVAL_DIR  where repositories are generated (default /tmp/promptops-bench-eval;
#                       removed and recreated on every run)
# Exits 1 when a run fails or makes the wrong number of model calls; a missed target is reported
# as MISS but does not change the exit status (timings on a shared VM are noisy).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
do_build=0
runs=5
mem_cases=100000
mem_latency=0
mem_cache=0
only=
nice_level=
usage="usage: bench_eval.sh [BUILD_DIR] [--build] [--runs N] [--mem-cases N] [--mem-latency-ms N] [--mem-cache] [--only 1|2|3] [--nice N]"
while [ $# -gt 0 ]; do
  case $1 in
    --build) do_build=1; shift ;;
    --runs) runs=${2:?$usage}; shift 2 ;;
    --mem-cases) mem_cases=${2:?$usage}; shift 2 ;;
    --mem-latency-ms) mem_latency=${2:?$usage}; shift 2 ;;
    --mem-cache) mem_cache=1; shift ;;
    --only) only=${2:?$usage}; shift 2 ;;
    --nice) nice_level=${2:?$usage}; shift 2 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "bench_eval.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
    *) build=$1; shift ;;
  esac
done

if [ "$do_build" = 1 ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target git-promptops promptops-llm-server peak_rss http_floor >/dev/null
fi
build=$(cd "$build" && pwd)
bins="git-promptops libgit-promptops-core.so promptops-llm-server peak_rss http_floor"
for file in $bins; do
  if [ ! -f "$build/bin/$file" ]; then
    echo "bench_eval.sh: $build/bin/$file is missing; build it first:" >&2
    echo "  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2 --target git-promptops promptops-llm-server peak_rss http_floor" >&2
    echo "  (or pass --build)" >&2
    exit 2
  fi
done

data=${PROMPTOPS_BENCH_EVAL_DIR:-/tmp/promptops-bench-eval}
case $data in
  /tmp/?* | /var/tmp/?*) ;;
  *) echo "bench_eval.sh: PROMPTOPS_BENCH_EVAL_DIR must be under /tmp or /var/tmp (it is removed first)" >&2; exit 2 ;;
esac
rm -rf "$data"
mkdir -p "$data/bin"
# A copy of the binaries (the launcher loads the core library from its own directory), so that a
# rebuild of BUILD_DIR during the run changes nothing.
for file in $bins; do
  cp "$build/bin/$file" "$data/bin/$file"
done
tool=$data/bin/git-promptops
server_bin=$data/bin/promptops-llm-server
peak=$data/bin/peak_rss
http_floor=$data/bin/http_floor
run=()  # the prefix of the server's and the measured commands
[ -n "$nice_level" ] && run=(nice -n "$nice_level")
status=0

# ---- the model server ----------------------------------------------------------------------------

server_pid=
server_url=
# start_server LATENCY_MS: starts the server on an ephemeral port; its stdin is a FIFO held open on
# fd 3, so closing fd 3 stops it. Sets server_url. The rules answer a question that names one of
# four labels with that label; other questions are echoed.
start_server() {
  stop_server
  local fifo=$data/server.stdin
  rm -f "$fifo" "$data/server.out" "$data/server.err"
  mkfifo "$fifo"
  printf '[%s]\n' '{"when": ["alpha"], "answer": "alpha"}, {"when": ["beta"], "answer": "beta"},
    {"when": ["gamma"], "answer": "gamma"}, {"when": ["delta"], "answer": "delta"}' >"$data/rules.json"
  "${run[@]}" "$server_bin" --latency-ms "$1" --rules "$data/rules.json" --port 0 <"$fifo" >"$data/server.out" 2>"$data/server.err" &
  server_pid=$!
  exec 3>"$fifo"
  local tries=0
  until [ -s "$data/server.out" ] && server_url=$(head -n 1 "$data/server.out") && [ -n "$server_url" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 500 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench_eval.sh: the server did not start" >&2
      cat "$data/server.err" >&2
      exit 1
    fi
    sleep 0.01
  done
}

# stop_server: closes the server's stdin (it stops at EOF) and waits; the summary it prints on
# stderr is kept in $data/server.summary.
stop_server() {
  [ -n "$server_pid" ] || return 0
  exec 3>&-
  local tries=0
  while kill -0 "$server_pid" 2>/dev/null && [ "$tries" -lt 500 ]; do
    sleep 0.01
    tries=$((tries + 1))
  done
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  cp "$data/server.err" "$data/server.summary" 2>/dev/null || true
  server_pid=
}
trap 'stop_server' EXIT

# ---- repositories --------------------------------------------------------------------------------

# write_prompt DIR REVISION: the prompt file; REVISION changes the system message (a new version).
write_prompt() {
  cat >"$1/prompts/bench.toml" <<EOF
description = "Benchmark prompt: the server echoes the question, which is the expected answer"

[vars]
q = { required = true }

[[messages]]
role = "system"
content = "Repeat the question. Revision $2."

[[messages]]
role = "user"
content = "{{q}}"

[eval]
dataset = "evals/bench.jsonl"
metric = "pass_rate"
assert = [{ type = "equals", value = "{{expected}}", trim = true }]
EOF
}

# make_repo DIR CASES CONCURRENCY VERSIONS [SHAPE]: a repository with a first commit and VERSIONS
# more commits that each change the prompt (so HEAD~VERSIONS..HEAD holds VERSIONS versions).
# SHAPE "labels" (default): a classifier, each case expects one of 4 labels, which the server
# answers: {"id": "c7", "vars": {"q": "case 7: delta"}, "expected": "delta"}.
# SHAPE "text": each case expects its own short text, which the server echoes:
# {"id": "c7", "vars": {"q": "case 7"}, "expected": "case 7"}. Both pass every case.
make_repo() {
  local dir=$1 cases=$2 concurrency=$3 versions=$4 shape=${5:-labels}
  rm -rf "$dir"
  mkdir -p "$dir/prompts" "$dir/evals"
  git init -q -b main "$dir"
  git -C "$dir" config user.name bench
  git -C "$dir" config user.email bench@example.com
  cat >"$dir/.promptops.toml" <<EOF
prompts = ["prompts"]

[providers.bench]
kind = "openai"
base_url = "$server_url"
max_concurrency = $concurrency

[defaults.model]
provider = "bench"
name = "bench-model"
EOF
  awk -v n="$cases" -v shape="$shape" 'BEGIN {
      split("alpha beta gamma delta", label, " ")
      for (i = 1; i <= n; i++) {
        if (shape == "text") {
          printf "{\"id\": \"c%d\", \"vars\": {\"q\": \"case %d\"}, \"expected\": \"case %d\"}\n", i, i, i
        } else {
          l = label[i % 4 + 1]
          printf "{\"id\": \"c%d\", \"vars\": {\"q\": \"case %d: %s\"}, \"expected\": \"%s\"}\n", i, i, l, l
        }
      }
    }' >"$dir/evals/bench.jsonl"
  write_prompt "$dir" 0
  git -C "$dir" add -A
  git -C "$dir" commit -q -m "revision 0"
  local v
  for ((v = 1; v <= versions; v++)); do
    write_prompt "$dir" "$v"
    git -C "$dir" commit -q -am "revision $v"
  done
}

# ---- measuring -----------------------------------------------------------------------------------

# measure OUT_PREFIX CMD...: runs CMD under peak_rss in the current directory; stdout goes to
# OUT_PREFIX.out, stderr to OUT_PREFIX.err. Prints "wall_s user_s sys_s max_rss_kb status
# run_delay_s" (run_delay: how long the main thread waited for a CPU while runnable).
measure() {
  local prefix=$1
  shift
  "${run[@]}" "$peak" "$@" >"$prefix.out" 2>"$prefix.err" || true
  awk '/^peak_rss: / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { print v["wall_s"], v["user_s"], v["sys_s"], v["max_rss_kb"], v["status"], v["run_delay_s"] }' "$prefix.err"
}

# The "N evaluations (M from the cache), K model calls, J cached answers" line of a table run.
calls_of() { sed -n 's/.* \([0-9]*\) model calls\{0,1\}, .*/\1/p' "$1" | tail -n 1; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
best() { sort -g | head -n 1; }
fmt() { awk -v x="$1" -v d="${2:-3}" 'BEGIN { if (x == "-") print "-"; else printf "%.*f\n", d, x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'; }
verdict() {  # verdict VALUE OP LIMIT
  if [ "$1" = - ]; then
    echo -
  elif awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { exit !((op == "<=" && v <= l) || (op == "<" && v < l)) }'; then
    echo PASS
  else
    echo MISS
  fi
}

# check_run NAME MEASURE_LINE ERR_FILE EXPECTED_CALLS: exit status 0 and the expected model calls
# ("-" = any).
check_run() {
  local st calls
  st=$(echo "$2" | awk '{ print $5 }')
  calls=$(calls_of "$3")
  if [ "$st" != 0 ] || { [ "$4" != - ] && [ "$calls" != "$4" ]; }; then
    echo "   !! $1: exit status $st, model calls ${calls:-?} (expected $4); stderr:" >&2
    grep -v '^peak_rss: ' "$3" | tail -n 5 >&2
    status=1
    return 1
  fi
}

echo "git-promptops eval benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "binary: $tool ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?'))"
echo "wall = whole process (fork/exec to exit, by peak_rss); cpu = user + sys of the process;" \
  "rq wait = time its main thread (the engine's) was runnable but waited for a CPU${nice_level:+; under nice -n $nice_level}"

# ---- 1. throughput -------------------------------------------------------------------------------

# summarize FILE: "median_wall best_wall median_cpu median_rss_mb median_rq_wait" of the runs in
# FILE ("-" when none).
summarize() {
  if [ ! -s "$1" ]; then
    echo "- - - - -"
    return
  fi
  echo "$(awk '{ print $1 }' "$1" | median) $(awk '{ print $1 }' "$1" | best)" \
    "$(awk '{ print $2 + $3 }' "$1" | median) $(awk '{ print $4 / 1024 }' "$1" | median)" \
    "$(awk '{ print $6 }' "$1" | median)"
}

# throughput CASES CONCURRENCY LATENCY_MS [PROMPTFOO_SECONDS] [text]: runs of one shape, --no-cache
# and with an empty cache, interleaved with http_floor (the same requests with bare libcurl); "text"
# adds the same runs on the free-text dataset.
throughput() {
  local cases=$1 concurrency=$2 latency=$3 reference=${4:-} with_text=${5:-}
  local repo=$data/throughput-c$cases-j$concurrency
  local shapes=labels
  make_repo "$repo-labels" "$cases" "$concurrency" 0 labels
  if [ "$with_text" = text ]; then
    make_repo "$repo-text" "$cases" "$concurrency" 0 text
    shapes="labels text"
  fi
  local floor
  floor=$(awk -v n="$cases" -v l="$latency" -v j="$concurrency" 'BEGIN { print n * l / 1000 / j }')
  echo
  echo "== 1. throughput: $cases cases, max_concurrency $concurrency, $latency ms per answer;" \
    "floor = $cases x $(fmt "$(awk -v l="$latency" 'BEGIN { print l / 1000 }')" 2) s / $concurrency = $(fmt "$floor") s"
  local r line shape
  for shape in $shapes; do
    : >"$data/t.$shape.nocache"
    : >"$data/t.$shape.empty"
    (cd "$repo-$shape" && "$tool" eval HEAD --no-cache >/dev/null 2>&1) || true  # warm-up
  done
  : >"$data/t.floor"
  : >"$data/t.floor.inner"
  for ((r = 0; r < runs; r++)); do
    line=$(measure "$data/run" "$http_floor" "$server_url" "$cases" "$concurrency")
    if check_run "http_floor" "$line" "$data/run.err" -; then
      echo "$line" >>"$data/t.floor"
      sed -n 's/.* wall_s=\([0-9.]*\) mean_latency_ms=\([0-9.]*\).*/\1 \2/p' "$data/run.out" >>"$data/t.floor.inner"
    fi
    for shape in $shapes; do
      cd "$repo-$shape"
      line=$(measure "$data/run" "$tool" eval HEAD --no-cache)
      check_run "--no-cache run ($shape)" "$line" "$data/run.err" "$cases" && echo "$line" >>"$data/t.$shape.nocache"
      rm -rf .git/promptops/cache
      git update-ref -d refs/notes/promptops 2>/dev/null || true  # else the result comes from notes
      line=$(measure "$data/run" "$tool" eval HEAD)
      check_run "empty-cache run ($shape)" "$line" "$data/run.err" "$cases" && echo "$line" >>"$data/t.$shape.empty"
    done
  done
  cd "$data"
  printf '   %-30s %9s %8s %8s %8s %8s %7s %12s' "mode ($runs runs)" "median s" "best s" "cpu s" "rq wait" "rss MB" ratio target
  [ -n "$reference" ] && printf ' %9s' "speed-up"
  printf '\n'
  local mode label med bst cpu rss rat rq
  for shape in $shapes; do
    for mode in nocache empty; do
      label="--no-cache"
      [ "$mode" = empty ] && label="cache on, empty"
      [ "$shape" = text ] && label="$label, free text"
      read -r med bst cpu rss rq <<<"$(summarize "$data/t.$shape.$mode")"
      if [ "$med" = - ]; then
        printf '   %-30s %9s\n' "$label" "(every run failed)"
        continue
      fi
      rat=$(ratio "$med" "$floor")
      local target="<= 1.15 $(verdict "$rat" '<=' 1.15)"
      [ -n "$reference" ] && target="(none)"  # the promptfoo shape is for the speed-up only
      printf '   %-30s %9s %8s %8s %8s %8s %7s %12s' "$label" "$(fmt "$med")" "$(fmt "$bst")" "$(fmt "$cpu")" \
        "$(fmt "$rq")" "$(fmt "$rss" 1)" "$rat" "$target"
      [ -n "$reference" ] && printf ' %8sx' "$(awk -v p="$reference" -v o="$med" 'BEGIN { printf "%.1f", p / o }')"
      printf '\n'
    done
  done
  read -r med bst cpu rss rq <<<"$(summarize "$data/t.floor")"
  if [ "$med" != - ]; then
    printf '   %-30s %9s %8s %8s %8s %8s %7s\n' "(transport only: http_floor)" "$(fmt "$med")" "$(fmt "$bst")" "$(fmt "$cpu")" \
      "$(fmt "$rq")" "$(fmt "$rss" 1)" "$(ratio "$med" "$floor")"
    echo "   http_floor: libcurl multi, same requests, no engine work; its transfers alone took" \
      "$(fmt "$(awk '{ print $1 }' "$data/t.floor.inner" | median)") s (median), mean answer latency" \
      "$(fmt "$(awk '{ print $2 }' "$data/t.floor.inner" | median)" 1) ms as curl measures it"
  fi
  if [ -n "$reference" ]; then
    echo "   promptfoo 0.123 (quoted in the issue): $reference s for this shape, $(ratio "$reference" "$floor")x the floor;" \
      "speed-up = $reference s / our median"
  fi
}

if [ -z "$only" ] || [ "$only" = 1 ]; then
  start_server 50
  throughput 1000 64 50 "" text
  throughput 200 32 50 4.8
  stop_server
  echo "   server summary: $(tail -n 1 "$data/server.summary")"
fi

# ---- 2. memory -----------------------------------------------------------------------------------

# mem_row LABEL CASES LINE: peak RSS, wall time and rate of one run.
mem_row() {
  local wall rss cpu
  read -r wall cpu rss <<<"$(echo "$3" | awk '{ print $1, $2 + $3, $4 / 1024 }')"
  printf '   %-34s %9s %12s %8s %10s %8s\n' "$1" "$(fmt "$rss" 1)" "<= 64 $(verdict "$rss" '<=' 64)" "$(fmt "$wall" 2)" \
    "$(awk -v n="$2" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')" "$(fmt "$cpu" 2)"
}

if [ -z "$only" ] || [ "$only" = 2 ]; then
  start_server "$mem_latency"
  repo=$data/memory-c$mem_cases
  make_repo "$repo" "$mem_cases" 64 0 labels
  echo
  echo "== 2. memory: $mem_cases cases ($(du -k "$repo/evals/bench.jsonl" | cut -f1) KiB of JSONL, 4 labels), max_concurrency 64," \
    "$mem_latency ms per answer; peak RSS of the git-promptops process"
  cd "$repo"
  printf '   %-34s %9s %12s %8s %10s %8s\n' mode "rss MB" target "wall s" "cases/s" "cpu s"
  line=$(measure "$data/run" "$tool" --version)
  printf '   %-34s %9s\n' "(--version: the launcher only)" "$(fmt "$(echo "$line" | awk '{ print $4 / 1024 }')" 1)"
  line=$(measure "$data/run" "$tool" eval HEAD..HEAD)
  printf '   %-34s %9s\n' "(eval HEAD..HEAD: core loaded, no-op)" "$(fmt "$(echo "$line" | awk '{ print $4 / 1024 }')" 1)"
  line=$(measure "$data/run" "$tool" eval HEAD --no-cache)
  check_run "memory --no-cache run" "$line" "$data/run.err" "$mem_cases" && mem_row "--no-cache" "$mem_cases" "$line"
  if [ "$mem_cache" = 1 ]; then
    rm -rf .git/promptops/cache
    git update-ref -d refs/notes/promptops 2>/dev/null || true
    line=$(measure "$data/run" "$tool" eval HEAD)
    check_run "memory empty-cache run" "$line" "$data/run.err" "$mem_cases" && mem_row "cache on, empty" "$mem_cases" "$line"
    line=$(measure "$data/run" "$tool" eval HEAD)
    check_run "memory cached run" "$line" "$data/run.err" 0 && mem_row "fully cached" "$mem_cases" "$line"
    rm -rf .git/promptops/cache/eval
    line=$(measure "$data/run" "$tool" eval HEAD)
    check_run "memory answers-cached run" "$line" "$data/run.err" 0 && mem_row "answers cached, evaluation not" "$mem_cases" "$line"
  fi
  # Free text: every case expects its own short string, so every case is its own label. Small
  # sizes only, under a 6 GiB address-space limit, and extrapolated.
  echo "   free-text expected values (each case its own label), --no-cache, under ulimit -v 6 GiB:"
  : >"$data/t.freetext"
  for n in 1000 2000 4000; do
    make_repo "$data/memory-text-c$n" "$n" 64 0 text
    cd "$data/memory-text-c$n"
    line=$( (ulimit -v 6291456 && measure "$data/run" "$tool" eval HEAD --no-cache) )
    if check_run "free-text run of $n cases" "$line" "$data/run.err" "$n"; then
      mem_row "  $n cases" "$n" "$line"
      echo "$n $(echo "$line" | awk '{ print $4 / 1024 }')" >>"$data/t.freetext"
      echo "     notes entry at HEAD: $(git notes --ref=promptops show HEAD 2>/dev/null | wc -c) bytes"
    fi
  done
  if [ "$(wc -l <"$data/t.freetext")" -ge 2 ]; then
    # rss = a + b n^2 through the last two points
    awk -v n="$mem_cases" '{ x[NR] = $1; y[NR] = $2 } END {
      b = (y[NR] - y[NR - 1]) / (x[NR] ^ 2 - x[NR - 1] ^ 2); a = y[NR] - b * x[NR] ^ 2
      printf "     quadratic fit rss = %.1f MB + %.3g MB x n^2: %d free-text cases would need ~%.0f MB\n", a, b, n, a + b * n * n }' \
      "$data/t.freetext"
  fi
  cd "$data"
  stop_server
fi

# ---- 3. cached eval of a range -------------------------------------------------------------------

if [ -z "$only" ] || [ "$only" = 3 ]; then
  start_server 0
  repo=$data/cached-v10-c200
  make_repo "$repo" 200 64 10
  echo
  echo "== 3. cached: 10 commits each changing the prompt x 200 cases; eval HEAD~10..HEAD once to fill the cache"
  cd "$repo"
  line=$(measure "$data/run" "$tool" eval HEAD~10..HEAD)
  check_run "filling run" "$line" "$data/run.err" 2000 || true
  echo "   filling run (2000 model calls at 0 ms, cache on): $(fmt "$(echo "$line" | awk '{ print $1 }')") s"
  n=$((2 * runs + 1))
  : >"$data/t.cached"
  : >"$data/t.answers"
  : >"$data/t.version"
  : >"$data/t.noop"
  for ((r = 0; r < n; r++)); do
    line=$(measure "$data/run" "$tool" eval HEAD~10..HEAD)
    check_run "cached run" "$line" "$data/run.err" 0 && echo "$line" >>"$data/t.cached"
    rm -rf .git/promptops/cache/eval
    line=$(measure "$data/run" "$tool" eval HEAD~10..HEAD)
    check_run "answers-cached run" "$line" "$data/run.err" 0 && echo "$line" >>"$data/t.answers"
    line=$(measure "$data/run" "$tool" --version)
    check_run "--version" "$line" "$data/run.err" - && echo "$line" >>"$data/t.version"
    line=$(measure "$data/run" "$tool" eval HEAD..HEAD)
    check_run "no-op eval" "$line" "$data/run.err" - && echo "$line" >>"$data/t.noop"
  done
  printf '   %-44s %10s %8s %8s %8s %14s\n' "command ($n runs)" "median ms" "best ms" "cpu ms" "rq wait" target
  row3() {  # row3 LABEL FILE [LIMIT_MS]
    local med bst cpu rq target=-
    med=$(awk '{ print $1 * 1000 }' "$2" | median)
    bst=$(awk '{ print $1 * 1000 }' "$2" | best)
    cpu=$(awk '{ print ($2 + $3) * 1000 }' "$2" | median)
    rq=$(awk '{ print $6 * 1000 }' "$2" | median)
    [ -n "${3:-}" ] && target="< $3 $(verdict "$med" '<' "$3")"
    printf '   %-44s %10s %8s %8s %8s %14s\n' "$1" "$(fmt "$med" 1)" "$(fmt "$bst" 1)" "$(fmt "$cpu" 1)" "$(fmt "$rq" 1)" "$target"
  }
  row3 "eval HEAD~10..HEAD, fully cached" "$data/t.cached" 200
  row3 "  same, answers cached but not evaluations" "$data/t.answers"
  row3 "--version" "$data/t.version"
  row3 "eval HEAD..HEAD (empty range: a no-op)" "$data/t.noop"
  cd "$data"
  stop_server
fi

echo
[ "$status" = 0 ] || echo "bench_eval.sh: some runs failed or made the wrong number of model calls (see above)" >&2
exit "$status"
