// SPDX-License-Identifier: MIT
// `git promptops version`: the same line as --version.
#include "context.hpp"

namespace promptops::cli {

void add_version(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("version", "print the version");
  command->callback([&context] { context.out("git-promptops version " PROMPTOPS_VERSION "\n"); });
}

}  // namespace promptops::cli
