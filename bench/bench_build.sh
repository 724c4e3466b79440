#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Times a cold build of everything the test command builds (the binary, its core, the unit and
# end-to-end tests), back to back in two configurations of the same source tree:
#   plain  -DPROMPTOPS_PCH=OFF -DCMAKE_UNITY_BUILD=OFF  (one unit per source, every header parsed
#          again in every unit: how the project built before)
#   fast   the defaults (precompiled headers, unity batches; cmake/BuildSpeed.cmake)
# and prints the wall time, the CPU time (user + sys of the compilers and linkers, which shared
# machines disturb less than wall time) and the ratio fast/plain. Target: fast well under half of
# plain in wall time on 2 cores. No compiler cache is used (CCACHE_DISABLE=1).
#
# usage: bench/bench_build.sh [--jobs N] [--only plain|fast] [--keep]
#   --jobs N   parallel jobs (default: nproc)
#   --only C   build one configuration
#   --keep     keep the build trees (under $PROMPTOPS_BENCH_DIR, default /tmp/promptops-bench)
set -euo pipefail

usage="usage: bench_build.sh [--jobs N] [--only plain|fast] [--keep]"
jobs=$(nproc)
only=
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) jobs=${2:?$usage}; shift 2 ;;
    --only) only=${2:?$usage}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "bench_build.sh: unknown argument $1" >&2; echo "$usage" >&2; exit 129 ;;
  esac
done
case $only in "" | plain | fast) ;; *) echo "$usage" >&2; exit 129 ;; esac
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=${PROMPTOPS_BENCH_DIR:-/tmp/promptops-bench}/build-time
mkdir -p "$work"
export CCACHE_DISABLE=1

flags_of() {
  case $1 in
    plain) echo "-DPROMPTOPS_PCH=OFF -DCMAKE_UNITY_BUILD=OFF" ;;
    fast) echo "" ;;
  esac
}

# build_once CONFIG: prints "WALL CPU" in seconds for a configure and a cold build (bash's own
# timer: real, and user + sys of every child).
build_once() {
  local tree=$work/$1 timing TIMEFORMAT='%R %U %S'
  rm -rf "$tree"
  # shellcheck disable=SC2046  # the flags are words
  timing=$( { time {
    cmake -S "$source_dir" -B "$tree" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROMPTOPS_WERROR=ON \
      $(flags_of "$1") >/dev/null && cmake --build "$tree" -j"$jobs" >"$tree.log" 2>&1
  } ; } 2>&1 ) || {
    echo "bench_build.sh: the $1 build failed; see $tree.log" >&2
    exit 1
  }
  awk '{ printf "%.1f %.1f\n", $1, $2 + $3 }' <<<"$timing"
  [ "$keep" = 1 ] || rm -rf "$tree"
}

printf '%-6s %10s %10s   (%s jobs, load before: %s)\n' config "wall s" "cpu s" "$jobs" \
  "$(cut -d' ' -f1 /proc/loadavg)"
declare -A wall cpu
for config in plain fast; do
  [ -z "$only" ] || [ "$only" = "$config" ] || continue
  read -r wall[$config] cpu[$config] < <(build_once "$config")
  printf '%-6s %10s %10s\n' "$config" "${wall[$config]}" "${cpu[$config]}"
done
if [ -z "$only" ]; then
  awk -v pw="${wall[plain]}" -v fw="${wall[fast]}" -v pc="${cpu[plain]}" -v fc="${cpu[fast]}" \
    'BEGIN { printf "fast/plain: wall %.2f×, cpu %.2f× (target: wall < 0.50×) %s\n", fw / pw, fc / pc,
             (fw / pw < 0.5 ? "MET" : "MISS") }'
fi
