#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Times the commit hooks on a repository with 1,000 prompts and prints medians with their ratios
# to the targets:
#   1. the no-op pre-commit hook (`git promptops hook pre-commit`, only README.md staged): < 10 ms,
#      with `git --version` and `git diff --cached --quiet` as references; the launcher answers it
#      alone from the record the core left (src/launcher/noop_hook.cpp). The same hook through the
#      core (GIT_PROMPTOPS_TRACE=/dev/null sends it there) is shown beside it: < 50 ms
#   2. the installed shim (`sh .git/hooks/pre-commit` after `hooks install`), the same: < 10 ms
#      plus what git and sh add
#   3. `check --staged` with one prompt changed and every result cached: < 200 ms (the cache is
#      filled once against promptops-llm-server, which is then stopped, so a model call would fail)
# See bench/README.md.
#
# usage: bench/bench_hooks.sh BUILD_DIR [--runs N]
#   BUILD_DIR  a tree with git-promptops and promptops-llm-server built (Release)
#   --runs N   timed runs of each command, interleaved in rounds (default 21)
#   PROMPTOPS_BENCH_DIR  where the repository is generated once (default /tmp/promptops-bench); the
#              script works in its own copy, hooks-many-prompts, and resets it on every run
# Exits 1 when a run fails or a cached check makes a model call; a missed target is reported as
# MISS but does not change the exit status (timings on a shared VM are noisy).
set -euo pipefail

usage="usage: bench_hooks.sh BUILD_DIR [--runs N]"
build=
runs=21
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?$usage}; shift 2 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "bench_hooks.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
    *) build=$1; shift ;;
  esac
done
[ -n "$build" ] || { echo "$usage" >&2; exit 129; }
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
bin=$build/bin
tool=$bin/git-promptops
server_bin=$bin/promptops-llm-server
for file in "$tool" "$bin/libgit-promptops-core.so" "$server_bin"; do
  if [ ! -f "$file" ]; then
    echo "bench_hooks.sh: $file is missing; build it first:" >&2
    echo "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target git-promptops promptops-llm-server" >&2
    exit 2
  fi
done
if [ -z "${EPOCHREALTIME:-}" ]; then
  echo "bench_hooks.sh: needs bash 5 (EPOCHREALTIME)" >&2
  exit 2
fi

data=${PROMPTOPS_BENCH_DIR:-/tmp/promptops-bench}
repo=$data/hooks-many-prompts
work=$data/hooks-run
mkdir -p "$data" "$work"
if [ ! -d "$repo" ]; then
  # The same shape as bench_startup.sh's many-prompts, in a directory of our own because this
  # script commits to it and installs hooks.
  python3 "$here/gen_repo.py" --out "$repo" --commits 2000 --files 500 --many-prompts >&2
fi
# The build's bin first on PATH, so that `git promptops` and the shim find this build.
export PATH=$bin:$PATH
export GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
unset GIT_PROMPTOPS_TRACE GIT_TRACE
status=0

# ---- the model server (only to fill the cache) ---------------------------------------------------

server_pid=
server_url=
# start_server: the server on an ephemeral port of 127.0.0.1, its stdin a FIFO held open on fd 3 (it
# stops at EOF). Sets server_url. With no rules it echoes the last user message.
start_server() {
  local fifo=$work/server.stdin
  rm -f "$fifo" "$work/server.out" "$work/server.err"
  mkfifo "$fifo"
  "$server_bin" --port 0 <"$fifo" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  exec 3>"$fifo"
  local tries=0
  until [ -s "$work/server.out" ] && server_url=$(head -n 1 "$work/server.out") && [ -n "$server_url" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 500 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench_hooks.sh: the server did not start" >&2
      cat "$work/server.err" >&2
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
trap stop_server EXIT

# ---- the repository ------------------------------------------------------------------------------

cases=20
prompt=prompts/team0/area0/p000.toml
# write_prompt WORDING: the benchmark prompt with an [eval] whose every case passes on the echo.
write_prompt() {
  cat >"$prompt" <<EOF
description = "the prompt bench_hooks.sh changes"
template = "$1 {{word}}"

[vars]
word = { required = true }

[eval]
dataset = "evals/p000.jsonl"
assert = [{ type = "contains", value = "{{word}}" }]
EOF
}

cd "$repo"
rm -f .git/hooks/pre-commit .git/hooks/pre-push .git/hooks/*.before-promptops
git checkout -q -f -B bench-hooks main
git clean -q -fd
git config user.name bench
git config user.email bench@example.com
start_server
# A commit with a provider at this server's URL and the prompt's [eval]: HEAD is the baseline.
cat >.promptops.toml <<EOF
prompts = ["prompts"]

[providers.bench]
kind = "openai"
base_url = "$server_url"
max_concurrency = 32

[defaults.model]
provider = "bench"
name = "bench-model"
EOF
mkdir -p evals
awk -v n="$cases" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\": \"c%d\", \"vars\": {\"word\": \"w%d\"}}\n", i, i }' \
  >evals/p000.jsonl
write_prompt "Say"
git add -A
git commit -q --no-verify -m "bench_hooks: provider and an [eval] for $prompt"

count=$(git ls-files 'prompts/*.toml' | wc -l)
echo "git-promptops hooks benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "binary: $tool ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?'))"
echo "repository: $repo ($count prompts, $(git rev-list --count HEAD) commits); $(git --version)"

# ---- measuring -----------------------------------------------------------------------------------

# run_once NAME CMD...: runs CMD with stdout and stderr in $work/NAME.{out,err}; appends the wall time in
# ms to $work/NAME.t and the exit status to $work/NAME.st.
run_once() {
  local name=$1 start end st=0
  shift
  start=$EPOCHREALTIME
  "$@" >"$work/$name.out" 2>"$work/$name.err" || st=$?
  end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }' >>"$work/$name.t"
  echo "$st" >>"$work/$name.st"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m }'; }
best() { sort -g | head -n 1 | awk '{ printf "%.1f\n", $1 }'; }

# require_status NAME ALLOWED...: every recorded exit status of NAME is one of ALLOWED.
require_status() {
  local name=$1 bad
  shift
  bad=$(grep -vxF "$(printf '%s\n' "$@")" "$work/$name.st" | sort -u | tr '\n' ' ' || true)
  if [ -n "$bad" ]; then
    echo "   !! $name: exit status $bad(expected $*); stderr of the last run:" >&2
    tail -n 5 "$work/$name.err" >&2
    status=1
  fi
}

# row LABEL NAME TARGET_MS REFERENCE_MEDIAN
row() {
  local med bst target=${3:--} ratio=- verdict= ref=-
  med=$(median <"$work/$2.t")
  bst=$(best <"$work/$2.t")
  if [ "$target" != - ]; then
    ratio=$(awk -v m="$med" -v t="$target" 'BEGIN { printf "%.2f", m / t }')
    verdict=$(awk -v m="$med" -v t="$target" 'BEGIN { print (m < t) ? "PASS" : "MISS" }')
  fi
  [ -n "${4:-}" ] && ref=$(awk -v m="$med" -v r="$4" 'BEGIN { printf "%.1fx", m / r }')
  printf '%-46s %9s %7s %9s %9s %8s %s\n' "$1" "$med" "$bst" "$target" "$ratio" "$ref" "$verdict"
}

header() {
  printf '%-46s %9s %7s %9s %9s %8s\n' "what ($runs runs)" "median ms" "best ms" "target ms" "/ target" "/ diff"
}

for name in git-version diff-cached hook-direct hook-core hook-git shim check-staged check-staged-git; do
  : >"$work/$name.t"
  : >"$work/$name.st"
done

# ---- 1. and 2. the no-op pre-commit hook, and the installed shim --------------------------------

echo "bench_hooks: an unrelated change staged" >>README.md
git add README.md
git promptops hooks install >"$work/install.out" 2>&1 || {
  echo "bench_hooks.sh: hooks install failed:" >&2
  cat "$work/install.out" >&2
  exit 1
}
[ -f .git/hooks/pre-commit ] || { echo "bench_hooks.sh: hooks install wrote no .git/hooks/pre-commit" >&2; exit 1; }
"$tool" hook pre-commit >/dev/null 2>&1 || true  # warm the page cache
for ((r = 0; r < runs; r++)); do
  run_once git-version git --version
  run_once diff-cached git diff --cached --quiet
  run_once hook-direct "$tool" hook pre-commit
  run_once hook-core env GIT_PROMPTOPS_TRACE=/dev/null "$tool" hook pre-commit
  run_once hook-git git promptops hook pre-commit
  run_once shim sh .git/hooks/pre-commit
done
require_status git-version 0
require_status diff-cached 1  # something is staged
for name in hook-direct hook-core hook-git shim; do
  require_status "$name" 0
  if [ -s "$work/$name.out" ] || [ -s "$work/$name.err" ]; then
    echo "   !! $name: the no-op hook printed something:" >&2
    cat "$work/$name.out" "$work/$name.err" | head -n 5 >&2
    status=1
  fi
done
diff_ms=$(median <"$work/diff-cached.t")

# ---- 3. check --staged, one prompt changed, every result cached ---------------------------------

git reset -q HEAD README.md
git checkout -q -- README.md
write_prompt "Please say"
git add "$prompt"
# Fill the cache: the baseline (HEAD) and the candidate (index), $cases answers each.
"$tool" check --staged --format json >"$work/fill.json" 2>"$work/fill.err" || true
fill_calls=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["real_calls"])' "$work/fill.json" 2>/dev/null || echo '?')
stop_server
# With the server gone, a model call would fail (exit 2): the cached run must exit 0 or 1 and
# report no call.
st=0
"$tool" check --staged --format json >"$work/verify.json" 2>"$work/verify.err" || st=$?
verify_calls=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["real_calls"])' "$work/verify.json" 2>/dev/null || echo '?')
if { [ "$st" != 0 ] && [ "$st" != 1 ]; } || [ "$verify_calls" != 0 ]; then
  echo "   !! check --staged with the server stopped: exit status $st, model calls $verify_calls (expected 0 or 1, and 0 calls):" >&2
  tail -n 5 "$work/verify.err" >&2
  status=1
fi
for ((r = 0; r < runs; r++)); do
  run_once check-staged "$tool" check --staged
  run_once check-staged-git git promptops check --staged
done
require_status check-staged 0 1
require_status check-staged-git 0 1

# ---- the table -----------------------------------------------------------------------------------

echo
echo "1./2. no-op pre-commit: only README.md staged; 3. check --staged: $prompt changed, $cases cases," \
  "filled with $fill_calls model calls, then the server stopped (check exit status $st, $verify_calls calls)"
header
row "git --version (reference)" git-version - "$diff_ms"
row "git diff --cached --quiet (reference)" diff-cached - "$diff_ms"
row "git-promptops hook pre-commit (no-op)" hook-direct 10 "$diff_ms"
row "the same through the core" hook-core 50 "$diff_ms"
row "git promptops hook pre-commit (no-op)" hook-git 10 "$diff_ms"
row "sh .git/hooks/pre-commit (installed shim)" shim 10 "$diff_ms"
row "git-promptops check --staged (cached)" check-staged 200 "$diff_ms"
row "git promptops check --staged (cached)" check-staged-git 200 "$diff_ms"
echo
echo "/ target: median / target (< 1 meets it); / diff: median / git diff --cached --quiet"

# Leave the repository as it was made: main checked out, no hooks.
git reset -q --hard
git checkout -q -f main
rm -f .git/hooks/pre-commit .git/hooks/pre-push
[ "$status" = 0 ] || echo "bench_hooks.sh: some runs failed (see above)" >&2
exit "$status"
