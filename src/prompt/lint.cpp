// SPDX-License-Identifier: MIT
// Lint: every problem in the config, the prompts and their datasets, reported at once.
#include <algorithm>
#include <set>

#include <promptops/prompt/dataset.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/prompt/template.hpp>

namespace promptops::inline prompt {

namespace {

Diagnostic make(Severity severity, Location where, std::string code, std::string message,
                std::string hint = {}) {
  return Diagnostic{severity, std::move(where), std::move(code), std::move(message), std::move(hint)};
}

// The file position of a template variable: the message starts at `where` (content line).
Location variable_location(const Message& message, const TemplateVariable& variable) {
  Location at = message.where;
  if (at.line > 0 && variable.line > 0) {
    at.line += variable.line - 1;
    at.column = variable.line == 1 && at.column > 0 ? at.column + variable.column - 1 : variable.column;
  }
  return at;
}

void lint_dataset(const Snapshot& snapshot, const Prompt& prompt, std::vector<Diagnostic>& out) {
  const std::string& dataset = prompt.eval.dataset;
  Location at = prompt.eval.where;
  if (at.file.empty()) {
    at.file = prompt.path;
  }
  const std::filesystem::path normal = std::filesystem::path(dataset).lexically_normal();
  const std::optional<std::string> inside = repository_path(dataset);
  if (!inside) {
    out.push_back(make(Severity::error, at, "dataset-outside-repository",
                       "dataset '" + dataset + "' is outside the repository",
                       "give a path relative to the repository root, such as evals/" +
                           normal.filename().string()));
    return;
  }
  const std::string& path = *inside;
  SnapshotFile file = snapshot.fetch(path, size_limit(FileRole::dataset));
  if (file.refused()) {
    out.push_back(refused_file(file, FileRole::dataset, dataset, at));
    return;
  }
  const auto text = file.kind == SnapshotFile::Kind::file ? std::optional(std::move(file.content)) : std::nullopt;
  if (!text) {
    const std::string dir = normal.has_parent_path() ? normal.parent_path().generic_string() : "";
    const std::string close = did_you_mean(path, snapshot.list(dir));
    out.push_back(make(Severity::error, at, "dataset-not-found", "dataset '" + dataset + "' does not exist",
                       close.empty() ? "create it, or fix the path in [eval] dataset"
                                     : "did you mean '" + close + "'?"));
    return;
  }
  ParsedDataset parsed = parse_dataset(*text, path);
  out.insert(out.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
  const std::vector<Diagnostic> missing = check_case_variables(prompt, parsed.cases, path);
  out.insert(out.end(), missing.begin(), missing.end());
}

void lint_prompt(const Snapshot& snapshot, const Config& config, const Prompt& prompt,
                 std::vector<Diagnostic>& out) {
  std::set<std::string> used;
  for (const Message& message : prompt.messages) {
    const TemplateInfo info = analyze_template(message.content);
    for (const TemplateVariable& variable : info.variables) {
      used.insert(variable.name);
      if (!variable.in_section && prompt.find_var(variable.name) == nullptr) {
        out.push_back(make(Severity::error, variable_location(message, variable), "undeclared-variable",
                           "variable '" + variable.name + "' is used but not declared",
                           "declare it under [vars], for example: " + variable.name +
                               " = { required = true }"));
      }
    }
  }
  for (const VarSpec& var : prompt.vars) {
    Location at = var.where.file.empty() ? Location{prompt.path, 0, 0} : var.where;
    if (used.count(var.name) == 0) {
      out.push_back(make(Severity::warning, at, "unused-variable",
                         "variable '" + var.name + "' is declared but never used",
                         "use {{" + var.name + "}} in the template, or remove it from [vars]"));
    }
    if (var.required && var.default_value) {
      out.push_back(make(Severity::warning, at, "required-with-default",
                         "variable '" + var.name + "' is required and also has a default, which is never used",
                         "remove `required = true` or the default"));
    }
  }
  if (!prompt.model.provider.empty() && !config.providers.empty() &&
      config.providers.count(prompt.model.provider) == 0) {
    std::vector<std::string> names;
    for (const auto& [name, spec] : config.providers) {
      names.push_back(name);
    }
    const std::string close = did_you_mean(prompt.model.provider, names);
    out.push_back(make(Severity::error, prompt.model.where.file.empty() ? Location{prompt.path, 0, 0} : prompt.model.where,
                       "unknown-provider", "provider '" + prompt.model.provider + "' is not declared in " + config.path,
                       close.empty() ? "declare it under [providers." + prompt.model.provider + "]"
                                     : "did you mean '" + close + "'?"));
  }
  if (prompt.eval.present && !prompt.eval.dataset.empty()) {
    lint_dataset(snapshot, prompt, out);
  }
}

}  // namespace

std::vector<Diagnostic> lint(const Snapshot& snapshot, const std::vector<std::string>& names) {
  ParsedConfig parsed_config = load_config(snapshot);
  std::vector<Diagnostic> out = parsed_config.diagnostics;
  const Config& config = parsed_config.config;
  std::vector<SnapshotLink> links;
  const std::vector<PromptFile> files = find_prompts(snapshot, config, &links);
  for (const SnapshotLink& link : links) {
    out.push_back(make(Severity::warning, Location{link.path, 0, 0}, "symlink-not-followed",
                       "'" + link.path + "' is a symbolic link to '" + link.target +
                           "', which is not followed: it is not a prompt and nothing under it is listed",
                       "git promptops reads only regular files inside the repository, as git tracks a link "
                       "as a link: commit the files themselves in its place"));
  }
  std::vector<PromptFile> selected;
  if (names.empty()) {
    selected = files;
  } else {
    std::vector<std::string> known;
    for (const PromptFile& file : files) {
      known.push_back(file.name);
    }
    for (const std::string& name : names) {
      const auto it = std::find_if(files.begin(), files.end(), [&](const PromptFile& f) { return f.name == name; });
      if (it != files.end()) {
        selected.push_back(*it);
        continue;
      }
      const std::string close = did_you_mean(name, known);
      out.push_back(make(Severity::error, Location{config.prompt_roots.empty() ? "" : config.prompt_roots.front(), 0, 0},
                         "unknown-prompt", "no prompt named '" + name + "'",
                         close.empty() ? "'git promptops list' shows the prompts" : "did you mean '" + close + "'?"));
    }
  }
  for (const PromptFile& file : selected) {
    const SnapshotFile text = snapshot.fetch(file.path, size_limit(FileRole::prompt));
    if (text.refused()) {
      out.push_back(refused_file(text, FileRole::prompt, file.path, Location{file.path, 0, 0}));
      continue;
    }
    if (text.kind != SnapshotFile::Kind::file) {
      continue;
    }
    ParsedPrompt parsed = parse_prompt(text.content, file.path, file.name);
    out.insert(out.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
    if (parsed.prompt) {
      lint_prompt(snapshot, config, *parsed.prompt, out);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
  });
  // A dataset shared by several prompts would otherwise report its problems once per prompt.
  const auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.where.file == b.where.file && a.where.line == b.where.line && a.where.column == b.where.column &&
           a.code == b.code && a.message == b.message;
  };
  out.erase(std::unique(out.begin(), out.end(), same), out.end());
  return out;
}

}  // namespace promptops::prompt
