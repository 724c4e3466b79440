// SPDX-License-Identifier: MIT
// `git promptops help [COMMAND [SUBCOMMAND]]`: the built-in manual, the same text as the man pages.
#include "help.hpp"

#include <algorithm>

#include <CLI/CLI.hpp>

#include <promptops/config/config.hpp>
#include <promptops/util/error.hpp>

#include "context.hpp"
#include "templates.hpp"

namespace promptops::cli {

namespace {

constexpr std::string_view k_overview = "git-promptops";

const EmbeddedFile* find_manual(const std::string& name) {
  const std::vector<EmbeddedFile>& pages = embedded_manuals();
  const auto it = std::find_if(pages.begin(), pages.end(), [&name](const EmbeddedFile& page) { return page.path == name; });
  return it == pages.end() ? nullptr : &*it;
}

// "eval", "bisect-run", ...: the commands that have a page of their own.
std::vector<std::string> manual_commands() {
  std::vector<std::string> names;
  for (const EmbeddedFile& page : embedded_manuals()) {
    if (page.path.size() > k_overview.size() + 1 && page.path.starts_with(std::string(k_overview) + "-")) {
      names.emplace_back(page.path.substr(k_overview.size() + 1));
    }
  }
  return names;
}

}  // namespace

std::string manual_text(const std::vector<std::string>& command_path) {
  for (std::size_t words = command_path.size(); words > 0; --words) {
    std::string name(k_overview);
    for (std::size_t i = 0; i < words; ++i) {
      name += "-" + command_path[i];
    }
    if (const EmbeddedFile* page = find_manual(name)) {
      return std::string(page->content);
    }
  }
  if (!command_path.empty()) {
    const std::string close = did_you_mean(command_path.front(), manual_commands());
    throw UsageError("no manual for '" + command_path.front() + "'",
                     close.empty() ? "git promptops help lists the commands" : "did you mean '" + close + "'?");
  }
  const EmbeddedFile* overview = find_manual(std::string(k_overview));
  return overview == nullptr ? std::string() : std::string(overview->content);
}

std::vector<std::string> parsed_command_path(const CLI::App& app) {
  std::vector<std::string> path;
  const CLI::App* level = &app;
  while (level != nullptr) {
    const std::vector<const CLI::App*> parsed = level->get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
    level = parsed.empty() ? nullptr : parsed.front();
    if (level != nullptr) {
      path.push_back(level->get_name());
    }
  }
  return path;
}

void add_help(CLI::App& app, Context& context) {
  auto path = std::make_shared<std::vector<std::string>>();
  CLI::App* command = app.add_subcommand("help", "show the manual of git-promptops or of a command");
  command->add_option("command", *path, "the command (and subcommand) whose manual to show");
  command->callback([&context, path] { context.out(manual_text(*path)); });
}

}  // namespace promptops::cli
