// SPDX-License-Identifier: MIT
// `git promptops export [REV | NAME@REF]`: every prompt at a revision (or one prompt at a
// reference) as one JSON bundle for applications, or one prompt as a dotprompt or Prompty file.
#include <filesystem>
#include <map>

#include <promptops/interop/interop.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/util/error.hpp>

#include <promptops/util/file.hpp>
#include "common.hpp"

namespace promptops::cli {

namespace {

struct ExportOptions {
  std::string target;
  std::string output;
  std::string format;
  bool worktree = false;
};

// NAME@REF names one prompt; anything else is a git revision. `@` and `HEAD@{1}` are git's own
// spellings, so `@` must have a name before it and must not open a `{`.
bool is_prompt_reference(const std::string& text) {
  const std::size_t at = text.find('@');
  return at != std::string::npos && at > 0 && at + 1 < text.size() && text[at + 1] != '{';
}

// "git-promptops: warning: prompts/a.toml:20: the [eval] table ... [eval-not-kept]", and its hint.
void warn_notes(const Context& context, const std::vector<Diagnostic>& notes) {
  for (const Diagnostic& note : notes) {
    context.warn(note.located_message() + " [" + note.code + "]");
    if (!note.hint.empty()) {
      std::fputs(("  hint: " + note.hint + "\n").c_str(), stderr);
    }
  }
}

void throw_config_errors(const ParsedConfig& parsed_config) {
  for (const Diagnostic& diagnostic : parsed_config.diagnostics) {
    if (diagnostic.severity == Severity::error) {
      throw ConfigError(diagnostic.located_message(), diagnostic.hint);
    }
  }
}

// `text` to stdout, or to the file (or into the directory) -o names.
void write_result(Context& context, const ExportOptions& options, const std::string& text,
                  const std::string& file_name) {
  if (options.output.empty() || options.output == "-") {
    context.out(text);
    return;
  }
  std::filesystem::path target = options.output;
  std::error_code ec;
  if (!file_name.empty() && (options.output.back() == '/' || std::filesystem::is_directory(target, ec))) {
    target /= file_name;
  }
  util::write_file_atomic(target, text);
}

// The JSON bundle of the prompts of `snapshot` (all of them, or only `only`).
nlohmann::ordered_json bundle_of(Context& context, const Snapshot& snapshot, const std::string& revision,
                                 const std::string& only) {
  git::Repository& repo = context.repo();
  const ParsedConfig parsed_config = load_config(snapshot);
  throw_config_errors(parsed_config);
  std::map<std::string, std::vector<std::string>> aliases;
  if (const auto commit = snapshot.commit()) {
    for (const git::Alias& alias : repo.aliases()) {
      if (alias.commit == *commit) {
        aliases[alias.prompt].push_back(alias.name);
      }
    }
  }
  nlohmann::json prompts = nlohmann::json::object();
  for (const PromptFile& file : find_prompts(snapshot, parsed_config.config)) {
    if (!only.empty() && file.name != only) {
      continue;
    }
    const Prompt prompt = load_prompt(snapshot, file);
    nlohmann::json entry = prompt.to_json();
    const ModelSpec model = prompt.effective_model(parsed_config.config);
    entry["model"] = {{"provider", model.provider}, {"name", model.name}, {"params", model.params}};
    if (const auto commit = snapshot.commit()) {
      if (const auto blob = repo.entry_at(*commit, file.path)) {
        entry["blob"] = blob->id.hex();
      }
    }
    entry["aliases"] = aliases.count(file.name) != 0 ? aliases[file.name] : std::vector<std::string>();
    prompts[file.name] = std::move(entry);
  }
  nlohmann::ordered_json bundle;
  bundle["schema_version"] = 1;
  bundle["commit"] = snapshot.commit() ? nlohmann::json(snapshot.commit()->hex()) : nlohmann::json(nullptr);
  bundle["revision"] = revision;
  bundle["prompts"] = std::move(prompts);
  return bundle;
}

// Whether the working tree has a prompt named `word`.
bool is_prompt_name(Context& context, const std::string& word) {
  git::Repository& repo = context.repo();
  if (repo.is_bare()) {
    return false;
  }
  const auto snapshot = worktree_snapshot(repo);
  const ParsedConfig parsed_config = load_config(*snapshot);
  for (const PromptFile& file : find_prompts(*snapshot, parsed_config.config)) {
    if (file.name == word) {
      return true;
    }
  }
  return false;
}

void export_bundle(Context& context, const ExportOptions& options) {
  if (is_prompt_reference(options.target)) {
    if (options.worktree) {
      throw UsageError("--worktree reads the working tree, but '" + options.target + "' names a commit",
                       "drop --worktree, or give the prompt's name without @");
    }
    const ResolvedReference ref = resolve_reference(context.repo(), Reference::parse(options.target));
    const auto snapshot =
        ref.commit ? commit_snapshot(context.repo(), *ref.commit) : worktree_snapshot(context.repo());
    write_result(context, options, bundle_of(context, *snapshot, options.target, ref.name).dump(2) + "\n",
                 {});
    return;
  }
  const std::string rev = options.target.empty() ? "HEAD" : options.target;
  std::unique_ptr<Snapshot> snapshot;
  try {
    snapshot = snapshot_at(context, options.worktree ? std::string() : rev);
  } catch (const NotFoundError& error) {
    // A prompt's name alone is read as a revision: say how to name the prompt.
    if (!options.worktree && is_prompt_name(context, rev)) {
      throw NotFoundError(error.what(),
                          "to export the prompt, write " + rev +
                              "@HEAD (or another reference), or use --format dotprompt|prompty");
    }
    throw;
  }
  const std::string revision = options.worktree ? "working tree" : rev;
  write_result(context, options, bundle_of(context, *snapshot, revision, {}).dump(2) + "\n", {});
}

// One prompt as a dotprompt or Prompty file; what the format cannot hold is warned about.
void export_one(Context& context, const ExportOptions& options) {
  if (options.target.empty()) {
    throw UsageError("--format " + options.format + " exports one prompt: name it",
                     "git promptops export NAME[@REF] --format " + options.format);
  }
  if (options.worktree && options.target.find('@') != std::string::npos) {
    throw UsageError("--worktree reads the working tree, but '" + options.target + "' names a commit",
                     "drop --worktree, or give the prompt's name without @");
  }
  git::Repository& repo = context.repo();
  const ResolvedReference ref = resolve_reference(repo, Reference::parse(options.target));
  const auto snapshot = ref.commit ? commit_snapshot(repo, *ref.commit) : worktree_snapshot(repo);
  const ParsedConfig parsed_config = load_config(*snapshot);
  throw_config_errors(parsed_config);
  const Prompt prompt = load_prompt(*snapshot, PromptFile{ref.name, ref.path});
  const ModelSpec model = prompt.effective_model(parsed_config.config);
  std::vector<Diagnostic> notes;
  const bool dotprompt = options.format == "dotprompt";
  const std::string text =
      dotprompt ? export_dotprompt(prompt, model, notes) : export_prompty(prompt, model, notes);
  warn_notes(context, notes);
  const std::string stem = std::filesystem::path(prompt.name).filename().string();
  write_result(context, options, text, stem + (dotprompt ? ".prompt" : ".prompty"));
}

void run_export(Context& context, const ExportOptions& options) {
  if (options.format == "json") {
    export_bundle(context, options);
  } else {
    export_one(context, options);
  }
}

}  // namespace

void add_export(CLI::App& app, Context& context) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand(
      "export", "write prompts as a JSON bundle, or one prompt as a dotprompt or Prompty file");
  command->add_option(
      "target", options->target,
      "the revision to bundle (default HEAD), or one prompt: NAME@vN, NAME@ALIAS, NAME@REV (NAME alone "
      "with --format dotprompt|prompty: the working tree)");
  command->add_flag("--worktree", options->worktree, "export the working tree instead of a revision");
  command->add_option("-o,--output", options->output,
                      "write to this file (atomically) instead of stdout; with dotprompt or prompty, a "
                      "directory gets NAME.prompt or NAME.prompty");
  add_format_option(*command, options->format, {"json", "dotprompt", "prompty"});
  command->callback([&context, options] { run_export(context, *options); });
}

}  // namespace promptops::cli
