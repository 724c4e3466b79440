// SPDX-License-Identifier: MIT
// End-to-end: the launcher, --version, usage errors and exit statuses.
#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

TEST_CASE("the --version flag prints the version and exits 0", "[e2e][cli]") {
  TempDir dir;
  const RunResult r = run_promptops(dir.path(), {"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "git-promptops version " PROMPTOPS_TEST_VERSION "\n");
  CHECK(r.err.empty());
}

TEST_CASE("an unknown command is a usage error with exit 129", "[e2e][cli]") {
  TempDir dir;
  const RunResult r = run_promptops(dir.path(), {"frobnicate"});
  CHECK(r.exit_code == 129);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("git-promptops: error: ", 0) == 0);
}
