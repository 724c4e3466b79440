#!/bin/bash
# SPDX-License-Identifier: MIT
# Times start-up and `list` on a repository with 1,000 prompts: `--version` (target < 5 ms),
# `list` of the working tree and `list --at HEAD` (target < 50 ms each).
# Usage: bench/bench_startup.sh BUILD_DIR [--runs N]
set -euo pipefail
build=${1:?usage: bench_startup.sh BUILD_DIR [--runs N]}
runs=20
[ "${2:-}" = "--runs" ] && runs=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
tool=$(cd "$build" && pwd)/bin/git-promptops
data=${PROMPTOPS_BENCH_DIR:-/tmp/promptops-bench}
repo=$data/many-prompts
[ -x "$tool" ] || { echo "bench_startup: build $tool first" >&2; exit 2; }

if [ ! -d "$repo" ]; then
  mkdir -p "$data"
  python3 "$here/gen_repo.py" --out "$repo" --commits 2000 --files 500 --many-prompts >&2
fi
cd "$repo"
git checkout -q -f main
count=$("$tool" list --format tsv | tail -n +2 | wc -l)
echo "repository: $repo ($count prompts)"

# median wall time in ms of `runs` runs of a command
median_ms() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

"$tool" list >/dev/null  # warm the page cache
printf '%-28s %10s %10s\n' "command" "median ms" "target ms"
printf '%-28s %10s %10s\n' "git-promptops --version" "$(median_ms "$tool" --version)" "5"
printf '%-28s %10s %10s\n' "git --version (reference)" "$(median_ms git --version)" "-"
printf '%-28s %10s %10s\n' "git-promptops list" "$(median_ms "$tool" list)" "50"
printf '%-28s %10s %10s\n' "git-promptops list --json" "$(median_ms "$tool" list --format json)" "50"
printf '%-28s %10s %10s\n' "git-promptops list --at HEAD" "$(median_ms "$tool" list --at HEAD)" "50"
printf '%-28s %10s %10s\n' "git ls-files prompts (ref.)" "$(median_ms git ls-files prompts)" "-"
