// SPDX-License-Identifier: MIT
// Scoring one answer, and an evaluation's result from the tallies of its cases.
#include "score.hpp"

#include "model_graded.hpp"

#include <algorithm>
#include <chrono>

#include <promptops/util/strings.hpp>

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

void apply(const Assertion& assertion, std::string_view output, const EvalContext& context, Verdict& verdict) {
  const AssertionResult result = evaluate(assertion, output, context);
  verdict.pass = verdict.pass && result.pass;
  verdict.score_sum += result.score;
  ++verdict.count;
  if (!result.pass) {
    verdict.reasons.push_back(result.reason);
  }
  if (result.error && verdict.error.empty()) {
    verdict.error = result.reason;
  }
  if (assertion.type == AssertionType::equals) {
    verdict.label_form.fold_case = verdict.label_form.fold_case || assertion.ignore_case;
    verdict.label_form.nfc = verdict.label_form.nfc || assertion.normalize;
  }
}

}  // namespace

std::string model_label(const ModelSpec& model) { return model.provider + "/" + model.name; }

Verdict apply_assertions(const Suite& suite, std::size_t case_index, std::string_view output,
                         const EvalContext& context) {
  Verdict verdict;
  for (const Assertion& assertion : suite.asserts) {
    apply(assertion, output, context, verdict);
  }
  for (const Assertion& assertion : suite.case_asserts[case_index]) {
    apply(assertion, output, context, verdict);
  }
  if (verdict.count == 0 && suite.cases.has_expected(case_index)) {
    apply(implicit_equals(), output, context, verdict);
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
  if ((form.fold_case || form.nfc) && comparable_text(outcome.predicted_label, form) == comparable_text(expected, form)) {
    outcome.predicted_label = expected;
  }
  if (suite.labels.count(outcome.predicted_label) == 0) {
    outcome.predicted_label = k_other_label;  // free text never grows the confusion matrix
  }
}

json case_record(const DatasetCase& c, std::size_t index, int repeat) {
  json record = {{"index", index}, {"id", c.id},     {"line", c.line},
                 {"repeat", repeat}, {"vars", c.vars}, {"expected", c.expected}};
  if (!c.description.empty()) {
    record["description"] = c.description;
  }
  if (!c.metadata.is_null()) {
    record["metadata"] = c.metadata;
  }
  if (!c.other_keys.is_null()) {
    record["other_keys"] = c.other_keys;
  }
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
  return result;
}

}  // namespace promptops::eval
