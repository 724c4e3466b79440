// SPDX-License-Identifier: MIT
// The registry: the prompts of a project at one point in its history (a commit or the working
// tree), references NAME[@REV] to them, and lint.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <promptops/config.hpp>
#include <promptops/diagnostic.hpp>
#include <promptops/git.hpp>
#include <promptops/prompt.hpp>

namespace promptops {

// Read-only files of a project at one point: a commit's tree or the working tree.
// Paths are repository-relative and '/'-separated.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  virtual bool exists(const std::string& path) const = 0;
  // Files under `dir`, recursively, sorted; hidden entries (".name") are skipped.
  virtual std::vector<std::string> list(const std::string& dir) const = 0;
  // True when read() may be called from several threads at once.
  virtual bool thread_safe() const { return false; }
  // The commit, or nullopt for the working tree.
  virtual std::optional<git::Oid> commit() const = 0;
  // "working tree", "index" or the short commit id.
  virtual std::string label() const;
};

// The working tree. Throws GitError for a bare repository.
std::unique_ptr<Snapshot> worktree_snapshot(const git::Repository& repo);
// The working tree at `root` (see git::find_worktree_root).
std::unique_ptr<Snapshot> worktree_snapshot(const std::filesystem::path& root);
// The index (what `git commit` would record): stage-0 entries as read now; blobs are read lazily.
// Throws GitError for a bare repository and when the index has merge conflicts.
std::unique_ptr<Snapshot> index_snapshot(const git::Repository& repo);
// A commit's tree; blobs are read lazily and once.
std::unique_ptr<Snapshot> commit_snapshot(const git::Repository& repo, const git::Oid& commit);

// .promptops.toml at the snapshot, or the defaults when there is none.
ParsedConfig load_config(const Snapshot& snapshot);

struct PromptFile {
  std::string name;  // "support/classify"
  std::string path;  // "prompts/support/classify.toml"
};

// Every prompt file under the configured roots whose name matches a pattern, sorted by name.
// When two files give the same name (a.toml and a.prompt) the first pattern wins.
std::vector<PromptFile> find_prompts(const Snapshot& snapshot, const Config& config);

// The name of the prompt that the file at `path` would be under `config`'s roots and patterns
// (hidden paths excluded), or nullopt when it is not a prompt file. Whether another file takes
// the same name first is not considered.
std::optional<std::string> prompt_name_of(const Config& config, const std::string& path);

// Loads one prompt. Throws ConfigError with the first error diagnostic (and its hint) when the
// file cannot be used; warnings are ignored here (lint reports them).
Prompt load_prompt(const Snapshot& snapshot, const PromptFile& file);

// Every problem in the config and the named prompts (all prompts when `names` is empty):
// syntax errors, unknown keys with "did you mean", variables used but not declared, declared but
// never used, required but with no value and no dataset to give one, a dataset that does not
// exist or escapes the repository. Unknown names are diagnostics too.
std::vector<Diagnostic> lint(const Snapshot& snapshot, const std::vector<std::string>& names = {});

// NAME[@REV] as the user wrote it. REV is vN, an alias, or any git revision; empty = the working
// tree (HEAD in a bare repository).
struct Reference {
  std::string name;
  std::string rev;
  static Reference parse(std::string_view text);  // throws UsageError for "" or "@x"
  std::string format() const;
};

struct ResolvedReference {
  std::string name;
  std::optional<git::Oid> commit;  // nullopt = working tree
  std::string path;                // the prompt file at that point
  std::string how;                 // "working tree", "v3", "alias production", "HEAD~2"
  int version = 0;                 // vN when known, else 0
};

// Resolves a reference. Throws NotFoundError with "did you mean" for an unknown prompt, version,
// alias or revision, and when the prompt does not exist at that commit.
ResolvedReference resolve_reference(const git::Repository& repo, const Reference& ref);

// One version of a prompt: the commits along first-parent history where its file changed,
// v1 = oldest. A deleting commit is listed with number 0 and deleted = true.
struct PromptVersion {
  int number = 0;
  git::Oid commit;
  git::Oid blob;
  bool deleted = false;
};

// The versions of the prompt `name` along the first-parent history from `tip`, newest first.
// The path is the prompt's path at `tip`, or, when it is absent there, at the newest commit
// that still had it (found by the candidate paths the config allows).
// Throws NotFoundError when the name never existed.
std::vector<PromptVersion> prompt_versions(const git::Repository& repo, const git::Oid& tip,
                                           std::string_view name, std::string* path_out = nullptr);

}  // namespace promptops
