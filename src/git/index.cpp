// SPDX-License-Identifier: MIT
// The index (staging area) and the paths that differ between a commit and a commit, the index or
// the working tree: what `check --staged`, `--worktree` and the hooks look at.
#include <algorithm>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

using IndexHandle = Handle<git_index, git_index_free>;
using DiffHandle = Handle<git_diff, git_diff_free>;

IndexHandle open_index(const Repository::Impl& impl) {
  if (impl.bare) {
    throw GitError("a bare repository has no index", "run this in a clone with a working tree");
  }
  git_index* raw = nullptr;
  check(git_repository_index(&raw, impl.repo.get()), "opening the index");
  IndexHandle index(raw);
  check(git_index_read(index.get(), 0), "reading the index");  // pick up what git wrote since
  return index;
}

// The tree of `commit`, or a null handle for the empty tree.
TreeHandle tree_of(const Repository::Impl& impl, const std::optional<Oid>& commit) {
  if (!commit) {
    return TreeHandle();
  }
  git_commit* raw_commit = nullptr;
  check(git_commit_lookup(&raw_commit, impl.repo.get(), to_git(*commit)), "reading commit " + commit->hex());
  const CommitHandle handle(raw_commit);
  git_tree* raw_tree = nullptr;
  check(git_commit_tree(&raw_tree, handle.get()), "reading the tree of " + commit->hex());
  return TreeHandle(raw_tree);
}

std::vector<std::string> paths_of(git_diff* diff) {
  std::vector<std::string> out;
  const std::size_t count = git_diff_num_deltas(diff);
  for (std::size_t i = 0; i < count; ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff, i);
    if (delta->old_file.path != nullptr) {
      out.emplace_back(delta->old_file.path);
    }
    if (delta->new_file.path != nullptr) {
      out.emplace_back(delta->new_file.path);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

git_diff_options diff_options() {
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.flags = GIT_DIFF_SKIP_BINARY_CHECK;
  options.context_lines = 0;
  return options;
}

}  // namespace

Repository::Index Repository::read_index() const {
  const IndexHandle index = open_index(*m_impl);
  Index out;
  const std::size_t count = git_index_entrycount(index.get());
  out.entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const git_index_entry* entry = git_index_get_byindex(index.get(), i);
    const int stage = git_index_entry_stage(entry);
    if (stage != 0) {
      if (out.conflicts.empty() || out.conflicts.back() != entry->path) {
        out.conflicts.emplace_back(entry->path);
      }
      continue;
    }
    TreeEntry item;
    item.path = entry->path;
    item.id = from_git(entry->id);
    item.mode = entry->mode;
    out.entries.push_back(std::move(item));
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return out;
}

std::vector<std::string> Repository::changed_paths(const std::optional<Oid>& base, const Oid& commit) const {
  const TreeHandle old_tree = tree_of(*m_impl, base);
  const TreeHandle new_tree = tree_of(*m_impl, commit);
  const git_diff_options options = diff_options();
  git_diff* raw = nullptr;
  check(git_diff_tree_to_tree(&raw, m_impl->repo.get(), old_tree.get(), new_tree.get(), &options),
        "comparing trees");
  const DiffHandle diff(raw);
  return paths_of(diff.get());
}

std::vector<std::string> Repository::staged_paths(const std::optional<Oid>& base) const {
  const IndexHandle index = open_index(*m_impl);
  const TreeHandle old_tree = tree_of(*m_impl, base);
  const git_diff_options options = diff_options();
  git_diff* raw = nullptr;
  check(git_diff_tree_to_index(&raw, m_impl->repo.get(), old_tree.get(), index.get(), &options),
        "comparing the index with " + (base ? base->short_hex() : std::string("the empty tree")));
  const DiffHandle diff(raw);
  return paths_of(diff.get());
}

std::vector<std::string> Repository::worktree_paths(const std::optional<Oid>& base) const {
  if (m_impl->bare) {
    throw GitError("a bare repository has no working tree", "name a revision instead");
  }
  const TreeHandle old_tree = tree_of(*m_impl, base);
  git_diff_options options = diff_options();
  options.flags |= GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS;
  git_diff* raw = nullptr;
  check(git_diff_tree_to_workdir_with_index(&raw, m_impl->repo.get(), old_tree.get(), &options),
        "comparing the working tree with " + (base ? base->short_hex() : std::string("the empty tree")));
  const DiffHandle diff(raw);
  return paths_of(diff.get());
}

}  // namespace promptops::git
