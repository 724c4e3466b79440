// SPDX-License-Identifier: MIT
// Suite loading: the dataset and assertions that judge a prompt, read and checked before the
// first model call.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>
#include <promptops/prompt/dataset.hpp>
#include <promptops/config/diagnostic.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/registry.hpp>

#include "case_table.hpp"

namespace promptops::inline eval {

// The label a free-text answer gets when it is none of the suite's labels.
inline constexpr const char* k_other_label = "(other)";

// The dataset and assertions that judge a prompt.
struct Suite {
  std::size_t from = 0;  // target index
  std::string prompt;    // whose [eval] it is, for messages
  std::string dataset;
  std::string dataset_sha;
  std::string text;  // the dataset's bytes until parse_cases() (a cached result never parses)
  bool parsed = false;
  CaseTable cases;  // compact: a case is read back as a DatasetCase when it is used
  // The distinct expected labels when every case expects a short one-line string and there are
  // at most k_max_labels of them: then the suite is a classification and gets label metrics.
  std::set<std::string> labels;
  std::vector<Assertion> asserts;                    // the prompt's [eval] assert
  std::vector<std::vector<Assertion>> case_asserts;  // each case's own "assert"
  nlohmann::json asserts_json;
  std::string judge_prompts;  // the judge_prompt files read (path, NUL, text, NUL each), for the eval key
  std::string metric;
  // [eval] threshold: the score every case must reach unless it sets its own; nullopt = every
  // assertion must pass.
  std::optional<double> threshold;
  nlohmann::json default_vars = nlohmann::json::object();  // [eval] default_vars
  nlohmann::json override_vars = nlohmann::json::object();  // EvalOptions::vars: over every case's own
  // default_assert, default_vars and threshold as written, for the eval key; null when [eval] has
  // none of them (so that a suite without them keeps the key it had before they existed).
  nlohmann::json defaults_json;
  // The named metrics that the prompt's own assertions declare (metric = "..."), sorted.
  std::vector<std::string> named_metrics;
};

// Throws one ConfigError naming every case in `errors`, one per line (up to 20), so that a bad
// case at line 9,000 stops the run before the first model call; nothing when empty.
void throw_case_errors(const std::vector<Diagnostic>& errors);

// The suite of `prompt`'s [eval] at `snapshot`, its dataset read but not parsed. Throws
// ConfigError (no dataset, outside the repository, refused, missing, unknown metric).
std::unique_ptr<Suite> load_suite(const Snapshot& snapshot, const Prompt& prompt);

// The assertions and headline metric of `prompt`'s [eval]. Throws ConfigError.
void set_assertions(Suite& suite, const Prompt& prompt);

// Adds the cases of `text` (the dataset at `path`) and their own assertions to `suite`. Throws
// ConfigError at file:line.
void add_cases(Suite& suite, const std::string& path, std::string_view text);

// Parses the dataset of `suite` once, when some case must run, and checks that every variable
// an assertion uses is defined. Throws ConfigError at file:line.
void parse_cases(Suite& suite);

// check_case_variables() over a compact table, a few hundred cases read back at a time.
std::vector<Diagnostic> check_case_variables(const Prompt& prompt, const CaseTable& cases,
                                             const std::string& path, std::size_t begin = 0);

// Sets the suite's labels: the distinct expected values when every case expects a short one-line
// string and there are at most 50 of them; none otherwise.
void find_labels(Suite& suite);

// Throws ConfigError when an assertion of `suite` is an exec scorer (a command from a tracked
// file), which runs only in a repository the user trusts.
void require_no_exec(const Suite& suite, const Prompt& prompt);

// llm-rubric and similar: the assertions that ask a model.
bool model_graded(const Assertion& assertion);

// 1 + the model-graded assertions that judge case `index` of `suite`.
std::size_t calls_per_sample(const Suite& suite, std::size_t index);

}  // namespace promptops::eval
