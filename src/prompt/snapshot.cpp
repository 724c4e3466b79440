// SPDX-License-Identifier: MIT
// Snapshots: the files of a project in the working tree or in a commit's tree.
#include <algorithm>
#include <map>

#include <promptops/error.hpp>
#include <promptops/registry.hpp>

#include "util/file.hpp"

namespace promptops {

std::string Snapshot::label() const {
  const auto id = commit();
  return id ? id->short_hex() : std::string("working tree");
}

namespace {

bool is_hidden(const std::filesystem::path& relative) {
  return std::any_of(relative.begin(), relative.end(),
                     [](const std::filesystem::path& part) { return part.string().starts_with("."); });
}

// Rejects absolute paths and paths that climb out of the snapshot.
bool is_inside(const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return false;
  }
  const std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  return !normal.empty() && *normal.begin() != "..";
}

class WorktreeSnapshot final : public Snapshot {
 public:
  explicit WorktreeSnapshot(std::filesystem::path root) : m_root(std::move(root)) {}

  std::optional<std::string> read(const std::string& path) const override {
    if (!is_inside(path)) {
      return std::nullopt;
    }
    const auto file = m_root / path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return std::nullopt;
    }
    return util::read_file(file);
  }

  bool exists(const std::string& path) const override {
    std::error_code ec;
    return is_inside(path) && std::filesystem::is_regular_file(m_root / path, ec);
  }

  std::vector<std::string> list(const std::string& dir) const override {
    std::vector<std::string> out;
    const auto base = dir.empty() ? m_root : m_root / dir;
    std::error_code ec;
    if ((!dir.empty() && !is_inside(dir)) || !std::filesystem::is_directory(base, ec)) {
      return out;
    }
    auto it = std::filesystem::recursive_directory_iterator(
        base, std::filesystem::directory_options::skip_permission_denied, ec);
    for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      const auto relative = it->path().lexically_relative(m_root);
      if (it->path().filename().string().starts_with(".")) {
        if (it->is_directory(ec)) {
          it.disable_recursion_pending();
        }
        continue;
      }
      if (it->is_regular_file(ec) && !is_hidden(relative)) {
        out.push_back(relative.generic_string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::optional<git::Oid> commit() const override { return std::nullopt; }

 private:
  std::filesystem::path m_root;
};

class CommitSnapshot final : public Snapshot {
 public:
  CommitSnapshot(const git::Repository& repo, const git::Oid& commit) : m_repo(repo), m_commit(commit) {}

  std::optional<std::string> read(const std::string& path) const override {
    if (!is_inside(path)) {
      return std::nullopt;
    }
    const auto entry = m_repo.entry_at(m_commit, path);
    if (!entry || !entry->is_blob()) {
      return std::nullopt;
    }
    auto cached = m_blobs.find(entry->id);
    if (cached == m_blobs.end()) {
      cached = m_blobs.emplace(entry->id, m_repo.read_blob(entry->id)).first;
    }
    return cached->second;
  }

  bool exists(const std::string& path) const override {
    if (!is_inside(path)) {
      return false;
    }
    const auto entry = m_repo.entry_at(m_commit, path);
    return entry && entry->is_blob();
  }

  std::vector<std::string> list(const std::string& dir) const override {
    std::vector<std::string> out;
    if (!dir.empty() && !is_inside(dir)) {
      return out;
    }
    for (const git::TreeEntry& entry : m_repo.list_blobs(m_commit, dir)) {
      const std::filesystem::path relative(entry.path);
      if (!is_hidden(relative)) {
        out.push_back(entry.path);
      }
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return m_commit; }

 private:
  const git::Repository& m_repo;
  git::Oid m_commit;
  mutable std::map<git::Oid, std::string> m_blobs;
};

}  // namespace

std::unique_ptr<Snapshot> worktree_snapshot(const git::Repository& repo) {
  if (repo.is_bare()) {
    throw GitError("this operation needs a working tree, and the repository is bare",
                   "name a revision instead, for example NAME@HEAD");
  }
  return std::make_unique<WorktreeSnapshot>(repo.workdir());
}

std::unique_ptr<Snapshot> worktree_snapshot(const std::filesystem::path& root) {
  return std::make_unique<WorktreeSnapshot>(root);
}

std::unique_ptr<Snapshot> commit_snapshot(const git::Repository& repo, const git::Oid& commit) {
  return std::make_unique<CommitSnapshot>(repo, commit);
}

}  // namespace promptops
