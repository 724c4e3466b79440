// SPDX-License-Identifier: MIT
// `git promptops export [REV]`: every prompt at a revision as one JSON bundle for applications.
#include <map>

#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/util/file.hpp>

namespace promptops::cli {

namespace {

struct ExportOptions {
  std::string rev = "HEAD";
  std::string output;
  bool worktree = false;
};

void run_export(Context& context, const ExportOptions& options) {
  git::Repository& repo = context.repo();
  const auto snapshot = snapshot_at(context, options.worktree ? std::string() : options.rev);
  const ParsedConfig parsed_config = load_config(*snapshot);
  for (const Diagnostic& diagnostic : parsed_config.diagnostics) {
    if (diagnostic.severity == Severity::error) {
      throw ConfigError(diagnostic.located_message(), diagnostic.hint);
    }
  }
  std::map<std::string, std::vector<std::string>> aliases;
  if (const auto commit = snapshot->commit()) {
    for (const git::Alias& alias : repo.aliases()) {
      if (alias.commit == *commit) {
        aliases[alias.prompt].push_back(alias.name);
      }
    }
  }
  nlohmann::json prompts = nlohmann::json::object();
  for (const PromptFile& file : find_prompts(*snapshot, parsed_config.config)) {
    const Prompt prompt = load_prompt(*snapshot, file);
    nlohmann::json entry = prompt.to_json();
    const ModelSpec model = prompt.effective_model(parsed_config.config);
    entry["model"] = {{"provider", model.provider}, {"name", model.name}, {"params", model.params}};
    if (const auto commit = snapshot->commit()) {
      if (const auto blob = repo.entry_at(*commit, file.path)) {
        entry["blob"] = blob->id.hex();
      }
    }
    entry["aliases"] = aliases.count(file.name) != 0 ? aliases[file.name] : std::vector<std::string>();
    prompts[file.name] = std::move(entry);
  }
  nlohmann::ordered_json bundle;
  bundle["schema_version"] = 1;
  bundle["commit"] = snapshot->commit() ? nlohmann::json(snapshot->commit()->hex()) : nlohmann::json(nullptr);
  bundle["revision"] = options.worktree ? "working tree" : options.rev;
  bundle["prompts"] = std::move(prompts);
  const std::string text = bundle.dump(2) + "\n";
  if (options.output.empty() || options.output == "-") {
    context.out(text);
  } else {
    util::write_file_atomic(options.output, text);
  }
}

}  // namespace

void add_export(CLI::App& app, Context& context) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand("export", "write every prompt at a revision as one JSON bundle");
  command->add_option("revision", options->rev, "the revision to export (default HEAD)");
  command->add_flag("--worktree", options->worktree, "export the working tree instead of a revision");
  command->add_option("-o,--output", options->output, "write the bundle to this file (atomically) instead of stdout");
  command->callback([&context, options] { run_export(context, *options); });
}

}  // namespace promptops::cli
