// SPDX-License-Identifier: MIT
// What every subcommand shares: the repository (opened on first use), output format and colour.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include <promptops/output/terminal.hpp>

namespace promptops::cli {

class Context {
 public:
  // The repository containing the current directory; libgit2 starts on first use, so commands
  // that need no repository do not pay for it. Throws GitError (exit 128) outside a repository.
  git::Repository& repo();
  // The commit HEAD points at; throws GitError for an empty repository ("no commits yet").
  git::Oid head();

  std::string color = "auto";
  // The arguments as given (argv[1..]), for commands that must see where "--" was.
  std::vector<std::string> args;
  // What the command decided (ok, or negative for a "no" verdict such as lint findings).
  ExitCode exit_status = ExitCode::ok;
  // Whether stdout gets colour, by --color (auto, always or never; CLI11 has checked it) and use_color().
  bool stdout_color() const;

  // Writes to stdout (results) and stderr (diagnostics: "git-promptops: warning: ...").
  void out(const std::string& text) const;
  void warn(const std::string& text) const;
  // Prints one JSON document (2-space indent) with "schema_version": 1 first.
  void out_json(nlohmann::json document) const;
  // The text out_json() prints: `document` indented, "schema_version": 1 first, a final newline.
  static std::string json_text(nlohmann::json document);

 private:
  std::optional<git::LibraryScope> m_library;
  std::optional<git::Repository> m_repo;
};

// Adds --format (choices given; the first is the default) and --json (= --format json). When
// the choices include "text" (the human format), "table" is accepted as its alias.
void add_format_option(CLI::App& command, std::string& format,
                       const std::vector<std::string>& choices = {"text", "json"});

// One entry per subcommand (commands.cpp), in the order `--help` lists them.
struct Command {
  const char* name;
  const char* summary;
  void (*add)(CLI::App& app, Context& context);
};
const std::vector<Command>& commands();

}  // namespace promptops::cli
