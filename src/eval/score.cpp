// SPDX-License-Identifier: MIT
// Scoring one answer, and an evaluation's result from the tallies of its cases.
#include "score.hpp"

#include "assertion_sets.hpp"
#include "model_graded.hpp"

#include <algorithm>
#include <chrono>

#include <promptops/util/strings.hpp>

#include "case_table.hpp"

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

// `equals` against the case's expected value (a {{expected}} template), when it has no assertion.
const Assertion& implicit_equals() {
  static const Assertion assertion = [] {
    std::vector<Diagnostic> ignored;
    return *parse_assertion(json{{"type", "equals"}, {"value", "{{expected}}"}, {"trim", true}}, Location{},
                            ignored);
  }();
  return assertion;
}

// Adds `score` to the case's score of `metric` (a running mean over the assertions that feed it).
void add_named(Verdict& verdict, std::vector<std::size_t>& counts, const std::string& metric, double score) {
  for (std::size_t i = 0; i < verdict.named.size(); ++i) {
    if (verdict.named[i].first == metric) {
      ++counts[i];
      verdict.named[i].second += (score - verdict.named[i].second) / static_cast<double>(counts[i]);
      return;
    }
  }
  verdict.named.emplace_back(metric, score);
  counts.push_back(1);
}

// The named metrics of `assertion` and, for a set, of its members (`members`: their results).
void add_metrics(const Assertion& assertion, const AssertionResult& result,
                 const std::vector<AssertionResult>& members, Verdict& verdict, std::vector<std::size_t>& counts) {
  if (!assertion.metric.empty()) {
    add_named(verdict, counts, assertion.metric, result.score);
  }
  for (std::size_t i = 0; i < members.size() && i < assertion.members.size(); ++i) {
    if (!assertion.members[i].metric.empty()) {
      add_named(verdict, counts, assertion.members[i].metric, members[i].score);
    }
  }
}

void apply(const Assertion& assertion, std::string_view output, const EvalContext& context, Verdict& verdict,
           std::vector<std::size_t>& metric_counts) {
  std::vector<AssertionResult> members;
  const AssertionResult result =
      assertion.is_set ? evaluate_set(assertion, output, context, &members) : evaluate(assertion, output, context);
  verdict.total.add(result, assertion.weight);
  if (!result.pass) {
    // An assertion of weight 0 is reported, never failing (promptfoo's rule).
    verdict.reasons.push_back(assertion.weight > 0.0 ? result.reason : "not scored (weight 0): " + result.reason);
  }
  if (result.error && verdict.error.empty()) {
    verdict.error = result.reason;
  }
  add_metrics(assertion, result, members, verdict, metric_counts);
  for_each_leaf(assertion, [&](const Assertion& leaf) {
    if (leaf.type == AssertionType::equals && !leaf.negate) {  // labels follow equals, not not-equals
      verdict.label_form.fold_case = verdict.label_form.fold_case || leaf.ignore_case;
      verdict.label_form.nfc = verdict.label_form.nfc || leaf.normalize;
    }
  });
}

}  // namespace

std::string model_label(const ModelSpec& model) { return model.provider + "/" + model.name; }

Verdict apply_assertions(const Suite& suite, std::size_t case_index, std::string_view output,
                         const EvalContext& context, const std::optional<double>& case_threshold) {
  Verdict verdict;
  std::vector<std::size_t> metric_counts;
  for (const Assertion& assertion : suite.asserts) {
    apply(assertion, output, context, verdict, metric_counts);
  }
  for (const Assertion& assertion : suite.case_asserts[case_index]) {
    apply(assertion, output, context, verdict, metric_counts);
  }
  if (verdict.total.count() == 0 && suite.cases.has_expected(case_index)) {
    apply(implicit_equals(), output, context, verdict, metric_counts);
  }
  const std::optional<double> threshold = case_threshold ? case_threshold : suite.threshold;
  verdict.pass = verdict.total.pass(threshold);
  if (threshold) {
    verdict.reasons.push_back(verdict.total.threshold_reason(threshold));
  }
  return verdict;
}

bool needs_input(const Suite& suite, std::size_t case_index) {
  const auto on_input = [](const Assertion& assertion) { return assertion.on_input || wants_input(assertion); };
  return std::any_of(suite.asserts.begin(), suite.asserts.end(), on_input) ||
         std::any_of(suite.case_asserts[case_index].begin(), suite.case_asserts[case_index].end(), on_input);
}

std::string input_text(const std::vector<Message>& messages) {
  std::string text;
  for (const Message& message : messages) {
    text += (text.empty() ? "" : "\n\n") + message.content;
  }
  return text;
}

void set_labels(CaseOutcome& outcome, const Suite& suite, const DatasetCase& c, std::string_view output,
                TextForm form) {
  if (suite.labels.empty()) {
    return;
  }
  const std::string& expected = c.expected.get_ref<const std::string&>();
  outcome.expected_label = expected;
  outcome.predicted_label = std::string(util::trim(output));
  if (!form.leaves_text() && comparable_text(outcome.predicted_label, form) == comparable_text(expected, form)) {
    outcome.predicted_label = expected;
  }
  if (suite.labels.count(outcome.predicted_label) == 0) {
    outcome.predicted_label = k_other_label;  // free text never grows the confusion matrix
  }
}

json case_record(const DatasetCase& c, std::size_t index, int repeat) {
  json record = {{"index", index}, {"id", c.id},     {"line", c.line},
                 {"repeat", repeat}, {"vars", c.vars}, {"expected", c.expected}};
  add_optional_fields(record, c);
  return record;
}

EvalResult summarize(const Job& job, int repeat) {
  EvalResult result;
  result.key = job.key;
  result.prompt = job.prompt.name;
  result.model = model_label(job.model);
  result.dataset = job.suite->dataset;
  result.dataset_sha = job.suite->dataset_sha;
  result.metric = job.suite->metric;
  result.metrics = job.metrics.metrics();
  result.value = metric_value(result.metrics, result.metric, &result.interval);
  result.repeat = repeat;
  result.errors = job.errors;
  result.evaluated_at =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  result.outcomes.reserve(job.tallies.size());
  result.case_ids.reserve(job.tallies.size());
  result.scores.reserve(job.tallies.size());
  for (std::size_t i = 0; i < job.tallies.size(); ++i) {
    const CaseTally& tally = job.tallies[i];
    const std::string id(job.suite->cases.id(job.case_index(i)));
    char outcome = 'p';
    if (tally.errors > 0) {
      outcome = 'e';
    } else if (tally.passes > 0 && tally.fails > 0) {
      outcome = 'x';
      result.flaky.push_back(id);
    } else if (tally.fails > 0) {
      outcome = 'f';
    }
    result.outcomes.push_back(outcome);
    result.case_ids.push_back(id);
    result.scores.push_back(tally.done == 0 ? 0.0 : tally.score_sum / static_cast<double>(tally.done));
  }
  for (const auto& [name, per_case] : job.named_tallies) {
    std::vector<std::optional<double>>& scores = result.named_scores[name];
    scores.resize(job.tallies.size());
    for (std::size_t i = 0; i < per_case.size() && i < scores.size(); ++i) {
      if (per_case[i].second > 0 && job.tallies[i].errors == 0) {
        scores[i] = per_case[i].first / static_cast<double>(per_case[i].second);
      }
    }
  }
  return result;
}

}  // namespace promptops::eval
