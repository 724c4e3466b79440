// SPDX-License-Identifier: MIT
// Model-graded assertions: judge prompts filled from the case, verdicts read from the answers.
#include "model_graded.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include <promptops/prompt/template.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include "text_graders.hpp"

namespace promptops::inline eval {

namespace {

using nlohmann::json;

// What a judge's answer holds, per type.
enum class Answer { category, yes_no, score, ratio, flagged };

struct JudgeInfo {
  AssertionType type;
  std::string_view file;       // in judges/
  Answer answer;
  std::string_view count_key;  // ratio answers: the counted field ("supported")
  std::string_view counted;    // ratio answers: what the reason calls them
  double threshold;            // default least passing score
};

constexpr std::array<JudgeInfo, 8> k_judges{{
    {AssertionType::factuality, "factuality.txt", Answer::category, "", "", 1.0},
    {AssertionType::model_graded_closedqa, "model-graded-closedqa.txt", Answer::yes_no, "", "", 1.0},
    {AssertionType::answer_relevance, "answer-relevance.txt", Answer::score, "", "", 0.7},
    {AssertionType::context_faithfulness, "context-faithfulness.txt", Answer::ratio, "supported",
     "statements supported by the context", 0.7},
    {AssertionType::context_relevance, "context-relevance.txt", Answer::ratio, "relevant",
     "context sentences relevant", 0.7},
    {AssertionType::context_recall, "context-recall.txt", Answer::ratio, "attributed",
     "reference statements found in the context", 0.7},
    {AssertionType::prompt_injection, "prompt-injection.txt", Answer::flagged, "", "", 1.0},
    {AssertionType::jailbreak, "jailbreak.txt", Answer::flagged, "", "", 1.0},
}};

const JudgeInfo* find_judge(AssertionType type) {
  const auto it = std::find_if(k_judges.begin(), k_judges.end(), [&](const JudgeInfo& j) { return j.type == type; });
  return it == k_judges.end() ? nullptr : &*it;
}

bool is_guardrail(AssertionType type) {
  return type == AssertionType::prompt_injection || type == AssertionType::jailbreak;
}

bool is_rag(AssertionType type) {
  return type == AssertionType::context_faithfulness || type == AssertionType::context_relevance ||
         type == AssertionType::context_recall;
}

// A repository path that stays inside the repository: relative, no "..", no empty parts.
bool inside_repository(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos) {
    return false;
  }
  for (const std::string& part : util::split(path, '/')) {
    if (part.empty() || part == ".." || part == ".") {
      return false;
    }
  }
  return true;
}

std::optional<std::string> string_option(const json& spec, const char* key, OptionProblem& problem,
                                         std::string_view type) {
  const auto it = spec.find(key);
  if (it == spec.end()) {
    return std::nullopt;
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    problem = {std::string(type) + " assertion option '" + key + "' must be a non-empty string", ""};
    return std::nullopt;
  }
  return it->get<std::string>();
}

// A variable's text: strings as they are, lists joined by blank lines, anything else as JSON.
std::string text_of(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_array()) {
    std::string text;
    for (const json& item : value) {
      text += (text.empty() ? "" : "\n\n") + text_of(item);
    }
    return text;
  }
  return value.dump();
}

std::string rendered_value(const Assertion& assertion, const EvalContext& context) {
  if (assertion.value.is_null()) {
    return "";
  }
  return assertion.value.is_string() ? render_template(assertion.value.get<std::string>(), context.vars)
                                     : assertion.value.dump();
}

std::string with_reason(std::string head, const json& answer) {
  const auto reason = answer.find("reason");
  if (reason != answer.end() && reason->is_string() && !util::trim(reason->get<std::string>()).empty()) {
    std::string said(util::trim(reason->get<std::string>()));
    head += ": " + said.substr(0, said.find('\n'));
  }
  return head;
}

std::string score_text(double score, double threshold) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3f %s threshold %.3f", score, score >= threshold ? ">=" : "<", threshold);
  return text;
}

}  // namespace

bool is_model_graded(AssertionType type) { return find_judge(type) != nullptr; }

bool wants_input(const Assertion& assertion) {
  if (!is_model_graded(assertion.type)) {
    return false;
  }
  return assertion.on_input || !is_guardrail(assertion.type);
}

std::string_view default_judge_prompt(AssertionType type) {
  const JudgeInfo* judge = find_judge(type);
  for (const EmbeddedFile& file : embedded_judges()) {
    if (judge != nullptr && file.path == judge->file) {
      return file.content;
    }
  }
  return {};
}

json json_object_in(std::string_view text) {
  const std::size_t open = text.find('{');
  const std::size_t close = text.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return json(json::value_t::discarded);
  }
  return json::parse(text.substr(open, close - open + 1), nullptr, false);
}

OptionProblem read_model_graded(const json& spec, Assertion& assertion) {
  const std::string type(assertion_type_name(assertion.type));
  OptionProblem problem;
  if (const auto value = spec.find("value"); value != spec.end() && !value->is_null() && !value->is_string()) {
    return {type + " assertion 'value' must be a string", ""};
  }
  if (assertion.type == AssertionType::model_graded_closedqa && !spec.contains("value")) {
    return {type + " assertion has no 'value'", "write the criterion, e.g. value = \"the answer is polite\""};
  }
  assertion.value = spec.value("value", json());
  if (spec.contains("contextTransform")) {
    return {type + " assertion option 'contextTransform' is not supported: it would run code from a tracked file",
            "put the context in a case variable and name it with context_var = \"NAME\""};
  }
  if (const auto threshold = spec.find("threshold"); threshold != spec.end()) {
    if (!threshold->is_number() || threshold->get<double>() < 0 || threshold->get<double>() > 1) {
      return {type + " assertion option 'threshold' must be a number from 0 to 1", ""};
    }
    assertion.threshold = threshold->get<double>();
  }
  assertion.context_var = string_option(spec, "context_var", problem, type).value_or("context");
  assertion.query_var = string_option(spec, "query_var", problem, type).value_or("query");
  assertion.judge_prompt_path = string_option(spec, "judge_prompt", problem, type).value_or("");
  if (!problem.error.empty()) {
    return problem;
  }
  if (!assertion.judge_prompt_path.empty() && !inside_repository(assertion.judge_prompt_path)) {
    return {type + " assertion judge_prompt '" + assertion.judge_prompt_path + "' is not a path inside the repository",
            "give a relative path without '..', e.g. judge_prompt = \"evals/judges/" + type + ".txt\""};
  }
  if (const auto on = spec.find("on"); on != spec.end()) {
    if (!is_guardrail(assertion.type) || !on->is_string() || (*on != "output" && *on != "input")) {
      return {type + " assertion option 'on' must be \"output\" or \"input\" (guardrails only)", ""};
    }
    assertion.on_input = *on == "input";
  }
  return {};
}

FilledPrompt fill_judge_prompt(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  const std::string type(assertion_type_name(assertion.type));
  const json& vars = context.vars;
  json fill = json::object();
  const std::string value = rendered_value(assertion, context);
  const bool has_query = vars.is_object() && vars.contains(assertion.query_var);
  fill["query"] = has_query ? text_of(vars.at(assertion.query_var)) : std::string(context.input.value_or(""));
  fill["input"] = fill["query"];
  fill["output"] = std::string(output);
  fill["criterion"] = value;
  fill["expected"] = !value.empty() ? value : vars.contains("expected") ? text_of(vars.at("expected")) : "";
  if (is_guardrail(assertion.type)) {
    if (assertion.on_input && !context.input) {
      return {"", located(assertion) + type + " on = \"input\" has no rendered input here"};
    }
    fill["text"] = assertion.on_input ? std::string(*context.input) : std::string(output);
  }
  const bool needs_expected =
      assertion.type == AssertionType::factuality || assertion.type == AssertionType::context_recall;
  if (needs_expected && fill["expected"].get<std::string>().empty()) {
    return {"", located(assertion) + type + " needs the case's expected answer or a 'value'"};
  }
  if (is_rag(assertion.type)) {
    if (!vars.is_object() || !vars.contains(assertion.context_var)) {
      return {"", located(assertion) + type + " reads the context from variable '" + assertion.context_var +
                      "', which the case does not define"};
    }
    fill["context"] = text_of(vars.at(assertion.context_var));
  }
  if (!assertion.judge_prompt_path.empty() && !assertion.judge_prompt) {
    return {"", located(assertion) + type + " judge_prompt '" + assertion.judge_prompt_path + "' was not read"};
  }
  const std::string_view prompt =
      assertion.judge_prompt ? std::string_view(*assertion.judge_prompt) : default_judge_prompt(assertion.type);
  return {render_template(prompt, fill), ""};
}

namespace {

// promptfoo's meaning: A, B, C and E pass, D (a disagreement) fails.
AssertionResult category_verdict(const json& answer) {
  static constexpr std::array<std::string_view, 5> k_meaning{
      "a consistent subset of the reference", "a consistent superset of the reference",
      "the same details as the reference", "disagrees with the reference",
      "differs from the reference in ways that do not matter"};
  const auto category = answer.find("category");
  std::string letter = category != answer.end() && category->is_string() ? category->get<std::string>() : "";
  letter = std::string(util::trim(letter));
  if (letter.size() >= 3 && letter.front() == '(') {
    letter = letter.substr(1, 1);
  }
  if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'E') {
    return AssertionResult{false, 0.0, "the judge gave no category A-E"};
  }
  const bool pass = letter != "D";
  return AssertionResult{pass, pass ? 1.0 : 0.0,
                         with_reason("(" + letter + ") " + std::string(k_meaning[static_cast<std::size_t>(letter[0] - 'A')]), answer)};
}

AssertionResult yes_no_verdict(const json& answer) {
  const auto it = answer.find("answer");
  const std::string said = it != answer.end() && it->is_string() ? std::string(util::trim(it->get<std::string>())) : "";
  if (said != "Y" && said != "N") {
    return AssertionResult{false, 0.0, "the judge answered neither Y nor N"};
  }
  const bool pass = said == "Y";
  return AssertionResult{pass, pass ? 1.0 : 0.0, with_reason(pass ? "meets the criterion" : "does not meet the criterion", answer)};
}

AssertionResult score_verdict(const json& answer, double threshold) {
  const auto it = answer.find("score");
  if (it == answer.end() || !it->is_number() || std::isnan(it->get<double>())) {
    return AssertionResult{false, 0.0, "the judge gave no score"};
  }
  const double score = std::clamp(it->get<double>(), 0.0, 1.0);
  return AssertionResult{score >= threshold, score, with_reason("relevance " + score_text(score, threshold), answer)};
}

AssertionResult ratio_verdict(const JudgeInfo& judge, const json& answer, double threshold) {
  const auto part = answer.find(std::string(judge.count_key));
  const auto total = answer.find("total");
  if (part == answer.end() || total == answer.end() || !part->is_number_unsigned() || !total->is_number_unsigned() ||
      total->get<std::uint64_t>() == 0 || part->get<std::uint64_t>() > total->get<std::uint64_t>()) {
    return AssertionResult{false, 0.0,
                           "the judge gave no count of " + std::string(judge.count_key) + " out of a total above 0"};
  }
  const std::uint64_t n = part->get<std::uint64_t>();
  const std::uint64_t of = total->get<std::uint64_t>();
  const double score = static_cast<double>(n) / static_cast<double>(of);
  return AssertionResult{score >= threshold, score,
                         with_reason(std::to_string(n) + " of " + std::to_string(of) + " " + std::string(judge.counted) +
                                         ", " + score_text(score, threshold),
                                     answer)};
}

AssertionResult flagged_verdict(const Assertion& assertion, const json& answer) {
  const auto it = answer.find("flagged");
  if (it == answer.end() || !it->is_boolean()) {
    return AssertionResult{false, 0.0, "the judge said neither flagged true nor false"};
  }
  const std::string where = assertion.on_input ? "input" : "output";
  const std::string what = assertion.type == AssertionType::jailbreak ? "a jailbreak attempt" : "a prompt injection";
  const bool flagged = it->get<bool>();
  return AssertionResult{!flagged, flagged ? 0.0 : 1.0,
                         with_reason(where + (flagged ? " is " : " is not ") + what, answer)};
}

}  // namespace

AssertionResult judge_verdict(const Assertion& assertion, std::string_view answer) {
  const JudgeInfo* judge = find_judge(assertion.type);
  const json verdict = json_object_in(answer);
  if (judge == nullptr || verdict.is_discarded() || !verdict.is_object()) {
    const std::string_view line = util::trim(answer);
    return AssertionResult{false, 0.0,
                           "the judge's answer is not a JSON verdict: " + std::string(line.substr(0, line.find('\n')))};
  }
  const double threshold = assertion.threshold.value_or(judge->threshold);
  switch (judge->answer) {
    case Answer::category:
      return category_verdict(verdict);
    case Answer::yes_no:
      return yes_no_verdict(verdict);
    case Answer::score:
      return score_verdict(verdict, threshold);
    case Answer::ratio:
      return ratio_verdict(*judge, verdict, threshold);
    case Answer::flagged:
      return flagged_verdict(assertion, verdict);
  }
  return AssertionResult{false, 0.0, "unknown judge"};
}

AssertionResult evaluate_model_graded(const Assertion& assertion, std::string_view output,
                                      const EvalContext& context) {
  const FilledPrompt prompt = fill_judge_prompt(assertion, output, context);
  if (!prompt.error.empty()) {
    return AssertionResult{false, 0.0, prompt.error, true};
  }
  std::string failure;
  const std::optional<std::string> answer =
      context.services == nullptr ? std::nullopt : context.services->judge(assertion, prompt.text, failure);
  if (!answer) {
    return AssertionResult{false, 0.0,
                           failure.empty() ? std::string(assertion_type_name(assertion.type)) + " needs a judge provider"
                                           : failure};
  }
  return judge_verdict(assertion, *answer);
}

}  // namespace promptops::eval
