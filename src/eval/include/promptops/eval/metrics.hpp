// SPDX-License-Identifier: MIT
// Aggregate metrics of an eval: pass rate with a Wilson interval, label metrics, scores, latency.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops::inline eval {

// z for a two-sided 95% interval.
inline constexpr double k_z95 = 1.959963984540054;

struct Interval {
  double low = 0.0;
  double high = 0.0;
};

// The Wilson score interval of a proportion for `k` successes in `n` trials, clamped to
// [0, 1]. n == 0 gives [0, 1] (nothing is known). Requires k <= n.
Interval wilson_interval(std::size_t k, std::size_t n, double z = k_z95);

// An interval as JSON, the one spelling in every output and note: [low, high], or null when
// there is none.
nlohmann::json interval_json(const Interval& interval);
nlohmann::json interval_json(const std::optional<Interval>& interval);

// The p-th percentile (0..100) with linear interpolation between the closest ranks (numpy's
// default). Empty input gives nullopt.
std::optional<double> percentile(std::vector<double> values, double p);

// The arithmetic mean; 0 for no values.
double mean(const std::vector<double>& values);

// Counts of (expected, predicted) label pairs.
struct ConfusionMatrix {
  std::vector<std::string> labels;               // every expected or predicted label, sorted
  std::vector<std::vector<std::size_t>> counts;  // counts[expected][predicted], indexes into labels
};

struct LabelStats {
  std::string label;
  std::size_t support = 0;    // cases expecting this label
  std::size_t predicted = 0;  // cases predicting it
  std::size_t true_positives = 0;
  double precision = 0.0;  // 0 when never predicted (sklearn zero_division=0)
  double recall = 0.0;     // 0 when never expected
  double f1 = 0.0;         // 0 when precision + recall is 0
};

struct LabelMetrics {
  std::size_t total = 0;
  std::size_t correct = 0;
  double accuracy = 0.0;  // correct / total; 0 for no cases
  Interval accuracy_ci;
  double macro_f1 = 0.0;              // mean F1 over every label in `confusion.labels`
  std::vector<LabelStats> per_label;  // in `confusion.labels` order
  ConfusionMatrix confusion;
};

// Label metrics from a confusion matrix.
LabelMetrics label_metrics(const ConfusionMatrix& confusion, double z = k_z95);

// Label metrics from (expected, predicted) pairs.
LabelMetrics label_metrics(const std::vector<std::pair<std::string, std::string>>& pairs, double z = k_z95);

struct LatencySummary {
  std::size_t count = 0;
  double mean_ms = 0.0;
  double p50_ms = 0.0;
  double p95_ms = 0.0;
  double p99_ms = 0.0;
  double max_ms = 0.0;
};

// A named metric (an assertion's `metric`): the mean of its scores over the samples that had it.
struct NamedMetric {
  std::size_t cases = 0;
  double mean = 0.0;
  Interval ci;  // Wilson's interval of the mean as a proportion: exact form for 0/1 scores
};

struct Metrics {
  std::size_t cases = 0;
  std::size_t passed = 0;
  std::size_t failed = 0;
  double pass_rate = 0.0;  // passed / cases; 0 for no cases
  Interval pass_rate_ci;
  double mean_score = 0.0;
  std::optional<LabelMetrics> labels;  // when some case had an expected label
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost = 0.0;        // of every case, cached or not
  double cost_spent = 0.0;  // of the cases that made a real call in this run
  std::size_t real_calls = 0;
  std::size_t cached = 0;
  std::optional<LatencySummary> latency;  // when some case had a latency
  std::map<std::string, NamedMetric> named;  // by name; empty when no assertion names a metric

  // {"cases", "passed", "failed", "pass_rate", "pass_rate_ci": [low, high], "mean_score",
  //  "labels": null | {"total", "correct", "accuracy", "accuracy_ci", "macro_f1",
  //    "per_label": [{"label", "support", "predicted", "precision", "recall", "f1"}],
  //    "confusion": {"labels": [...], "counts": [[...]]}},
  //  "tokens_in", "tokens_out", "cost", "cost_spent", "real_calls", "cached",
  //  "latency_ms": null | {"count", "mean", "p50", "p95", "p99", "max"},
  //  "named": {NAME: {"cases", "mean", "ci": [low, high]}}}  (only when `named` is not empty)
  nlohmann::json to_json() const;
  // The inverse of to_json(): from_json(m.to_json()) equals m. Throws nlohmann::json::exception
  // when a field is missing or has the wrong type.
  static Metrics from_json(const nlohmann::json& json);
};

// The value of a headline metric (metric_names(), or a named metric of `metrics.named`) and its
// 95% interval when it has one. accuracy without label metrics is the pass rate; macro_f1 without
// labels is 0; anything else (a named metric no sample had too) is mean_score. `interval` may be null.
double metric_value(const Metrics& metrics, const std::string& metric, std::optional<Interval>* interval);

// The outcome of one case, as the runner reports it to MetricsAccumulator.
struct CaseOutcome {
  bool pass = false;
  double score = 0.0;                         // [0, 1]
  std::optional<std::string> expected_label;  // set when the case is scored as a label
  std::string predicted_label;                // ignored unless expected_label is set
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost = 0.0;
  std::optional<double> latency_ms;
  bool had_real_call = false;  // false when the response came from the cache
  std::vector<std::pair<std::string, double>> named;  // the case's score of each named metric it has
};

// Takes outcomes one at a time. Memory grows only with the number of latencies and of
// distinct label pairs, never with the outputs.
class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(double z = k_z95) : m_z(z) {}

  void add(const CaseOutcome& outcome);
  // The metrics of every outcome added so far.
  Metrics metrics() const;

 private:
  double m_z;
  Metrics m_totals;  // counters only; derived fields are filled by metrics()
  double m_score_sum = 0.0;
  std::vector<double> m_latencies;
  std::map<std::pair<std::string, std::string>, std::size_t> m_label_pairs;
  std::map<std::string, std::pair<double, std::size_t>> m_named;  // score sum and samples
};

// Wilson's score interval around a mean `p` in [0, 1] of `n` samples (wilson_interval() for 0/1
// scores; for partial scores an interval no narrower, since their variance is at most p(1 - p)).
Interval wilson_interval_of_mean(double p, std::size_t n, double z = k_z95);

}  // namespace promptops::eval
