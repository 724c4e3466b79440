// SPDX-License-Identifier: MIT
// `git promptops list`: the prompts in the working tree or at a revision.
#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/output/table.hpp>
#include <promptops/util/parallel.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

struct ListOptions {
  std::string at;
  std::string format;
};

std::string model_label(const ModelSpec& model) {
  if (model.provider.empty()) {
    return model.name;
  }
  return model.name.empty() ? model.provider : model.provider + "/" + model.name;
}

void run_list(Context& context, const ListOptions& options) {
  const auto snapshot = snapshot_at(context, options.at);
  const ParsedConfig parsed_config = load_config(*snapshot);
  for (const Diagnostic& diagnostic : parsed_config.diagnostics) {
    if (diagnostic.severity == Severity::error) {
      throw ConfigError(diagnostic.located_message(), diagnostic.hint);
    }
  }
  const Config& config = parsed_config.config;
  const std::vector<PromptFile> files = find_prompts(*snapshot, config);

  // Parsing dominates: spread it (and the reads, when the snapshot allows) over every core.
  // A file over the size cap (or replaced by a special file) is listed as invalid, not read.
  std::vector<SnapshotFile> texts(files.size());
  const auto fetch = [&](std::size_t i) { texts[i] = snapshot->fetch(files[i].path, size_limit(FileRole::prompt)); };
  if (!snapshot->thread_safe()) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      fetch(i);
    }
  }
  std::vector<ParsedPrompt> parsed_prompts(files.size());
  util::parallel_for(files.size(), [&](std::size_t i) {
    if (snapshot->thread_safe()) {
      fetch(i);
    }
    if (texts[i].refused()) {
      parsed_prompts[i].diagnostics.push_back(
          refused_file(texts[i], FileRole::prompt, files[i].path, Location{files[i].path, 0, 0}));
      return;
    }
    parsed_prompts[i] = parse_prompt(texts[i].content, files[i].path, files[i].name);
  });
  const bool json = options.format == "json";

  nlohmann::json prompts = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const PromptFile& file = files[i];
    const ParsedPrompt& parsed = parsed_prompts[i];
    std::string problem;
    for (const Diagnostic& diagnostic : parsed.diagnostics) {
      if (diagnostic.severity == Severity::error) {
        problem = diagnostic.located_message();
        break;
      }
    }
    if (!problem.empty() || !parsed.prompt) {
      context.warn(problem.empty() ? file.path + ": cannot read prompt" : problem);
      if (json) {
        prompts.push_back({{"name", file.name}, {"path", file.path}, {"error", problem}});
      }
      rows.push_back({file.name, "", "", "(invalid: run git promptops lint " + file.name + ")"});
      continue;
    }
    const Prompt& prompt = *parsed.prompt;
    const ModelSpec model = prompt.effective_model(config);
    std::vector<std::string> variables;
    for (const VarSpec& var : prompt.vars) {
      variables.push_back(var.name);
    }
    rows.push_back({file.name, model_label(model), util::join(variables, ","), prompt.description});
    if (!json) {
      continue;
    }
    nlohmann::json vars = nlohmann::json::array();
    for (const VarSpec& var : prompt.vars) {
      vars.push_back(var.to_json());
    }
    nlohmann::json entry = {{"name", file.name}, {"path", file.path}};
    entry["format"] = prompt.format == PromptFormat::toml ? "toml" : "text";
    entry["description"] = prompt.description;
    entry["tags"] = prompt.tags;
    entry["model"] = {{"provider", model.provider}, {"name", model.name}};
    entry["vars"] = std::move(vars);  // the same shape as in show and export
    prompts.push_back(std::move(entry));
  }
  if (json) {
    const auto commit = snapshot->commit();
    context.out_json({{"commit", commit ? nlohmann::json(commit->hex()) : nlohmann::json(nullptr)},
                      {"prompts", std::move(prompts)}});
    return;
  }
  const std::vector<std::string> headers = {"NAME", "MODEL", "VARIABLES", "DESCRIPTION"};
  if (options.format == "tsv") {
    context.out(output::render_tsv(headers, rows));
    return;
  }
  if (rows.empty()) {
    context.out("no prompts under " + util::join(config.prompt_roots, ", ") + " matching " +
                util::join(config.patterns, ", ") + "\n");
    return;
  }
  output::Table table(headers);
  for (auto& row : rows) {
    table.add_row(std::move(row));
  }
  context.out(table.render(output::terminal_width(stdout)));
}

}  // namespace

void add_list(CLI::App& app, Context& context) {
  auto options = std::make_shared<ListOptions>();
  CLI::App* command = app.add_subcommand("list", "list the prompts in the working tree or at a revision");
  command->add_option("--at", options->at, "read the prompts at this revision instead of the working tree");
  add_format_option(*command, options->format, {"text", "json", "tsv"});
  command->callback([&context, options] { run_list(context, *options); });
}

}  // namespace promptops::cli
