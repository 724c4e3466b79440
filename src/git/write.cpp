// SPDX-License-Identifier: MIT
// Write-back: a commit changing one file, new branches, and moving HEAD onto such a commit the
// way `git commit <file>` would (single-path checkout, then a compare-and-swap ref move).
#include <algorithm>
#include <optional>

#include <promptops/git/git.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

std::string in_quotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

CommitHandle lookup_commit(git_repository& repo, const Oid& id) {
  git_commit* raw = nullptr;
  const int rc = git_commit_lookup(&raw, &repo, to_git(id));
  if (rc == GIT_ENOTFOUND) {
    throw GitError("commit " + id.hex() + " not found");
  }
  check(rc, "reading commit " + id.hex());
  return CommitHandle(raw);
}

TreeHandle tree_of(const git_commit& commit) {
  git_tree* raw = nullptr;
  check(git_commit_tree(&raw, &commit), "reading the tree of " + from_git(*git_commit_id(&commit)).hex());
  return TreeHandle(raw);
}

SignatureHandle to_signature(const Person& person, const char* what) {
  git_signature* raw = nullptr;
  check(git_signature_new(&raw, person.name.c_str(), person.email.c_str(),
                          static_cast<git_time_t>(person.time), person.offset_minutes),
        std::string("making the ") + what + " signature");
  return SignatureHandle(raw);
}

// The first non-blank line of a commit message without trailing spaces, as `git commit` writes it
// to the reflog (after git's stripspace cleanup).
std::string subject_of(std::string_view message) {
  while (!message.empty()) {
    const std::string_view line = message.substr(0, message.find('\n'));
    std::string_view trimmed = line;
    while (!trimmed.empty() && util::is_ascii_space(trimmed.back())) {
      trimmed.remove_suffix(1);
    }
    if (!trimmed.empty()) {
      return std::string(trimmed);
    }
    message.remove_prefix(std::min(message.size(), line.size() + 1));
  }
  return {};
}

// Reflog lines name this identity (libgit2 would otherwise use user.* from config or "unknown",
// ignoring git's GIT_COMMITTER_* variables).
void set_reflog_identity(git_repository& repo, const Person& committer) {
  check(git_repository_set_ident(&repo, committer.name.c_str(), committer.email.c_str()),
        "setting the reflog identity");
}

// Checks out `path` from `tree` into the index and working tree, and nothing else. `baseline` is
// the tree the working tree is known to match, so an unmodified file may be replaced; a local
// change makes it fail (GIT_ECONFLICT) without writing anything.
int checkout_path(git_repository& repo, const git_tree& tree, git_tree& baseline, const std::string& path) {
  git_checkout_options options{};
  check(git_checkout_options_init(&options, GIT_CHECKOUT_OPTIONS_VERSION), "preparing a checkout");
  options.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
  std::string path_copy = path;
  char* paths[] = {path_copy.data()};
  options.paths.strings = paths;
  options.paths.count = 1;
  options.baseline = &baseline;
  return git_checkout_tree(&repo, reinterpret_cast<const git_object*>(&tree), &options);
}

using IndexHandle = Handle<git_index, git_index_free>;

// Puts `path` back as `tree` has it after a checkout from `baseline` (the tree it was checked out
// to) failed or was not followed by the ref move. Returns the error when that fails too. The
// index is reread from disk so that an entry of a failed checkout is not reused in memory.
std::optional<std::string> restore_path(git_repository& repo, const git_tree& tree, git_tree& baseline,
                                        const std::string& path) {
  std::optional<std::string> error;
  if (checkout_path(repo, tree, baseline, path) < 0) {
    error = last_error_message();
  }
  git_index* raw_index = nullptr;
  if (git_repository_index(&raw_index, &repo) == 0) {
    const IndexHandle index(raw_index);
    git_index_read(index.get(), 1);
  }
  return error;
}

// Throws unless `new_tree` is `old_tree` with only the blob at `path` changed: the checkout
// touches that path alone, so any other difference would show in git status as a staged revert.
void require_only_change(git_repository& repo, git_tree& old_tree, git_tree& new_tree,
                         const std::string& path, const Oid& commit) {
  git_tree_entry* raw_entry = nullptr;
  const int rc = git_tree_entry_bypath(&raw_entry, &old_tree, path.c_str());
  if (rc == GIT_ENOTFOUND) {
    throw GitError(in_quotes(path) + " is not in the checked-out commit");
  }
  check(rc, "looking up " + in_quotes(path));
  const TreeEntryHandle entry(raw_entry);
  git_tree_update update{};
  update.action = GIT_TREE_UPDATE_UPSERT;
  update.id = *git_tree_entry_id(entry.get());  // borrowed from `entry`
  update.filemode = git_tree_entry_filemode(entry.get());
  update.path = path.c_str();
  git_oid reverted{};
  // The result is old_tree itself when only `path` differs, so nothing new is written.
  check(git_tree_create_updated(&reverted, &repo, &new_tree, 1, &update), "comparing the trees");
  if (git_oid_cmp(&reverted, git_tree_id(&old_tree)) != 0) {
    throw GitError("commit " + commit.short_hex() + " changes more than " + in_quotes(path));
  }
}

// git refuses a partial commit while a merge, cherry-pick or revert is in progress, and moving
// HEAD under a rebase or `git am` would change what they do next.
void require_no_operation_in_progress(git_repository& repo) {
  const int state = git_repository_state(&repo);
  if (state == GIT_REPOSITORY_STATE_NONE || state == GIT_REPOSITORY_STATE_BISECT) {
    return;
  }
  std::string what = "a rebase";
  if (state == GIT_REPOSITORY_STATE_MERGE) {
    what = "a merge";
  } else if (state == GIT_REPOSITORY_STATE_REVERT || state == GIT_REPOSITORY_STATE_REVERT_SEQUENCE) {
    what = "a revert";
  } else if (state == GIT_REPOSITORY_STATE_CHERRYPICK || state == GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE) {
    what = "a cherry-pick";
  } else if (state == GIT_REPOSITORY_STATE_APPLY_MAILBOX ||
             state == GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE) {
    what = "git am";
  }
  throw GitError("cannot commit while " + what + " is in progress",
                 "finish or abort it, then run the command again");
}

constexpr unsigned k_changed = GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_DELETED |
                               GIT_STATUS_INDEX_RENAMED | GIT_STATUS_INDEX_TYPECHANGE |
                               GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED | GIT_STATUS_WT_TYPECHANGE |
                               GIT_STATUS_WT_RENAMED | GIT_STATUS_WT_UNREADABLE | GIT_STATUS_CONFLICTED;

}  // namespace

Oid Repository::create_file_commit(const Oid& parent, std::string_view path, std::string_view content,
                                   std::string_view message) {
  git_repository& repo = *m_impl->repo;
  const std::string file(path);
  const CommitHandle parent_commit = lookup_commit(repo, parent);
  const TreeHandle parent_tree = tree_of(*parent_commit);

  git_tree_entry* raw_entry = nullptr;
  const int entry_rc =
      file.empty() ? GIT_ENOTFOUND : git_tree_entry_bypath(&raw_entry, parent_tree.get(), file.c_str());
  if (entry_rc == GIT_ENOTFOUND) {
    throw GitError("path " + in_quotes(file) + " does not exist in commit " + parent.short_hex());
  }
  check(entry_rc, "looking up " + in_quotes(file) + " in commit " + parent.short_hex());
  const TreeEntryHandle entry(raw_entry);
  const git_filemode_t mode = git_tree_entry_filemode(entry.get());
  if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
    throw GitError(in_quotes(file) + " is not a regular file in commit " + parent.short_hex());
  }

  git_oid blob_id{};
  check(git_blob_create_from_buffer(&blob_id, &repo, content.data(), content.size()),
        "writing the new content of " + in_quotes(file));
  git_tree_update update{};
  update.action = GIT_TREE_UPDATE_UPSERT;
  update.id = blob_id;
  update.filemode = mode;
  update.path = file.c_str();
  git_oid tree_id{};
  check(git_tree_create_updated(&tree_id, &repo, parent_tree.get(), 1, &update),
        "writing the tree with the new " + in_quotes(file));
  git_tree* raw_tree = nullptr;
  check(git_tree_lookup(&raw_tree, &repo, &tree_id), "reading the new tree");
  const TreeHandle tree(raw_tree);

  const SignatureHandle author = to_signature(signature(false), "author");
  const SignatureHandle committer = to_signature(signature(true), "committer");
  const std::string text(message);
  const git_commit* parents[] = {parent_commit.get()};
  git_oid commit_id{};
  check(git_commit_create(&commit_id, &repo, nullptr, author.get(), committer.get(), nullptr, text.c_str(),
                          tree.get(), 1, parents),
        "writing the commit of " + in_quotes(file));
  return from_git(commit_id);
}

void Repository::create_branch(std::string_view name, const Oid& commit) {
  git_repository& repo = *m_impl->repo;
  const std::string branch(name);
  int valid = 0;
  if (branch.empty() || git_branch_name_is_valid(&valid, branch.c_str()) < 0 || valid == 0) {
    throw GitError(in_quotes(branch) + " is not a valid branch name",
                   "branch names must be valid in a git ref (see git check-ref-format --branch)");
  }
  const std::string ref = "refs/heads/" + branch;
  const CommitHandle target = lookup_commit(repo, commit);

  git_reference* raw_existing = nullptr;
  const int lookup_rc = git_reference_lookup(&raw_existing, &repo, ref.c_str());
  if (lookup_rc == 0) {
    git_reference_free(raw_existing);
    throw GitError("branch " + in_quotes(branch) + " already exists", "choose another branch name");
  }
  if (lookup_rc != GIT_ENOTFOUND) {
    check(lookup_rc, "reading " + ref);
  }

  set_reflog_identity(repo, signature(true));
  // A zero expected id means "must not exist", checked under the ref's lock, so a branch created
  // meanwhile is never overwritten (git_branch_create checks before locking). Same reflog line.
  const git_oid absent{};
  const std::string log_message = "branch: Created from " + commit.hex();
  git_reference* raw_ref = nullptr;
  const int rc = git_reference_create_matching(&raw_ref, &repo, ref.c_str(), to_git(commit), 1, &absent,
                                               log_message.c_str());
  if (rc == GIT_EMODIFIED) {
    throw GitError("branch " + in_quotes(branch) + " already exists", "choose another branch name");
  }
  check(rc, "creating branch " + in_quotes(branch));
  const ReferenceHandle created(raw_ref);
}

bool Repository::has_local_changes(std::string_view path) const {
  if (m_impl->bare) {
    return false;
  }
  const std::string file(path);
  unsigned int flags = 0;
  const int rc = git_status_file(&flags, m_impl->repo.get(), file.c_str());
  if (rc == GIT_ENOTFOUND) {
    return false;  // neither in HEAD, the index nor the working tree
  }
  check(rc, "reading the status of " + in_quotes(file));
  // An untracked or ignored file alone is no change to a tracked one.
  return (flags & k_changed) != 0;
}

void Repository::advance_head(const Oid& commit, const Oid& expected, std::string_view path) {
  git_repository& repo = *m_impl->repo;
  const std::string file(path);
  if (m_impl->bare) {
    throw GitError("cannot commit " + in_quotes(file) + " in a bare repository",
                   "create a branch instead, or run the command in a working tree");
  }

  // The ref to move: the checked-out branch, or HEAD itself when detached.
  const std::string ref = head_ref();
  const std::optional<Oid> current = head();
  if (!current) {
    throw GitError("HEAD has no commit yet, so " + expected.short_hex() + " is not checked out");
  }
  if (*current != expected) {
    throw GitError("HEAD moved to " + current->short_hex() + " (expected " + expected.short_hex() + ")",
                   "run the command again");
  }
  if (has_local_changes(file)) {
    throw GitError(in_quotes(file) + " has local changes",
                   "commit or stash them, then run the command again");
  }
  require_no_operation_in_progress(repo);

  const CommitHandle new_commit = lookup_commit(repo, commit);
  if (git_commit_parentcount(new_commit.get()) != 1 ||
      from_git(*git_commit_parent_id(new_commit.get(), 0)) != expected) {
    throw GitError("commit " + commit.short_hex() + " is not a child of " + expected.short_hex());
  }
  const CommitHandle old_commit = lookup_commit(repo, expected);
  const TreeHandle new_tree = tree_of(*new_commit);
  const TreeHandle old_tree = tree_of(*old_commit);

  require_only_change(repo, *old_tree, *new_tree, file, commit);

  // Everything that can fail without writing comes before the checkout.
  // Borrowed from `new_commit`.
  const char* message = git_commit_message(new_commit.get());
  const std::string log_message = "commit: " + subject_of(message != nullptr ? message : "");
  set_reflog_identity(repo, signature(true));

  const int checkout_rc = checkout_path(repo, *new_tree, *old_tree, file);
  if (checkout_rc == GIT_ECONFLICT) {
    // SAFE checkout detects conflicts before it writes anything.
    throw GitError(in_quotes(file) + " has local changes",
                   "commit or stash them, then run the command again");
  }
  if (checkout_rc < 0) {
    // libgit2 writes the working tree before the index (a locked index fails last), so put the
    // file back as `expected` has it; the index on disk was not written.
    const std::string error = last_error_message();
    restore_path(repo, *old_tree, *new_tree, file);
    throw GitError("checking out " + in_quotes(file) + ": " + error, "run the command again");
  }
  git_reference* raw_ref = nullptr;
  const int rc = git_reference_create_matching(&raw_ref, &repo, ref.c_str(), to_git(commit), 1,
                                               to_git(expected), log_message.c_str());
  if (rc < 0) {
    const std::string error = last_error_message();
    // Put the file back as `expected` has it; the index and working tree hold the new version.
    const std::optional<std::string> restore_error = restore_path(repo, *old_tree, *new_tree, file);
    std::string hint = "run the command again";
    if (restore_error) {
      hint =
          "restoring " + in_quotes(file) + " failed too (" + *restore_error + "); check it with git status";
    }
    if (rc == GIT_EMODIFIED || rc == GIT_ENOTFOUND) {
      throw GitError(ref + " moved while committing " + in_quotes(file), hint);
    }
    throw GitError("updating " + ref + ": " + error, hint);
  }
  const ReferenceHandle updated(raw_ref);
}

}  // namespace promptops::git
