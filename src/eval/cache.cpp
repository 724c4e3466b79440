// SPDX-License-Identifier: MIT
// Content keys and the on-disk result cache: validated paths, atomic writes, stats and clearing.
#include <promptops/eval/cache.hpp>

#include <algorithm>
#include <system_error>
#include <utility>

#include <promptops/util/error.hpp>

#include <promptops/util/file.hpp>
#include <promptops/util/sha1.hpp>

namespace promptops::inline eval {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_key_length = 40;
constexpr std::size_t k_max_kind_length = 32;
constexpr std::string_view k_suffix = ".json";
constexpr fs::perms k_entry_mode =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_valid_kind(std::string_view kind) {
  return !kind.empty() && kind.size() <= k_max_kind_length &&
         std::all_of(kind.begin(), kind.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool is_valid_key(std::string_view key) { return key.size() == k_key_length && is_hex(key); }

void validate(std::string_view kind, std::string_view key) {
  if (!is_valid_kind(kind)) {
    throw Error("invalid cache kind '" + std::string(kind) + "'",
                "a kind is 1 to 32 characters of a-z, 0-9 and '-'");
  }
  if (!is_valid_key(key)) {
    throw Error("invalid cache key '" + std::string(key) + "'",
                "a key is 40 lower-case hex digits, as content_key() returns");
  }
}

// Whether `file` is named like an entry of a fan-out directory: the last 38 hex digits of a key
// followed by ".json". Temp files of interrupted writes ("<name>.json.tmp.XXXXXX") are not.
bool is_entry_name(const std::string& name) {
  const std::size_t stem_length = k_key_length - 2;
  return name.size() == stem_length + k_suffix.size() &&
         std::string_view(name).substr(stem_length) == k_suffix &&
         is_hex(std::string_view(name).substr(0, stem_length));
}

bool is_fan_out_name(const std::string& name) { return name.size() == 2 && is_hex(name); }

// Calls visit(path) for every entry file under `kind_dir`; I/O errors skip what cannot be listed.
template <class Visit>
void for_each_entry(const fs::path& kind_dir, Visit visit) {
  std::error_code ec;
  for (fs::directory_iterator fan_out(kind_dir, ec), end; !ec && fan_out != end; fan_out.increment(ec)) {
    std::error_code type_ec;
    if (!fan_out->is_directory(type_ec) || !is_fan_out_name(fan_out->path().filename().string())) {
      continue;
    }
    std::error_code inner_ec;
    for (fs::directory_iterator file(fan_out->path(), inner_ec); !inner_ec && file != end;
         file.increment(inner_ec)) {
      std::error_code file_ec;
      if (file->is_regular_file(file_ec) && is_entry_name(file->path().filename().string())) {
        visit(file->path());
      }
    }
  }
}

// The kind directories directly under `dir`, by kind name.
std::vector<std::pair<std::string, fs::path>> kind_dirs(const fs::path& dir) {
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    std::string name = it->path().filename().string();
    if (it->is_directory(type_ec) && is_valid_kind(name)) {
      out.emplace_back(std::move(name), it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string content_key(const std::vector<std::string_view>& parts) {
  util::Sha1 sha;
  for (const std::string_view part : parts) {
    sha.update(std::to_string(part.size()));
    sha.update(":");
    sha.update(part);
  }
  return sha.hex_digest();
}

ResultCache::ResultCache(std::filesystem::path dir, bool enabled)
    : m_dir(std::move(dir)), m_enabled(enabled) {}

std::filesystem::path ResultCache::entry_path(std::string_view kind, std::string_view key) const {
  validate(kind, key);
  return m_dir / std::string(kind) / std::string(key.substr(0, 2)) /
         (std::string(key.substr(2)) + std::string(k_suffix));
}

std::optional<nlohmann::json> ResultCache::get(std::string_view kind, std::string_view key) const {
  const fs::path path = entry_path(kind, key);
  if (!m_enabled) {
    ++m_misses;
    return std::nullopt;
  }
  std::optional<std::string> text;
  try {
    text = util::read_file(path);
  } catch (const Error&) {
    // Unreadable (permissions, I/O error): the caller recomputes, and put() replaces it.
    ++m_corrupt;
    ++m_misses;
    return std::nullopt;
  }
  if (!text) {
    ++m_misses;
    return std::nullopt;
  }
  nlohmann::json value = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    ++m_corrupt;
    ++m_misses;
    return std::nullopt;
  }
  ++m_hits;
  return value;
}

void ResultCache::put(std::string_view kind, std::string_view key, const nlohmann::json& value) {
  const fs::path path = entry_path(kind, key);
  if (!m_enabled) {
    return;
  }
  std::string text;
  try {
    text = value.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error("cannot cache " + std::string(kind) + " " + std::string(key) + ": " + e.what());
  }
  text.push_back('\n');
  // No fsync: answers arrive by the thousand and an fsync costs ~5 ms each. A killed process
  // still leaves whole entries; an entry emptied by a power loss reads as corrupt, i.e. a miss.
  util::write_file_atomic(path, text, k_entry_mode, util::Sync::none);
}

CacheStats ResultCache::stats() const {
  CacheStats out;
  for (const auto& [name, kind_dir] : kind_dirs(m_dir)) {
    CacheKindStats kind;
    for_each_entry(kind_dir, [&kind](const fs::path& path) {
      std::error_code ec;
      const std::uintmax_t size = fs::file_size(path, ec);
      if (ec) {
        return;  // removed since it was listed
      }
      ++kind.entries;
      kind.bytes += size;
    });
    if (kind.entries > 0) {
      out.entries += kind.entries;
      out.bytes += kind.bytes;
      out.kinds.emplace(name, kind);
    }
  }
  out.hits = m_hits.load();
  out.misses = m_misses.load();
  out.corrupt = m_corrupt.load();
  return out;
}

std::size_t ResultCache::clear() {
  std::size_t removed = 0;
  for (const auto& [name, kind_dir] : kind_dirs(m_dir)) {
    for_each_entry(kind_dir, [&removed](const fs::path&) { ++removed; });
    // Removing the whole kind directory also takes temp files of interrupted writes.
    std::error_code ec;
    fs::remove_all(kind_dir, ec);
    if (ec) {
      throw Error("cannot clear the cache directory '" + kind_dir.string() + "': " + ec.message());
    }
  }
  return removed;
}

}  // namespace promptops::eval
