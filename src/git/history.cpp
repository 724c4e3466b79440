// SPDX-License-Identifier: MIT
// The history engine: a first-parent walk on raw ODB reads, git's commit-graph and a persistent cache.
#include <promptops/git/history.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include <promptops/util/error.hpp>

#include "commit_graph.hpp"
#include "repository_impl.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/trace.hpp>

namespace promptops::git {

namespace {

constexpr std::uint32_t k_mode_tree = 0040000;
constexpr std::uint32_t k_no_position = CommitGraph::k_no_parent;

// A path's entry in one commit: the object id and git's canonical mode; mode 0 = absent.
struct Entry {
  Oid id;
  std::uint32_t mode = 0;
  bool operator==(const Entry&) const = default;
};

// git compares canonical modes (tree-walk.c canon_mode), so 100664 equals 100644.
std::uint32_t canonical_mode(std::uint32_t mode) {
  switch (mode & 0170000) {
    case 0100000:
      return (mode & 0100) != 0 ? 0100755 : 0100644;
    case 0120000:
      return 0120000;
    case 0040000:
      return k_mode_tree;
    default:
      return 0160000;
  }
}

// Parses 40 lowercase or uppercase hex digits; nullopt otherwise. Oid::parse with a table, since
// commit headers are parsed once per commit on walks without a commit-graph.
std::optional<Oid> parse_hex(std::string_view hex) {
  static const auto table = [] {
    std::array<signed char, 256> out{};
    out.fill(-1);
    for (int c = 0; c < 10; ++c) {
      out['0' + c] = static_cast<signed char>(c);
    }
    for (int c = 0; c < 6; ++c) {
      out['a' + c] = static_cast<signed char>(10 + c);
      out['A' + c] = static_cast<signed char>(10 + c);
    }
    return out;
  }();
  if (hex.size() != 40) {
    return std::nullopt;
  }
  Oid out;
  int bad = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    const int high = table[static_cast<unsigned char>(hex[2 * i])];
    const int low = table[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= high | low;
    out.bytes[i] = static_cast<unsigned char>((high << 4) | (low & 15));
  }
  if (bad < 0) {
    return std::nullopt;
  }
  return out;
}

// The path as the walk uses it: components, whether a trailing '/' asked for a directory, and
// the '/'-joined form that Bloom keys and the cache use.
struct PathSpec {
  std::vector<std::string> components;
  std::string joined;
  bool require_tree = false;

  std::string cache_key() const { return require_tree ? joined + "/" : joined; }
};

PathSpec parse_path(std::string_view path) {
  PathSpec out;
  out.require_tree = !path.empty() && path.back() == '/';
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    const std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") {
      out.components.emplace_back(part);
    }
    start = end + 1;
  }
  for (const std::string& component : out.components) {
    if (!out.joined.empty()) {
      out.joined += '/';
    }
    out.joined += component;
  }
  return out;
}

// What the walk needs from a commit. parent_position is the parent's graph position when the
// commit itself came from the graph.
struct CommitInfo {
  Oid id;
  Oid tree;
  bool has_parent = false;
  Oid parent;
  std::uint32_t position = k_no_position;
  std::uint32_t parent_position = k_no_position;
};

// Reads commits (graph first, then the ODB) and path entries (raw trees with a per-level memo).
class Walker {
 public:
  Walker(const Repository::Impl& repo, const HistoryOptions& options, HistoryStats& stats)
      : m_repo(repo), m_stats(stats) {
    if (options.use_commit_graph) {
      m_graph = CommitGraph::open(repo.common_dir / "objects");
    }
  }

  const CommitGraph* graph() const { return m_graph.get(); }

  void set_path(const PathSpec& spec) {
    m_spec = &spec;
    m_memo.assign(spec.components.size(), {});
  }

  CommitInfo info(const Oid& id, std::uint32_t known_position = k_no_position) {
    if (m_graph != nullptr) {
      std::uint32_t position = known_position;
      if (position == k_no_position) {
        position = m_graph->find(id).value_or(k_no_position);
      }
      if (position != k_no_position) {
        if (const std::optional<CommitGraph::Row> row = m_graph->row(position)) {
          ++m_stats.commits_from_graph;
          CommitInfo out;
          out.id = id;
          out.tree = row->tree;
          out.position = position;
          // Shallow roots have no parents, whatever the graph says (git ignores the graph there).
          if (row->first_parent != CommitGraph::k_no_parent && !m_repo.is_shallow_root(id)) {
            out.has_parent = true;
            out.parent_position = row->first_parent;
            out.parent = m_graph->id_at(row->first_parent);
          }
          return out;
        }
      }
    }
    return parse_commit(id);
  }

  Entry entry_at(const Oid& root_tree) {
    const std::vector<std::string>& components = m_spec->components;
    if (components.empty()) {
      return Entry{root_tree, k_mode_tree};
    }
    Entry entry = scan_tree(root_tree, components[0]);
    for (std::size_t level = 1; level < components.size(); ++level) {
      if (entry.mode != k_mode_tree) {
        return Entry{};  // missing, or a file where a directory is needed
      }
      std::unordered_map<Oid, Entry, OidHash>& memo = m_memo[level];
      if (const auto hit = memo.find(entry.id); hit != memo.end()) {
        entry = hit->second;
        continue;
      }
      const Oid subtree = entry.id;
      entry = scan_tree(subtree, components[level]);
      memo.emplace(subtree, entry);
    }
    if (m_spec->require_tree && entry.mode != k_mode_tree) {
      return Entry{};
    }
    return entry;
  }

 private:
  OdbObjectHandle read_object(const Oid& id, git_object_t type, const char* what) {
    git_odb_object* raw = nullptr;
    const int rc = git_odb_read(&raw, m_repo.odb.get(), to_git(id));
    if (rc == GIT_ENOTFOUND) {
      throw GitError(std::string(what) + " " + id.hex() + " is missing from the object database",
                     "the repository may be a partial or shallow clone; try 'git fetch'");
    }
    if (rc < 0) {
      check(rc, std::string("reading ") + what + " " + id.hex());
    }
    OdbObjectHandle object(raw);
    if (git_odb_object_type(raw) != type) {
      throw GitError("object " + id.hex() + " is not a " + what);
    }
    return object;
  }

  CommitInfo parse_commit(const Oid& id) {
    const OdbObjectHandle object = read_object(id, GIT_OBJECT_COMMIT, "commit");
    const std::string_view text(static_cast<const char*>(git_odb_object_data(object.get())),
                                git_odb_object_size(object.get()));
    CommitInfo out;
    out.id = id;
    // "tree <hex>\n" then "parent <hex>\n" lines, as git writes and fsck requires.
    std::optional<Oid> tree;
    if (text.size() >= 46 && text.compare(0, 5, "tree ") == 0 && text[45] == '\n') {
      tree = parse_hex(text.substr(5, 40));
    }
    if (!tree) {
      throw GitError("commit " + id.hex() + " is corrupt: no tree line");
    }
    out.tree = *tree;
    if (text.size() >= 46 + 48 && text.compare(46, 7, "parent ") == 0 && text[46 + 47] == '\n') {
      const std::optional<Oid> parent = parse_hex(text.substr(53, 40));
      if (!parent) {
        throw GitError("commit " + id.hex() + " is corrupt: bad parent line");
      }
      if (!m_repo.is_shallow_root(id)) {
        out.has_parent = true;
        out.parent = *parent;
      }
    }
    return out;
  }

  Entry scan_tree(const Oid& tree, const std::string& name) {
    ++m_stats.trees_read;
    const OdbObjectHandle object = read_object(tree, GIT_OBJECT_TREE, "tree");
    const auto* data = static_cast<const unsigned char*>(git_odb_object_data(object.get()));
    const std::size_t size = git_odb_object_size(object.get());
    std::size_t at = 0;
    while (at < size) {
      // "<octal mode> <name>\0<20-byte id>"
      std::uint32_t mode = 0;
      std::size_t digits = 0;
      while (at < size && data[at] >= '0' && data[at] <= '7') {
        mode = mode * 8 + static_cast<std::uint32_t>(data[at] - '0');
        ++at;
        ++digits;
      }
      if (digits == 0 || at >= size || data[at] != ' ') {
        throw GitError("tree " + tree.hex() + " is corrupt");
      }
      ++at;
      const auto* nul = static_cast<const unsigned char*>(std::memchr(data + at, 0, size - at));
      if (nul == nullptr || static_cast<std::size_t>(nul - data) + 21 > size) {
        throw GitError("tree " + tree.hex() + " is corrupt");
      }
      const std::size_t name_size = static_cast<std::size_t>(nul - data) - at;
      const std::size_t id_at = at + name_size + 1;
      if (name_size == name.size() && std::memcmp(data + at, name.data(), name_size) == 0) {
        Entry out;
        std::memcpy(out.id.bytes.data(), data + id_at, 20);
        out.mode = canonical_mode(mode);
        return out;
      }
      at = id_at + 20;
    }
    return Entry{};
  }

  const Repository::Impl& m_repo;
  HistoryStats& m_stats;
  std::unique_ptr<CommitGraph> m_graph;
  const PathSpec* m_spec = nullptr;
  std::vector<std::unordered_map<Oid, Entry, OidHash>> m_memo;  // per level; level 0 unused
};

// ---- the persistent cache ------------------------------------------------------------------
//
// <common_dir>/promptops/history/<sha1 of the path>, binary, little-endian:
//   "promptops-history\n" u32 version, u32 path size + path, 20-byte shallow fingerprint,
//   u32 tip count, per tip: tip id, entry id, u32 entry mode, u32 n, n x (commit id, blob id),
//   then a u64 FNV-1a checksum of everything before it.
// The history below a commit never changes (commits are immutable), so a cached tip's list
// stays true as long as the shallow boundary is the same; the fingerprint covers that.

constexpr std::string_view k_cache_magic = "promptops-history\n";
constexpr std::uint32_t k_cache_version = 1;
constexpr std::size_t k_cache_max_tips = 8;

struct CachedTip {
  Oid tip;
  Entry entry;  // the path's entry at `tip`, needed to judge the commit just above it
  std::vector<PathChange> changes;
};

std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

void put_oid(std::string& out, const Oid& id) {
  out.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

// Reads the fields of a cache file; every read is bounds-checked.
class CacheReader {
 public:
  explicit CacheReader(std::string_view data) : m_data(data) {}
  bool ok() const { return m_ok; }
  std::size_t left() const { return m_ok ? m_data.size() - m_at : 0; }

  std::string_view bytes(std::size_t n) {
    if (!m_ok || m_data.size() - m_at < n) {
      m_ok = false;
      return {};
    }
    const std::string_view out = m_data.substr(m_at, n);
    m_at += n;
    return out;
  }
  std::uint64_t uint(std::size_t n) {
    const std::string_view raw = bytes(n);
    std::uint64_t value = 0;
    for (std::size_t i = raw.size(); i-- > 0;) {
      value = (value << 8) | static_cast<unsigned char>(raw[i]);
    }
    return value;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  Oid oid() {
    Oid out;
    const std::string_view raw = bytes(20);
    if (m_ok) {
      std::memcpy(out.bytes.data(), raw.data(), 20);
    }
    return out;
  }

 private:
  std::string_view m_data;
  std::size_t m_at = 0;
  bool m_ok = true;
};

bool valid_mode(std::uint32_t mode) { return mode == 0 || canonical_mode(mode) == mode; }

class HistoryCache {
 public:
  HistoryCache(const Repository::Impl& repo, const PathSpec& spec) : m_key(spec.cache_key()) {
    git_oid name;
    check(git_odb_hash(&name, m_key.data(), m_key.size(), GIT_OBJECT_BLOB), "hashing a path");
    m_file = repo.common_dir / "promptops" / "history" / from_git(name).hex();
    std::string roots;
    for (const Oid& root : repo.shallow) {
      put_oid(roots, root);
    }
    if (!roots.empty()) {
      git_oid fingerprint;
      check(git_odb_hash(&fingerprint, roots.data(), roots.size(), GIT_OBJECT_BLOB), "hashing");
      m_shallow = from_git(fingerprint);
    }
  }

  // Loads the file; a missing, unreadable, corrupt or foreign file leaves the cache empty.
  void load() {
    std::optional<std::string> text;
    try {
      text = util::read_file(m_file);
    } catch (const std::exception& error) {
      PO_TRACE(std::string("history cache: cannot read: ") + error.what());
      return;
    }
    if (!text) {
      return;
    }
    if (!parse(*text)) {
      PO_TRACE("history cache: ignoring invalid " + m_file.string());
      m_tips.clear();
    }
  }

  const CachedTip* find(const Oid& tip) const {
    for (const CachedTip& cached : m_tips) {
      if (cached.tip == tip) {
        return &cached;
      }
    }
    return nullptr;
  }
  bool empty() const { return m_tips.empty(); }

  // Records `tip`, replacing `replaces` (the cached tip the walk reached), most recent first.
  void store(CachedTip tip, const Oid* replaces) {
    std::erase_if(m_tips, [&](const CachedTip& cached) {
      return cached.tip == tip.tip || (replaces != nullptr && cached.tip == *replaces);
    });
    m_tips.insert(m_tips.begin(), std::move(tip));
    if (m_tips.size() > k_cache_max_tips) {
      m_tips.resize(k_cache_max_tips);
    }
    try {
      util::write_file_atomic(m_file, serialize());
    } catch (const std::exception& error) {
      // A read-only repository still answers; it just cannot remember.
      PO_TRACE(std::string("history cache: cannot write: ") + error.what());
    }
  }

 private:
  bool parse(std::string_view data) {
    if (data.size() < k_cache_magic.size() + 8 || data.substr(0, k_cache_magic.size()) != k_cache_magic) {
      return false;
    }
    const std::string_view body = data.substr(0, data.size() - 8);
    CacheReader checksum(data.substr(data.size() - 8));
    if (checksum.uint(8) != fnv1a(body)) {
      return false;
    }
    CacheReader in(body);
    in.bytes(k_cache_magic.size());
    if (in.u32() != k_cache_version) {
      return false;
    }
    const std::uint32_t key_size = in.u32();
    if (in.bytes(key_size) != m_key || in.oid() != m_shallow) {
      return false;
    }
    const std::uint32_t count = in.u32();
    if (!in.ok() || count > k_cache_max_tips) {
      return false;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      CachedTip cached;
      cached.tip = in.oid();
      cached.entry.id = in.oid();
      cached.entry.mode = in.u32();
      const std::uint32_t n = in.u32();
      if (!in.ok() || !valid_mode(cached.entry.mode) || in.left() / 40 < n) {
        return false;
      }
      cached.changes.reserve(n);
      for (std::uint32_t k = 0; k < n; ++k) {
        PathChange change;
        change.commit = in.oid();
        change.blob = in.oid();
        cached.changes.push_back(change);
      }
      // The newest change leaves the path as it is at the tip; a path present at the tip has
      // at least one change (where it appeared).
      const Oid expected = cached.entry.mode != 0 ? cached.entry.id : Oid{};
      if (cached.changes.empty() ? cached.entry.mode != 0 : cached.changes.front().blob != expected) {
        return false;
      }
      m_tips.push_back(std::move(cached));
    }
    return in.ok() && in.left() == 0;
  }

  std::string serialize() const {
    std::string out(k_cache_magic);
    put_u32(out, k_cache_version);
    put_u32(out, static_cast<std::uint32_t>(m_key.size()));
    out += m_key;
    put_oid(out, m_shallow);
    put_u32(out, static_cast<std::uint32_t>(m_tips.size()));
    for (const CachedTip& cached : m_tips) {
      put_oid(out, cached.tip);
      put_oid(out, cached.entry.id);
      put_u32(out, cached.entry.mode);
      put_u32(out, static_cast<std::uint32_t>(cached.changes.size()));
      for (const PathChange& change : cached.changes) {
        put_oid(out, change.commit);
        put_oid(out, change.blob);
      }
    }
    put_u64(out, fnv1a(out));
    return out;
  }

  std::string m_key;
  std::filesystem::path m_file;
  Oid m_shallow;
  std::vector<CachedTip> m_tips;
};

std::string stats_line(const HistoryStats& stats) {
  return "visited=" + std::to_string(stats.commits_visited) +
         " from_graph=" + std::to_string(stats.commits_from_graph) +
         " trees=" + std::to_string(stats.trees_read) + " bloom_skips=" + std::to_string(stats.bloom_skips) +
         " cache_used=" + (stats.cache_used ? std::string("yes") : std::string("no")) +
         " cache_new=" + std::to_string(stats.cache_new_commits);
}

}  // namespace

std::vector<PathChange> path_history(const Repository& repo, const Oid& tip, std::string_view path,
                                     const HistoryOptions& options, HistoryStats* stats) {
  HistoryStats local;
  HistoryStats& counters = stats != nullptr ? *stats : local;
  counters = HistoryStats{};
  const Repository::Impl& impl = repo.impl();
  const PathSpec spec = parse_path(path);

  std::optional<HistoryCache> cache;
  if (options.use_cache) {
    cache.emplace(impl, spec);
    cache->load();
    if (const CachedTip* cached = cache->find(tip)) {
      counters.cache_used = true;
      PO_TRACE("history " + spec.joined + " at " + tip.short_hex() + ": cached");
      return cached->changes;
    }
  }

  Walker walker(impl, options, counters);
  walker.set_path(spec);
  const CommitGraph* graph = walker.graph();
  BloomKeys keys;
  if (graph != nullptr && options.use_bloom) {
    keys = graph->bloom_keys(spec.joined);
  }

  std::vector<PathChange> out;
  // The entry of the current commit when known. A Bloom skip proves the parent's entry equal,
  // so it carries down the chain unchanged.
  std::optional<Entry> mine;
  // The first entry the walk learns; every commit above it was unchanged, so it is the tip's.
  std::optional<Entry> tip_entry;
  const auto learn = [&](const Entry& entry) {
    if (!tip_entry) {
      tip_entry = entry;
    }
  };
  const CachedTip* reached = nullptr;

  CommitInfo current = walker.info(tip);
  for (;;) {
    ++counters.commits_visited;
    if (!current.has_parent) {
      // A root (or shallow root) shows when the path exists, like a diff against the empty tree.
      const Entry me = mine ? *mine : walker.entry_at(current.tree);
      learn(me);
      if (me.mode != 0) {
        out.push_back(PathChange{current.id, me.id});
      }
      break;
    }
    const CachedTip* cached_parent = cache ? cache->find(current.parent) : nullptr;
    std::optional<CommitInfo> parent;
    if (cached_parent == nullptr) {
      parent = walker.info(current.parent, current.parent_position);
    }
    if (!keys.empty() && current.position != k_no_position &&
        graph->bloom_definitely_unchanged(current.position, keys)) {
      ++counters.bloom_skips;
    } else {
      const Entry me = mine ? *mine : walker.entry_at(current.tree);
      learn(me);
      Entry before;
      if (cached_parent != nullptr) {
        before = cached_parent->entry;
      } else if (parent->tree == current.tree) {
        before = me;
      } else {
        before = walker.entry_at(parent->tree);
      }
      if (!(me == before)) {
        out.push_back(PathChange{current.id, me.id});
      }
      mine = before;
    }
    if (cached_parent != nullptr) {
      learn(cached_parent->entry);
      out.insert(out.end(), cached_parent->changes.begin(), cached_parent->changes.end());
      counters.cache_used = true;
      counters.cache_new_commits = counters.commits_visited;
      reached = cached_parent;
      break;
    }
    current = std::move(*parent);
  }

  if (cache) {
    CachedTip fresh;
    fresh.tip = tip;
    fresh.entry = *tip_entry;  // always set: the walk ends at a root or at a cached tip
    fresh.changes = out;
    const Oid reached_tip = reached != nullptr ? reached->tip : Oid{};
    cache->store(std::move(fresh), reached != nullptr ? &reached_tip : nullptr);
  }
  PO_TRACE("history " + spec.joined + " at " + tip.short_hex() + ": " + std::to_string(out.size()) +
           " changes, " + stats_line(counters));
  return out;
}

std::vector<Oid> first_parent_chain(const Repository& repo, const Oid& tip, const std::optional<Oid>& stop) {
  HistoryStats unused;
  Walker walker(repo.impl(), HistoryOptions{}, unused);
  std::vector<Oid> out;
  if (stop && *stop == tip) {
    return out;
  }
  CommitInfo current = walker.info(tip);
  for (;;) {
    out.push_back(current.id);
    if (!current.has_parent || (stop && current.parent == *stop)) {
      break;
    }
    current = walker.info(current.parent, current.parent_position);
  }
  return out;
}

}  // namespace promptops::git
