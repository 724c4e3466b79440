#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in build-fuzz/) and runs each for
# SECONDS, two at a time; prints the executions per target and fails when any target finds a crash,
# a leak, a timeout or an out-of-memory (the input is kept under build-fuzz/crashes/TARGET/).
#
#   scripts/fuzz.sh                  # 12 s per target: the bounded pass scripts/test.sh runs
#   scripts/fuzz.sh 600              # ten minutes per target
#   scripts/fuzz.sh 3600 fuzz_notes  # one target for an hour
#
# New inputs the fuzzer finds go to build-fuzz/corpus/TARGET/ (seeded from tests/fuzz/corpus/), so
# a later run goes on from there. Environment: FUZZ_JOBS (targets at once, default 2),
# FUZZ_MAX_LEN (bytes per input, default per target below), FUZZ_CXX (default clang++).
set -eu
cd "$(dirname "$0")/.."

seconds=${1:-12}
[ $# -gt 0 ] && shift
targets=${*:-"fuzz_config fuzz_prompt_toml fuzz_prompt_text fuzz_template fuzz_dataset_jsonl fuzz_dataset_csv fuzz_reference fuzz_notes fuzz_project"}
jobs=${FUZZ_JOBS:-2}
build=build-fuzz

# Inputs longer than a real prompt, config or dataset row add time, not coverage.
max_len_of() {
  if [ -n "${FUZZ_MAX_LEN:-}" ]; then
    echo "$FUZZ_MAX_LEN"
    return
  fi
  case $1 in
    fuzz_reference) echo 256 ;;
    *) echo 4096 ;;
  esac
}

started=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER="${FUZZ_CXX:-clang++}" \
  -DPROMPTOPS_FUZZ=ON -DPROMPTOPS_BUILD_TESTS=OFF >/dev/null
# shellcheck disable=SC2086  # one word per target
cmake --build "$build" -j2 --target $targets
built=$(date +%s)
echo "fuzz: built in $((built - started)) s"

run_target() {
  target=$1
  corpus=$build/corpus/$target
  crashes=$build/crashes/$target
  mkdir -p "$corpus" "$crashes"
  seeds=tests/fuzz/corpus/$target
  regressions=tests/fuzz/regressions/$target
  [ -d "$regressions" ] || regressions=
  # The first directory receives new inputs; the seeds and regressions are only read.
  # shellcheck disable=SC2086  # $regressions is empty or one path
  if "$build/fuzz/$target" -max_total_time="$seconds" -max_len="$(max_len_of "$target")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
    "$corpus" "$seeds" $regressions >"$build/$target.log" 2>&1; then
    echo ok >"$build/$target.status"
  else
    echo FAILED >"$build/$target.status"
  fi
}

running=0
for target in $targets; do
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait
    running=0
  fi
done
wait

failed=0
printf '%-20s %12s %8s  %s\n' target executions corpus result
for target in $targets; do
  log=$build/$target.log
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "$build/corpus/$target" -type f | wc -l)
  status=$(cat "$build/$target.status")
  printf '%-20s %12s %8s  %s\n' "$target" "${executions:-?}" "$corpus" "$status"
  if [ "$status" != ok ]; then
    failed=$((failed + 1))
    # The report: the sanitizer's or libFuzzer's summary, the stack top and the saved input.
    grep -E -A 12 '^==[0-9]+==ERROR|runtime error|deadly signal|Test unit written|terminate called' "$log" | head -n 40 >&2
  fi
done
echo "fuzz: $failed of $(echo "$targets" | wc -w) targets failed; $(( $(date +%s) - started )) s in all"
[ "$failed" -eq 0 ]
