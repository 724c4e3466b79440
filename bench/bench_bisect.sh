#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Times `git promptops bisect` on a 10,000-commit first-parent history where one prompt has 50
# versions and regressed at version 37, against the loopback model server, and prints medians with
# their ratios to the targets:
#   1. evaluations of a cold bisect (empty cache and notes): <= 6 (ceil(log2 50)), never more than
#      `git bisect run git promptops bisect-run` (the ends are taken as given, as git takes them)
#   2. the history walk (its "walk_seconds"): < 1 s; `git log --first-parent -- prompts/a.toml` and
#      `git-promptops log a` as references
# and, without targets, the wall time of the cold run and of a warm one (everything cached, the
# server stopped: no evaluation, no model call). See bench/README.md.
#
# usage: bench/bench_bisect.sh BUILD_DIR [--runs N]
#   BUILD_DIR  a tree with git-promptops and promptops-llm-server built (Release)
#   --runs N   cold + warm rounds (default 5)
#   PROMPTOPS_BENCH_DIR  where the repository is generated once (default /tmp/promptops-bench):
#              bisect-c10000, with the model server's port in bisect-c10000.port next to it (the
#              port is in the committed .promptops.toml, so every run starts the server on it)
# Exits 1 when a run fails (wrong exit status, not JSON, a warm run that evaluates or calls the
# model) or finds the wrong first bad commit; a missed target is reported as MISS but does not
# change the exit status (timings on a shared VM are noisy).
set -euo pipefail

usage="usage: bench_bisect.sh BUILD_DIR [--runs N]"
build=
runs=5
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=${2:?$usage}; shift 2 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) echo "bench_bisect.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
    *) build=$1; shift ;;
  esac
done
[ -n "$build" ] || { echo "$usage" >&2; exit 129; }
case $runs in
  '' | *[!0-9]* | 0) echo "bench_bisect.sh: --runs wants a positive number" >&2; exit 129 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
bins="git-promptops libgit-promptops-core.so promptops-llm-server"
for file in $bins; do
  if [ ! -f "$build/bin/$file" ]; then
    echo "bench_bisect.sh: $build/bin/$file is missing; build it first:" >&2
    echo "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2 --target git-promptops promptops-llm-server" >&2
    exit 2
  fi
done
if [ -z "${EPOCHREALTIME:-}" ]; then
  echo "bench_bisect.sh: needs bash 5 (EPOCHREALTIME)" >&2
  exit 2
fi

commits=10000
versions=50
bad_from=37
cases=20
max_evaluations=6  # ceil(log2 50): the ends taken as given, as git bisect run takes them
max_walk=1.0       # seconds
# The ports tried, in order, when the repository is generated (nothing random: the first free one).
first_port=18650
last_port=18699

data=${PROMPTOPS_BENCH_DIR:-/tmp/promptops-bench}
repo=$data/bisect-c$commits
port_file=$repo.port
work=$data/bisect-run
mkdir -p "$data" "$work/bin"
# A copy of the binaries (the launcher loads the core library from its own directory), so that a
# rebuild of BUILD_DIR during the run changes nothing.
for file in $bins; do
  cp "$build/bin/$file" "$work/bin/$file"
done
tool=$work/bin/git-promptops
server_bin=$work/bin/promptops-llm-server
export PATH=$work/bin:$PATH
export GIT_CONFIG_NOSYSTEM=1 NO_COLOR=1
unset GIT_PROMPTOPS_TRACE GIT_TRACE GIT_DIR GIT_WORK_TREE
status=0

if ! "$tool" bisect --help >/dev/null 2>&1; then
  echo "bench_bisect.sh: '$build/bin/git-promptops bisect --help' fails: this build has no bisect command" >&2
  exit 2
fi

# ---- the model server ----------------------------------------------------------------------------

server_pid=
# try_server PORT: starts the server on 127.0.0.1:PORT, its stdin a FIFO held open on fd 3 (it stops
# at EOF). Returns 1 when it exits first (the port cannot be bound), with its stderr in
# $work/server.err. The rule answers "ok" to every "Hey" prompt; other prompts are echoed.
try_server() {
  local fifo=$work/server.stdin
  printf '[%s]\n' '{"when": ["Hey"], "answer": "ok"}' >"$work/rules.json"
  rm -f "$fifo" "$work/server.out" "$work/server.err"
  mkfifo "$fifo"
  "$server_bin" --rules "$work/rules.json" --port "$1" <"$fifo" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  exec 3>"$fifo"
  local tries=0
  until [ -s "$work/server.out" ]; do
    tries=$((tries + 1))
    if ! kill -0 "$server_pid" 2>/dev/null || [ "$tries" -gt 500 ]; then
      stop_server
      return 1
    fi
    sleep 0.01
  done
  if [ "$(head -n 1 "$work/server.out")" != "http://127.0.0.1:$1/v1" ]; then
    echo "bench_bisect.sh: the server says $(head -n 1 "$work/server.out"), not http://127.0.0.1:$1/v1" >&2
    stop_server
    exit 1
  fi
}

# start_server PORT: try_server or exit with a clear message.
start_server() {
  if ! try_server "$1"; then
    echo "bench_bisect.sh: the model server cannot listen on 127.0.0.1:$1:" >&2
    cat "$work/server.err" >&2
    echo "  The repository's committed .promptops.toml points at that port. Free it, or remove" >&2
    echo "  $repo and $port_file to generate the repository again with another port." >&2
    exit 1
  fi
}

# stop_server: closes the server's stdin (it stops at EOF) and waits; its JSON summary (requests,
# answered, ...) is left in $work/server.err.
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
  server_pid=
}
trap stop_server EXIT

# ---- the repository (generated once) -------------------------------------------------------------

if [ ! -f "$repo/.git/bench-bisect.json" ] || [ ! -f "$port_file" ]; then
  rm -rf "$repo" "$port_file"
  # A fixed port, the first of first_port..last_port the server can bind; the server is then
  # stopped again, and every later run starts it on the port in $port_file.
  port=
  for ((p = first_port; p <= last_port; p++)); do
    if try_server "$p"; then
      port=$p
      stop_server
      break
    fi
  done
  if [ -z "$port" ]; then
    echo "bench_bisect.sh: the model server cannot listen on any port from $first_port to $last_port:" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  python3 "$here/gen_bisect_repo.py" --out "$repo" --port "$port" --commits "$commits" \
    --versions "$versions" --bad-from "$bad_from" --cases "$cases" >&2
  echo "$port" >"$port_file"
fi
port=$(cat "$port_file")
cd "$repo"
if ! git show main:.promptops.toml | grep -qF "base_url = \"http://127.0.0.1:$port/v1\""; then
  echo "bench_bisect.sh: $repo's .promptops.toml does not point at port $port (from $port_file);" \
    "remove both to generate the repository again" >&2
  exit 1
fi

# The commit that made version 37, as the generator recorded it and as git finds it (-S lists the
# commits that add and remove "(rev 37)"; the oldest added it).
info() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' .git/bench-bisect.json "$1"; }
expected=$(info first_bad)
found_by_git=$(git log --first-parent --format=%H -S"(rev $bad_from)" -- prompts/a.toml | tail -n 1)
if [ "$expected" != "$found_by_git" ]; then
  echo "bench_bisect.sh: the generator says version $bad_from is $expected, git log -S says $found_by_git" >&2
  exit 1
fi
git_versions=$(git log --first-parent --format=%H -- prompts/a.toml | wc -l)

echo "git-promptops bisect benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "binary: $build/bin/git-promptops ($(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || echo '?'))"
echo "repository: $repo ($(info commits_first_parent) first-parent commits, $(info merges) of them merges;" \
  "$(info commits_reachable) reachable; commit-graph: $([ -f .git/objects/info/commit-graph ] && echo yes || echo no));" \
  "$(git --version)"
echo "prompt a: $git_versions versions on the first-parent path (git log), bad from version $bad_from = ${expected:0:12};" \
  "$cases cases; server on 127.0.0.1:$port"

# ---- measuring -----------------------------------------------------------------------------------

# reset_state: no evaluation cache, no notes, main checked out clean.
reset_state() {
  rm -rf .git/promptops
  git update-ref -d refs/notes/promptops 2>/dev/null || true
  git reset -q --hard main
  git clean -q -fdx
}

# run_once NAME CMD...: runs CMD with stdout and stderr in $work/NAME.{out,err}; appends the wall time in
# ms to $work/NAME.t; sets last_status.
last_status=0
run_once() {
  local name=$1 start end
  shift
  last_status=0
  start=$EPOCHREALTIME
  "$@" >"$work/$name.out" 2>"$work/$name.err" || last_status=$?
  end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }' >>"$work/$name.t"
}

# fields FILE: "evaluations walk_seconds versions candidates commits_walked first_bad real_calls
# cache_hits regression reused" of a bisect JSON report ("?" for what is missing; reused = versions
# whose "source" is "cache" or "notes"); exits non-zero when FILE is not a JSON object.
fields() {
  python3 - "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
def get(key):
    value = doc.get(key)
    return "?" if value is None else value
drops = doc.get("drops") or []
try:
    first_bad = drops[0]["first_bad"]["commit"]
except (LookupError, TypeError):
    first_bad = "-"
versions = doc.get("versions")
reused = sum(1 for v in versions if isinstance(v, dict) and v.get("source") in ("cache", "notes")) \
    if isinstance(versions, list) else "?"
print(get("evaluations"), get("walk_seconds"), len(versions) if isinstance(versions, list) else "?",
      get("candidates"), get("commits_walked"), first_bad or "-", get("real_calls"), get("cache_hits"),
      str(doc.get("regression")).lower(), reused)
EOF
}

# fail NAME MESSAGE: reports a failed run with the tail of its stderr.
fail() {
  echo "   !! $1: $2; stderr:" >&2
  tail -n 5 "$work/$1.err" >&2
  status=1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
best() { sort -g | head -n 1; }
worst() { sort -g | tail -n 1; }
fmt() { awk -v x="$1" -v d="${2:-1}" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.*f\n", d, x }'; }

for name in cold warm gitlog oplog; do
  : >"$work/$name.t"
done
: >"$work/cold.fields"
: >"$work/warm.fields"
: >"$work/cold.answered"

bisect=("$tool" bisect a --threshold 0.5 --format json)
reset_state
git log --first-parent --format=%H -- prompts/a.toml >/dev/null  # warm the page cache
for ((r = 1; r <= runs; r++)); do
  # Cold: no cache, no notes, the server up.
  reset_state
  start_server "$port"
  run_once cold "${bisect[@]}"
  stop_server
  answered=$(sed -n 's/.*"answered": *\([0-9]*\).*/\1/p' "$work/server.err" | tail -n 1)
  echo "${answered:-?}" >>"$work/cold.answered"
  cp "$work/cold.out" "$work/cold.$r.json"
  if [ "$last_status" != 1 ]; then
    fail cold "run $r: exit status $last_status (expected 1: a regression found)"
  elif ! line=$(fields "$work/cold.out" 2>/dev/null); then
    fail cold "run $r: the output is not a JSON report"
  else
    echo "$line" >>"$work/cold.fields"
    read -r _ _ nversions _ _ first_bad calls _ regression _ <<<"$line"
    if [ "$first_bad" != "$expected" ]; then
      fail cold "run $r: drops[0].first_bad.commit is $first_bad, expected $expected (version $bad_from)"
    fi
    if [ "$regression" != true ]; then
      fail cold "run $r: \"regression\" is $regression"
    fi
    if [ "$nversions" != "$versions" ]; then
      echo "   note: run $r reports $nversions versions, the scenario has $versions" >&2
    fi
    if [ "$calls" != "${answered:-?}" ]; then
      echo "   note: run $r reports $calls real calls, the server answered ${answered:-?}" >&2
    fi
  fi

  # Warm: the same again with the server stopped; everything must come from the cache.
  run_once warm "${bisect[@]}"
  cp "$work/warm.out" "$work/warm.$r.json"
  if [ "$last_status" != 1 ]; then
    fail warm "run $r: exit status $last_status (expected 1; the server is stopped, so a model call fails)"
  elif ! line=$(fields "$work/warm.out" 2>/dev/null); then
    fail warm "run $r: the output is not a JSON report"
  else
    echo "$line" >>"$work/warm.fields"
    read -r evals _ _ _ _ first_bad calls _ _ _ <<<"$line"
    if [ "$evals" != 0 ] || [ "$calls" != 0 ]; then
      fail warm "run $r: $evals evaluations, $calls real calls (expected 0 and 0: everything cached)"
    fi
    if [ "$first_bad" != "$expected" ]; then
      fail warm "run $r: drops[0].first_bad.commit is $first_bad, expected $expected"
    fi
  fi

  # References for the walk.
  run_once gitlog git log --first-parent --format=%H -- prompts/a.toml
  [ "$last_status" = 0 ] || fail gitlog "run $r: exit status $last_status"
  run_once oplog "$tool" log a --format json
  [ "$last_status" = 0 ] || fail oplog "run $r: exit status $last_status"
done
reset_state

# ---- the table -----------------------------------------------------------------------------------

col() { awk -v c="$2" '$c != "?" { print $c }' "$work/$1.fields"; }
# row LABEL VALUES_FILE_OR_- DIGITS [TARGET OP]: median, best, worst; with a target, median / target
# and PASS or MISS.
row() {
  local label=$1 values=$2 digits=$3 target=${4:-} op=${5:-} med bst wst ratio=- verdict=
  med=$(median <<<"$values")
  bst=$(best <<<"$values")
  wst=$(worst <<<"$values")
  [ -n "$values" ] || { med=-; bst=-; wst=-; }
  if [ -n "$target" ] && [ "$med" != - ]; then
    ratio=$(awk -v m="$med" -v t="$target" 'BEGIN { printf "%.2f", m / t }')
    if awk -v m="$med" -v t="$target" -v op="$op" 'BEGIN { exit !((op == "<=" && m <= t) || (op == "<" && m < t)) }'; then
      verdict=PASS
    else
      verdict=MISS
    fi
  fi
  printf '%-50s %10s %9s %9s %9s %8s %s\n' "$label" "$(fmt "$med" "$digits")" "$(fmt "$bst" "$digits")" \
    "$(fmt "$wst" "$digits")" "${target:+$op $target}" "$ratio" "$verdict"
}

echo
echo "cold = .git/promptops and refs/notes/promptops removed, server up; warm = right after, server stopped"
printf '%-50s %10s %9s %9s %9s %8s\n' "what ($runs runs)" median best worst target "/ target"
row "evaluations, cold" "$(col cold 1)" 0 "$max_evaluations" "<="
row "walk_seconds, cold (s)" "$(col cold 2)" 3 "$max_walk" "<"
row "walk_seconds, warm (s)" "$(col warm 2)" 3
row "wall time, cold bisect (ms)" "$(cat "$work/cold.t")" 1
row "wall time, warm bisect (ms)" "$(cat "$work/warm.t")" 1
row "  git log --first-parent -- prompts/a.toml (ms)" "$(cat "$work/gitlog.t")" 1
row "  git-promptops log a --format json (ms)" "$(cat "$work/oplog.t")" 1
row "real_calls, cold" "$(col cold 7)" 0
row "  answered by the server, cold" "$(grep -v '?' "$work/cold.answered" || true)" 0
row "cache_hits (cached answers), cold" "$(col cold 8)" 0
row "cache_hits (cached answers), warm" "$(col warm 8)" 0
row "versions from the cache or notes, warm" "$(col warm 10)" 0
echo
if [ -s "$work/cold.fields" ]; then
  read -r _ _ nversions cand walked first_bad _ _ regression _ <<<"$(tail -n 1 "$work/cold.fields")"
  echo "last cold report: versions $nversions, candidates $cand, commits_walked $walked, regression $regression," \
    "first bad ${first_bad:0:12} (expected ${expected:0:12}); reports in $work/cold.N.json, warm.N.json"
fi
echo "/ target: median / target (evaluations <= $max_evaluations = ceil(log2 $versions); walk < 1 s)"

[ "$status" = 0 ] || echo "bench_bisect.sh: some runs failed or found the wrong commit (see above)" >&2
exit "$status"
