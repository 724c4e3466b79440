// SPDX-License-Identifier: MIT
// Model-graded assertions (factuality, model-graded-closedqa, answer-relevance, the RAG context-*
// family) and the model-graded guardrails (prompt-injection, jailbreak): each fills a judge prompt
// (shipped in judges/, or the repository's own), asks the judge through AssertionServices::judge()
// and reads its JSON answer into a verdict.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>

namespace promptops::inline eval {

// A file of judges/, built into the binary (cmake/EmbedTemplates.cmake).
struct EmbeddedFile {
  std::string_view path;  // relative to judges/: "factuality.txt"
  std::string_view content;
};

// The files of judges/, sorted by path.
const std::vector<EmbeddedFile>& embedded_judges();

// The system message every model-graded judge call carries.
inline constexpr std::string_view k_model_graded_system =
    "You are a careful, impartial grader. Follow the instructions exactly and reply with the JSON "
    "object they ask for.";

// The options a model-graded assertion reads (besides type, description and name).
inline constexpr std::string_view k_model_graded_options_data[] = {
    "value", "threshold", "context_var", "query_var", "judge_prompt", "on", "provider", "model", "contextTransform"};
inline constexpr std::span<const std::string_view> k_model_graded_options{k_model_graded_options_data};

bool is_model_graded(AssertionType type);
// Whether the type reads the rendered input (the question) when no query variable is set.
bool wants_input(const Assertion& assertion);

// The shipped judge prompt of a model-graded type.
std::string_view default_judge_prompt(AssertionType type);

// A problem with a model-graded assertion's options, found at parse time; empty error = none.
struct OptionProblem {
  std::string error;
  std::string hint;
};

// Reads value, threshold, context_var, query_var, judge_prompt and on into `assertion`.
OptionProblem read_model_graded(const nlohmann::json& spec, Assertion& assertion);

// The judge prompt filled for `output`, or an error (a missing context or expected answer).
struct FilledPrompt {
  std::string text;
  std::string error;
};
FilledPrompt fill_judge_prompt(const Assertion& assertion, std::string_view output, const EvalContext& context);

// The verdict in a judge's answer to the assertion's prompt.
AssertionResult judge_verdict(const Assertion& assertion, std::string_view answer);

// The first {...} of a judge's answer, parsed; discarded when there is none.
nlohmann::json json_object_in(std::string_view text);

// Fills the prompt, asks context.services, reads the verdict.
AssertionResult evaluate_model_graded(const Assertion& assertion, std::string_view output,
                                      const EvalContext& context);

}  // namespace promptops::eval
