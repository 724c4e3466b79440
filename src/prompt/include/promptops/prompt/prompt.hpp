// SPDX-License-Identifier: MIT
// Prompt files: TOML prompts and text prompts with optional +++ TOML front matter.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/config.hpp>
#include <promptops/prompt/dataset.hpp>
#include <promptops/config/diagnostic.hpp>
#include <promptops/prompt/template.hpp>
#include <promptops/util/error.hpp>

namespace promptops::inline prompt {

enum class PromptFormat { toml, text };

struct VarSpec {
  std::string name;
  bool required = false;
  std::optional<std::string> default_value;
  std::string description;
  Location where;

  // {"name", "required", "default" (only when set), "description"}: the shape list, show and
  // export share.
  nlohmann::json to_json() const;
};

struct Message {
  std::string role;  // system | user | assistant
  std::string content;
  Location where;    // where the content starts in the file
};

// The [eval] table. The evaluation engine interprets `asserts`; here it is kept as written.
struct EvalSpec {
  bool present = false;
  std::string dataset;  // repository-relative path
  std::string metric;   // headline metric; empty = the engine's default
  nlohmann::json asserts = nlohmann::json::array();
  // default_vars (promptfoo's defaultTest.vars): values every case has unless it sets its own;
  // an object, empty when [eval] has none.
  nlohmann::json default_vars = nlohmann::json::object();
  std::vector<MatrixEntry> matrix;  // [[eval.matrix]]: columns of this prompt's experiment matrix
  nlohmann::json raw = nlohmann::json::object();  // the whole table, for keys later issues add
  Location where;
};

struct Prompt {
  std::string name;  // path under its prompt root without the extension: "support/classify"
  std::string path;  // repository-relative file path
  PromptFormat format = PromptFormat::toml;
  std::string description;
  std::vector<std::string> tags;
  bool has_template_key = false;  // written as `template = ...` (or a text prompt's body)
  std::vector<Message> messages;  // a template is one user message
  ModelSpec model;                // as written in the file; see effective_model()
  std::vector<VarSpec> vars;      // in file order
  EvalSpec eval;
  GateSpec gate;

  const VarSpec* find_var(std::string_view var_name) const;
  // The model with config defaults filled in.
  ModelSpec effective_model(const Config& config) const;
  // The prompt as JSON (schema used by `show --format json` and `export`).
  nlohmann::json to_json() const;
};

struct ParsedPrompt {
  std::optional<Prompt> prompt;  // nullopt when the file could not be understood at all
  std::vector<Diagnostic> diagnostics;
};

// Parses a prompt file. The format follows the extension: .toml is a TOML prompt, anything else
// a text prompt. Never throws for bad content.
ParsedPrompt parse_prompt(std::string_view text, const std::string& path, const std::string& name);

// The rendered messages for these variable values; declared defaults apply. Throws ConfigError
// naming every required variable without a value (and how to pass it), or a template error
// (message and prompt named), among them a message over k_max_rendered_bytes (template.hpp).
std::vector<Message> render_prompt(const Prompt& prompt, const nlohmann::json& values);

// A prompt's messages parsed once, then rendered for many variable values (an evaluation renders
// every case): render() returns and throws exactly what render_prompt() does. Keeps a reference
// to `prompt`, which must outlive it. Not thread-safe.
class PromptRenderer {
 public:
  explicit PromptRenderer(const Prompt& prompt);
  std::vector<Message> render(const nlohmann::json& values) const;

 private:
  void check_syntax() const;

  const Prompt& m_prompt;
  std::vector<CompiledTemplate> m_templates;  // one per message
  std::vector<std::string> m_required;        // required_variables(prompt)
  nlohmann::json m_defaults = nlohmann::json::object();
};

// The variables a value must be given for: used in a message but not declared (unless only
// inside a section), or declared required; never those with a default. First-use order.
std::vector<std::string> required_variables(const Prompt& prompt);

// The remedy of a render that lacks values (a ConfigError's remedy()): give each of `names`,
// required variables in first-use order.
struct MissingVariables : Remedy {
  explicit MissingVariables(std::vector<std::string> missing) : names(std::move(missing)) {}
  std::vector<std::string> names;
};

// The names of `required` that `values` (a JSON object) has no non-null value for.
std::vector<std::string> missing_variables(const std::vector<std::string>& required, const nlohmann::json& values);

// One "missing-variable" error at path:line per case and required variable it gives no value
// for: the cases render_prompt() would refuse. lint and the evaluation planner (which checks
// every case before the first model call) share it.
// `vars` with each of [eval] default_vars it lacks added (the case's own value wins).
void apply_default_vars(const EvalSpec& eval, nlohmann::json& vars);

std::vector<Diagnostic> check_case_variables(const Prompt& prompt, std::span<const DatasetCase> cases,
                                             const std::string& path);

}  // namespace promptops::prompt
