// SPDX-License-Identifier: MIT
// Reading history objects: commits (with shallow roots cut as git does), tree entries and blobs.
#include <algorithm>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

std::string Commit::subject() const { return message.substr(0, message.find('\n')); }

namespace {

// The commit `id`; throws GitError when it is missing or not a commit.
CommitHandle lookup_commit(const Repository::Impl& impl, const Oid& id) {
  git_commit* raw = nullptr;
  const int rc = git_commit_lookup(&raw, impl.repo.get(), to_git(id));
  if (rc == GIT_ENOTFOUND) {
    throw GitError("commit " + id.hex() + " not found: " + last_error_message());
  }
  check(rc, "reading commit " + id.hex());
  return CommitHandle(raw);
}

// The parents git follows: none for shallow roots, whose parents are not in the repository.
std::vector<Oid> parents_of(const Repository::Impl& impl, const git_commit& commit, const Oid& id) {
  std::vector<Oid> out;
  if (impl.is_shallow_root(id)) {
    return out;
  }
  const unsigned count = git_commit_parentcount(&commit);
  out.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    // Borrowed from `commit`.
    const git_oid* parent = git_commit_parent_id(&commit, i);
    if (parent != nullptr) {
      out.push_back(from_git(*parent));
    }
  }
  return out;
}

// `path` without leading "./" or trailing slashes; "" for the root.
std::string normalized_path(std::string_view path) {
  while (path.size() >= 2 && path.substr(0, 2) == "./") {
    path.remove_prefix(2);
  }
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  return std::string(path);
}

TreeHandle commit_tree(const git_commit& commit, const Oid& id) {
  git_tree* raw = nullptr;
  check(git_commit_tree(&raw, &commit), "reading the tree of commit " + id.hex());
  return TreeHandle(raw);
}

TreeHandle lookup_tree(const Repository::Impl& impl, const git_oid& id) {
  git_tree* raw = nullptr;
  check(git_tree_lookup(&raw, impl.repo.get(), &id), "reading tree " + from_git(id).hex());
  return TreeHandle(raw);
}

// Appends every regular file under `tree` (whose path is `prefix`, "" or ending in '/'), and
// every symlink to `links` when it is given.
void collect_blobs(const Repository::Impl& impl, const git_tree& tree, const std::string& prefix,
                   std::vector<TreeEntry>& out, std::vector<TreeEntry>* links) {
  const std::size_t count = git_tree_entrycount(&tree);
  for (std::size_t i = 0; i < count; ++i) {
    // Borrowed from `tree`.
    const git_tree_entry* entry = git_tree_entry_byindex(&tree, i);
    TreeEntry item;
    item.path = prefix + git_tree_entry_name(entry);
    item.id = from_git(*git_tree_entry_id(entry));
    item.mode = static_cast<std::uint32_t>(git_tree_entry_filemode(entry));
    if (item.is_tree()) {
      const TreeHandle subtree = lookup_tree(impl, *git_tree_entry_id(entry));
      collect_blobs(impl, *subtree, item.path + "/", out, links);
    } else if (item.is_blob()) {
      out.push_back(std::move(item));
    } else if (item.is_link() && links != nullptr) {
      links->push_back(std::move(item));
    }
  }
}

// True when a remote is a promisor, i.e. the repository is a partial clone whose objects may
// be missing locally.
bool has_promisor_remote(const Repository::Impl& impl) {
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, impl.repo.get()) < 0) {
    return false;
  }
  const ConfigHandle config(raw);
  // A plain iterator rather than a glob: libgit2 1.5.1 leaks PCRE2 match data on every regex
  // miss (fixed upstream in libgit2#6382).
  git_config_iterator* raw_iterator = nullptr;
  if (git_config_iterator_new(&raw_iterator, config.get()) < 0) {
    return false;
  }
  const Handle<git_config_iterator, git_config_iterator_free> iterator(raw_iterator);
  git_config_entry* entry = nullptr;  // borrowed from the iterator
  while (git_config_next(&entry, iterator.get()) == 0) {
    const std::string_view name = entry->name != nullptr ? entry->name : "";
    const std::string_view suffix = ".promisor";
    if (name.substr(0, 7) != "remote." || name.size() <= 7 + suffix.size() ||
        name.substr(name.size() - suffix.size()) != suffix) {
      continue;
    }
    int value = 0;
    if (entry->value != nullptr && git_config_parse_bool(&value, entry->value) == 0 && value != 0) {
      return true;
    }
  }
  git_config_entry* partial = nullptr;
  if (git_config_get_entry(&partial, config.get(), "extensions.partialclone") == 0) {
    const Handle<git_config_entry, git_config_entry_free> owned(partial);
    return true;
  }
  return false;
}

}  // namespace

Commit Repository::read_commit(const Oid& id) const {
  const CommitHandle commit = lookup_commit(*m_impl, id);
  Commit out;
  out.id = id;
  // Borrowed from `commit`.
  out.tree = from_git(*git_commit_tree_id(commit.get()));
  out.parents = parents_of(*m_impl, *commit, id);
  out.author = person_from(git_commit_author(commit.get()));
  out.committer = person_from(git_commit_committer(commit.get()));
  const char* message = git_commit_message(commit.get());
  out.message = message != nullptr ? message : "";
  return out;
}

std::vector<Oid> Repository::parents(const Oid& commit) const {
  if (m_impl->is_shallow_root(commit)) {
    return {};
  }
  const CommitHandle handle = lookup_commit(*m_impl, commit);
  return parents_of(*m_impl, *handle, commit);
}

std::optional<TreeEntry> Repository::entry_at(const Oid& commit, std::string_view path) const {
  const std::string relative = normalized_path(path);
  if (relative.empty()) {
    return std::nullopt;
  }
  const CommitHandle handle = lookup_commit(*m_impl, commit);
  const TreeHandle tree = commit_tree(*handle, commit);
  git_tree_entry* raw = nullptr;
  // GIT_ENOTFOUND covers both "absent" and "a component is not a tree".
  const int rc = git_tree_entry_bypath(&raw, tree.get(), relative.c_str());
  if (rc == GIT_ENOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading '" + relative + "' at " + commit.hex());
  const TreeEntryHandle entry(raw);
  TreeEntry out;
  out.path = relative;
  out.id = from_git(*git_tree_entry_id(entry.get()));
  out.mode = static_cast<std::uint32_t>(git_tree_entry_filemode(entry.get()));
  return out;
}

std::vector<TreeEntry> Repository::list_blobs(const Oid& commit, std::string_view dir,
                                              std::vector<TreeEntry>* links) const {
  std::vector<TreeEntry> out;
  const std::string relative = normalized_path(dir);
  const CommitHandle handle = lookup_commit(*m_impl, commit);
  const std::size_t first_link = links != nullptr ? links->size() : 0;
  if (relative.empty()) {
    const TreeHandle root = commit_tree(*handle, commit);
    collect_blobs(*m_impl, *root, "", out, links);
  } else {
    const std::optional<TreeEntry> entry = entry_at(commit, relative);
    if (!entry || !entry->is_tree()) {
      if (entry && entry->is_link() && links != nullptr) {
        links->push_back(*entry);  // the directory asked for is itself a link: never descended
      }
      return out;
    }
    const TreeHandle tree = lookup_tree(*m_impl, *to_git(entry->id));
    collect_blobs(*m_impl, *tree, relative + "/", out, links);
  }
  const auto by_path = [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; };
  std::sort(out.begin(), out.end(), by_path);
  if (links != nullptr) {
    std::sort(links->begin() + static_cast<std::ptrdiff_t>(first_link), links->end(), by_path);
  }
  return out;
}

std::optional<std::uint64_t> Repository::blob_size(const Oid& blob) const {
  std::size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  if (git_odb_read_header(&size, &type, m_impl->odb.get(), to_git(blob)) != 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(size);
}

std::string Repository::read_blob(const Oid& blob) const {
  git_blob* raw = nullptr;
  const int rc = git_blob_lookup(&raw, m_impl->repo.get(), to_git(blob));
  if (rc == GIT_ENOTFOUND) {
    const std::string reason = last_error_message();
    if (git_odb_exists(m_impl->odb.get(), to_git(blob)) != 0) {
      throw GitError("object " + blob.hex() + " is not a blob: " + reason);
    }
    if (has_promisor_remote(*m_impl)) {
      throw GitError("blob " + blob.hex() + " is missing in this partial clone",
                     "download it with 'git cat-file -e " + blob.hex() +
                         "' (git fetches missing objects of a partial clone on demand; a plain "
                         "'git fetch' does not fill in filtered blobs)");
    }
    throw GitError("blob " + blob.hex() + " not found: " + reason);
  }
  check(rc, "reading blob " + blob.hex());
  const BlobHandle handle(raw);
  // Borrowed from `handle`.
  const auto* content = static_cast<const char*>(git_blob_rawcontent(handle.get()));
  const auto size = static_cast<std::size_t>(git_blob_rawsize(handle.get()));
  return content != nullptr ? std::string(content, size) : std::string();
}

}  // namespace promptops::git
