// SPDX-License-Identifier: MIT
// .promptops.toml: parsing with diagnostics, model defaults, globs and "did you mean".
#include <promptops/config/config.hpp>

#include <algorithm>

#include <promptops/config/toml_reader.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline config {

namespace {

using config::Entry;
using config::TomlReader;

const std::vector<std::string> k_top_keys{"prompts", "patterns", "providers", "defaults", "prices", "eval"};
const std::vector<std::string> k_provider_keys{
    "kind",    "base_url",    "api_key_env", "api_key_header",  "command",   "headers",    "max_concurrency",
    "timeout", "max_retries", "retry_delay", "embedding_model", "token_env", "deployment", "api_version"};
const std::vector<std::string> k_price_keys{"input", "output"};
const std::vector<std::string> k_provider_kinds{"openai", "anthropic", "azure", "gemini", "exec"};
const std::vector<std::string> k_defaults_keys{"model", "gate"};

const ProviderPreset* preset_of(std::string_view kind) {
  const std::vector<ProviderPreset>& presets = provider_presets();
  const auto it = std::find_if(presets.begin(), presets.end(),
                               [kind](const ProviderPreset& preset) { return preset.kind == kind; });
  return it == presets.end() ? nullptr : &*it;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// An Azure deployment name or api-version: letters, digits, '.', '_' and '-' (a URL path segment
// and a query value without escaping).
bool is_url_word(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// token_env, deployment and api_version of an azure provider, with its defaults; an error for
// them on any other kind.
void read_azure_keys(TomlReader& reader, const std::string& path, const toml::table& table,
                     ProviderSpec& provider) {
  if (provider.kind != "azure") {
    for (const char* key : {"token_env", "deployment", "api_version"}) {
      if (const toml::node* node = table.get(key)) {
        reader.report(Severity::error, node->source(), "invalid-value",
                      "'" + config::key_path(path, key) + "' is only for kind = \"azure\"",
                      "remove it, or set kind = \"azure\"");
      }
    }
    return;
  }
  if (const auto env = reader.get_string(table, "token_env", path)) {
    if (is_env_name(*env)) {
      provider.token_env = *env;
    } else {
      reader.bad_value(*table.get("token_env"), config::key_path(path, "token_env"),
                       "the name of an environment variable",
                       "the token itself never lives in a file: token_env = \"AZURE_OPENAI_AD_TOKEN\"");
    }
  }
  if (!provider.token_env.empty() && table.get("api_key_env") != nullptr) {
    reader.report(Severity::error, table.get("token_env")->source(), "invalid-value",
                  "azure provider '" + provider.name + "' sets both api_key_env and token_env",
                  "keep api_key_env for an api-key, or token_env for an Entra ID token");
  }
  if (provider.token_env.empty() && table.get("api_key_env") == nullptr) {
    provider.api_key_env = k_azure_default_key_env;
  }
  if (const auto deployment = reader.get_string(table, "deployment", path)) {
    if (is_url_word(*deployment)) {
      provider.deployment = *deployment;
    } else {
      reader.bad_value(*table.get("deployment"), config::key_path(path, "deployment"),
                       "a deployment name of letters, digits, '.', '_' and '-'");
    }
  }
  provider.api_version = k_azure_default_api_version;
  if (const auto version = reader.get_string(table, "api_version", path)) {
    if (is_url_word(*version)) {
      provider.api_version = *version;
    } else {
      reader.bad_value(*table.get("api_version"), config::key_path(path, "api_version"),
                       "an API version such as \"2024-10-21\"");
    }
  }
  if (table.get("base_url") == nullptr) {
    reader.report(Severity::error, table.source(), "missing-key",
                  "azure provider '" + provider.name + "' has no base_url",
                  "add base_url = \"https://RESOURCE.openai.azure.com\"");
  }
}

// "prompts/", "./prompts" -> "prompts"; nullopt for paths that leave the repository.
std::optional<std::string> normalize_root(std::string_view root) {
  std::string out(root);
  while (out.size() > 2 && out.compare(0, 2, "./") == 0) {
    out.erase(0, 2);
  }
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  if (out.empty() || out.front() == '/') {
    return std::nullopt;
  }
  for (const std::string& part : util::split(out, '/')) {
    if (part == "..") {
      return std::nullopt;
    }
  }
  return out;
}

void read_roots(TomlReader& reader, const toml::table& root, Config& config) {
  const auto roots = reader.get_string_array(root, "prompts", "");
  if (!roots) {
    return;
  }
  const toml::node& node = *root.get("prompts");
  if (roots->empty()) {
    reader.bad_value(node, "prompts", "a non-empty array of directories", "prompts = [\"prompts\"]");
    return;
  }
  std::vector<std::string> normalized;
  for (const std::string& entry : *roots) {
    const auto clean = normalize_root(entry);
    if (!clean) {
      reader.bad_value(node, "prompts", "an array of directories inside the repository",
                       "'" + entry + "' is empty, absolute or goes up with '..'");
      return;
    }
    normalized.push_back(*clean);
  }
  config.prompt_roots = normalized;
}

void read_patterns(TomlReader& reader, const toml::table& root, Config& config) {
  const auto patterns = reader.get_string_array(root, "patterns", "");
  if (!patterns) {
    return;
  }
  const toml::node& node = *root.get("patterns");
  if (patterns->empty()) {
    reader.bad_value(node, "patterns", "a non-empty array of file name patterns",
                     "patterns = [\"*.toml\", \"*.prompt\"]");
    return;
  }
  for (const std::string& pattern : *patterns) {
    if (pattern.empty() || pattern.find('/') != std::string::npos) {
      reader.bad_value(node, "patterns", "an array of file name patterns such as \"*.toml\"",
                       "patterns match file names, not paths: '" + pattern + "'");
      return;
    }
  }
  config.patterns = *patterns;
}

void read_provider(TomlReader& reader, const std::string& name, const toml::table& table, Config& config) {
  const std::string path = config::key_path("providers", name);
  reader.check_keys(table, k_provider_keys, "[" + path + "]");

  ProviderSpec provider;
  provider.name = name;
  provider.where = reader.where(table.source());

  if (const auto kind = reader.get_string(table, "kind", path)) {
    if (std::find(k_provider_kinds.begin(), k_provider_kinds.end(), *kind) != k_provider_kinds.end()) {
      provider.kind = *kind;
    } else if (const ProviderPreset* preset = preset_of(*kind)) {
      provider.kind = "openai";
      provider.preset = *kind;
      provider.base_url = preset->base_url;
      provider.api_key_env = preset->api_key_env;
    } else {
      std::vector<std::string> kinds = k_provider_kinds;
      for (const ProviderPreset& known : provider_presets()) {
        kinds.emplace_back(known.kind);
      }
      const std::string suggestion = did_you_mean(*kind, kinds);
      reader.report(Severity::error, table.get("kind")->source(), "invalid-value",
                    "unknown provider kind '" + *kind + "'",
                    suggestion.empty() ? "expected one of: " + util::join(kinds, ", ")
                                       : "did you mean '" + suggestion + "'?");
    }
  } else if (table.get("kind") == nullptr) {
    reader.report(Severity::error, table.source(), "missing-key", "provider '" + name + "' has no kind",
                  "add kind = \"openai\", \"anthropic\" or \"exec\"");
  }

  if (const auto base_url = reader.get_string(table, "base_url", path)) {
    if (base_url->rfind("http://", 0) == 0 || base_url->rfind("https://", 0) == 0) {
      provider.base_url = *base_url;
    } else {
      reader.bad_value(*table.get("base_url"), config::key_path(path, "base_url"),
                       "an http:// or https:// URL");
    }
  }
  if (const auto env = reader.get_string(table, "api_key_env", path)) {
    if (is_env_name(*env)) {
      provider.api_key_env = *env;
    } else {
      // The value is not echoed: people paste the key itself here.
      reader.bad_value(*table.get("api_key_env"), config::key_path(path, "api_key_env"),
                       "the name of an environment variable",
                       "the key itself never lives in a file: api_key_env = \"OPENAI_API_KEY\"");
    }
  }
  if (const auto command = reader.get_string_array(table, "command", path)) {
    if (command->empty() || command->front().empty()) {
      reader.bad_value(*table.get("command"), config::key_path(path, "command"),
                       "a non-empty array: the program and its arguments");
    } else {
      provider.command = *command;
    }
  }
  if (provider.kind == "exec" && table.get("command") == nullptr) {
    reader.report(Severity::error, table.source(), "missing-key",
                  "exec provider '" + name + "' has no command",
                  "add command = [\"program\", \"argument\"...]");
  }
  if (const toml::table* headers = reader.get_table(table, "headers", path)) {
    const std::string headers_path = config::key_path(path, "headers");
    for (const Entry& entry : config::in_file_order(*headers)) {
      if (const auto* value = entry.node->as_string()) {
        provider.headers[std::string(entry.key->str())] = value->get();
      } else {
        reader.wrong_type(*entry.node, config::key_path(headers_path, entry.key->str()), "a string");
      }
    }
  }
  if (const auto concurrency = reader.get_integer(table, "max_concurrency", path)) {
    if (*concurrency >= 1 && *concurrency <= 100000) {
      provider.max_concurrency = static_cast<int>(*concurrency);
    } else {
      reader.bad_value(*table.get("max_concurrency"), config::key_path(path, "max_concurrency"),
                       "an integer of at least 1");
    }
  }
  if (const auto timeout = reader.get_number(table, "timeout", path)) {
    if (*timeout > 0) {
      provider.timeout_seconds = *timeout;
    } else {
      reader.bad_value(*table.get("timeout"), config::key_path(path, "timeout"),
                       "a number of seconds greater than 0");
    }
  }
  if (const auto retries = reader.get_integer(table, "max_retries", path)) {
    if (*retries >= 0 && *retries <= 1000) {
      provider.max_retries = static_cast<int>(*retries);
    } else {
      reader.bad_value(*table.get("max_retries"), config::key_path(path, "max_retries"),
                       "an integer of at least 0");
    }
  }
  if (const auto delay = reader.get_number(table, "retry_delay", path)) {
    if (*delay >= 0 && *delay <= 3600) {
      provider.retry_delay_seconds = *delay;
    } else {
      reader.bad_value(*table.get("retry_delay"), config::key_path(path, "retry_delay"),
                       "a number of seconds from 0 to 3600");
    }
  }
  if (const auto header = reader.get_string(table, "api_key_header", path)) {
    provider.api_key_header = *header;
  }
  if (const auto model = reader.get_string(table, "embedding_model", path)) {
    provider.embedding_model = *model;
  }
  read_azure_keys(reader, path, table, provider);
  if (provider.kind == "gemini") {
    if (provider.base_url.empty() && table.get("base_url") == nullptr) {
      provider.base_url = k_gemini_default_base_url;
    }
    if (table.get("api_key_env") == nullptr) {
      provider.api_key_env = k_gemini_default_key_env;
    }
  }
  config.providers[name] = std::move(provider);
}

// [prices."model"] = { input = 0.15, output = 0.6 }: per million tokens.
void read_prices(TomlReader& reader, const toml::table& root, Config& config) {
  const toml::table* prices = reader.get_table(root, "prices", "");
  if (prices == nullptr) {
    return;
  }
  for (const Entry& entry : config::in_file_order(*prices)) {
    const std::string model(entry.key->str());
    const std::string path = config::key_path("prices", model);
    const toml::table* table = entry.node->as_table();
    if (table == nullptr) {
      reader.wrong_type(*entry.node, path, "a table such as { input = 0.15, output = 0.6 }");
      continue;
    }
    reader.check_keys(*table, k_price_keys, "[" + path + "]");
    Price price;
    price.where = reader.where(table->source());
    for (const char* key : {"input", "output"}) {
      if (const auto value = reader.get_number(*table, key, path)) {
        if (*value >= 0) {
          (std::string_view(key) == "input" ? price.input : price.output) = *value;
        } else {
          reader.bad_value(*table->get(key), config::key_path(path, key), "a price of at least 0");
        }
      }
    }
    config.prices[model] = price;
  }
}

// [eval] in .promptops.toml holds only [[eval.matrix]]: columns that vary every prompt.
void read_eval(TomlReader& reader, const toml::table& root, Config& config) {
  const toml::table* eval = reader.get_table(root, "eval", "");
  if (eval == nullptr) {
    return;
  }
  reader.check_keys(*eval, {"matrix"}, "[eval]");
  if (const toml::node* matrix = eval->get("matrix")) {
    config.matrix = reader.read_matrix(*matrix, "eval.matrix", false);
  }
}

void read_providers(TomlReader& reader, const toml::table& root, Config& config) {
  const toml::table* providers = reader.get_table(root, "providers", "");
  if (providers == nullptr) {
    return;
  }
  for (const Entry& entry : config::in_file_order(*providers)) {
    const std::string name(entry.key->str());
    if (const auto* table = entry.node->as_table()) {
      read_provider(reader, name, *table, config);
    } else {
      reader.wrong_type(*entry.node, config::key_path("providers", name), "a table");
    }
  }
}

void read_defaults(TomlReader& reader, const toml::table& root, Config& config) {
  const toml::table* defaults = reader.get_table(root, "defaults", "");
  if (defaults == nullptr) {
    return;
  }
  reader.check_keys(*defaults, k_defaults_keys, "[defaults]");
  if (const toml::table* model = reader.get_table(*defaults, "model", "defaults")) {
    config.default_model = reader.read_model(*model, "defaults.model");
    const std::string& provider = config.default_model.provider;
    if (!provider.empty() && config.providers.count(provider) == 0) {
      std::vector<std::string> names;
      for (const auto& [name, spec] : config.providers) {
        names.push_back(name);
      }
      const std::string suggestion = did_you_mean(provider, names);
      reader.report(Severity::error, model->get("provider")->source(), "unknown-provider",
                    "unknown provider '" + provider + "'",
                    suggestion.empty() ? "declare it in [providers." + provider + "]"
                                       : "did you mean '" + suggestion + "'?");
    }
  }
  if (const toml::table* gate = reader.get_table(*defaults, "gate", "defaults")) {
    config.default_gate = reader.read_gate(*gate, "defaults.gate");
  }
}

bool match_class(std::string_view pattern, std::size_t& p, char c) {
  // pattern[p] is '['; on return p is just past the closing ']'.
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char low = pattern[i];
    char high = low;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      high = pattern[i + 2];
      i += 3;
    } else {
      ++i;
    }
    if (c >= low && c <= high) {
      matched = true;
    }
  }
  p = i + 1;
  return matched != negate;
}

}  // namespace

const std::vector<ProviderPreset>& provider_presets() {
  static const std::vector<ProviderPreset> presets = {
      {"ollama", "http://127.0.0.1:11434/v1", ""},
      {"vllm", "http://127.0.0.1:8000/v1", ""},
      {"llamacpp", "http://127.0.0.1:8080/v1", ""},
      {"lmstudio", "http://127.0.0.1:1234/v1", ""},
      {"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
      {"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"},
      {"together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"},
      {"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"},
      {"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"},
      {"gemini-openai", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"},
  };
  return presets;
}

ModelSpec ModelSpec::over(const ModelSpec& base) const {
  ModelSpec out = *this;
  // A model name belongs to its provider: a prompt that picks another provider does not inherit
  // the default model's name ("gpt-4o-mini" means nothing to a local server).
  const bool same_provider = out.provider.empty() || out.provider == base.provider;
  if (out.provider.empty()) {
    out.provider = base.provider;
  }
  if (out.name.empty() && same_provider) {
    out.name = base.name;
  }
  nlohmann::json params = base.params.is_object() ? base.params : nlohmann::json::object();
  if (this->params.is_object()) {
    for (const auto& [key, value] : this->params.items()) {
      params[key] = value;
    }
  }
  out.params = std::move(params);
  if (out.where.file.empty()) {
    out.where = base.where;
  }
  return out;
}

ParsedConfig parse_config(std::string_view text, const std::string& path) {
  ParsedConfig parsed;
  parsed.config.path = path;
  parsed.config.found = true;
  const auto root = config::parse_toml(text, path, parsed.diagnostics);
  if (!root) {
    return parsed;
  }
  TomlReader reader(path, parsed.diagnostics);
  reader.check_keys(*root, k_top_keys, "");
  read_roots(reader, *root, parsed.config);
  read_patterns(reader, *root, parsed.config);
  read_providers(reader, *root, parsed.config);
  read_defaults(reader, *root, parsed.config);
  read_prices(reader, *root, parsed.config);
  read_eval(reader, *root, parsed.config);
  config::sort_by_location(parsed.diagnostics);
  return parsed;
}

bool glob_match(std::string_view pattern, std::string_view file_name) {
  // Iterative matching with one backtrack point for the last '*'.
  std::size_t p = 0;
  std::size_t f = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_f = 0;
  while (f < file_name.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_f = f;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++f;
        continue;
      }
      if (pc == '[' && pattern.find(']', p + 2) != std::string_view::npos) {
        std::size_t next = p;
        if (match_class(pattern, next, file_name[f])) {
          p = next;
          ++f;
          continue;
        }
      } else if (pc == '\\' && p + 1 < pattern.size()) {
        if (pattern[p + 1] == file_name[f]) {
          p += 2;
          ++f;
          continue;
        }
      } else if (pc == file_name[f]) {
        ++p;
        ++f;
        continue;
      }
    }
    if (star_p == std::string_view::npos) {
      return false;
    }
    p = star_p + 1;
    f = ++star_f;
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = util::edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace promptops::config
