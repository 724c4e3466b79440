// SPDX-License-Identifier: MIT
// `git promptops cache stats|clear`: what the evaluation cache holds, and emptying it.
#include <cstdio>
#include <filesystem>

#include <promptops/eval/cache.hpp>
#include <promptops/util/error.hpp>

#include "common.hpp"
#include <promptops/output/table.hpp>

namespace promptops::cli {

namespace {

namespace fs = std::filesystem;

struct CacheOptions {
  std::string format;
};

fs::path promptops_dir(Context& context) { return context.repo().common_dir() / "promptops"; }

std::string human_bytes(std::uintmax_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

// Per-case result files: their count and size.
CacheKindStats results_stats(const fs::path& dir) {
  CacheKindStats stats;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      ++stats.entries;
      stats.bytes += it->file_size(ec);
    }
  }
  return stats;
}

void run_stats(Context& context, const CacheOptions& options) {
  const fs::path dir = promptops_dir(context);
  const ResultCache cache(dir / "cache");
  const CacheStats stats = cache.stats();
  const CacheKindStats results = results_stats(dir / "results");
  if (options.format == "json") {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [name, kind] : stats.kinds) {
      kinds[name] = {{"entries", kind.entries}, {"bytes", kind.bytes}};
    }
    context.out_json({{"directory", (dir / "cache").string()},
                      {"kinds", kinds},
                      {"entries", stats.entries},
                      {"bytes", stats.bytes},
                      {"results_files", results.entries},
                      {"results_bytes", results.bytes}});
    return;
  }
  output::Table table({"KIND", "ENTRIES", "SIZE"}, {output::Align::left, output::Align::right, output::Align::right});
  for (const auto& [name, kind] : stats.kinds) {
    table.add_row({name, std::to_string(kind.entries), human_bytes(kind.bytes)});
  }
  table.add_row({"results", std::to_string(results.entries), human_bytes(results.bytes)});
  table.add_row({"total", std::to_string(stats.entries + results.entries), human_bytes(stats.bytes + results.bytes)});
  context.out(table.render());
}

void run_clear(Context& context) {
  const fs::path dir = promptops_dir(context);
  ResultCache cache(dir / "cache");
  const std::size_t removed = cache.clear();
  const CacheKindStats results = results_stats(dir / "results");
  std::error_code ec;
  fs::remove_all(dir / "results", ec);
  if (ec) {
    throw Error("cannot remove " + (dir / "results").string() + ": " + ec.message());
  }
  context.out("removed " + std::to_string(removed) + " cache entries and " + std::to_string(results.entries) +
              " result files\n");
}

}  // namespace

void add_cache(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("cache", "show or clear the evaluation cache (answers and results)");
  command->require_subcommand(1);
  auto options = std::make_shared<CacheOptions>();
  CLI::App* stats = command->add_subcommand("stats", "entries and bytes per kind under <git-common-dir>/promptops");
  add_format_option(*stats, options->format);
  stats->callback([&context, options] { run_stats(context, *options); });
  CLI::App* clear = command->add_subcommand("clear", "remove every cached answer and result file");
  clear->callback([&context] { run_clear(context); });
}

}  // namespace promptops::cli
