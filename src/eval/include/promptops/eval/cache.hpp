// SPDX-License-Identifier: MIT
// The content-addressed cache of the evaluation engine: responses and per-case results on disk.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops::inline eval {

// A 40-digit lower-case hex SHA-1 over `parts`, each prefixed by its decimal length and ':'
// ("2:ab1:c"), so that ("ab", "c"), ("a", "bc") and ("abc") all differ. Never throws.
std::string content_key(const std::vector<std::string_view>& parts);

// What one kind of entry occupies on disk.
struct CacheKindStats {
  std::size_t entries = 0;
  std::uintmax_t bytes = 0;
};

// A snapshot of the cache: entries and bytes on disk per kind and in total, plus what this
// ResultCache object has seen since it was made.
struct CacheStats {
  std::map<std::string, CacheKindStats> kinds;  // by kind name; kinds without entries are absent
  std::size_t entries = 0;
  std::uintmax_t bytes = 0;
  std::size_t hits = 0;
  std::size_t misses = 0;   // includes the corrupt reads below
  std::size_t corrupt = 0;  // entries that existed but could not be read or parsed
};

// A directory of JSON values addressed by (kind, key), stored at
// `<dir>/<kind>/<key[0..2]>/<key[2..]>.json`. Callers pass `<common_dir>/promptops/cache`.
//
// Writes are atomic (temp file, rename; no fsync, which costs ~5 ms per answer): a crash or Ctrl-C
// leaves the old entry or the new one, never a torn file (after a power loss an entry may be
// empty, and reads as a miss), and concurrent writers of the same key (which write the same content,
// since the key addresses it) are safe. A corrupt or unreadable entry reads as a miss.
//
// `kind` must be 1 to 32 characters of [a-z0-9-] (such as "response" or "case") and `key` 40
// lower-case hex digits (see content_key()); anything else throws Error, so a path built from them
// never leaves the directory.
//
// SECURITY: callers must never put secrets (API keys, auth headers, tokens) into the parts of a
// key or into a value. The cache is plain files under .git that anyone with the clone can read.
//
// get() and put() may be called from several threads at once.
class ResultCache {
 public:
  // `enabled == false` is --no-cache: get() always misses and put() writes nothing; stats() and
  // clear() still look at the directory. Nothing is created until the first put().
  explicit ResultCache(std::filesystem::path dir, bool enabled = true);
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  const std::filesystem::path& dir() const noexcept { return m_dir; }
  bool enabled() const noexcept { return m_enabled; }

  // The stored value, or nullopt for a miss (absent, disabled, corrupt or unreadable). Throws
  // Error only for an invalid kind or key.
  std::optional<nlohmann::json> get(std::string_view kind, std::string_view key) const;

  // Stores `value` (replacing any previous entry) unless the cache is disabled. Throws Error for an
  // invalid kind or key, when `value` holds invalid UTF-8, or when the entry cannot be written.
  void put(std::string_view kind, std::string_view key, const nlohmann::json& value);

  // Counts the entries on disk (a missing directory gives zeros) and adds this object's hit, miss
  // and corrupt counters. Never throws for I/O problems; what cannot be listed is skipped.
  CacheStats stats() const;

  // Removes every entry, and any temp files left by interrupted writes, with their directories;
  // returns how many entries were removed. Throws Error if something cannot be removed.
  std::size_t clear();

 private:
  std::filesystem::path entry_path(std::string_view kind, std::string_view key) const;

  std::filesystem::path m_dir;
  bool m_enabled;
  mutable std::atomic<std::size_t> m_hits{0};
  mutable std::atomic<std::size_t> m_misses{0};
  mutable std::atomic<std::size_t> m_corrupt{0};
};

}  // namespace promptops::eval
