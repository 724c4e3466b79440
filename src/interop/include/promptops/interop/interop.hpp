// SPDX-License-Identifier: MIT
// Other tools' prompt files in and out: promptfoo configurations, Google dotprompt (.prompt) and
// Microsoft Prompty (.prompty) files become this project's prompt files, datasets and config
// tables; a prompt becomes a dotprompt or Prompty file. What does not map is reported as a
// warning at its file:line, never dropped silently.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/config/diagnostic.hpp>
#include <promptops/prompt/prompt.hpp>

namespace promptops::inline interop {

// The file an import reads: its path as the user named it (for diagnostics) and its text. Files
// it refers to (promptfoo's file://, a dotprompt partial) are read through read_beside().
struct ImportSource {
  std::string path;
  std::string text;
};

// Where an import puts what it makes, repository-relative.
struct ImportOptions {
  std::string prompt_root = "prompts";  // the project's first prompt root
  std::string dataset_root = "evals";
  std::string name;  // the prompt's name for one-prompt formats; empty = the source's file stem
  // The project's config when it has a .promptops.toml: its providers are reused rather than
  // declared again. Not owned; null = none.
  const Config* config = nullptr;
};

struct ImportedFile {
  enum class Kind {
    create,  // a new file; an existing one is refused unless forced
    config,  // TOML tables for .promptops.toml: the file when there is none, else appended
  };
  std::string path;  // repository-relative
  std::string text;
  Kind kind = Kind::create;
};

struct ImportResult {
  std::vector<ImportedFile> files;
  std::vector<Diagnostic> notes;  // warnings: what was left out or changed, and where
};

// A file named by `source` (relative to its directory, or file:// as promptfoo writes it), read
// inside that directory only: an absolute path, a ".." that leaves it, a symbolic link or a file
// over 64 MiB is a ConfigError at `where` (a source may come from a cloned repository).
std::string read_beside(const ImportSource& source, const std::string& name, const Location& where);

ImportResult import_promptfoo(const ImportSource& source, const ImportOptions& options);
ImportResult import_dotprompt(const ImportSource& source, const ImportOptions& options);
ImportResult import_prompty(const ImportSource& source, const ImportOptions& options);

// A prompt as another tool's file. `model` is the prompt's effective model. What the format
// cannot hold is added to `notes` as a warning at the prompt's file:line.
std::string export_dotprompt(const Prompt& prompt, const ModelSpec& model, std::vector<Diagnostic>& notes);
std::string export_prompty(const Prompt& prompt, const ModelSpec& model, std::vector<Diagnostic>& notes);

}  // namespace promptops::interop
