// SPDX-License-Identifier: MIT
// Catch2 main for the end-to-end tests: an isolated environment; they run the binary and link no
// layer of the tool.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/harness.hpp"

int main(int argc, char** argv) {
  promptops::test::isolate_process_environment();
  return Catch::Session().run(argc, argv);
}
