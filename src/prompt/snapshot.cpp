// SPDX-License-Identifier: MIT
// Snapshots: the files of a project in the working tree or in a commit's tree.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

std::string Snapshot::label() const {
  const auto id = commit();
  return id ? id->short_hex() : std::string("working tree");
}

std::uint64_t size_limit(FileRole role) {
  switch (role) {
    case FileRole::config:
    case FileRole::prompt:
      return std::uint64_t{1} << 20;
    case FileRole::dataset:
      return std::uint64_t{256} << 20;
  }
  return 0;
}

std::optional<std::string> repository_path(std::string_view path) {
  if (path.empty() || path.front() == '/') {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  for (const std::string& part : util::split(path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == ".." || (part.size() == 4 && util::to_lower(part) == ".git")) {
      return std::nullopt;  // out of the tree, or into git's own files (never a tracked path)
    }
    parts.push_back(part);
  }
  if (parts.empty()) {
    return std::nullopt;
  }
  return util::join(parts, "/");
}

namespace {

std::string role_noun(FileRole role) {
  switch (role) {
    case FileRole::config:
      return "config";
    case FileRole::prompt:
      return "prompt file";
    case FileRole::dataset:
      return "dataset";
  }
  return "file";
}

}  // namespace

std::string SnapshotFile::problem(FileRole role, const std::string& path) const {
  const std::string what = role_noun(role) + " '" + path + "'";
  switch (kind) {
    case Kind::link:
      return link == repository_path(path).value_or(path)
                 ? what + " is a symbolic link to '" + content + "', which is not followed"
                 : what + " is under '" + link + "', a symbolic link to '" + content + "', which is not followed";
    case Kind::special:
      return what + " is not a regular file (a fifo, device or socket)";
    case Kind::too_large:
      return what + " is " + std::to_string(size) + " bytes, over the " + util::mib(size_limit(role)) +
             " limit for a " + role_noun(role);
    default:
      return {};
  }
}

std::string SnapshotFile::hint(FileRole role) const {
  switch (kind) {
    case Kind::link:
    case Kind::special:
      return "git promptops reads only regular files inside the repository, as git tracks a link as a link: "
             "commit the file itself in its place";
    case Kind::too_large:
      return role == FileRole::dataset
                 ? "split it into smaller datasets, or sample the cases you evaluate on"
                 : "keep long reference text in a dataset and pass it in as a variable";
    default:
      return {};
  }
}

std::optional<std::string> Snapshot::read(const std::string& path, FileRole role) const {
  SnapshotFile file = fetch(path, size_limit(role));
  if (file.refused()) {
    throw ConfigError(file.problem(role, path), file.hint(role));
  }
  if (file.kind != SnapshotFile::Kind::file) {
    return std::nullopt;
  }
  return std::move(file.content);
}

namespace {

constexpr std::uint64_t k_max_link_bytes = 4096;  // a link blob holds a path (PATH_MAX)

bool is_hidden(const std::filesystem::path& relative) {
  return std::any_of(relative.begin(), relative.end(),
                     [](const std::filesystem::path& part) { return part.string().starts_with("."); });
}

// Rejects absolute paths, paths that climb out of the snapshot and paths through .git.
bool is_inside(const std::string& path) { return repository_path(path).has_value(); }

SnapshotFile outside() {
  SnapshotFile out;
  out.kind = SnapshotFile::Kind::outside;
  return out;
}

SnapshotFile from_tree_file(util::TreeFile file) {
  SnapshotFile out;
  out.content = std::move(file.bytes);
  out.link = std::move(file.link);
  out.size = file.size;
  switch (file.kind) {
    case util::TreeFile::Kind::regular:
      out.kind = SnapshotFile::Kind::file;
      break;
    case util::TreeFile::Kind::missing:
      out.kind = SnapshotFile::Kind::missing;
      break;
    case util::TreeFile::Kind::link:
      out.kind = SnapshotFile::Kind::link;
      break;
    case util::TreeFile::Kind::special:
      out.kind = SnapshotFile::Kind::special;
      break;
    case util::TreeFile::Kind::too_large:
      out.kind = SnapshotFile::Kind::too_large;
      break;
  }
  return out;
}

// Object-store reads shared by the commit and index snapshots: a blob's size is checked from its
// header before it is loaded, a link blob gives only its target, and full reads are cached.
class BlobReader {
 public:
  explicit BlobReader(const git::Repository& repo) : m_repo(repo) {}

  SnapshotFile fetch(const git::TreeEntry& entry, std::uint64_t max_bytes) const {
    SnapshotFile out;
    if (entry.is_link()) {
      out.kind = SnapshotFile::Kind::link;
      out.link = entry.path;
      out.content = link_target(entry);
      return out;
    }
    if (!entry.is_blob()) {
      return out;  // a tree or a submodule: not a file
    }
    if (const auto cached = m_blobs.find(entry.id); cached != m_blobs.end()) {
      if (cached->second.size() > max_bytes) {
        out.kind = SnapshotFile::Kind::too_large;
        out.size = cached->second.size();
        return out;
      }
      out.kind = SnapshotFile::Kind::file;
      out.content = cached->second;
      return out;
    }
    if (const auto size = m_repo.blob_size(entry.id); size && *size > max_bytes) {
      out.kind = SnapshotFile::Kind::too_large;
      out.size = *size;
      return out;
    }
    out.kind = SnapshotFile::Kind::file;
    out.content = m_blobs.emplace(entry.id, m_repo.read_blob(entry.id)).first->second;
    return out;
  }

  std::string link_target(const git::TreeEntry& link) const {
    const auto size = m_repo.blob_size(link.id);
    if (size && *size > k_max_link_bytes) {
      return "(a link target of " + std::to_string(*size) + " bytes)";
    }
    return m_repo.read_blob(link.id);
  }

 private:
  const git::Repository& m_repo;
  mutable std::map<git::Oid, std::string> m_blobs;
};

class WorktreeSnapshot final : public Snapshot {
 public:
  explicit WorktreeSnapshot(std::filesystem::path root) : m_root(std::move(root)) {}

  SnapshotFile fetch(const std::string& path, std::uint64_t max_bytes) const override {
    const auto relative = repository_path(path);
    if (!relative) {
      return outside();
    }
    return from_tree_file(util::read_beneath(m_root, *relative, max_bytes));
  }

  bool thread_safe() const override { return true; }

  bool exists(const std::string& path) const override {
    const SnapshotFile file = fetch(path, 0);  // a limit of 0 reads nothing
    return file.kind == SnapshotFile::Kind::file || file.kind == SnapshotFile::Kind::too_large;
  }

  std::vector<std::string> list(const std::string& dir, std::vector<SnapshotLink>* links) const override {
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
    if (!relative.empty()) {
      const SnapshotFile top = fetch(relative, 0);  // the root, or a directory above it, may be a link
      if (top.kind == SnapshotFile::Kind::link) {
        if (links != nullptr) {
          links->push_back({top.link, top.content});  // the root itself, or a directory above it
        }
        return out;
      }
    }
    std::vector<SnapshotLink> found;
    walk(relative, out, found);
    std::sort(out.begin(), out.end());
    if (links != nullptr) {
      std::sort(found.begin(), found.end(), [](const SnapshotLink& a, const SnapshotLink& b) { return a.path < b.path; });
      links->insert(links->end(), found.begin(), found.end());
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return std::nullopt; }

 private:
  // readdir with d_type: a listing of a thousand prompts is on every `list`, so no
  // std::filesystem path objects per entry. Symlinks are neither followed nor descended, as git
  // records a link as a link: a link to a directory cannot make the walk loop or leave the tree.
  void walk(const std::string& relative, std::vector<std::string>& out, std::vector<SnapshotLink>& links) const {
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
      if (type == DT_UNKNOWN) {
        struct stat info {};
        if (::lstat((absolute + "/" + entry->d_name).c_str(), &info) != 0) {
          continue;
        }
        type = S_ISDIR(info.st_mode) ? DT_DIR : S_ISREG(info.st_mode) ? DT_REG : S_ISLNK(info.st_mode) ? DT_LNK : DT_UNKNOWN;
      }
      if (type == DT_DIR) {
        subdirs.push_back(std::move(path));
      } else if (type == DT_REG) {
        out.push_back(std::move(path));
      } else if (type == DT_LNK) {
        links.push_back({path, link_target(absolute + "/" + entry->d_name)});
      }
    }
    ::closedir(handle);
    for (const std::string& subdir : subdirs) {
      walk(subdir, out, links);
    }
  }

  static std::string link_target(const std::string& path) {
    std::string target(k_max_link_bytes, '\0');
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return target;
  }

  std::filesystem::path m_root;
};

class CommitSnapshot final : public Snapshot {
 public:
  CommitSnapshot(const git::Repository& repo, const git::Oid& commit)
      : m_repo(repo), m_commit(commit), m_blobs(repo) {}

  SnapshotFile fetch(const std::string& path, std::uint64_t max_bytes) const override {
    const auto relative = repository_path(path);
    if (!relative) {
      return outside();
    }
    if (const auto listed = m_listed.find(*relative); listed != m_listed.end()) {
      return m_blobs.fetch(listed->second, max_bytes);  // found by list(): no second tree walk
    }
    if (const auto entry = m_repo.entry_at(m_commit, *relative)) {
      return m_blobs.fetch(*entry, max_bytes);
    }
    return link_above(*relative);
  }

  bool exists(const std::string& path) const override {
    if (!is_inside(path)) {
      return false;
    }
    const auto entry = m_repo.entry_at(m_commit, path);
    return entry && entry->is_blob();
  }

  std::vector<std::string> list(const std::string& dir, std::vector<SnapshotLink>* links) const override {
    std::vector<std::string> out;
    if (!dir.empty() && !is_inside(dir)) {
      return out;
    }
    std::vector<git::TreeEntry> link_entries;
    for (const git::TreeEntry& entry : m_repo.list_blobs(m_commit, dir, links != nullptr ? &link_entries : nullptr)) {
      const std::filesystem::path relative(entry.path);
      if (!is_hidden(relative)) {
        out.push_back(entry.path);
        m_listed.emplace(entry.path, entry);
      }
    }
    for (const git::TreeEntry& link : link_entries) {
      if (!is_hidden(std::filesystem::path(link.path))) {
        links->push_back({link.path, m_blobs.link_target(link)});
      }
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return m_commit; }

 private:
  // A path that is absent may lie under a directory that the commit records as a link: say so
  // rather than "missing". Only paid on the failure path.
  SnapshotFile link_above(const std::string& relative) const {
    for (std::size_t slash = relative.find('/'); slash != std::string::npos; slash = relative.find('/', slash + 1)) {
      const auto entry = m_repo.entry_at(m_commit, relative.substr(0, slash));
      if (!entry || entry->is_blob()) {
        break;
      }
      if (entry->is_link()) {
        return m_blobs.fetch(*entry, 0);
      }
    }
    return {};
  }

  const git::Repository& m_repo;
  git::Oid m_commit;
  BlobReader m_blobs;
  mutable std::unordered_map<std::string, git::TreeEntry> m_listed;  // path -> entry, from list()
};

class IndexSnapshot final : public Snapshot {
 public:
  IndexSnapshot(const git::Repository& repo, std::vector<git::TreeEntry> entries)
      : m_blobs(repo), m_entries(std::move(entries)) {}

  SnapshotFile fetch(const std::string& path, std::uint64_t max_bytes) const override {
    const auto relative = repository_path(path);
    if (!relative) {
      return outside();
    }
    if (const git::TreeEntry* entry = find(*relative)) {
      return m_blobs.fetch(*entry, max_bytes);
    }
    for (std::size_t slash = relative->find('/'); slash != std::string::npos; slash = relative->find('/', slash + 1)) {
      if (const git::TreeEntry* above = find(relative->substr(0, slash)); above != nullptr && above->is_link()) {
        return m_blobs.fetch(*above, 0);
      }
    }
    return {};
  }

  bool exists(const std::string& path) const override {
    const auto relative = repository_path(path);
    const git::TreeEntry* entry = relative ? find(*relative) : nullptr;
    return entry != nullptr && entry->is_blob();
  }

  std::vector<std::string> list(const std::string& dir, std::vector<SnapshotLink>* links) const override {
    std::vector<std::string> out;
    if (!dir.empty() && !is_inside(dir)) {
      return out;
    }
    const std::string prefix = dir.empty() || dir.ends_with('/') ? dir : dir + "/";
    auto it = std::lower_bound(m_entries.begin(), m_entries.end(), prefix,
                               [](const git::TreeEntry& e, const std::string& p) { return e.path < p; });
    for (; it != m_entries.end() && it->path.starts_with(prefix); ++it) {
      if (is_hidden(std::filesystem::path(it->path))) {
        continue;
      }
      if (it->is_blob()) {
        out.push_back(it->path);
      } else if (it->is_link() && links != nullptr) {
        links->push_back({it->path, m_blobs.link_target(*it)});
      }
    }
    return out;
  }

  std::optional<git::Oid> commit() const override { return std::nullopt; }
  std::string label() const override { return "index"; }

 private:
  // The stage-0 entry at `path` (a blob or a link), or null.
  const git::TreeEntry* find(const std::string& path) const {
    const auto it =
        std::lower_bound(m_entries.begin(), m_entries.end(), path,
                         [](const git::TreeEntry& e, const std::string& p) { return e.path < p; });
    return it != m_entries.end() && it->path == path && (it->is_blob() || it->is_link()) ? &*it : nullptr;
  }

  BlobReader m_blobs;
  std::vector<git::TreeEntry> m_entries;  // sorted by path
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

}  // namespace promptops::prompt
