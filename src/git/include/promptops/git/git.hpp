// SPDX-License-Identifier: MIT
// The repository as the rest of the tool sees it: ids, commits, trees, blobs, refs and aliases.
// Only src/git includes <git2.h>; nothing here exposes a libgit2 type.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace promptops::git {

// A SHA-1 object id. The zero id means "none".
struct Oid {
  std::array<unsigned char, 20> bytes{};

  // Parses exactly 40 hex digits; nullopt otherwise.
  static std::optional<Oid> parse(std::string_view hex);
  std::string hex() const;
  std::string short_hex(std::size_t n = 7) const;
  bool is_zero() const;
  auto operator<=>(const Oid&) const = default;
};

struct OidHash {
  std::size_t operator()(const Oid& id) const noexcept;
};

// An author, committer or tagger. time is seconds since the epoch, offset in minutes east of UTC.
struct Person {
  std::string name;
  std::string email;
  std::int64_t time = 0;
  int offset_minutes = 0;
};

struct Commit {
  Oid id;
  Oid tree;
  std::vector<Oid> parents;  // none for a shallow root, as git shows it
  Person author;
  Person committer;
  std::string message;

  // The first line of the message, without the newline.
  std::string subject() const;
};

struct TreeEntry {
  std::string path;  // repository-relative, '/'-separated
  Oid id;
  std::uint32_t mode = 0;  // 0100644, 0100755, 0120000, 040000, 0160000

  bool is_blob() const { return mode == 0100644 || mode == 0100755; }
  bool is_tree() const { return mode == 040000; }
  bool is_link() const { return mode == 0120000; }  // the blob holds the target path, never a file to open
};

// A git alias of a prompt: the annotated tag refs/tags/promptops/<prompt>/<alias>.
struct Alias {
  std::string prompt;   // e.g. "support/classify"
  std::string name;     // e.g. "production"
  Oid commit;           // the tag peeled to its commit
  Oid tag;              // the tag object (zero for a lightweight tag)
  std::string message;  // the tag message (who moved it, when, from where)
  Person tagger;
};

class Repository {
 public:
  struct Impl;  // src/git/repository_impl.hpp

  // Opens the repository containing `start` (searching parent directories, like git).
  // Throws GitError (exit 128) when there is none, for SHA-256 repositories, for unsupported
  // extensions, and for "dubious ownership" (with git's safe.directory hint).
  static Repository discover(const std::filesystem::path& start);

  Repository(Repository&&) noexcept;
  Repository& operator=(Repository&&) noexcept;
  ~Repository();

  // The work tree root (empty for a bare repository).
  const std::filesystem::path& workdir() const;
  // The per-worktree git dir (.git, or .git/worktrees/<name> for a linked worktree).
  const std::filesystem::path& git_dir() const;
  // The git dir shared by all worktrees; the tool's cache lives in <common_dir>/promptops.
  const std::filesystem::path& common_dir() const;
  bool is_bare() const;
  // Commits listed in <common_dir>/shallow: history stops there, as in git.
  const std::vector<Oid>& shallow_roots() const;
  bool is_shallow() const { return !shallow_roots().empty(); }

  // The commit HEAD points at; nullopt on an unborn branch (an empty repository).
  std::optional<Oid> head() const;
  // "refs/heads/<branch>", or "HEAD" when detached.
  std::string head_ref() const;

  // Resolves any git revision (sha, branch, tag, HEAD~2, main@{1}, :/text...) to a commit,
  // peeling tags. nullopt when git would say "unknown revision"; throws GitError otherwise.
  std::optional<Oid> resolve(std::string_view revision) const;

  // The best common ancestor of two commits, as `git merge-base A B`; nullopt when they share no
  // history. Throws GitError on repository errors.
  std::optional<Oid> merge_base(const Oid& a, const Oid& b) const;

  // A boolean from git config (system, global, the repository's .git/config; never a tracked
  // file), as `git config --type=bool` reads it; nullopt when unset or not a boolean.
  std::optional<bool> config_bool(const std::string& name) const;
  // A string from the same git config; nullopt when unset.
  std::optional<std::string> config_string(const std::string& name) const;
  // Every value of a multi-valued key in the same git config (`git config --get-all`), from the
  // system file to .git/config; an empty value forgets the values before it, as safe.directory's.
  std::vector<std::string> config_strings(const std::string& name) const;

  // Short names of refs under refs/heads, refs/tags and refs/remotes, for "did you mean".
  std::vector<std::string> ref_names() const;

  // The person as .mailmap (and mailmap.file / mailmap.blob) names them, as git log's %aN/%aE.
  Person mailmap(const Person& person) const;

  // Throws GitError when `id` is not a commit in this repository.
  Commit read_commit(const Oid& id) const;
  // The parents to follow: none for shallow roots (see shallow_roots()).
  std::vector<Oid> parents(const Oid& commit) const;
  // The entry at `path` in the commit's tree; nullopt when absent.
  std::optional<TreeEntry> entry_at(const Oid& commit, std::string_view path) const;
  // Every regular file under `dir` ("" = the whole tree) at the commit, recursively, sorted by
  // path; symlinks and submodules are skipped. When `links` is given, the symlinks (mode 120000)
  // are appended to it, sorted by path.
  std::vector<TreeEntry> list_blobs(const Oid& commit, std::string_view dir,
                                    std::vector<TreeEntry>* links = nullptr) const;
  // Blob contents. Throws GitError; in a partial clone the hint says to fetch the blob.
  std::string read_blob(const Oid& blob) const;
  // The size of a blob from the object header, without loading its content; nullopt when the
  // header cannot be read (a missing object: read_blob then says why).
  std::optional<std::uint64_t> blob_size(const Oid& blob) const;

  // The index (staging area) as it is on disk now: every stage-0 entry sorted by path, and the
  // paths with merge conflicts (stages 1-3). Throws GitError for a bare repository.
  struct Index {
    std::vector<TreeEntry> entries;
    std::vector<std::string> conflicts;
  };
  Index read_index() const;

  // The paths that differ between the tree of `base` (nullopt = the empty tree) and, in turn, the
  // tree of `commit`, the index, or the working tree (tracked files and untracked ones that are
  // not ignored). Sorted and unique; a rename shows as both paths. No content is compared beyond
  // object ids, and no rename detection is done.
  std::vector<std::string> changed_paths(const std::optional<Oid>& base, const Oid& commit) const;
  std::vector<std::string> staged_paths(const std::optional<Oid>& base) const;
  std::vector<std::string> worktree_paths(const std::optional<Oid>& base) const;

  // Every alias, or those of one prompt, sorted by prompt then alias name.
  std::vector<Alias> aliases(std::string_view prompt = {}) const;
  std::optional<Alias> find_alias(std::string_view prompt, std::string_view alias) const;
  // Creates or moves an alias to `commit` as an annotated tag whose message records who, when
  // and the previous target; the move is compare-and-swap, so a concurrent move is not lost
  // silently (GitError). Returns the new alias.
  Alias set_alias(std::string_view prompt, std::string_view alias, const Oid& commit,
                  std::string_view reason);
  // Returns false when the alias did not exist.
  bool remove_alias(std::string_view prompt, std::string_view alias);

  // The identity git would use for new commits or tags, with git's precedence: GIT_AUTHOR_* or
  // GIT_COMMITTER_* variables, then author.*/committer.* and user.* in config, then EMAIL. The
  // time is GIT_AUTHOR_DATE/GIT_COMMITTER_DATE when set and readable, else now.
  // Throws GitError with git's "please tell me who you are" hint when there is none.
  Person signature(bool committer) const;

  // A commit whose tree is `parent`'s with the blob at `path` replaced by `content` (the file must
  // exist at parent; its mode is kept), author and committer from signature(), `message` as given.
  // No ref, index or working tree changes. Throws GitError.
  Oid create_file_commit(const Oid& parent, std::string_view path, std::string_view content,
                         std::string_view message);
  // Creates refs/heads/<name> at `commit` with git's reflog line. Throws GitError naming the branch
  // when it exists or the name is invalid.
  void create_branch(std::string_view name, const Oid& commit);
  // Whether `path` has staged or unstaged changes relative to HEAD. False in a bare repository.
  bool has_local_changes(std::string_view path) const;
  // Puts `commit` (made by create_file_commit on `expected`) on the current branch as `git commit`
  // of that one file would: the index entry and working tree file of `path` only, then the branch
  // (or a detached HEAD) moved from `expected` with compare-and-swap and a "commit: <subject>"
  // reflog line. Throws GitError, having changed nothing, when HEAD is no longer `expected`, the
  // file has local changes, or the repository is bare.
  void advance_head(const Oid& commit, const Oid& expected, std::string_view path);

  Impl& impl() const { return *m_impl; }

 private:
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// True when `name` may be used in a ref ("support/classify", "production"), as git decides.
bool is_valid_ref_component(std::string_view name);

}  // namespace promptops::git

namespace promptops::git {

// Pairs git_libgit2_init with its shutdown and sets the options the tool reads with (no hash
// verification and no object cache, as git reads; the worktreeConfig extension). One lives in
// the entry point and one in each test binary's main; nested scopes are allowed.
class LibraryScope {
 public:
  LibraryScope();
  ~LibraryScope();
  LibraryScope(const LibraryScope&) = delete;
  LibraryScope& operator=(const LibraryScope&) = delete;
};

}  // namespace promptops::git

namespace promptops::git {

// The work tree root containing `start`, found without starting libgit2 (which costs ~10 ms),
// for commands that only read the working tree. Only the plain layouts are recognised: a `.git`
// directory owned by this user without core.worktree, or a `.git` file (linked worktree);
// nullopt for anything else (GIT_DIR set, bare, no repository), and the caller then opens the
// repository with Repository::discover, which gives the full answer or error.
std::optional<std::filesystem::path> find_worktree_root(const std::filesystem::path& start);

}  // namespace promptops::git
