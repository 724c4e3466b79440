// SPDX-License-Identifier: MIT
// A read-only, mmap'd reader for git's commit-graph (single file or split chain) and its Bloom filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <promptops/git/git.hpp>

namespace promptops::git {

// A read-only memory map of a whole file; unmapped on destruction.
class MappedFile {
 public:
  // nullopt when the file is missing, empty or cannot be mapped.
  static std::optional<MappedFile> open(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return m_data; }
  std::size_t size() const { return m_size; }

 private:
  MappedFile(const unsigned char* data, std::size_t size) : m_data(data), m_size(size) {}
  const unsigned char* m_data = nullptr;
  std::size_t m_size = 0;
};

// The Bloom keys of one path (the path and each leading directory), hashed once for every
// (hash version, number of hashes) combination that the graph's layers use.
class BloomKeys {
 public:
  struct Variant {
    std::uint32_t version = 0;  // BDAT version: 1 hashes signed chars, 2 unsigned chars
    std::uint32_t num_hashes = 0;
    std::vector<std::uint32_t> hashes;  // num_hashes per key, keys back to back
  };
  std::vector<Variant> variants;
  bool empty() const { return variants.empty(); }
};

// git's murmur3 (32-bit, x86 variant). BDAT version 1 sign-extends bytes >= 0x80, as git < 2.46
// did by accident; version 2 treats them as unsigned.
std::uint32_t murmur3_seeded(std::uint32_t seed, std::string_view data, bool signed_chars);

// git's commit-graph: object id -> position, and per position the tree, parents, commit time and
// the changed-path Bloom filter against the first parent. Positions span the whole split chain.
// Every accessor bounds-checks the mapped data; a structurally malformed file is never opened.
class CommitGraph {
 public:
  static constexpr std::uint32_t k_no_parent = 0xffffffffu;

  struct Row {
    Oid tree;
    std::uint32_t first_parent = k_no_parent;  // position, or k_no_parent for a root commit
  };

  // Reads <objects_dir>/info/commit-graph, else <objects_dir>/info/commit-graphs/commit-graph-chain.
  // nullptr when there is none, or when any file of it is malformed (the caller then reads the ODB).
  static std::unique_ptr<CommitGraph> open(const std::filesystem::path& objects_dir);

  CommitGraph(const CommitGraph&) = delete;
  CommitGraph& operator=(const CommitGraph&) = delete;
  ~CommitGraph();

  // Number of commits in all layers.
  std::uint32_t size() const { return m_size; }
  std::size_t layer_count() const { return m_layers.size(); }
  bool has_bloom() const;

  std::optional<std::uint32_t> find(const Oid& id) const;
  // The id at `position`; `position` must be < size().
  Oid id_at(std::uint32_t position) const;
  // Tree and first parent; nullopt when the row is inconsistent (the caller reads the ODB).
  std::optional<Row> row(std::uint32_t position) const;
  // All parent positions in order (octopus merges through EDGE); nullopt when inconsistent.
  std::optional<std::vector<std::uint32_t>> parents(std::uint32_t position) const;
  // Committer time, seconds since the epoch.
  std::int64_t commit_time(std::uint32_t position) const;

  // Keys for `path` (repository-relative, no leading or trailing '/'); empty when no layer has
  // usable Bloom filters or the path is empty.
  BloomKeys bloom_keys(std::string_view path) const;
  // True only when the commit's filter proves that no key of `keys` changed against the first
  // parent. False ("maybe") for missing, empty or too-large filters and unknown versions.
  bool bloom_definitely_unchanged(std::uint32_t position, const BloomKeys& keys) const;

 private:
  struct Layer;
  CommitGraph();
  const Layer* layer_of(std::uint32_t position) const;

  std::vector<std::unique_ptr<Layer>> m_layers;  // base first
  std::uint32_t m_size = 0;
};

}  // namespace promptops::git
