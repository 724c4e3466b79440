#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages git-promptops builds and tests with. Idempotent: quiet and
# fast when everything is present; otherwise one apt-get install (as root, or through sudo).
set -eu

packages="build-essential cmake pkg-config git libgit2-dev nlohmann-json3-dev libtomlplusplus-dev
libcli11-dev libdtl-dev catch2 libcurl4-openssl-dev libkainjow-mustache-dev libpcre2-dev libutf8proc-dev
libyaml-cpp-dev clang libclang-rt-14-dev man-db python3 chromium"
[ "${PROMPTOPS_BENCH_DEPS:-0}" = 1 ] && packages="$packages hyperfine"

missing=""
for package in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $package" ;;
  esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
