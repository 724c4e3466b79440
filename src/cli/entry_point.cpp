// SPDX-License-Identifier: MIT
// The one exported symbol of the core library, called by the launcher in src/main.cpp.
#include "cli.hpp"

extern "C" __attribute__((visibility("default"))) int promptops_main(int argc, char** argv) {
  return promptops::cli::main(argc, argv);
}
