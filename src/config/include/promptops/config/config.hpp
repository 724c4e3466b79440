// SPDX-License-Identifier: MIT
// .promptops.toml: prompt roots, file patterns, providers, defaults and gates.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/diagnostic.hpp>

namespace promptops::inline config {

// A model choice: which provider, which model, and the parameters passed through to it
// (temperature, max_tokens, top_p, seed, stop, response_format...).
struct ModelSpec {
  std::string provider;
  std::string name;
  nlohmann::json params = nlohmann::json::object();
  Location where;

  bool empty() const { return provider.empty() && name.empty() && params.empty(); }
  // This spec with unset fields taken from `base` (params merged key by key, ours win); the
  // name is inherited only when the provider is the same (or unset).
  ModelSpec over(const ModelSpec& base) const;
};

// A provider declared in [providers.<name>]. The key itself is only ever read from the
// environment variable `api_key_env`.
struct ProviderSpec {
  std::string name;
  // openai | anthropic | azure | gemini | exec (a preset is openai with its defaults filled in)
  std::string kind;
  std::string preset;  // the kind as written when it named a preset ("ollama", "groq"...), else ""
  std::string base_url;
  std::string api_key_env;
  // The header that carries the key: empty means the kind's own ("Authorization: Bearer KEY" for
  // openai, "x-api-key: KEY" for anthropic); another name sends the bare key in it ("api-key" for
  // Azure OpenAI).
  std::string api_key_header;
  // azure only: where the Entra ID token lives, sent as "Authorization: Bearer TOKEN" instead of
  // a key (api_key_env is then unset); the deployment every model of the provider goes to (empty:
  // the model's name); the api-version query value.
  std::string token_env;
  std::string deployment;
  std::string api_version;
  std::vector<std::string> command;  // exec only
  std::map<std::string, std::string> headers;
  int max_concurrency = 8;
  double timeout_seconds = 60;
  int max_retries = 4;
  double retry_delay_seconds = 0.5;  // the first backoff; doubles per retry, with jitter
  std::string embedding_model;       // for `similar`; empty = "text-embedding-3-small"
  Location where;

  // The variable the secret is read from: token_env when set, else api_key_env ("" for none).
  const std::string& secret_env() const { return token_env.empty() ? api_key_env : token_env; }
};

// What kind = "azure" and kind = "gemini" fill in when the file leaves them out.
constexpr std::string_view k_azure_default_key_env = "AZURE_OPENAI_API_KEY";
constexpr std::string_view k_azure_default_api_version = "2024-10-21";
constexpr std::string_view k_gemini_default_base_url = "https://generativelanguage.googleapis.com/v1beta";
constexpr std::string_view k_gemini_default_key_env = "GEMINI_API_KEY";

// An OpenAI-compatible service that `kind = "NAME"` stands for: its API root and the environment
// variable its documentation names for the key ("" for local servers that need none).
struct ProviderPreset {
  std::string_view kind;
  std::string_view base_url;
  std::string_view api_key_env;
};

// ollama, vllm, llamacpp, lmstudio, openrouter, groq, together, mistral, deepseek, gemini-openai.
const std::vector<ProviderPreset>& provider_presets();

// Thresholds that block a regression ([gate] in a prompt, [defaults.gate] in config).
struct GateSpec {
  std::map<std::string, double> min;
  std::map<std::string, double> max_drop;
  double confidence = 0.95;
  bool confidence_set = false;  // written in the file (not the default)
  Location where;

  bool empty() const { return min.empty() && max_drop.empty(); }
};

// What a model costs, in currency units per million tokens ([prices."model"] in config).
struct Price {
  double input = 0.0;
  double output = 0.0;
  Location where;
};

// One [[eval.matrix]] entry: a column of the experiment matrix that `eval --matrix` runs, listed
// as written rather than crossed with the others.
struct MatrixEntry {
  std::string label;  // the column's name; empty = made from the rest
  std::string model;  // PROVIDER/NAME or NAME; empty = the prompt's own
  nlohmann::json params = nlohmann::json::object();  // set over the model's parameters
  std::string variant;  // NAME@REV, NAME (another prompt, read in this one's place) or a revision
  // (role, content) pairs that replace the prompt's messages; only in a prompt's own entries.
  std::vector<std::pair<std::string, std::string>> messages;
  Location where;  // the entry's table
};

struct Config {
  std::string path = ".promptops.toml";  // repository-relative
  bool found = false;                    // false: every value below is a default
  std::vector<std::string> prompt_roots{"prompts"};
  std::vector<std::string> patterns{"*.toml", "*.prompt"};  // matched against file names
  std::map<std::string, ProviderSpec> providers;
  ModelSpec default_model;
  GateSpec default_gate;
  std::map<std::string, Price> prices;  // by model name
  std::vector<MatrixEntry> matrix;      // [[eval.matrix]]: columns that vary every prompt
};

struct ParsedConfig {
  Config config;
  std::vector<Diagnostic> diagnostics;  // syntax errors (file:line:col), unknown keys, bad values
};

// Parses .promptops.toml text. Never throws for bad content: problems become diagnostics and
// the affected values keep their defaults.
ParsedConfig parse_config(std::string_view text, const std::string& path = ".promptops.toml");

// True when `file_name` (no directory) matches a shell glob such as "*.toml".
bool glob_match(std::string_view pattern, std::string_view file_name);

// The closest candidate to `word` by edit distance, when it is close enough to suggest.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace promptops::config
