// SPDX-License-Identifier: MIT
// The quality gate: thresholds from [gate], significance from the paired tests of statistics.hpp.
#include <promptops/workflows/gate.hpp>

#include <algorithm>
#include <map>

#include <promptops/prompt/dataset.hpp>
#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline workflows {

namespace {

// A drop this small is rounding, not a drop (values are ratios of case counts).
constexpr double k_epsilon = 1e-12;

bool is_builtin(const std::string& metric) {
  const std::vector<std::string>& builtin = metric_names();
  return std::find(builtin.begin(), builtin.end(), metric) != builtin.end();
}

// `metric` is built in or one of `named` (the metrics a prompt's assertions name); else the
// gate's file:line error with a did-you-mean.
void require_known(const std::string& metric, const GateSpec& gate, const std::vector<std::string>& named = {}) {
  if (is_builtin(metric) || std::find(named.begin(), named.end(), metric) != named.end()) {
    return;
  }
  std::vector<std::string> known = metric_names();
  known.insert(known.end(), named.begin(), named.end());
  const std::string close = did_you_mean(metric, known);
  throw ConfigError(
      gate.where.format() + ": unknown metric '" + metric + "' in [gate]",
      close.empty() ? "use one of: " + util::join(known, ", ") : "did you mean '" + close + "'?");
}

std::vector<std::string> named_in(const EvalResult& result) {
  std::vector<std::string> names;
  for (const auto& [name, metric] : result.metrics.named) {
    names.push_back(name);
  }
  return names;
}

// Per-case values of a named metric in both runs, paired by id; cases without the metric (or an
// answer) on either side are left out.
}  // namespace

PairedCases paired_named_cases(const EvalResult& baseline, const EvalResult& candidate,
                         const std::vector<std::string>& groups, const std::string& metric) {
  PairedCases out;
  const auto base_scores = baseline.named_scores.find(metric);
  const auto head_scores = candidate.named_scores.find(metric);
  if (base_scores == baseline.named_scores.end() || head_scores == candidate.named_scores.end()) {
    return out;
  }
  std::map<std::string, std::size_t> base_index;
  for (std::size_t i = 0; i < baseline.case_ids.size(); ++i) {
    base_index.emplace(baseline.case_ids[i], i);
  }
  for (std::size_t i = 0; i < candidate.case_ids.size() && i < head_scores->second.size(); ++i) {
    const auto it = base_index.find(candidate.case_ids[i]);
    if (it == base_index.end() || it->second >= base_scores->second.size() || !head_scores->second[i] ||
        !base_scores->second[it->second]) {
      continue;
    }
    out.a.push_back(*base_scores->second[it->second]);
    out.b.push_back(*head_scores->second[i]);
    out.groups.push_back(i < groups.size() ? groups[i] : std::string());
  }
  if (std::all_of(out.groups.begin(), out.groups.end(), [](const std::string& g) { return g.empty(); })) {
    out.groups.clear();
  }
  return out;
}

GateSpec effective_gate(const Prompt& prompt, const Config& config) {
  // Names are checked where they are written, before the merge mixes the two sources.
  const std::vector<std::string> named = named_metrics_of(prompt);
  for (const GateSpec* source : {&config.default_gate, &prompt.gate}) {
    for (const auto* thresholds : {&source->min, &source->max_drop}) {
      for (const auto& [metric, value] : *thresholds) {
        require_known(metric, *source, named);
      }
    }
  }
  GateSpec gate = config.default_gate;
  for (const auto& [metric, value] : prompt.gate.min) {
    gate.min[metric] = value;
  }
  for (const auto& [metric, value] : prompt.gate.max_drop) {
    gate.max_drop[metric] = value;
  }
  if (prompt.gate.confidence_set) {
    gate.confidence = prompt.gate.confidence;
    gate.confidence_set = true;
  }
  if (!prompt.gate.empty() || prompt.gate.confidence_set) {
    gate.where = prompt.gate.where;
  }
  if (gate.empty()) {
    gate.max_drop[prompt.eval.metric.empty() ? "pass_rate" : prompt.eval.metric] = 0.0;
  }
  return gate;
}

GateVerdict judge(const GateSpec& gate, const std::optional<EvalResult>& baseline,
                  const EvalResult& candidate, const std::vector<std::string>& groups) {
  GateVerdict verdict;
  verdict.confidence = gate.confidence;
  std::vector<std::string> metrics;
  for (const auto& [metric, value] : gate.min) {
    metrics.push_back(metric);
  }
  for (const auto& [metric, value] : gate.max_drop) {
    if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) {
      metrics.push_back(metric);
    }
  }
  if (baseline) {
    verdict.flips = flips(baseline->case_ids, baseline->outcomes, candidate.case_ids, candidate.outcomes);
  }
  const std::vector<std::string> named = named_in(candidate);
  for (const std::string& metric : metrics) {
    require_known(metric, gate, named);
    MetricCheck check;
    check.metric = metric;
    check.candidate = metric_value(candidate.metrics, metric, &check.candidate_interval);
    if (const auto it = gate.min.find(metric); it != gate.min.end()) {
      check.min = it->second;
      check.below_min = check.candidate + k_epsilon < it->second;
    }
    if (baseline) {
      check.baseline = metric_value(baseline->metrics, metric, &check.baseline_interval);
    }
    if (const auto it = gate.max_drop.find(metric); it != gate.max_drop.end()) {
      check.max_drop = it->second;
    }
    if (check.baseline && check.max_drop) {
      check.drop_exceeded = *check.baseline - check.candidate > *check.max_drop + k_epsilon;
      const double alpha = 1.0 - gate.confidence;
      double smallest_p = 0.0;
      if (metric == "macro_f1") {
        check.significant = check.drop_exceeded;
      } else if (is_pass_metric(metric) && groups.empty()) {
        const Flips& pairs = *verdict.flips;
        const McNemar test = mcnemar_exact(pairs.pass_to_fail.size(), pairs.fail_to_pass.size());
        check.test = "mcnemar";
        check.p_value = test.p_value;
        check.significant = test.p_value < alpha;
        smallest_p = smallest_p_value(test.b + test.c);
      } else {
        const PairedCases paired = is_builtin(metric)
                                       ? paired_cases(*baseline, candidate, groups, is_pass_metric(metric))
                                       : paired_named_cases(*baseline, candidate, groups, metric);
        const SignFlipResult test = paired_sign_flip(paired.a, paired.b, paired.groups, 10000, 1);
        check.test = "sign_flip";
        check.p_value = test.p_value;
        // Two-sided, as McNemar: significant as a drop only when the cases moved down.
        check.significant = test.p_value < alpha && test.delta < 0;
        smallest_p = test.min_p_value;
      }
      check.too_few_cases = check.drop_exceeded && !check.significant && smallest_p >= alpha;
    }
    check.failed = check.below_min || (check.drop_exceeded && check.significant);
    verdict.passed = verdict.passed && !check.failed;
    verdict.checks.push_back(std::move(check));
  }
  return verdict;
}

PairedCases paired_cases(const EvalResult& baseline, const EvalResult& candidate,
                         const std::vector<std::string>& groups, bool pass_fail) {
  std::map<std::string, std::size_t> base_index;
  for (std::size_t i = 0; i < baseline.case_ids.size(); ++i) {
    base_index.emplace(baseline.case_ids[i], i);
  }
  const auto value = [pass_fail](const EvalResult& result, std::size_t i) {
    if (pass_fail) {
      return result.outcomes[i] == 'p' ? 1.0 : 0.0;
    }
    return i < result.scores.size() ? result.scores[i] : 0.0;
  };
  PairedCases out;
  for (std::size_t i = 0; i < candidate.case_ids.size() && i < candidate.outcomes.size(); ++i) {
    const auto it = base_index.find(candidate.case_ids[i]);
    if (it == base_index.end() || it->second >= baseline.outcomes.size() || candidate.outcomes[i] == 'e' ||
        baseline.outcomes[it->second] == 'e') {
      continue;
    }
    out.a.push_back(value(baseline, it->second));
    out.b.push_back(value(candidate, i));
    out.groups.push_back(i < groups.size() ? groups[i] : std::string());
  }
  if (std::all_of(out.groups.begin(), out.groups.end(), [](const std::string& g) { return g.empty(); })) {
    out.groups.clear();
  }
  return out;
}

std::vector<std::string> case_groups(const Snapshot& snapshot, const EvalResult& result) {
  const std::optional<std::string> text = snapshot.read(result.dataset, FileRole::dataset);
  if (!text) {
    return {};
  }
  std::map<std::string, std::string> by_id;
  bool any = false;
  for (const DatasetCase& c : parse_dataset(*text, result.dataset).cases) {
    by_id[c.id] = c.group;
    any = any || !c.group.empty();
  }
  std::vector<std::string> out;
  if (any) {
    out.reserve(result.case_ids.size());
    for (const std::string& id : result.case_ids) {
      const auto it = by_id.find(id);
      out.push_back(it != by_id.end() ? it->second : std::string());
    }
  }
  return out;
}

}  // namespace promptops::workflows
