// SPDX-License-Identifier: MIT
// One evaluation to compute (a prompt version x model x suite), as planning makes it and the call
// queue runs it; and what each of its cases accumulates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/eval.hpp>
#include <promptops/eval/metrics.hpp>
#include <promptops/prompt/prompt.hpp>

#include "results_file.hpp"
#include "suite.hpp"

namespace promptops::inline eval {

// What one case accumulated over its repeats: 16 bytes per case, whatever the answers.
struct CaseTally {
  std::uint16_t passes = 0;
  std::uint16_t fails = 0;
  std::uint16_t errors = 0;
  std::uint16_t done = 0;
  double score_sum = 0.0;
};

struct Job {
  std::string key;
  Prompt prompt;
  ModelSpec model;
  const ProviderSpec* provider = nullptr;
  std::string identity;
  const Suite* suite = nullptr;
  // Which of the suite's cases run, by index, in this order; empty = all of them.
  std::vector<std::size_t> cases;
  std::size_t total = 0;  // samples
  std::size_t done = 0;
  std::vector<CaseTally> tallies;                    // by position in the cases run
  // Per named metric, each case's score sum and samples, by position (only for suites that name
  // metrics: the paired tests of a gate on one need the per-case values).
  std::map<std::string, std::vector<std::pair<double, std::uint16_t>>> named_tallies;
  std::vector<nlohmann::json>* records = nullptr;    // also keeps each case record here (trials)
  std::optional<EvalResult>* result = nullptr;       // where the result goes when done; null = the report
  MetricsAccumulator metrics;
  std::size_t errors = 0;
  ResultsFile results;
  // The prompt's templates, parsed when the first case renders: once per evaluation.
  std::unique_ptr<PromptRenderer> renderer;
  // The parts of every answer's cache key that do not change from case to case.
  std::string params_text;

  std::size_t case_count() const { return cases.empty() ? suite->cases.size() : cases.size(); }
  std::size_t case_index(std::size_t position) const { return cases.empty() ? position : cases[position]; }
};

}  // namespace promptops::eval
