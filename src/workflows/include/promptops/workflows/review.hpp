// SPDX-License-Identifier: MIT
// review: one report for a change between two commits: per changed prompt its semantic diff, each
// metric before -> after with its interval and p-value, the flipped cases, and the gate's verdict
// (the check workflow judges; review adds the rows a reader needs).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <promptops/workflows/check.hpp>
#include <promptops/workflows/flip_cases.hpp>
#include <promptops/git/git.hpp>
#include <promptops/workflows/prompt_diff.hpp>

namespace promptops::inline workflows {

// One row of the metrics table.
struct MetricRow {
  std::string name;
  std::optional<double> base;
  std::optional<double> head;
  std::optional<Interval> base_interval;
  std::optional<Interval> head_interval;
  std::optional<double> p_value;
  std::string test;         // "mcnemar", "sign_flip" or the gate's test; empty = none
  double smallest_p = 1.0;  // of the paired test, with the cases that changed
  bool too_few = false;     // it dropped, and no outcome of the changed cases could be significant
  bool money = false;       // cost: "$0.0123"
  bool millis = false;      // latency: "412 ms"
};

// The rows for a prompt's check: its headline metric, pass_rate (unless the headline says the
// same) and mean_score with their paired tests (the gate's test where it judged the metric), then
// cost (unless zero on both sides) and p50 latency (when measured). `groups` are case_groups() of
// the candidate. Empty without a candidate result.
std::vector<MetricRow> metric_rows(const PromptCheck& check, const std::vector<std::string>& groups);

struct PromptReview {
  std::string name;
  std::string status;  // modified | added | deleted | renamed
  std::optional<PromptChange> change;
  std::optional<PromptCheck> check;  // nullopt when its evaluation did not change
  std::vector<MetricRow> metrics;
  FlippedCases flips;
};

// Where HEAD leaves the branch a change goes into: the merge base with the first of origin/HEAD,
// origin/main, origin/master, main and master that shares history with `head`; nullopt for none.
std::optional<git::Oid> default_base(const git::Repository& repo, const git::Oid& head);

struct ReviewRequest {
  git::Oid base;
  git::Oid head;
  bool offline = false;          // results from the cache and notes only
  std::size_t flips_shown = 10;  // flipped cases kept per direction; 0 = all
  EvalOptions eval;              // provider options and notes policy
};

struct ReviewReport {
  git::Oid base;
  git::Oid head;
  CheckReport check;                  // lint, the gate and the calls
  std::vector<std::string> skipped;   // prompt files the diff could not load, with why
  std::vector<PromptReview> prompts;  // every changed prompt, by name
  // The two sides as one evaluation report (targets base and head; a row per side that has a
  // result), so that what renders an eval report (the HTML page) renders the review.
  EvalReport eval;
};

// Checks `head` against `base` (run_check), diffs the prompts between them, and joins both per
// prompt with its metric rows and flipped cases. Throws as run_check does.
ReviewReport run_review(git::Repository& repo, const ReviewRequest& request, EvalServices& services);

}  // namespace promptops::workflows
