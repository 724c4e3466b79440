// SPDX-License-Identifier: MIT
// `git promptops import promptfoo|dotprompt|prompty FILE...`: another tool's prompt files become
// this project's prompt files, datasets and config tables in the working tree, ready to commit.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <promptops/interop/interop.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

#include "common.hpp"

namespace promptops::cli {

namespace {

struct ImportCommandOptions {
  std::string format;
  std::vector<std::string> files;
  std::string name;
  bool force = false;
  bool dry_run = false;
};

using Importer = ImportResult (*)(const ImportSource&, const ImportOptions&);

Importer importer_for(const std::string& format) {
  if (format == "promptfoo") {
    return import_promptfoo;
  }
  if (format == "dotprompt") {
    return import_dotprompt;
  }
  return import_prompty;
}

ImportSource read_source(const std::string& path) {
  std::optional<std::string> text = util::read_file(path);
  if (!text) {
    throw NotFoundError("'" + path + "' does not exist", "name the file to import, relative to the current directory");
  }
  return {path, std::move(*text)};
}

// Where the project keeps prompts (its config's first root) and the providers it has, read from
// the working tree; `config` must outlive the result.
ImportOptions import_options(const Config& config, const ImportCommandOptions& options) {
  ImportOptions result;
  if (!config.prompt_roots.empty()) {
    result.prompt_root = config.prompt_roots.front();
  }
  result.name = options.name;
  result.config = config.found ? &config : nullptr;
  return result;
}

// Every file the import would write, checked before the first is written: two sources making the
// same file, or a file that exists (without --force), refuse the whole import.
void check_targets(const std::filesystem::path& workdir, const std::vector<ImportedFile>& files, bool force) {
  std::set<std::string> seen;
  for (const ImportedFile& file : files) {
    if (file.kind == ImportedFile::Kind::config) {
      continue;
    }
    if (!seen.insert(file.path).second) {
      throw UsageError("two imported prompts would both be written to " + file.path,
                       "import them one at a time, naming each with --name");
    }
    std::error_code ec;
    if (!force && std::filesystem::exists(workdir / file.path, ec)) {
      throw ConfigError(file.path + " exists; nothing was imported",
                        "use --force to replace it, or --name to import under another name");
    }
  }
}

// Config tables go into .promptops.toml: the whole file when there is none, else appended.
std::string write_config_tables(const std::filesystem::path& workdir, const ImportedFile& file, const std::string& from) {
  const std::filesystem::path target = workdir / file.path;
  const std::optional<std::string> existing = util::read_file(target);
  if (!existing) {
    util::write_file_atomic(target, file.text);
    return "created  " + file.path + "\n";
  }
  std::string updated = *existing;
  if (!updated.empty() && updated.back() != '\n') {
    updated += "\n";
  }
  updated += "\n# Imported from " + from + ".\n" + file.text;
  util::write_file_atomic(target, updated);
  return "appended " + file.path + "\n";
}

std::string notes_text(const std::vector<Diagnostic>& notes) {
  std::string text;
  for (const Diagnostic& note : notes) {
    text += note.format() + " [" + note.code + "]\n";
    if (!note.hint.empty()) {
      text += "  hint: " + note.hint + "\n";
    }
  }
  return text;
}

void run_import(Context& context, const ImportCommandOptions& options) {
  git::Repository& repo = context.repo();
  if (repo.is_bare()) {
    throw GitError("cannot import into a bare repository", "run import in a clone with a working tree");
  }
  const ParsedConfig parsed = load_config(*snapshot_at(context, std::string()));
  throw_first_error(parsed.diagnostics);
  const ImportOptions import = import_options(parsed.config, options);
  ImportResult all;
  for (const std::string& path : options.files) {
    ImportResult one = importer_for(options.format)(read_source(path), import);
    all.files.insert(all.files.end(), one.files.begin(), one.files.end());
    all.notes.insert(all.notes.end(), one.notes.begin(), one.notes.end());
  }
  check_targets(repo.workdir(), all.files, options.force);
  std::string report;
  for (const ImportedFile& file : all.files) {
    if (options.dry_run) {
      report += "would write " + file.path + "\n";
    } else if (file.kind == ImportedFile::Kind::config) {
      report += write_config_tables(repo.workdir(), file, util::join(options.files, ", "));
    } else {
      util::write_file_atomic(repo.workdir() / file.path, file.text);
      report += "created  " + file.path + "\n";
    }
  }
  std::fputs(notes_text(all.notes).c_str(), stderr);
  if (!options.dry_run && !all.files.empty()) {
    report += "\nNext: git promptops lint, then git add the files and commit.\n";
  }
  context.out(report);
}

}  // namespace

void add_import(CLI::App& app, Context& context) {
  auto options = std::make_shared<ImportCommandOptions>();
  CLI::App* command = app.add_subcommand("import", "turn promptfoo, dotprompt or Prompty files into prompts, datasets and config");
  command->add_option("format", options->format, "promptfoo (a promptfooconfig.yaml), dotprompt (.prompt) or prompty (.prompty)")
      ->required()
      ->check(CLI::IsMember({"promptfoo", "dotprompt", "prompty"}));
  command->add_option("file", options->files, "the files to import")->required();
  command->add_option("--name", options->name, "the prompt's name (one-prompt formats; default: the file's stem)");
  command->add_flag("--force", options->force, "replace files that already exist");
  command->add_flag("-n,--dry-run", options->dry_run, "list what would be written, and what does not map, without writing");
  command->callback([&context, options] { run_import(context, *options); });
}

}  // namespace promptops::cli
