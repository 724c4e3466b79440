// SPDX-License-Identifier: MIT
// What every subcommand shares: the repository (opened on first use), output format and colour.
#include "context.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <promptops/util/error.hpp>

namespace promptops::cli {

git::Repository& Context::repo() {
  if (!m_repo) {
    if (!m_library) {
      m_library.emplace();
    }
    m_repo.emplace(git::Repository::discover(std::filesystem::current_path()));
  }
  return *m_repo;
}

bool Context::stdout_color() const {
  const output::ColorMode mode = color == "always"  ? output::ColorMode::always
                                 : color == "never" ? output::ColorMode::never
                                                    : output::ColorMode::auto_;
  return output::use_color(mode, stdout);
}

git::Oid Context::head() {
  const auto id = repo().head();
  if (!id) {
    throw GitError("the repository has no commits yet",
                   "commit a prompt first (git add prompts && git commit)");
  }
  return *id;
}

void Context::out(const std::string& text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void Context::warn(const std::string& text) const {
  std::fprintf(stderr, "git-promptops: warning: %s\n", text.c_str());
}

void Context::out_json(nlohmann::json document) const { out(json_text(std::move(document))); }

std::string Context::json_text(nlohmann::json document) {
  // schema_version goes first; splicing it into the dump avoids converting a large document to
  // an ordered_json copy.
  document.erase("schema_version");
  std::string text = document.dump(2);
  const std::string version = "\"schema_version\": 1";
  if (document.empty()) {
    text = "{\n  " + version + "\n}";
  } else {
    text.insert(2, "  " + version + ",\n");
  }
  return text + "\n";
}

void add_format_option(CLI::App& command, std::string& format,
                       const std::vector<std::string>& choices) {
  format = choices.front();
  std::string list;
  for (const auto& choice : choices) {
    list += (list.empty() ? "" : "|") + choice;
  }
  const bool has_text = std::find(choices.begin(), choices.end(), "text") != choices.end();
  CLI::Option* format_option =
      command.add_option("--format", format,
                         "output format: " + list + " (default " + choices.front() + ")" +
                             (has_text ? "; table is an alias of text" : ""));
  if (has_text) {
    // `table` was the human format's name on some commands: old scripts keep working.
    format_option->transform([](std::string value) { return value == "table" ? std::string("text") : value; },
                             "", "table alias");
  }
  format_option->check(CLI::IsMember(choices));
  // Both at once is a contradiction (or a typo) that must not be settled silently.
  command
      .add_flag_callback(
          "--json", [&format] { format = "json"; }, "same as --format json")
      ->excludes(format_option);
}

}  // namespace promptops::cli
