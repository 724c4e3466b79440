#!/bin/sh
# SPDX-License-Identifier: MIT
# The main job: install what is missing, build, make a sample prompt repository with a few
# commits of history, and show what git-promptops reads from it.
# Usage: scripts/demo.sh [DIR]   (default /tmp/promptops-demo; it is recreated)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
demo=${1:-/tmp/promptops-demo}

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target git-promptops git-promptops-core >/dev/null
PATH="$top/build/bin:$PATH"
export PATH

rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"
export GIT_AUTHOR_NAME="Demo Author" GIT_AUTHOR_EMAIL="demo@example.com"
export GIT_COMMITTER_NAME="Demo Author" GIT_COMMITTER_EMAIL="demo@example.com"
git init -q -b main
git promptops init >/dev/null
git add -A && git commit -q -m "Add the support classifier prompt"

# v2: a sharper system message.
sed -i 's/Decide whether the question is about {{scope}}./You triage customer questions for a bank that offers {{scope}}.\nDecide whether the question is about those products./' prompts/support/classify.toml
git commit -q -am "classify: say what the bank offers"

echo "# Demo project" > README.md
git add README.md && git commit -q -m "Add a README (no prompt change)"

# v3: one worked example in the instructions.
sed -i 's/Answer with exactly one word: IN_SCOPE or OUT_OF_SCOPE./Answer with exactly one word: IN_SCOPE or OUT_OF_SCOPE.\nExample: "How do I order a new card?" -> IN_SCOPE/' prompts/support/classify.toml
git commit -q -am "classify: add a worked example"
git promptops alias set support/classify production v2 -m "reviewed in the demo" >/dev/null

echo "\$ git promptops list"
git promptops list
echo
echo "\$ git promptops log support/classify"
git promptops log support/classify
echo
echo "\$ git promptops render support/classify@production --var question='Is iPay free?'"
git promptops render support/classify@production --var question='Is iPay free?'
echo
echo "\$ git promptops lint"
git promptops lint && echo "(no findings)"
echo
echo "The sample repository is in $demo"
