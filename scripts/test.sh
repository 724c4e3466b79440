#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what is missing, builds with warnings as errors, runs every test, then a bounded fuzz
# pass (scripts/fuzz.sh: each parser of user files for a few seconds under ASan and UBSan).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROMPTOPS_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)")
scripts/fuzz.sh
