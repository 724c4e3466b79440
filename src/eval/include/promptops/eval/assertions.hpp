// SPDX-License-Identifier: MIT
// Assertions that score one model output: parsed from JSON with diagnostics, evaluated to a verdict.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/diagnostic.hpp>

namespace promptops::inline eval {

// The verdict of one assertion on one output.
struct AssertionResult {
  bool pass = false;
  double score = 0.0;  // in [0, 1]; deterministic assertions give 1 or 0
  std::string reason;  // one short line: `expected "A", got "B"`, `output does not contain "x"`
  // The assertion could not judge the output (a regex limit reached, a pattern or value that is
  // bad only after rendering, an undefined variable): the case is an error, not a failure.
  bool error = false;
};

enum class AssertionType {
  equals,
  contains,
  icontains,
  not_contains,
  starts_with,
  regex,
  is_json,
  json_field,
  length,
  cost,
  latency,
  llm_rubric,  // evaluated through AssertionServices
  similar,     // evaluated through AssertionServices
  exec,        // evaluated through AssertionServices
  contains_json,
  pii,
  // Text graders (src/eval/text_graders.cpp).
  contains_any,
  contains_all,
  icontains_any,
  icontains_all,
  ends_with,
  word_count,
  levenshtein,
  rouge_n,
  bleu,
  f_score,
  // Model-graded (src/eval/model_graded.cpp): a judge prompt from judges/, asked through
  // AssertionServices::judge().
  factuality,
  model_graded_closedqa,
  answer_relevance,
  context_faithfulness,
  context_relevance,
  context_recall,
  prompt_injection,
  jailbreak,
  moderation,  // a moderations endpoint, through AssertionServices
};

// The spelling used in files: "not-contains" for AssertionType::not_contains.
std::string_view assertion_type_name(AssertionType type);

// Every spelling accepted in "type": the types in declaration order, then the negated spellings
// ("not-equals") of those that can be negated (for "did you mean").
const std::vector<std::string>& assertion_type_names();

class Regex;       // src/eval/regex.hpp: PCRE2 in UTF mode with limits
class JsonSchema;  // src/eval/json_schema.hpp: a checked JSON Schema

// One parsed assertion. Only the fields that its type uses are set.
struct Assertion {
  AssertionType type = AssertionType::equals;
  nlohmann::json spec;                    // the object as written, kept whole for cache keys and for services
  nlohmann::json value;                   // "value" as written (null when absent); strings may hold {{vars}}
  bool trim = false;                      // equals: compare with surrounding whitespace removed
  bool ignore_case = false;               // equals, regex: Unicode case folding (icontains always)
  bool normalize = false;                 // equals, contains, icontains, not-contains, starts-with, regex: NFC
  std::string path;                       // json-field: a JSON pointer such as "/answer"
  std::optional<std::string> matches;     // json-field: a regex the field must match; may hold {{vars}}
  bool negate = false;                    // written "not-<type>": pass and score flipped
  std::vector<std::string> items;         // contains-any/-all, icontains-any/-all; bleu: references;
                                          // moderation: the categories checked (empty: all)
  std::optional<double> threshold;        // levenshtein: max distance; rouge-n, bleu, f-score,
                                          // assert-set, model-graded scores: min score
  std::size_t ngram = 1;                  // rouge-n: n
  std::optional<std::size_t> min_length;  // length: in UTF-8 code points; word-count: in words
  std::optional<std::size_t> max_length;
  std::optional<double> max;     // cost: the most a call may cost
  std::optional<double> max_ms;  // latency: the slowest a call may be, in milliseconds
  // regex and json-field "matches" without {{vars}}, compiled once at parse time; shared by copies.
  std::shared_ptr<const Regex> compiled;
  std::shared_ptr<const JsonSchema> schema;  // is-json, contains-json: the "value" schema, or null
  unsigned pii_kinds = 0;                    // pii: the kinds checked, one bit per PiiKind
  bool on_input = false;                     // guardrails (pii, moderation, prompt-injection,
                                             // jailbreak): judge the rendered input (on = "input")
  std::string context_var;                   // RAG: the case variable holding the context ("context")
  std::string query_var;                     // model-graded: the variable holding the question ("query")
  std::string judge_prompt_path;             // model-graded: a repository file overriding the judge prompt
  std::shared_ptr<const std::string> judge_prompt;  // its text, read by the suite; null: the shipped one
  std::vector<std::string> variables;  // the top-level names its templates use outside sections
  Location where;                      // where it was written, for errors found at evaluation
  // Scoring keys any assertion may carry (assertion_sets.cpp): its weight in the case's (or set's)
  // weighted mean, 0 = reported, never failing, not scored; and the named metric its score feeds.
  double weight = 1.0;
  std::string metric;  // empty = none
  // An assert-set (then `type` means nothing): its members, in order; its own threshold is
  // `threshold` above (nullopt: every member must pass). Sets do not nest.
  bool is_set = false;
  std::vector<Assertion> members;
};

// Appends the problems with `spec` (one JSON object) to `diagnostics`, each located at
// `where`, and returns the assertion when there was no error. Codes: "unknown-assertion"
// (unknown type, with a did-you-mean hint), "invalid-assertion" (not an object, a missing or
// ill-typed field, an empty value to search for, a bad regex, JSON pointer or template). Unknown options are warnings with
// the same code, except for llm-rubric, similar and exec, whose options belong to the services.
std::optional<Assertion> parse_assertion(const nlohmann::json& spec, const Location& where,
                                         std::vector<Diagnostic>& diagnostics);

// The spelling `assertion` was written with: "not-equals" for a negated equals.
std::string assertion_name(const Assertion& assertion);

struct ParsedAssertions {
  std::vector<Assertion> assertions;  // the valid ones, in order
  std::vector<Diagnostic> diagnostics;
};

// Parses an array of assertion objects (a prompt's [eval] assert, a case's "assert"). null
// is an empty list; anything other than an array is one "invalid-assertion" error.
ParsedAssertions parse_assertions(const nlohmann::json& array, const Location& where);

struct EvalContext;

// What llm-rubric, similar and exec need from outside the library: a judge model, an
// embedding model, a process runner. The runner implements these; each default returns the
// "needs a ..." failure that evaluate() gives without services. An implementation may throw
// ProviderError, which evaluate() lets through. Scores are clamped to [0, 1] by evaluate().
class AssertionServices {
 public:
  virtual ~AssertionServices() = default;
  // `rubric` is the rendered "value".
  virtual AssertionResult llm_rubric(const Assertion& assertion, std::string_view rubric,
                                     std::string_view output, const EvalContext& context) const;
  // `reference` is the rendered "value".
  virtual AssertionResult similar(const Assertion& assertion, std::string_view reference,
                                  std::string_view output, const EvalContext& context) const;
  // `command` is the rendered "value".
  virtual AssertionResult exec(const Assertion& assertion, std::string_view command, std::string_view output,
                               const EvalContext& context) const;
  // moderation: the endpoint's verdict on `text` (the output, or the input with on = "input").
  virtual AssertionResult moderation(const Assertion& assertion, std::string_view text,
                                     const EvalContext& context) const;
  // The judge's answer to `prompt`, a model-graded assertion's filled judge prompt; nullopt with
  // `failure` set when there is none (no judge, a failed call).
  virtual std::optional<std::string> judge(const Assertion& assertion, std::string_view prompt,
                                           std::string& failure) const;
};

// Everything an assertion may look at besides the output.
struct EvalContext {
  nlohmann::json vars = nlohmann::json::object();  // template context: case vars plus "expected"
  std::optional<double> cost;                      // of the call that produced the output, for "cost"
  std::optional<double> latency_ms;                // of that call, for "latency"
  const AssertionServices* services = nullptr;     // not owned; null: service types fail
  // The rendered prompt (its messages' contents, joined by blank lines), for guardrails with
  // on = "input"; not owned. Null: not available, and those assertions cannot judge.
  std::optional<std::string_view> input;
  // Whether a passing result needs its reason. The scorer reads only the reasons of failures and
  // turns this off, so the text graders skip building them; a negation asks again when it fails.
  bool pass_reasons = true;
};

// The template context of a case: `vars` (an object, or null for none) with "expected" added
// when `expected` is not null.
nlohmann::json make_template_context(const nlohmann::json& vars, const nlohmann::json& expected);

// The first of `assertion`'s variables that `vars` (a template context) lacks, or "".
std::string missing_variable(const Assertion& assertion, const nlohmann::json& vars);

// Scores `output`. String values are rendered with render_template() against context.vars
// first. Never throws for a deterministic type: an undefined variable, a value that renders
// empty, a regex that is bad only after rendering or a regex limit give a result with `error`
// set; service types may throw what the services throw.
AssertionResult evaluate(const Assertion& assertion, std::string_view output, const EvalContext& context);

// Calls `visit` with `assertion`, or with each member when it is an assert-set: the assertions
// that judge an output themselves (for judge calls, exec checks, call counts).
void for_each_leaf(const Assertion& assertion, const std::function<void(const Assertion&)>& visit);

// How a list of assertion results combines into one verdict: the weighted mean of the scores
// (an assertion of weight 0 passes and is left out), and pass = every assertion passed, or with
// a threshold, the weighted mean >= threshold (promptfoo's rule for a test and an assert-set).
class WeightedScore {
 public:
  void add(const AssertionResult& result, double weight);
  std::size_t count() const { return m_count; }
  // The weighted mean; 1 when nothing was scored (no assertion, or every weight 0).
  double score() const;
  bool pass(const std::optional<double>& threshold) const;
  // Why it failed: "score 0.33 < threshold 0.5" or "" when there is no threshold.
  std::string threshold_reason(const std::optional<double>& threshold) const;

 private:
  double m_weighted = 0.0;
  double m_weight = 0.0;
  std::size_t m_count = 0;
  bool m_all_pass = true;
};

}  // namespace promptops::eval
