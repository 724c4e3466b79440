// SPDX-License-Identifier: MIT
// `git promptops init`: scaffold .promptops.toml, an example prompt and a dataset.
#include <filesystem>

#include <promptops/error.hpp>

#include "cli/context.hpp"
#include "cli/templates.hpp"
#include "util/file.hpp"

namespace promptops::cli {

namespace {

struct InitOptions {
  bool force = false;
};

struct Scaffold {
  std::string_view source;  // under templates/
  std::string_view target;  // under the work tree
};

constexpr Scaffold k_scaffold[] = {
    {"promptops.toml", ".promptops.toml"},
    {"prompts/support/classify.toml", "prompts/support/classify.toml"},
    {"prompts/summarize.prompt", "prompts/summarize.prompt"},
    {"evals/classify.jsonl", "evals/classify.jsonl"},
};

std::string_view template_content(std::string_view path) {
  for (const EmbeddedFile& file : embedded_templates()) {
    if (file.path == path) {
      return file.content;
    }
  }
  throw Error("template '" + std::string(path) + "' is missing from this build");
}

void run_init(Context& context, const InitOptions& options) {
  git::Repository& repo = context.repo();
  if (repo.is_bare()) {
    throw GitError("cannot initialize a bare repository", "run init in a clone with a working tree");
  }
  std::string report;
  std::size_t created = 0;
  for (const Scaffold& item : k_scaffold) {
    const std::filesystem::path target = repo.workdir() / item.target;
    std::error_code ec;
    const bool exists = std::filesystem::exists(target, ec);
    if (exists && !options.force) {
      report += "kept     " + std::string(item.target) + " (exists; --force overwrites)\n";
      continue;
    }
    util::write_file_atomic(target, template_content(item.source));
    report += (exists ? "replaced " : "created  ") + std::string(item.target) + "\n";
    ++created;
  }
  report += created > 0 ? "\nNext: git promptops lint && git promptops list, then commit the files.\n" : "";
  context.out(report);
}

}  // namespace

void add_init(CLI::App& app, Context& context) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* command = app.add_subcommand("init", "scaffold .promptops.toml, an example prompt and a dataset");
  command->add_flag("--force", options->force, "overwrite files that already exist");
  command->callback([&context, options] { run_init(context, *options); });
}

}  // namespace promptops::cli
