// SPDX-License-Identifier: MIT
// Wilson intervals, percentiles, label metrics and the streaming accumulator behind an eval summary.
#include <promptops/eval/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace promptops::inline eval {

namespace {

using nlohmann::json;

double ratio(std::size_t numerator, std::size_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}


json label_json(const LabelMetrics& labels) {
  json per_label = json::array();
  for (const LabelStats& stats : labels.per_label) {
    per_label.push_back({{"label", stats.label},
                         {"support", stats.support},
                         {"predicted", stats.predicted},
                         {"precision", stats.precision},
                         {"recall", stats.recall},
                         {"f1", stats.f1}});
  }
  return {{"total", labels.total},
          {"correct", labels.correct},
          {"accuracy", labels.accuracy},
          {"accuracy_ci", interval_json(labels.accuracy_ci)},
          {"macro_f1", labels.macro_f1},
          {"per_label", per_label},
          {"confusion", {{"labels", labels.confusion.labels}, {"counts", labels.confusion.counts}}}};
}

}  // namespace

json interval_json(const Interval& interval) { return json::array({interval.low, interval.high}); }

json interval_json(const std::optional<Interval>& interval) {
  return interval ? interval_json(*interval) : json(nullptr);
}

Interval wilson_interval(std::size_t k, std::size_t n, double z) {
  if (n == 0) {
    return Interval{0.0, 1.0};
  }
  return wilson_interval_of_mean(static_cast<double>(k) / static_cast<double>(n), n, z);
}

Interval wilson_interval_of_mean(double p, std::size_t n, double z) {
  if (n == 0) {
    return Interval{0.0, 1.0};
  }
  const double trials = static_cast<double>(n);
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / trials;
  const double center = (p + z2 / (2.0 * trials)) / denominator;
  const double margin = z * std::sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)) / denominator;
  return Interval{std::clamp(center - margin, 0.0, 1.0), std::clamp(center + margin, 0.0, 1.0)};
}

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(std::floor(rank));
  const auto high = static_cast<std::size_t>(std::ceil(rank));
  return values[low] + (values[high] - values[low]) * (rank - static_cast<double>(low));
}

double mean(const std::vector<double>& values) {
  if (values.empty()) {
    return 0.0;
  }
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

LabelMetrics label_metrics(const ConfusionMatrix& confusion, double z) {
  LabelMetrics metrics;
  metrics.confusion = confusion;
  const std::size_t size = confusion.labels.size();
  std::vector<std::size_t> predicted(size, 0);
  for (std::size_t expected = 0; expected < size; ++expected) {
    for (std::size_t guess = 0; guess < size; ++guess) {
      const std::size_t count = confusion.counts[expected][guess];
      metrics.total += count;
      predicted[guess] += count;
      if (expected == guess) {
        metrics.correct += count;
      }
    }
  }
  double f1_sum = 0.0;
  for (std::size_t i = 0; i < size; ++i) {
    LabelStats stats;
    stats.label = confusion.labels[i];
    const std::vector<std::size_t>& row = confusion.counts[i];
    stats.support = std::accumulate(row.begin(), row.end(), std::size_t{0});
    stats.predicted = predicted[i];
    stats.true_positives = row[i];
    stats.precision = ratio(stats.true_positives, stats.predicted);
    stats.recall = ratio(stats.true_positives, stats.support);
    // 2TP / (2TP + FP + FN), which is 2PR / (P + R) and 0 when both are 0.
    stats.f1 = ratio(2 * stats.true_positives, stats.support + stats.predicted);
    f1_sum += stats.f1;
    metrics.per_label.push_back(std::move(stats));
  }
  metrics.accuracy = ratio(metrics.correct, metrics.total);
  metrics.accuracy_ci = wilson_interval(metrics.correct, metrics.total, z);
  metrics.macro_f1 = size == 0 ? 0.0 : f1_sum / static_cast<double>(size);
  return metrics;
}

LabelMetrics label_metrics(const std::vector<std::pair<std::string, std::string>>& pairs, double z) {
  std::set<std::string> labels;
  for (const auto& [expected, predicted] : pairs) {
    labels.insert(expected);
    labels.insert(predicted);
  }
  ConfusionMatrix confusion;
  confusion.labels.assign(labels.begin(), labels.end());
  confusion.counts.assign(labels.size(), std::vector<std::size_t>(labels.size(), 0));
  const auto index = [&](const std::string& label) {
    return static_cast<std::size_t>(
        std::lower_bound(confusion.labels.begin(), confusion.labels.end(), label) - confusion.labels.begin());
  };
  for (const auto& [expected, predicted] : pairs) {
    ++confusion.counts[index(expected)][index(predicted)];
  }
  return label_metrics(confusion, z);
}

json Metrics::to_json() const {
  json latency_json = nullptr;
  if (latency) {
    latency_json = {{"count", latency->count}, {"mean", latency->mean_ms}, {"p50", latency->p50_ms},
                    {"p95", latency->p95_ms},  {"p99", latency->p99_ms},   {"max", latency->max_ms}};
  }
  json out = {{"cases", cases},
          {"passed", passed},
          {"failed", failed},
          {"pass_rate", pass_rate},
          {"pass_rate_ci", interval_json(pass_rate_ci)},
          {"mean_score", mean_score},
          {"labels", labels ? label_json(*labels) : json(nullptr)},
          {"tokens_in", tokens_in},
          {"tokens_out", tokens_out},
          {"cost", cost},
          {"cost_spent", cost_spent},
          {"real_calls", real_calls},
          {"cached", cached},
          {"latency_ms", latency_json}};
  if (!named.empty()) {  // only then: notes of suites without named metrics stay as they were
    json by_name = json::object();
    for (const auto& [name, metric] : named) {
      by_name[name] = {{"cases", metric.cases}, {"mean", metric.mean}, {"ci", interval_json(metric.ci)}};
    }
    out["named"] = std::move(by_name);
  }
  return out;
}

Metrics Metrics::from_json(const json& in) {
  const auto interval = [](const json& pair) {
    return Interval{pair.at(0).get<double>(), pair.at(1).get<double>()};
  };
  Metrics out;
  out.cases = in.at("cases").get<std::size_t>();
  out.passed = in.at("passed").get<std::size_t>();
  out.failed = in.at("failed").get<std::size_t>();
  out.pass_rate = in.at("pass_rate").get<double>();
  out.pass_rate_ci = interval(in.at("pass_rate_ci"));
  out.mean_score = in.at("mean_score").get<double>();
  if (const json& labels = in.at("labels"); !labels.is_null()) {
    LabelMetrics l;
    l.total = labels.at("total").get<std::size_t>();
    l.correct = labels.at("correct").get<std::size_t>();
    l.accuracy = labels.at("accuracy").get<double>();
    l.accuracy_ci = interval(labels.at("accuracy_ci"));
    l.macro_f1 = labels.at("macro_f1").get<double>();
    for (const json& stats : labels.at("per_label")) {
      LabelStats s;
      s.label = stats.at("label").get<std::string>();
      s.support = stats.at("support").get<std::size_t>();
      s.predicted = stats.at("predicted").get<std::size_t>();
      s.precision = stats.at("precision").get<double>();
      s.recall = stats.at("recall").get<double>();
      s.f1 = stats.at("f1").get<double>();
      l.per_label.push_back(std::move(s));
    }
    l.confusion.labels = labels.at("confusion").at("labels").get<std::vector<std::string>>();
    l.confusion.counts = labels.at("confusion").at("counts").get<std::vector<std::vector<std::size_t>>>();
    // per_label follows confusion.labels, so the diagonal holds the true positives.
    for (std::size_t i = 0; i < l.per_label.size() && i < l.confusion.counts.size(); ++i) {
      if (i < l.confusion.counts[i].size()) {
        l.per_label[i].true_positives = l.confusion.counts[i][i];
      }
    }
    out.labels = std::move(l);
  }
  out.tokens_in = in.at("tokens_in").get<std::int64_t>();
  out.tokens_out = in.at("tokens_out").get<std::int64_t>();
  out.cost = in.at("cost").get<double>();
  out.cost_spent = in.at("cost_spent").get<double>();
  out.real_calls = in.at("real_calls").get<std::size_t>();
  out.cached = in.at("cached").get<std::size_t>();
  if (const json& latency = in.at("latency_ms"); !latency.is_null()) {
    LatencySummary l;
    l.count = latency.at("count").get<std::size_t>();
    l.mean_ms = latency.at("mean").get<double>();
    l.p50_ms = latency.at("p50").get<double>();
    l.p95_ms = latency.at("p95").get<double>();
    l.p99_ms = latency.at("p99").get<double>();
    l.max_ms = latency.at("max").get<double>();
    out.latency = l;
  }
  if (const auto named = in.find("named"); named != in.end()) {
    for (const auto& [name, metric] : named->items()) {
      out.named[name] = NamedMetric{metric.at("cases").get<std::size_t>(), metric.at("mean").get<double>(),
                                    interval(metric.at("ci"))};
    }
  }
  return out;
}

void MetricsAccumulator::add(const CaseOutcome& outcome) {
  ++m_totals.cases;
  if (outcome.pass) {
    ++m_totals.passed;
  } else {
    ++m_totals.failed;
  }
  m_score_sum += outcome.score;
  m_totals.tokens_in += outcome.tokens_in;
  m_totals.tokens_out += outcome.tokens_out;
  m_totals.cost += outcome.cost;
  if (outcome.had_real_call) {
    ++m_totals.real_calls;
    m_totals.cost_spent += outcome.cost;
  } else {
    ++m_totals.cached;
  }
  if (outcome.latency_ms) {
    m_latencies.push_back(*outcome.latency_ms);
  }
  if (outcome.expected_label) {
    ++m_label_pairs[{*outcome.expected_label, outcome.predicted_label}];
  }
  for (const auto& [name, score] : outcome.named) {
    auto& [sum, count] = m_named[name];
    sum += score;
    ++count;
  }
}

Metrics MetricsAccumulator::metrics() const {
  Metrics metrics = m_totals;
  metrics.pass_rate = ratio(metrics.passed, metrics.cases);
  metrics.pass_rate_ci = wilson_interval(metrics.passed, metrics.cases, m_z);
  metrics.mean_score = metrics.cases == 0 ? 0.0 : m_score_sum / static_cast<double>(metrics.cases);
  if (!m_latencies.empty()) {
    std::vector<double> sorted = m_latencies;
    std::sort(sorted.begin(), sorted.end());
    LatencySummary latency;
    latency.count = sorted.size();
    latency.mean_ms = mean(sorted);
    latency.p50_ms = *percentile(sorted, 50);
    latency.p95_ms = *percentile(sorted, 95);
    latency.p99_ms = *percentile(sorted, 99);
    latency.max_ms = sorted.back();
    metrics.latency = latency;
  }
  for (const auto& [name, total] : m_named) {
    const double average = total.first / static_cast<double>(total.second);
    metrics.named[name] = NamedMetric{total.second, average, wilson_interval_of_mean(average, total.second, m_z)};
  }
  if (!m_label_pairs.empty()) {
    std::set<std::string> labels;
    for (const auto& [pair, count] : m_label_pairs) {
      labels.insert(pair.first);
      labels.insert(pair.second);
    }
    ConfusionMatrix confusion;
    confusion.labels.assign(labels.begin(), labels.end());
    confusion.counts.assign(labels.size(), std::vector<std::size_t>(labels.size(), 0));
    const auto index = [&](const std::string& label) {
      return static_cast<std::size_t>(
          std::lower_bound(confusion.labels.begin(), confusion.labels.end(), label) -
          confusion.labels.begin());
    };
    for (const auto& [pair, count] : m_label_pairs) {
      confusion.counts[index(pair.first)][index(pair.second)] += count;
    }
    metrics.labels = label_metrics(confusion, m_z);
  }
  return metrics;
}

double metric_value(const Metrics& metrics, const std::string& metric, std::optional<Interval>* interval) {
  std::optional<Interval> unused;
  if (interval == nullptr) {
    interval = &unused;
  }
  if (metric == "accuracy" && metrics.labels) {
    *interval = metrics.labels->accuracy_ci;
    return metrics.labels->accuracy;
  }
  if (metric == "accuracy" || metric == "pass_rate") {
    *interval = metrics.pass_rate_ci;
    return metrics.pass_rate;
  }
  if (metric == "macro_f1") {
    return metrics.labels ? metrics.labels->macro_f1 : 0.0;
  }
  if (const auto named = metrics.named.find(metric); named != metrics.named.end()) {
    *interval = named->second.ci;
    return named->second.mean;
  }
  return metrics.mean_score;
}

}  // namespace promptops::eval
