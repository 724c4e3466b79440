// SPDX-License-Identifier: MIT
// The table of subcommands: name, one-line summary, and the function that adds it to the parser.
#include "cli/context.hpp"

namespace promptops::cli {

void add_version(CLI::App& app, Context& context);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"version", "print the version", add_version},
  };
  return table;
}

}  // namespace promptops::cli
