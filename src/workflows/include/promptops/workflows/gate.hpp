// SPDX-License-Identifier: MIT
// The quality gate: a candidate evaluation against its baseline on the same cases, by the
// thresholds of [gate] (min, max_drop, confidence) and a paired significance test.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/eval/statistics.hpp>

namespace promptops::inline workflows {

// The gate that applies to `prompt`: [defaults.gate] of the config, with the prompt's [gate]
// over it metric by metric (and its confidence when it sets one). When neither sets a threshold,
// the implicit gate is max_drop = { <headline metric> = 0 }: any significant drop fails.
// Throws ConfigError at the file:line of the [gate] or [defaults.gate] naming an unknown metric.
GateSpec effective_gate(const Prompt& prompt, const Config& config);

// One metric judged by the gate.
struct MetricCheck {
  std::string metric;
  std::optional<double> baseline;  // nullopt: no baseline (a new prompt, or it could not be judged)
  double candidate = 0.0;
  std::optional<Interval> baseline_interval;
  std::optional<Interval> candidate_interval;
  std::optional<double> min;       // the threshold, when the gate sets one
  std::optional<double> max_drop;  // likewise
  std::string test;                // "mcnemar", "sign_flip", or empty when no paired test applies
  std::optional<double> p_value;   // of the paired test
  bool below_min = false;
  bool drop_exceeded = false;  // baseline - candidate > max_drop
  bool significant = false;    // p < 1 - confidence (true when the drop exceeded and no test applies)
  bool failed = false;         // below_min, or drop_exceeded and significant
  // The drop exceeded max_drop but too few cases changed for any outcome of them to be
  // significant (smallest_p_value() of the changed pairs or clusters >= 1 - confidence): the
  // suite cannot show this drop, however clear.
  bool too_few_cases = false;
};

struct GateVerdict {
  bool passed = true;
  double confidence = 0.95;
  std::vector<MetricCheck> checks;  // min metrics, then max_drop metrics not already listed
  std::optional<Flips> flips;       // when there is a baseline
};

// Judges `candidate` against `baseline` (nullopt: min thresholds only). Both must have been judged
// by the same suite, so that cases pair by id. `groups` holds each case's
// dataset group, one per candidate case in its order (empty when the dataset has none): grouped
// cases are flipped together.
// Paired tests, all two-sided: pass_rate and accuracy by exact McNemar on the per-case outcomes
// (by the sign-flip test of pass/fail per group when cases are grouped), mean_score by the
// paired sign-flip test of the case scores (exact up to k_exact_sign_flip_clusters changed
// clusters, else 10,000 draws with seed 1); macro_f1 has no per-case form, so a drop beyond
// max_drop fails on its own. Throws ConfigError (at the gate's file:line) for a metric it does not know.
GateVerdict judge(const GateSpec& gate, const std::optional<EvalResult>& baseline,
                  const EvalResult& candidate, const std::vector<std::string>& groups = {});

// The dataset group of each of `result`'s cases, in its case order, read from its dataset in
// `snapshot`; empty when the dataset has no groups (or cannot be read).
std::vector<std::string> case_groups(const Snapshot& snapshot, const EvalResult& result);

// Per-case values of two runs paired by id, in `b`'s order, leaving out cases without an answer
// ('e') on either side: 1/0 for pass/fail (`pass_fail`), else the case scores. `groups_b` is
// case_groups() of b; the groups of the pairs are empty when no pair has one.
struct PairedCases {
  std::vector<double> a;
  std::vector<double> b;
  std::vector<std::string> groups;
};
PairedCases paired_cases(const EvalResult& a, const EvalResult& b, const std::vector<std::string>& groups_b,
                         bool pass_fail);

// paired_cases() for a named metric (an assertion's "metric"): each side's per-case score of it
// (EvalResult::named_scores), leaving out cases that lack it on either side.
PairedCases paired_named_cases(const EvalResult& a, const EvalResult& b, const std::vector<std::string>& groups_b,
                               const std::string& metric);

}  // namespace promptops::workflows
