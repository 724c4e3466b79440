#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the Debian package from a build directory and checks it the way a user gets it: unpacked
# into a temp root, its metadata declares the runtime dependencies, the installed binary loads its
# core from the package's own layout, prints its version and built-in manual, `git help promptops`
# finds the man page, the completion and hook shims are in place, and the README's tour runs
# against the packaged binary.
# Usage: scripts/package-test.sh BUILD_DIR
set -eu
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "package-test: $*" >&2
  exit 1
}

(cd "$build" && cpack -G DEB -B "$work/out" >/dev/null) || fail "cpack could not build the package"
deb=$(ls "$work"/out/git-promptops_*.deb)
[ -f "$deb" ] || fail "no git-promptops_*.deb in $work/out"

depends=$(dpkg-deb -f "$deb" Depends)
for needed in git libgit2 libcurl libpcre2 libutf8proc libc6; do
  echo "$depends" | grep -q "$needed" || fail "Depends lacks $needed: $depends"
done

root="$work/root"
dpkg-deb -x "$deb" "$root"
for path in usr/bin/git-promptops usr/lib/git-promptops/libgit-promptops-core.so \
    usr/share/man/man1/git-promptops.1 usr/share/man/man1/git-promptops-eval.1 \
    usr/share/bash-completion/completions/git-promptops usr/share/zsh/vendor-completions/_git-promptops \
    usr/share/git-promptops/hooks/pre-commit usr/share/git-promptops/hooks/pre-push; do
  [ -e "$root/$path" ] || fail "the package has no /$path"
done

version=$("$root/usr/bin/git-promptops" --version)
[ "$version" = "git-promptops version $(dpkg-deb -f "$deb" Version)" ] || fail "--version says '$version'"
"$root/usr/bin/git-promptops" help eval | head -n 1 | grep -q '^GIT-PROMPTOPS-EVAL(1)' ||
  fail "help eval does not print the manual"
PATH="$root/usr/bin:$PATH" MANPATH="$root/usr/share/man" MANPAGER=cat PAGER=cat MANWIDTH=80 \
  git help promptops 2>&1 | grep -q 'git-promptops - keep LLM prompts in a git repository' ||
  fail "git help promptops does not open the packaged man page"

PROMPTOPS_TEST_BINARY="$root/usr/bin/git-promptops" "$build/tests/e2e_tests" "the README's tour*" >"$work/tour.log" 2>&1 ||
  { cat "$work/tour.log" >&2; fail "the README tour fails with the packaged binary"; }
echo "package-test: $(basename "$deb") installs and runs ($depends)"
