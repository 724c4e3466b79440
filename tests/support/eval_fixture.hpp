// SPDX-License-Identifier: MIT
// What the engine's unit tests share: a project whose one provider, "fn" with model "m", the test
// replaces with a FunctionProvider, and evaluation targets at commits.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <promptops/eval/cache.hpp>
#include <promptops/eval/eval.hpp>

#include "support/text.hpp"

namespace promptops::test {

// A .promptops.toml naming provider "fn" (an OpenAI-style URL where nothing listens: the test's
// make_provider answers instead) and model "m" as the default; `extra` follows (prices, say).
inline std::string fn_config(const std::string& extra = "") {
  return "[providers.fn]\n"
         "kind = \"openai\"\n"
         "base_url = \"http://127.0.0.1:1/v1\"\n"
         "\n"
         "[defaults.model]\n"
         "provider = \"fn\"\n"
         "name = \"m\"\n" +
         extra;
}

// One target per commit (full hex ids), unlabelled.
inline std::vector<EvalTarget> targets_at(const std::vector<std::string>& shas) {
  std::vector<EvalTarget> out;
  for (const std::string& sha : shas) {
    out.push_back(EvalTarget::at_commit(oid(sha), ""));
  }
  return out;
}

// Where the tool keeps its cache and per-case results in the repository at `repo`.
inline std::filesystem::path cache_dir(const std::filesystem::path& repo) {
  return repo / ".git" / "promptops" / "cache";
}
inline std::filesystem::path results_dir(const std::filesystem::path& repo) {
  return repo / ".git" / "promptops" / "results";
}

// Services with `cache` and the repository's results directory; the test sets make_provider.
inline EvalServices services_with(const std::filesystem::path& repo, ResultCache& cache) {
  EvalServices services;
  services.cache = &cache;
  services.results_dir = results_dir(repo);
  return services;
}

}  // namespace promptops::test
