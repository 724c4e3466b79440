// SPDX-License-Identifier: MIT
// history_bench: times path_history() on a repository and prints the median and the walk's stats.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>
#include <promptops/git/history.hpp>

namespace {

constexpr std::string_view k_usage =
    "usage: history_bench [--repo DIR] [--rev REV] [--runs N] [--no-graph] [--no-bloom]\n"
    "                     [--no-cache] [--print] PATH\n"
    "  Runs path_history(REV, PATH) N times (default 1) and prints the median time and stats\n"
    "  on stderr. --print writes the changing commits to stdout, newest first, like\n"
    "  `git log --first-parent --format=%H -- PATH`.\n";

struct Options {
  std::string repo = ".";
  std::string rev = "HEAD";
  std::string path;
  int runs = 1;
  bool print = false;
  promptops::git::HistoryOptions history;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "history_bench: %s\n%.*s", message.c_str(), static_cast<int>(k_usage.size()),
               k_usage.data());
  std::exit(129);
}

Options parse_args(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage_error(std::string(arg) + " needs a value");
      }
      return argv[++i];
    };
    if (arg == "--repo") {
      options.repo = value();
    } else if (arg == "--rev") {
      options.rev = value();
    } else if (arg == "--runs") {
      options.runs = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--no-graph") {
      options.history.use_commit_graph = false;
    } else if (arg == "--no-bloom") {
      options.history.use_bloom = false;
    } else if (arg == "--no-cache") {
      options.history.use_cache = false;
    } else if (arg == "--print") {
      options.print = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fwrite(k_usage.data(), 1, k_usage.size(), stdout);
      std::exit(0);
    } else if (!arg.empty() && arg[0] == '-') {
      usage_error("unknown option " + std::string(arg));
    } else if (options.path.empty()) {
      options.path = arg;
    } else {
      usage_error("only one PATH");
    }
  }
  if (options.path.empty()) {
    usage_error("PATH is required");
  }
  return options;
}

int run(const Options& options) {
  const promptops::git::Repository repo = promptops::git::Repository::discover(options.repo);
  const std::optional<promptops::git::Oid> tip = repo.resolve(options.rev);
  if (!tip) {
    std::fprintf(stderr, "history_bench: unknown revision %s\n", options.rev.c_str());
    return 128;
  }
  std::vector<double> times;
  std::vector<promptops::git::PathChange> changes;
  promptops::git::HistoryStats stats;
  for (int run = 0; run < options.runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    changes = promptops::git::path_history(repo, *tip, options.path, options.history, &stats);
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    times.push_back(elapsed.count());
  }
  if (options.print) {
    std::string text;
    for (const auto& change : changes) {
      text += change.commit.hex();
      text += '\n';
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::sort(times.begin(), times.end());
  const double median = times.size() % 2 == 1 ? times[times.size() / 2]
                                              : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
  std::fprintf(stderr,
               "runs=%d median_ms=%.1f min_ms=%.1f changes=%zu visited=%zu from_graph=%zu "
               "trees_read=%zu bloom_skips=%zu cache_used=%s cache_new_commits=%zu\n",
               options.runs, median, times.front(), changes.size(), stats.commits_visited,
               stats.commits_from_graph, stats.trees_read, stats.bloom_skips, stats.cache_used ? "yes" : "no",
               stats.cache_new_commits);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_args(argc, argv);
  const promptops::git::LibraryScope libgit2;
  try {
    return run(options);
  } catch (const promptops::Error& error) {
    std::fprintf(stderr, "history_bench: error: %s\n", error.what());
    if (!error.hint().empty()) {
      std::fprintf(stderr, "hint: %s\n", error.hint().c_str());
    }
    return static_cast<int>(error.exit_code());
  }
}
