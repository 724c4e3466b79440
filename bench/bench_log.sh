#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Times `git log --first-parent -- prompts/a.toml` against history_bench (and `git promptops log`)
# on the 100k-commit synthetic repository in three commit-graph states, plus the incremental case.
#
# usage: bench/bench_log.sh BUILD_DIR [--rounds N] [--commits N] [--seed N] [--path P]
#   BUILD_DIR    a configured and built tree: BUILD_DIR/bin/history_bench must exist
#   --rounds N   interleaved rounds per state (default 5; each round runs every command 3 times)
#   --commits N  size of the generated repository (default 100000)
#   PROMPTOPS_BENCH_DIR  where generated repositories are kept (default /tmp/promptops-bench)
# Builds nothing. Exits 1 when our list of commits differs from git's.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench_log.sh BUILD_DIR [--rounds N] [--commits N] [--seed N] [--path P]}
shift
rounds=5
commits=100000
seed=1
path=prompts/a.toml
prompt=a
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --commits) commits=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --path) path=$2; prompt=$(basename "${path%.toml}"); shift 2 ;;
    *) echo "bench_log.sh: unknown argument $1" >&2; exit 129 ;;
  esac
done

build=$(cd "$build" && pwd)
bench_bin=$build/bin/history_bench
cli_bin=$build/bin/git-promptops
[ -x "$bench_bin" ] || { echo "bench_log.sh: $bench_bin is missing; build the history_bench target" >&2; exit 2; }
cache_dir=${PROMPTOPS_BENCH_DIR:-/tmp/promptops-bench}
repo=$cache_dir/synth-c$commits-s$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-log.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$cache_dir"
if [ ! -d "$repo" ]; then
  echo "== generating $repo (once; kept for later runs)" >&2
  rm -rf "$repo.partial"
  python3 "$here/gen_repo.py" --out "$repo.partial" --commits "$commits" --seed "$seed"
  mv "$repo.partial" "$repo"
fi

have_hyperfine=0
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1

# The CLI's `log` is optional: it is measured only when it runs successfully here.
have_cli=0
if [ -x "$cli_bin" ] && (cd "$repo" && "$cli_bin" log "$prompt" --format json >/dev/null 2>&1); then
  have_cli=1
else
  echo "   (skipping git-promptops log: not built or not working yet)" >&2
fi

set_graph_state() {  # none | cg | cgb, in repository $1
  rm -rf "$1/.git/objects/info/commit-graph" "$1/.git/objects/info/commit-graphs"
  case $2 in
    cg) git -C "$1" commit-graph write --reachable ;;
    cgb) git -C "$1" commit-graph write --reachable --changed-paths ;;
  esac
}

# time_commands OUT CMD...: runs every command `rounds` times, interleaved, in the current
# directory; writes "index median_ms" lines to OUT. Commands are plain words (no shell). The
# history cache is removed before each run, so `git promptops log` (which always uses it) walks.
time_commands() {
  local out=$1
  shift
  local n=$#
  : >"$work/times"
  : >"$work/cpu"
  if [ "$have_hyperfine" = 1 ]; then
    for ((r = 0; r < rounds; r++)); do
      hyperfine -N --style none --warmup 1 --runs 3 --export-json "$work/round.json" \
        --prepare "rm -rf $PWD/.git/promptops/history" "$@" >/dev/null 2>&1
      python3 - "$work/round.json" "$work/times" "$work/cpu" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
with open(sys.argv[2], "a") as times, open(sys.argv[3], "a") as cpu:
    for i, result in enumerate(results):
        for t in result["times"]:
            print(i, t * 1000, file=times)
        print(i, (result["user"] + result["system"]) * 1000, file=cpu)
EOF
    done
  else
    local i cmd start end
    for ((r = 0; r < rounds * 3; r++)); do
      i=0
      for cmd in "$@"; do
        rm -rf .git/promptops/history
        start=$EPOCHREALTIME
        $cmd >/dev/null 2>&1
        end=$EPOCHREALTIME
        echo "$i $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) * 1000 }')" >>"$work/times"
        i=$((i + 1))
      done
    done
  fi
  : >"$out"
  for ((i = 0; i < n; i++)); do
    printf '%d %s %s\n' "$i" "$(median "$work/times" "$i")" "$(median "$work/cpu" "$i")" >>"$out"
  done
}

# median FILE INDEX: the median of the values of lines "INDEX value"; "-" when there are none.
median() {
  awk -v i="$2" '$1 == i { print $2 }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m }'
}

median_of() { awk -v i="$2" -v f="${3:-2}" '$1 == i { print $f }' "$1"; }
ratio() {
  if [ "$1" = - ] || [ "$2" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi
}

status=0
cd "$repo"
git_cmd="git log --first-parent --format=%H -- $path"
ours_cmd="$bench_bin --no-cache $path"
cli_cmd="$cli_bin log $prompt --format json"

echo
echo "Wall-clock medians of whole processes in ms (cpu = user+sys, less sensitive to a busy machine)."
printf '%-6s %8s %8s %8s %8s %6s %6s' state "git" "ours" "git cpu" "our cpu" ratio "cpu r."
[ "$have_cli" = 1 ] && printf ' %9s %6s' "cli log" ratio
printf ' %6s  %s\n' match "history_bench in-process median and walk stats"
for state in none cg cgb; do
  set_graph_state "$repo" "$state"
  $git_cmd >"$work/git.txt"
  $bench_bin --no-cache --print "$path" >"$work/ours.txt" 2>/dev/null
  match=ok
  cmp -s "$work/git.txt" "$work/ours.txt" || { match=DIFF; status=1; }
  stats=$($bench_bin --no-cache --runs 5 "$path" 2>&1 >/dev/null)
  if [ "$have_cli" = 1 ]; then
    time_commands "$work/medians" "$git_cmd" "$ours_cmd" "$cli_cmd"
  else
    time_commands "$work/medians" "$git_cmd" "$ours_cmd"
  fi
  g=$(median_of "$work/medians" 0)
  o=$(median_of "$work/medians" 1)
  gc=$(median_of "$work/medians" 0 3)
  oc=$(median_of "$work/medians" 1 3)
  printf '%-6s %8s %8s %8s %8s %6s %6s' "$state" "$g" "$o" "$gc" "$oc" "$(ratio "$o" "$g")" "$(ratio "$oc" "$gc")"
  if [ "$have_cli" = 1 ]; then
    c=$(median_of "$work/medians" 2)
    printf ' %9s %6s' "$c" "$(ratio "$c" "$g")"
  fi
  printf ' %6s  %s\n' "$match" "$stats"
done
echo "(changes: $(wc -l <"$work/git.txt"); target: ratio <= 0.90 in every state)"

# Incremental: warm the cache, add 100 commits (4 of them change the path), time the cached walk.
echo
echo "== incremental: 100 new commits on top of a cached walk (graph state cgb, graph not rewritten)"
copy=$cache_dir/incremental-work
rm -rf "$copy"
cp -a "$repo" "$copy"
cd "$copy"
set_graph_state "$copy" cgb
$bench_bin "$path" 2>/dev/null >/dev/null  # full walk, stores the cache
cache_file=$copy/.git/promptops/history/$(printf '%s' "$path" | git hash-object --stdin)
[ -f "$cache_file" ] || { echo "bench_log.sh: no cache file at $cache_file" >&2; exit 1; }
cp "$cache_file" "$work/cache.before"
for i in $(seq 1 100); do
  echo "incremental $i" >>"src/d00/f00$((i % 10)).txt"
  if [ $((i % 25)) = 0 ]; then
    echo "# incremental revision $i" >>"$path"
  fi
  git -c user.name=bench -c user.email=bench@example.com commit -qam "incremental $i"
done
git log --first-parent --format=%H -- "$path" >"$work/git.txt"
cp "$work/cache.before" "$cache_file"
$bench_bin --print "$path" >"$work/ours.txt" 2>"$work/stats.txt"
match=ok
cmp -s "$work/git.txt" "$work/ours.txt" || { match=DIFF; status=1; }
echo "   first cached run: $(cat "$work/stats.txt")  match=$match"
incr_cmd="$bench_bin $path"
if [ "$have_hyperfine" = 1 ]; then
  hyperfine -N --style none --warmup 1 --runs $((rounds * 3)) --export-json "$work/incr.json" \
    --prepare "cp $work/cache.before $cache_file" "$incr_cmd" \
    "$git_cmd" >/dev/null 2>&1
  python3 - "$work/incr.json" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
ours, git = (statistics.median(x["times"]) * 1000 for x in r)
print("   cached walk of 100 new commits: %.1f ms; git log: %.1f ms; ratio %.2f" % (ours, git, ours / git))
EOF
  hyperfine -N --style none --warmup 1 --runs $((rounds * 3)) --export-json "$work/same.json" "$incr_cmd" >/dev/null 2>&1
  python3 - "$work/same.json" <<'EOF'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
print("   same tip again (no walk): %.1f ms" % (statistics.median(r[0]["times"]) * 1000))
EOF
else
  total=0
  for ((r = 0; r < rounds * 3; r++)); do
    cp "$work/cache.before" "$cache_file"
    start=$EPOCHREALTIME
    $incr_cmd >/dev/null 2>&1
    end=$EPOCHREALTIME
    total=$(awk -v t="$total" -v a="$start" -v b="$end" 'BEGIN { print t + (b - a) * 1000 }')
  done
  echo "   cached walk of 100 new commits: $(awk -v t="$total" -v n=$((rounds * 3)) 'BEGIN { printf "%.1f", t / n }') ms (mean)"
fi
if [ "$have_cli" = 1 ]; then
  cp "$work/cache.before" "$cache_file"
  start=$EPOCHREALTIME
  "$cli_bin" log "$prompt" --format json >/dev/null 2>&1 || true
  end=$EPOCHREALTIME
  echo "   git-promptops log, first run after the new commits: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) * 1000 }') ms"
fi
cd /
rm -rf "$copy"
set_graph_state "$repo" none
[ "$status" = 0 ] || echo "bench_log.sh: MISMATCH between git and history_bench" >&2
exit "$status"
