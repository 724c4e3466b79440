// SPDX-License-Identifier: MIT
// Reads git's commit-graph files (gitformat-commit-graph(5)) and changed-path Bloom filters.
#include "commit_graph.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>
#include <promptops/util/trace.hpp>

namespace promptops::git {

namespace {

constexpr std::size_t k_hash_size = 20;
constexpr std::size_t k_header_size = 8;
constexpr std::size_t k_chunk_entry_size = 12;
constexpr std::size_t k_fanout_size = 256 * 4;
constexpr std::size_t k_cdat_row_size = k_hash_size + 16;
constexpr std::size_t k_bdat_header_size = 12;
constexpr std::uint32_t k_parent_none = 0x70000000u;
constexpr std::uint32_t k_extra_edges = 0x80000000u;
constexpr std::uint32_t k_edge_last = 0x80000000u;
constexpr std::uint32_t k_bloom_seed0 = 0x293ae76fu;
constexpr std::uint32_t k_bloom_seed1 = 0x7e646e2cu;
constexpr std::uint32_t k_max_bloom_hashes = 64;

constexpr std::uint32_t chunk_id(const char (&name)[5]) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(name[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(name[2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(name[3]));
}

constexpr std::uint32_t k_chunk_oidf = chunk_id("OIDF");
constexpr std::uint32_t k_chunk_oidl = chunk_id("OIDL");
constexpr std::uint32_t k_chunk_cdat = chunk_id("CDAT");
constexpr std::uint32_t k_chunk_edge = chunk_id("EDGE");
constexpr std::uint32_t k_chunk_bidx = chunk_id("BIDX");
constexpr std::uint32_t k_chunk_bdat = chunk_id("BDAT");
constexpr std::uint32_t k_chunk_base = chunk_id("BASE");

std::uint32_t be32(const unsigned char* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

std::uint64_t be64(const unsigned char* p) {
  return (static_cast<std::uint64_t>(be32(p)) << 32) | be32(p + 4);
}

std::uint32_t rotate_left(std::uint32_t value, int count) {
  return (value << count) | (value >> (32 - count));
}

// A byte as git's murmur3 saw it: sign-extended (version 1) or not (version 2).
std::uint32_t widen(unsigned char byte, bool signed_chars) {
  if (signed_chars) {
    return static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(byte)));
  }
  return byte;
}

}  // namespace

// A chunk of the file: outside the anonymous namespace because CommitGraph::Layer holds some.
struct CommitGraphChunk {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};
using Chunk = CommitGraphChunk;

std::uint32_t murmur3_seeded(std::uint32_t seed, std::string_view data, bool signed_chars) {
  constexpr std::uint32_t k_c1 = 0xcc9e2d51u;
  constexpr std::uint32_t k_c2 = 0x1b873593u;
  constexpr std::uint32_t k_m = 5;
  constexpr std::uint32_t k_n = 0xe6546b64u;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t len = data.size();
  const std::size_t len4 = len / 4;
  for (std::size_t i = 0; i < len4; ++i) {
    std::uint32_t k = widen(bytes[4 * i], signed_chars) | (widen(bytes[4 * i + 1], signed_chars) << 8) |
                      (widen(bytes[4 * i + 2], signed_chars) << 16) |
                      (widen(bytes[4 * i + 3], signed_chars) << 24);
    k *= k_c1;
    k = rotate_left(k, 15);
    k *= k_c2;
    seed ^= k;
    seed = rotate_left(seed, 13) * k_m + k_n;
  }
  const unsigned char* tail = bytes + len4 * 4;
  std::uint32_t k1 = 0;
  switch (len & 3) {
    case 3:
      k1 ^= widen(tail[2], signed_chars) << 16;
      [[fallthrough]];
    case 2:
      k1 ^= widen(tail[1], signed_chars) << 8;
      [[fallthrough]];
    case 1:
      k1 ^= widen(tail[0], signed_chars);
      k1 *= k_c1;
      k1 = rotate_left(k1, 15);
      k1 *= k_c2;
      seed ^= k1;
      break;
    default:
      break;
  }
  seed ^= static_cast<std::uint32_t>(len);
  seed ^= seed >> 16;
  seed *= 0x85ebca6bu;
  seed ^= seed >> 13;
  seed *= 0xc2b2ae35u;
  seed ^= seed >> 16;
  return seed;
}

// ---- MappedFile ----------------------------------------------------------------------------

std::optional<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size <= 0) {
    ::close(fd);
    return std::nullopt;
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (mapped == MAP_FAILED) {
    return std::nullopt;
  }
  return MappedFile(static_cast<const unsigned char*>(mapped), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (m_data != nullptr) {
      ::munmap(const_cast<unsigned char*>(m_data), m_size);
    }
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (m_data != nullptr) {
    ::munmap(const_cast<unsigned char*>(m_data), m_size);
  }
}

// ---- CommitGraph ---------------------------------------------------------------------------

struct CommitGraph::Layer {
  MappedFile file;
  std::uint32_t count = 0;  // commits in this layer
  std::uint32_t base = 0;   // global position of this layer's first commit
  const unsigned char* fanout = nullptr;
  const unsigned char* oids = nullptr;
  const unsigned char* cdat = nullptr;
  Chunk edge;
  Chunk base_graphs;
  std::uint32_t base_graph_count = 0;
  // Bloom filters; bidx is null when the layer has none we can use.
  const unsigned char* bidx = nullptr;
  Chunk bdat;
  std::uint32_t bloom_version = 0;
  std::uint32_t bloom_hashes = 0;
  std::size_t bloom_variant = 0;  // index into BloomKeys::variants

  explicit Layer(MappedFile mapped) : file(std::move(mapped)) {}

  // The trailing checksum, which names the file in a split chain.
  const unsigned char* checksum() const { return file.data() + file.size() - k_hash_size; }
};

namespace {

// Parses and validates one commit-graph file. Returns false when anything is inconsistent.
template <class Layer>
bool parse_layer(Layer& layer) {
  const unsigned char* data = layer.file.data();
  const std::size_t size = layer.file.size();
  if (size < k_header_size + k_chunk_entry_size + k_hash_size) {
    return false;
  }
  if (std::memcmp(data, "CGPH", 4) != 0 || data[4] != 1 || data[5] != 1) {
    return false;  // unknown file version, or not SHA-1
  }
  const std::size_t chunk_count = data[6];
  layer.base_graph_count = data[7];
  const std::size_t table_end = k_header_size + (chunk_count + 1) * k_chunk_entry_size;
  const std::size_t data_end = size - k_hash_size;
  if (table_end > data_end) {
    return false;
  }
  Chunk oidf;
  Chunk oidl;
  Chunk cdat;
  Chunk bidx;
  Chunk bdat;
  bool seen_edge = false;
  bool seen_base = false;
  std::vector<std::uint32_t> seen_ids;
  for (std::size_t i = 0; i < chunk_count; ++i) {
    const unsigned char* entry = data + k_header_size + i * k_chunk_entry_size;
    const std::uint32_t id = be32(entry);
    const std::uint64_t offset = be64(entry + 4);
    const std::uint64_t next = be64(entry + 4 + k_chunk_entry_size);
    if (id == 0 || offset < table_end || offset > next || next > data_end) {
      return false;
    }
    if (std::find(seen_ids.begin(), seen_ids.end(), id) != seen_ids.end()) {
      return false;
    }
    seen_ids.push_back(id);
    const Chunk chunk{data + offset, static_cast<std::size_t>(next - offset)};
    if (id == k_chunk_oidf) {
      oidf = chunk;
    } else if (id == k_chunk_oidl) {
      oidl = chunk;
    } else if (id == k_chunk_cdat) {
      cdat = chunk;
    } else if (id == k_chunk_edge) {
      layer.edge = chunk;
      seen_edge = true;
    } else if (id == k_chunk_bidx) {
      bidx = chunk;
    } else if (id == k_chunk_bdat) {
      bdat = chunk;
    } else if (id == k_chunk_base) {
      layer.base_graphs = chunk;
      seen_base = true;
    }
    // GDAT/GDA2/GDOV/GDO2 (generation data) and unknown chunks are skipped, as git does.
  }
  // The terminating entry has id 0.
  if (be32(data + k_header_size + chunk_count * k_chunk_entry_size) != 0) {
    return false;
  }
  if (oidf.data == nullptr || oidl.data == nullptr || cdat.data == nullptr || oidf.size != k_fanout_size) {
    return false;
  }
  std::uint32_t previous = 0;
  for (std::size_t b = 0; b < 256; ++b) {
    const std::uint32_t value = be32(oidf.data + 4 * b);
    if (value < previous) {
      return false;
    }
    previous = value;
  }
  layer.count = previous;
  if (layer.count >= 0x70000000u || oidl.size != std::size_t{layer.count} * k_hash_size ||
      cdat.size != std::size_t{layer.count} * k_cdat_row_size) {
    return false;
  }
  if (seen_edge && layer.edge.size % 4 != 0) {
    return false;
  }
  if (layer.base_graph_count > 0
          ? (!seen_base || layer.base_graphs.size != std::size_t{layer.base_graph_count} * k_hash_size)
          : seen_base) {
    return false;
  }
  layer.fanout = oidf.data;
  layer.oids = oidl.data;
  layer.cdat = cdat.data;
  if ((bidx.data == nullptr) != (bdat.data == nullptr)) {
    return false;
  }
  if (bidx.data != nullptr) {
    if (bidx.size != std::size_t{layer.count} * 4 || bdat.size < k_bdat_header_size) {
      return false;
    }
    const std::uint32_t version = be32(bdat.data);
    const std::uint32_t hashes = be32(bdat.data + 4);
    // An unknown filter version or a silly hash count: no Bloom, but the graph stays usable.
    if ((version == 1 || version == 2) && hashes >= 1 && hashes <= k_max_bloom_hashes) {
      layer.bidx = bidx.data;
      layer.bdat = bdat;
      layer.bloom_version = version;
      layer.bloom_hashes = hashes;
    }
  }
  return true;
}

bool hex_to_bytes(std::string_view hex, unsigned char* out) {
  const std::optional<Oid> id = Oid::parse(hex);
  if (!id) {
    return false;
  }
  std::memcpy(out, id->bytes.data(), k_hash_size);
  return true;
}

}  // namespace

CommitGraph::CommitGraph() = default;
CommitGraph::~CommitGraph() = default;

std::unique_ptr<CommitGraph> CommitGraph::open(const std::filesystem::path& objects_dir) {
  std::unique_ptr<CommitGraph> graph(new CommitGraph());
  const std::filesystem::path info = objects_dir / "info";
  if (std::optional<MappedFile> single = MappedFile::open(info / "commit-graph")) {
    auto layer = std::make_unique<Layer>(std::move(*single));
    if (!parse_layer(*layer) || layer->base_graph_count != 0) {
      PO_TRACE("commit-graph: ignoring malformed " + (info / "commit-graph").string());
      return nullptr;
    }
    graph->m_layers.push_back(std::move(layer));
  } else {
    const std::filesystem::path dir = info / "commit-graphs";
    std::optional<std::string> chain;
    try {
      chain = util::read_file(dir / "commit-graph-chain");
    } catch (const std::exception&) {
      chain.reset();
    }
    if (!chain) {
      return nullptr;
    }
    std::vector<std::array<unsigned char, k_hash_size>> names;
    for (const std::string& line : util::split(*chain, '\n')) {
      const std::string_view text = util::trim(line);
      if (text.empty()) {
        continue;
      }
      std::array<unsigned char, k_hash_size> name{};
      if (!hex_to_bytes(text, name.data())) {
        PO_TRACE("commit-graph: ignoring malformed chain file");
        return nullptr;
      }
      names.push_back(name);
    }
    if (names.empty() || names.size() > 255) {
      return nullptr;
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      Oid name_id;
      std::copy(names[i].begin(), names[i].end(), name_id.bytes.begin());
      std::optional<MappedFile> mapped = MappedFile::open(dir / ("graph-" + name_id.hex() + ".graph"));
      if (!mapped) {
        PO_TRACE("commit-graph: chain layer " + name_id.hex() + " is missing");
        return nullptr;
      }
      auto layer = std::make_unique<Layer>(std::move(*mapped));
      if (!parse_layer(*layer) || layer->base_graph_count != i ||
          std::memcmp(layer->checksum(), names[i].data(), k_hash_size) != 0) {
        PO_TRACE("commit-graph: ignoring chain with malformed layer " + name_id.hex());
        return nullptr;
      }
      for (std::size_t b = 0; b < i; ++b) {
        if (std::memcmp(layer->base_graphs.data + b * k_hash_size, names[b].data(), k_hash_size) != 0) {
          PO_TRACE("commit-graph: chain layer " + name_id.hex() + " names other base graphs");
          return nullptr;
        }
      }
      graph->m_layers.push_back(std::move(layer));
    }
  }
  std::uint64_t total = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> variants;
  for (const auto& layer : graph->m_layers) {
    layer->base = static_cast<std::uint32_t>(total);
    total += layer->count;
    if (total >= 0x70000000u) {
      return nullptr;
    }
    if (layer->bidx != nullptr) {
      const std::pair<std::uint32_t, std::uint32_t> key{layer->bloom_version, layer->bloom_hashes};
      auto it = std::find(variants.begin(), variants.end(), key);
      if (it == variants.end()) {
        variants.push_back(key);
        it = variants.end() - 1;
      }
      layer->bloom_variant = static_cast<std::size_t>(it - variants.begin());
    }
  }
  graph->m_size = static_cast<std::uint32_t>(total);
  return graph;
}

bool CommitGraph::has_bloom() const {
  return std::any_of(m_layers.begin(), m_layers.end(),
                     [](const auto& layer) { return layer->bidx != nullptr; });
}

const CommitGraph::Layer* CommitGraph::layer_of(std::uint32_t position) const {
  for (auto it = m_layers.rbegin(); it != m_layers.rend(); ++it) {
    if (position >= (*it)->base) {
      return position - (*it)->base < (*it)->count ? it->get() : nullptr;
    }
  }
  return nullptr;
}

std::optional<std::uint32_t> CommitGraph::find(const Oid& id) const {
  const unsigned char first = id.bytes[0];
  for (auto it = m_layers.rbegin(); it != m_layers.rend(); ++it) {
    const Layer& layer = **it;
    std::uint32_t lo = first == 0 ? 0 : be32(layer.fanout + 4 * (first - 1));
    std::uint32_t hi = be32(layer.fanout + 4 * first);
    while (lo < hi) {
      const std::uint32_t mid = lo + (hi - lo) / 2;
      const int cmp = std::memcmp(layer.oids + std::size_t{mid} * k_hash_size, id.bytes.data(), k_hash_size);
      if (cmp == 0) {
        return layer.base + mid;
      }
      if (cmp < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
  }
  return std::nullopt;
}

Oid CommitGraph::id_at(std::uint32_t position) const {
  Oid out;
  if (const Layer* layer = layer_of(position)) {
    std::memcpy(out.bytes.data(), layer->oids + std::size_t{position - layer->base} * k_hash_size,
                k_hash_size);
  }
  return out;
}

std::optional<CommitGraph::Row> CommitGraph::row(std::uint32_t position) const {
  const Layer* layer = layer_of(position);
  if (layer == nullptr) {
    return std::nullopt;
  }
  const unsigned char* cdat = layer->cdat + std::size_t{position - layer->base} * k_cdat_row_size;
  Row out;
  std::memcpy(out.tree.bytes.data(), cdat, k_hash_size);
  const std::uint32_t parent1 = be32(cdat + k_hash_size);
  if (parent1 != k_parent_none) {
    // A parent is always older, so it lives in this layer or below; never in a later one.
    if ((parent1 & k_extra_edges) != 0 || parent1 >= layer->base + layer->count) {
      return std::nullopt;
    }
    out.first_parent = parent1;
  } else if (be32(cdat + k_hash_size + 4) != k_parent_none) {
    return std::nullopt;  // a second parent without a first
  }
  return out;
}

std::optional<std::vector<std::uint32_t>> CommitGraph::parents(std::uint32_t position) const {
  const Layer* layer = layer_of(position);
  if (layer == nullptr) {
    return std::nullopt;
  }
  const unsigned char* cdat = layer->cdat + std::size_t{position - layer->base} * k_cdat_row_size;
  const std::uint32_t limit = layer->base + layer->count;
  std::vector<std::uint32_t> out;
  const std::uint32_t parent1 = be32(cdat + k_hash_size);
  const std::uint32_t parent2 = be32(cdat + k_hash_size + 4);
  if (parent1 == k_parent_none) {
    if (parent2 != k_parent_none) {
      return std::nullopt;
    }
    return out;
  }
  if ((parent1 & k_extra_edges) != 0 || parent1 >= limit) {
    return std::nullopt;
  }
  out.push_back(parent1);
  if (parent2 == k_parent_none) {
    return out;
  }
  if ((parent2 & k_extra_edges) == 0) {
    if (parent2 >= limit) {
      return std::nullopt;
    }
    out.push_back(parent2);
    return out;
  }
  std::size_t index = parent2 & ~k_extra_edges;
  const std::size_t edges = layer->edge.size / 4;
  for (;;) {
    if (index >= edges) {
      return std::nullopt;
    }
    const std::uint32_t value = be32(layer->edge.data + 4 * index);
    const std::uint32_t parent = value & ~k_edge_last;
    if (parent >= limit) {
      return std::nullopt;
    }
    out.push_back(parent);
    if ((value & k_edge_last) != 0) {
      return out;
    }
    ++index;
  }
}

std::int64_t CommitGraph::commit_time(std::uint32_t position) const {
  const Layer* layer = layer_of(position);
  if (layer == nullptr) {
    return 0;
  }
  const unsigned char* cdat = layer->cdat + std::size_t{position - layer->base} * k_cdat_row_size;
  const std::uint64_t high = be32(cdat + k_hash_size + 8) & 3u;
  return static_cast<std::int64_t>((high << 32) | be32(cdat + k_hash_size + 12));
}

BloomKeys CommitGraph::bloom_keys(std::string_view path) const {
  BloomKeys out;
  if (path.empty()) {
    return out;
  }
  // The path itself, then each leading directory without its trailing '/', as git adds them.
  std::vector<std::string_view> keys{path};
  for (std::size_t i = path.size(); i-- > 1;) {
    if (path[i] == '/') {
      keys.push_back(path.substr(0, i));
    }
  }
  for (const auto& layer : m_layers) {
    if (layer->bidx == nullptr) {
      continue;
    }
    if (out.variants.size() <= layer->bloom_variant) {
      out.variants.resize(layer->bloom_variant + 1);
    }
    BloomKeys::Variant& variant = out.variants[layer->bloom_variant];
    if (variant.num_hashes != 0) {
      continue;
    }
    variant.version = layer->bloom_version;
    variant.num_hashes = layer->bloom_hashes;
    const bool signed_chars = layer->bloom_version == 1;
    for (std::string_view key : keys) {
      const std::uint32_t h0 = murmur3_seeded(k_bloom_seed0, key, signed_chars);
      const std::uint32_t h1 = murmur3_seeded(k_bloom_seed1, key, signed_chars);
      for (std::uint32_t j = 0; j < variant.num_hashes; ++j) {
        variant.hashes.push_back(h0 + j * h1);
      }
    }
  }
  return out;
}

bool CommitGraph::bloom_definitely_unchanged(std::uint32_t position, const BloomKeys& keys) const {
  const Layer* layer = layer_of(position);
  if (layer == nullptr || layer->bidx == nullptr || layer->bloom_variant >= keys.variants.size()) {
    return false;
  }
  const BloomKeys::Variant& variant = keys.variants[layer->bloom_variant];
  if (variant.version != layer->bloom_version || variant.num_hashes != layer->bloom_hashes ||
      variant.hashes.empty()) {
    return false;
  }
  const std::uint32_t local = position - layer->base;
  const std::uint32_t start = local == 0 ? 0 : be32(layer->bidx + 4 * std::size_t{local - 1});
  const std::uint32_t end = be32(layer->bidx + 4 * std::size_t{local});
  if (end < start || end > layer->bdat.size - k_bdat_header_size) {
    return false;
  }
  const std::uint64_t bits = std::uint64_t{end - start} * 8;
  if (bits == 0) {
    return false;  // no filter was computed for this commit
  }
  const unsigned char* filter = layer->bdat.data + k_bdat_header_size + start;
  const std::size_t per_key = variant.num_hashes;
  for (std::size_t k = 0; k + per_key <= variant.hashes.size(); k += per_key) {
    for (std::size_t j = 0; j < per_key; ++j) {
      const std::uint64_t bit = variant.hashes[k + j] % bits;
      if ((filter[bit / 8] & (1u << (bit % 8))) == 0) {
        return true;  // this key is absent, so nothing at or below the path changed
      }
    }
  }
  return false;
}

}  // namespace promptops::git
