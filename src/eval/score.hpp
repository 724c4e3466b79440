// SPDX-License-Identifier: MIT
// Scoring: one answer judged by the suite's and the case's assertions, its label for the label
// metrics, its per-case record; and an evaluation's result from its cases' tallies.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/eval/metrics.hpp>

#include "job.hpp"
#include "suite.hpp"
#include "unicode.hpp"

namespace promptops::inline eval {

// What the assertions said about one answer.
struct Verdict {
  bool pass = true;
  WeightedScore total;    // the weighted mean of the assertions' scores
  nlohmann::json reasons = nlohmann::json::array();  // of the failed ones
  TextForm label_form;    // labels compare as the equals assertions do
  std::string error;      // the first assertion that could not judge the output; empty = none
  // The case's score of each named metric its assertions feed (the mean when several do), in
  // order of first use.
  std::vector<std::pair<std::string, double>> named;

  double score() const { return total.score(); }
};

// Applies the suite's assertions, then the case's own, to `output`; `equals {{expected}}` when
// there are none and the case expects something. The case passes when every assertion passes,
// or, when the case (or the suite) has a threshold, when the weighted mean reaches it. May throw
// what evaluate() throws.
Verdict apply_assertions(const Suite& suite, std::size_t case_index, std::string_view output,
                         const EvalContext& context, const std::optional<double>& case_threshold = std::nullopt);

// Whether an assertion of the suite or of the case judges the rendered input (on = "input").
bool needs_input(const Suite& suite, std::size_t case_index);

// The rendered prompt as a guardrail with on = "input" reads it: the messages' contents joined by
// blank lines.
std::string input_text(const std::vector<Message>& messages);

// Sets the expected and predicted labels of `outcome` when the suite is a classification: the
// trimmed output, the expected label when it compares equal in `form`, else "(other)" when it is
// none of the suite's labels.
void set_labels(CaseOutcome& outcome, const Suite& suite, const DatasetCase& c, std::string_view output,
                TextForm form);

// The fields every record of one sample has: index, id, line, repeat, vars, expected, and the
// description, metadata and other keys when the case has them.
nlohmann::json case_record(const DatasetCase& c, std::size_t index, int repeat);

// The result of a job whose every sample is in, from its metrics and tallies.
EvalResult summarize(const Job& job, int repeat);

std::string model_label(const ModelSpec& model);

}  // namespace promptops::eval
