// SPDX-License-Identifier: MIT
// Catch2 main for the unit tests: an isolated environment, then libgit2 for the whole run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <promptops/git/git.hpp>

#include "support/harness.hpp"

int main(int argc, char** argv) {
  promptops::test::isolate_process_environment();
  const promptops::git::LibraryScope libgit2;
  return Catch::Session().run(argc, argv);
}
