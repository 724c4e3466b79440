// SPDX-License-Identifier: MIT
// Snapshots: the files of a project in the working tree or in a commit's tree.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_map>

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
  if (path.find("..") == std::string::npos) {
    return true;  // the common case, without building a path
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
    return util::read_file(m_root / path);  // nullopt for a missing file or a directory
  }

  bool thread_safe() const override { return true; }

  bool exists(const std::string& path) const override {
    std::error_code ec;
    return is_inside(path) && std::filesystem::is_regular_file(m_root / path, ec);
  }

  std::vector<std::string> list(const std::string& dir) const override {
    std::vector<std::string> out;
    if (!dir.empty() && (!is_inside(dir) || is_hidden(dir))) {
      return out;
    }
    std::string relative = std::filesystem::path(dir).lexically_normal().generic_string();
    while (!relative.empty() && relative.back() == '/') {
      relative.pop_back();
    }
    if (relative == ".") {
      relative.clear();
    }
    walk(relative, out);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::optional<git::Oid> commit() const override { return std::nullopt; }

 private:
  // readdir with d_type: a listing of a thousand prompts is on every `list`, so no
  // std::filesystem path objects per entry.
  void walk(const std::string& relative, std::vector<std::string>& out) const {
    const std::string absolute = relative.empty() ? m_root.string() : (m_root / relative).string();
    DIR* handle = ::opendir(absolute.c_str());
    if (handle == nullptr) {
      return;
    }
    std::vector<std::string> subdirs;
    while (const dirent* entry = ::readdir(handle)) {
      if (entry->d_name[0] == '.') {
        continue;  // hidden entries, "." and ".."
      }
      std::string path = relative.empty() ? std::string(entry->d_name) : relative + "/" + entry->d_name;
      unsigned char type = entry->d_type;
      if (type == DT_UNKNOWN || type == DT_LNK) {  // follow symlinks as git's working tree shows them
        struct stat info {};
        if (::stat((absolute + "/" + entry->d_name).c_str(), &info) != 0) {
          continue;
        }
        type = S_ISDIR(info.st_mode) ? DT_DIR : S_ISREG(info.st_mode) ? DT_REG : DT_UNKNOWN;
      }
      if (type == DT_DIR) {
        subdirs.push_back(std::move(path));
      } else if (type == DT_REG) {
        out.push_back(std::move(path));
      }
    }
    ::closedir(handle);
    for (const std::string& subdir : subdirs) {
      walk(subdir, out);
    }
  }

  std::filesystem::path m_root;
};

class CommitSnapshot final : public Snapshot {
 public:
  CommitSnapshot(const git::Repository& repo, const git::Oid& commit) : m_repo(repo), m_commit(commit) {}

  std::optional<std::string> read(const std::string& path) const override {
    if (!is_inside(path)) {
      return std::nullopt;
    }
    git::Oid id;
    if (const auto listed = m_listed.find(path); listed != m_listed.end()) {
      id = listed->second;  // found by list(): no second tree walk
    } else {
      const auto entry = m_repo.entry_at(m_commit, path);
      if (!entry || !entry->is_blob()) {
        return std::nullopt;
      }
      id = entry->id;
    }
    auto cached = m_blobs.find(id);
    if (cached == m_blobs.end()) {
      cached = m_blobs.emplace(id, m_repo.read_blob(id)).first;
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
        m_listed.emplace(entry.path, entry.id);
      }
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return m_commit; }

 private:
  const git::Repository& m_repo;
  git::Oid m_commit;
  mutable std::map<git::Oid, std::string> m_blobs;
  mutable std::unordered_map<std::string, git::Oid> m_listed;  // path -> blob id, from list()
};

class IndexSnapshot final : public Snapshot {
 public:
  IndexSnapshot(const git::Repository& repo, std::vector<git::TreeEntry> entries)
      : m_repo(repo), m_entries(std::move(entries)) {}

  std::optional<std::string> read(const std::string& path) const override {
    const git::TreeEntry* entry = find(path);
    if (entry == nullptr) {
      return std::nullopt;
    }
    auto cached = m_blobs.find(entry->id);
    if (cached == m_blobs.end()) {
      cached = m_blobs.emplace(entry->id, m_repo.read_blob(entry->id)).first;
    }
    return cached->second;
  }

  bool exists(const std::string& path) const override { return find(path) != nullptr; }

  std::vector<std::string> list(const std::string& dir) const override {
    std::vector<std::string> out;
    if (!dir.empty() && !is_inside(dir)) {
      return out;
    }
    const std::string prefix = dir.empty() || dir.ends_with('/') ? dir : dir + "/";
    auto it = std::lower_bound(m_entries.begin(), m_entries.end(), prefix,
                               [](const git::TreeEntry& e, const std::string& p) { return e.path < p; });
    for (; it != m_entries.end() && it->path.starts_with(prefix); ++it) {
      if (it->is_blob() && !is_hidden(std::filesystem::path(it->path))) {
        out.push_back(it->path);
      }
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return std::nullopt; }
  std::string label() const override { return "index"; }

 private:
  const git::TreeEntry* find(const std::string& path) const {
    if (!is_inside(path)) {
      return nullptr;
    }
    const auto it =
        std::lower_bound(m_entries.begin(), m_entries.end(), path,
                         [](const git::TreeEntry& e, const std::string& p) { return e.path < p; });
    return it != m_entries.end() && it->path == path && it->is_blob() ? &*it : nullptr;
  }

  const git::Repository& m_repo;
  std::vector<git::TreeEntry> m_entries;  // sorted by path
  mutable std::map<git::Oid, std::string> m_blobs;
};

}  // namespace

std::unique_ptr<Snapshot> index_snapshot(const git::Repository& repo) {
  git::Repository::Index index = repo.read_index();
  if (!index.conflicts.empty()) {
    throw GitError(
        "the index has unresolved merge conflicts (" + index.conflicts.front() +
            (index.conflicts.size() > 1 ? " and " + std::to_string(index.conflicts.size() - 1) + " more"
                                        : std::string()) +
            ")",
        "resolve them and 'git add' the files first");
  }
  return std::make_unique<IndexSnapshot>(repo, std::move(index.entries));
}

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
