// SPDX-License-Identifier: MIT
// The history engine: which first-parent commits changed a path. Same answer, same order, as
// `git log --first-parent --format=%H -- PATH`, but faster: raw object reads, a per-level subtree
// memo, git's commit-graph and changed-path Bloom filters, and a persistent cache.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <promptops/git/git.hpp>

namespace promptops::git {

// One commit on the first-parent chain where the path's entry changed, exactly as git counts
// it: the blob id, or only its mode or type (chmod +x), or it appeared or disappeared. The path
// is matched literally (no pathspec wildcards); replace refs and grafts are not applied.
struct PathChange {
  Oid commit;
  Oid blob;  // the path's object id at `commit` (a tree for a directory); zero when deleted
  bool deleted() const { return blob.is_zero(); }
};

struct HistoryOptions {
  bool use_commit_graph = true;  // read objects/info/commit-graph(s) when present
  bool use_bloom = true;         // use its changed-path Bloom filters when present
  bool use_cache = true;         // read and update <common_dir>/promptops/history
};

// What a walk did, for benchmarks, tests and trace.
struct HistoryStats {
  std::size_t commits_visited = 0;
  std::size_t commits_from_graph = 0;  // parents/tree read from the commit-graph, not the ODB
  std::size_t trees_read = 0;
  std::size_t bloom_skips = 0;         // commits the Bloom filter proved unchanged
  bool cache_used = false;             // started from a cached walk
  std::size_t cache_new_commits = 0;   // commits walked above the cached tip
};

// The changes to `path` along the first-parent chain from `tip`, newest first; shallow roots end
// the chain. Throws GitError on repository errors.
std::vector<PathChange> path_history(const Repository& repo, const Oid& tip, std::string_view path,
                                     const HistoryOptions& options = {},
                                     HistoryStats* stats = nullptr);

// The first-parent chain from `tip` down to (excluding) `stop` or the root, newest first.
std::vector<Oid> first_parent_chain(const Repository& repo, const Oid& tip,
                                    const std::optional<Oid>& stop = std::nullopt);

}  // namespace promptops::git
