// SPDX-License-Identifier: MIT
// The built-in manual: the man pages' text (cmake/EmbedManPages.cmake), so that `help CMD`, `-h`
// and `CMD --help` work before and without an installation.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace promptops::cli {

// The manual of a command path ({} the overview, {"eval"}, {"bisect", "run"} or {"bisect-run"},
// {"alias", "set"} the page of alias): the most specific page there is. Throws UsageError, with
// "did you mean", for a first word that names no page.
std::string manual_text(const std::vector<std::string>& command_path);

// The subcommands parsed so far, outermost first ({"alias", "set"} for `alias set --help`).
std::vector<std::string> parsed_command_path(const CLI::App& app);

}  // namespace promptops::cli
