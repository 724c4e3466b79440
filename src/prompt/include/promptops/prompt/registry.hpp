// SPDX-License-Identifier: MIT
// The registry: the prompts of a project at one point in its history (a commit or the working
// tree), references NAME[@REV] to them, and lint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/config/diagnostic.hpp>
#include <promptops/git/git.hpp>
#include <promptops/prompt/prompt.hpp>

namespace promptops::inline prompt {

// What a file is read as; each role has a size cap (git-promptops(1), "Links and limits").
enum class FileRole {
  config,   // .promptops.toml: 1 MiB
  prompt,   // a prompt file: 1 MiB
  dataset,  // an evaluation dataset: 256 MiB
};

// The most bytes a file of `role` may hold.
std::uint64_t size_limit(FileRole role);

// The repository-relative path `path` names, normalized ("evals/./a.csv" -> "evals/a.csv"), or
// nullopt when it is empty, absolute, climbs out with "..", or goes through a ".git" directory:
// such a path never names a file of the project.
std::optional<std::string> repository_path(std::string_view path);

// What a snapshot holds at a path. Links are read as git stores them: a link is never followed,
// in the working tree or in a commit, whether it points inside the repository or not.
struct SnapshotFile {
  enum class Kind {
    file,       // `content` holds the bytes
    missing,    // nothing there (or a directory, or a submodule)
    outside,    // the path is not a repository path (see repository_path)
    link,       // `link` (the path, or a directory above it) is a symlink; `content` = its target
    special,    // a fifo, device or socket in the working tree
    too_large,  // more than the size cap; `size` is the size found
  };
  Kind kind = Kind::missing;
  std::string content;
  std::string link;
  std::uint64_t size = 0;

  // True for link, special and too_large: the file is there but is not read.
  bool refused() const { return kind == Kind::link || kind == Kind::special || kind == Kind::too_large; }
  // For a refused file: "dataset 'evals/k.csv' is a symbolic link to '/x', which is not followed"
  // (`path` as the user wrote it), and the hint with the fix; empty otherwise.
  std::string problem(FileRole role, const std::string& path) const;
  std::string hint(FileRole role) const;
};

// A symlink met while listing: its path and target. Directory links are never descended.
struct SnapshotLink {
  std::string path;
  std::string target;
};

// Read-only files of a project at one point: a commit's tree or the working tree.
// Paths are repository-relative and '/'-separated.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  // The file at `path`, read only when it is a regular file of at most `max_bytes` (the size is
  // checked before reading: the object header for a blob, fstat then a bounded read in the
  // working tree). Throws only on I/O or libgit2 failures.
  virtual SnapshotFile fetch(const std::string& path, std::uint64_t max_bytes) const = 0;
  // The content of the file at `path` under `role`'s size cap; nullopt when it is missing or the
  // path is not a repository path. Throws ConfigError (problem() and hint()) for a link, a special
  // file or a file over the cap.
  std::optional<std::string> read(const std::string& path, FileRole role = FileRole::prompt) const;
  virtual bool exists(const std::string& path) const = 0;
  // Regular files under `dir`, recursively, sorted; hidden entries (".name") are skipped. Symlinks
  // are not files and not directories: they are skipped, and appended to `links` when given.
  virtual std::vector<std::string> list(const std::string& dir, std::vector<SnapshotLink>* links) const = 0;
  std::vector<std::string> list(const std::string& dir) const { return list(dir, nullptr); }
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

// The error diagnostic at `at` for a file that fetch() refused (a link, a special file or one over
// its cap): code symlink-not-followed, not-a-regular-file or file-too-large.
Diagnostic refused_file(const SnapshotFile& file, FileRole role, const std::string& path, Location at);

// .promptops.toml at the snapshot, or the defaults when there is none. A refused file (a link, a
// special file, more than 1 MiB) gives the defaults and an error diagnostic.
ParsedConfig load_config(const Snapshot& snapshot);

struct PromptFile {
  std::string name;  // "support/classify"
  std::string path;  // "prompts/support/classify.toml"
};

// Every prompt file under the configured roots whose name matches a pattern, sorted by name.
// When two files give the same name (a.toml and a.prompt) the first pattern wins. Symlinks under
// the roots are never prompts; they are appended to `links` when given.
std::vector<PromptFile> find_prompts(const Snapshot& snapshot, const Config& config,
                                     std::vector<SnapshotLink>* links = nullptr);

// The name of the prompt that the file at `path` would be under `config`'s roots and patterns
// (hidden paths excluded), or nullopt when it is not a prompt file. Whether another file takes
// the same name first is not considered.
std::optional<std::string> prompt_name_of(const Config& config, const std::string& path);

// The configured prompt roots as repository-relative directories: trailing slashes removed, "."
// as "" (the whole repository).
std::vector<std::string> root_dirs(const Config& config);

// Loads one prompt. Throws ConfigError with the first error diagnostic (and its hint) when the
// file cannot be used; warnings are ignored here (lint reports them).
Prompt load_prompt(const Snapshot& snapshot, const PromptFile& file);

// Every problem in the config and the named prompts (all prompts when `names` is empty):
// syntax errors, unknown keys with "did you mean", variables used but not declared, declared but
// never used, required but with no value and no dataset to give one, a dataset that does not
// exist, escapes the repository, is a symlink, a special file or over its size cap, and (as
// warnings) symlinks under the prompt roots, which are not followed. Unknown names are
// diagnostics too.
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

}  // namespace promptops::prompt
