// SPDX-License-Identifier: MIT
// promptfoo's promptfooconfig.yaml in: prompts become prompt files, providers become provider
// tables (and the prompt's model and matrix columns), tests become one dataset, defaultTest the
// prompts' [eval] assertions and default variables. What has no counterpart is a note.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <promptops/eval/assertions.hpp>
#include <promptops/prompt/dataset.hpp>
#include <promptops/prompt/template.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include <promptops/interop/interop.hpp>

#include "prompt_draft.hpp"
#include "prompt_text.hpp"
#include "yaml_source.hpp"

namespace promptops::inline interop {

namespace {

// ---- Reading the configuration -------------------------------------------------------------

bool promptfoo_is_file_ref(const std::string& text) { return text.rfind("file://", 0) == 0; }

std::string promptfoo_extension(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  return dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : util::to_lower(path.substr(dot));
}

std::string promptfoo_stem(const std::string& path) {
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  const std::size_t dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// A name made of lower-case letters, digits and '-': "Concise summary" -> "concise-summary".
std::string promptfoo_slug(const std::string& text) {
  std::string slug;
  for (const char c : text) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (word || (c >= 'A' && c <= 'Z')) {
      slug += word ? c : static_cast<char>(c - 'A' + 'a');
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  while (!slug.empty() && slug.back() == '-') {
    slug.pop_back();
  }
  return slug.substr(0, 60);
}

// The import's name: --name, else the directory named in the path of a file named
// promptfooconfig.* ("promptfoo" when none is named), else the file's stem.
std::string promptfoo_base_name(const ImportSource& source, const ImportOptions& options) {
  if (!options.name.empty()) {
    return options.name;
  }
  const std::filesystem::path path(source.path);
  std::string stem = promptfoo_stem(path.filename().string());
  if (stem == "promptfooconfig") {
    stem = path.has_parent_path() ? path.parent_path().filename().string() : "promptfoo";
  }
  const std::string slug = promptfoo_slug(stem);
  return slug.empty() ? "promptfoo" : slug;
}

struct PromptfooImport {
  const ImportSource& source;
  const ImportOptions& options;
  ImportResult result;

  Location at(const YAML::Node& node) const { return location_of(source, node); }
  void note(const YAML::Node& node, std::string code, std::string message, std::string hint = {}) {
    result.notes.push_back(import_note(at(node), std::move(code), std::move(message), std::move(hint)));
  }
};

// A file named by file:// in the configuration.
std::string promptfoo_read(PromptfooImport& import, const std::string& name, const YAML::Node& where) {
  return read_beside(import.source, name, import.at(where));
}

// ---- Prompts ---------------------------------------------------------------------------------

struct PromptfooPrompt {
  std::string name;
  std::string label;
  std::vector<std::pair<std::string, std::string>> messages;
  Location where;
};

// Nunjucks to Mustache: `{{ name }}` and `{{ a.b }}` are the same variable in both; filters,
// expressions, tags and comments have no Mustache form and are noted once per prompt.
std::string promptfoo_template(PromptfooImport& import, const std::string& text, const YAML::Node& where) {
  std::string out;
  std::string unmapped;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find_first_of('{', pos);
    if (open == std::string::npos || open + 1 >= text.size()) {
      out += text.substr(pos);
      break;
    }
    out += text.substr(pos, open - pos);
    const char kind = text[open + 1];
    if (kind == '{') {
      const std::size_t close = text.find("}}", open + 2);
      if (close == std::string::npos) {
        out += text.substr(open);
        break;
      }
      const std::string inside(util::trim(text.substr(open + 2, close - open - 2)));
      const bool is_name = !inside.empty() && inside.find_first_not_of(
                                                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
                                                  std::string::npos;
      if (is_name) {
        out += "{{" + inside + "}}";
      } else {
        out += text.substr(open, close + 2 - open);
        unmapped = unmapped.empty() ? "{{ " + inside + " }}" : unmapped;
      }
      pos = close + 2;
    } else if (kind == '%' || kind == '#') {
      out += text.substr(open, 2);
      unmapped = unmapped.empty() ? text.substr(open, std::min<std::size_t>(text.find('\n', open) - open, 40)) : unmapped;
      pos = open + 2;
    } else {
      out += '{';
      pos = open + 1;
    }
  }
  if (!unmapped.empty()) {
    import.note(where, "unmapped-template",
                "nunjucks '" + unmapped + "' has no mustache form; the template keeps it as written",
                "rewrite it with {{variables}} and {{#sections}}, or compute the value into a variable");
  }
  return out;
}

// A chat prompt: [{"role", "content"}...]; nullopt when `value` is not one.
std::optional<std::vector<std::pair<std::string, std::string>>> promptfoo_chat(PromptfooImport& import,
                                                                                const nlohmann::json& value,
                                                                                const YAML::Node& where) {
  if (!value.is_array() || value.empty()) {
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> messages;
  for (const nlohmann::json& message : value) {
    if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
      return std::nullopt;
    }
    const std::string role = message["role"];
    if (role != "system" && role != "user" && role != "assistant") {
      import.note(where, "unmapped-message", "a message of role '" + role + "' is left out",
                  "prompts here hold system, user and assistant messages");
      continue;
    }
    const nlohmann::json& content = message.contains("content") ? message["content"] : nlohmann::json();
    if (!content.is_string()) {
      import.note(where, "unmapped-message", "a " + role + " message whose content is not text is left out",
                  "write the content as one string");
      continue;
    }
    messages.emplace_back(role, promptfoo_template(import, content.get<std::string>(), where));
  }
  return messages;
}

// One prompt text (inline or read from a file): chat JSON when it parses as one, else a user
// message; a file may hold several prompts separated by lines of "---".
std::vector<std::vector<std::pair<std::string, std::string>>> promptfoo_prompt_texts(PromptfooImport& import,
                                                                                     const std::string& text,
                                                                                     const std::string& extension,
                                                                                     const YAML::Node& where) {
  if (extension == ".json" || extension == ".yaml" || extension == ".yml" || util::trim(text).rfind("[", 0) == 0) {
    try {
      const nlohmann::json value = extension == ".json" || extension.empty()
                                       ? nlohmann::json::parse(text)
                                       : yaml_json(import.source, parse_yaml(import.source, text));
      if (auto chat = promptfoo_chat(import, value, where)) {
        return {std::move(*chat)};
      }
    } catch (const nlohmann::json::exception&) {
      // Not JSON: a text prompt that starts with '['.
    }
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> prompts;
  std::string current;
  auto flush = [&] {
    const std::string body(util::trim(current));
    if (!body.empty()) {
      prompts.push_back({{"user", promptfoo_template(import, body, where)}});
    }
    current.clear();
  };
  for (const std::string& line : util::split(text, '\n')) {
    if (util::trim(line) == "---" && extension != ".json") {
      flush();
    } else {
      current += line + "\n";
    }
  }
  flush();
  return prompts;
}

void promptfoo_add_prompt(PromptfooImport& import, std::vector<PromptfooPrompt>& prompts, const YAML::Node& item,
                          const std::string& text_or_ref, const std::string& label) {
  std::vector<std::vector<std::pair<std::string, std::string>>> texts;
  std::string stem;
  if (promptfoo_is_file_ref(text_or_ref)) {
    const std::string extension = promptfoo_extension(text_or_ref);
    if (extension == ".js" || extension == ".ts" || extension == ".py" || extension == ".mjs" || extension == ".cjs" ||
        text_or_ref.find(':', 7) != std::string::npos) {
      import.note(item, "unmapped-prompt", "prompt function '" + text_or_ref + "' is left out (it would run code)",
                  "write the prompt it returns as a text or chat prompt");
      return;
    }
    if (text_or_ref.find_first_of("*?[") != std::string::npos) {
      import.note(item, "unmapped-prompt", "prompt glob '" + text_or_ref + "' is left out",
                  "name each prompt file in prompts");
      return;
    }
    texts = promptfoo_prompt_texts(import, promptfoo_read(import, text_or_ref, item), extension, item);
    stem = promptfoo_slug(promptfoo_stem(text_or_ref));
  } else {
    texts = promptfoo_prompt_texts(import, text_or_ref, "", item);
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    PromptfooPrompt prompt;
    prompt.label = label;
    prompt.messages = std::move(texts[i]);
    prompt.where = import.at(item);
    prompt.name = !label.empty() ? promptfoo_slug(label) : stem;
    if (!prompt.name.empty() && texts.size() > 1) {
      prompt.name += "-" + std::to_string(i + 1);
    }
    prompts.push_back(std::move(prompt));
  }
}

std::vector<PromptfooPrompt> promptfoo_prompts(PromptfooImport& import, const YAML::Node& node) {
  std::vector<PromptfooPrompt> prompts;
  if (!node) {
    return prompts;
  }
  if (node.IsScalar()) {
    promptfoo_add_prompt(import, prompts, node, node.Scalar(), "");
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (item.IsScalar()) {
        promptfoo_add_prompt(import, prompts, item, item.Scalar(), "");
      } else if (item.IsMap() && (item["id"] || item["raw"])) {
        const YAML::Node text = item["raw"] ? item["raw"] : item["id"];
        const std::string label = item["label"] && item["label"].IsScalar() ? item["label"].Scalar() : "";
        for (const auto& key : item) {
          const std::string name = key.first.Scalar();
          if (name != "id" && name != "raw" && name != "label") {
            import.note(key.first, "unmapped-key", "prompt key '" + name + "' is left out");
          }
        }
        promptfoo_add_prompt(import, prompts, item, text.IsScalar() ? text.Scalar() : YAML::Dump(text), label);
      } else {
        import.note(item, "unmapped-prompt", "a prompt that is neither a string nor {id|raw, label} is left out");
      }
    }
  } else if (node.IsMap()) {  // the older form: { "file://a.txt": "label" }
    for (const auto& item : node) {
      promptfoo_add_prompt(import, prompts, item.first, item.first.Scalar(),
                           item.second.IsScalar() ? item.second.Scalar() : "");
    }
  }
  return prompts;
}

// ---- Providers -------------------------------------------------------------------------------

struct PromptfooProvider {
  std::string kind;  // a provider kind or preset of .promptops.toml
  std::string base_url;
  std::string api_key_env;
  std::string model;
  std::string label;
  nlohmann::json params = nlohmann::json::object();
  std::string table;  // the [providers.NAME] it uses
  Location where;
};

struct PromptfooKind {
  std::string_view prefix;   // promptfoo's provider id prefix
  std::string_view kind;     // ours
  std::string_view key_env;  // the variable both read the key from, where this kind has none of its own
};

// promptfoo's provider prefixes that map onto a provider kind or preset here.
constexpr PromptfooKind k_promptfoo_kinds[] = {
    {"openai", "openai", "OPENAI_API_KEY"},   {"anthropic", "anthropic", "ANTHROPIC_API_KEY"},
    {"ollama", "ollama", ""},                 {"groq", "groq", ""},
    {"mistral", "mistral", ""},               {"openrouter", "openrouter", ""},
    {"deepseek", "deepseek", ""},             {"togetherai", "together", ""},
    {"azure", "azure", ""},                   {"azureopenai", "azure", ""},
    {"google", "gemini", ""},                 {"vertex", "", ""},
    {"bedrock", "", ""},                      {"exec", "", ""},
    {"python", "", ""},                       {"webhook", "", ""},
    {"http", "", ""},                         {"https", "", ""},
    {"file", "", ""},                         {"echo", "", ""},
};

// The model name after the kind and an API word: "openai:chat:gpt-4o" -> "gpt-4o".
std::string promptfoo_model_name(const std::string& id, std::size_t after_prefix) {
  std::string rest = id.substr(after_prefix);
  for (const char* api : {"chat:", "messages:", "completion:"}) {
    if (rest.rfind(api, 0) == 0) {
      return rest.substr(std::string_view(api).size());
    }
  }
  return rest;
}

// `{{ env.NAME }}` in a URL: the variable's value now, or nullopt (noted) when it is not set.
std::optional<std::string> promptfoo_resolve_env(PromptfooImport& import, std::string url, const YAML::Node& where) {
  std::size_t open = 0;
  while ((open = url.find("{{", open)) != std::string::npos) {
    const std::size_t close = url.find("}}", open);
    const std::string inside(util::trim(url.substr(open + 2, close == std::string::npos ? 0 : close - open - 2)));
    const char* value = inside.rfind("env.", 0) == 0 ? std::getenv(inside.substr(4).c_str()) : nullptr;
    if (close == std::string::npos || value == nullptr) {
      import.note(where, "unresolved-env", "'" + url + "' names a variable that is not set; the URL is left out",
                  "set it and import again, or write base_url in .promptops.toml");
      return std::nullopt;
    }
    url.replace(open, close + 2 - open, value);
    open += std::string_view(value).size();
  }
  return url;
}

constexpr std::string_view k_promptfoo_params[] = {"temperature",       "max_tokens",       "top_p",
                                                   "frequency_penalty", "presence_penalty", "stop",
                                                   "seed",              "response_format",  "top_k"};

void promptfoo_provider_config(PromptfooImport& import, PromptfooProvider& provider, const YAML::Node& config,
                               std::string_view default_key_env) {
  for (const auto& item : config) {
    const std::string key = item.first.Scalar();
    if (key == "apiKey") {
      provider.api_key_env = std::string(default_key_env);
      import.note(item.first, "secret-not-copied",
                  "the inline apiKey is not copied into a tracked file; the key is read from " +
                      (default_key_env.empty() ? std::string("the environment") : std::string(default_key_env)),
                  "export the key in that variable (or set api_key_env in .promptops.toml), and remove it from the file");
    } else if (key == "apiKeyEnvar") {
      provider.api_key_env = item.second.Scalar();
    } else if (key == "apiBaseUrl" || key == "apiHost") {
      std::string url = item.second.Scalar();
      if (key == "apiHost") {
        url = "https://" + url + (provider.kind == "azure" ? "" : "/v1");
      }
      if (auto resolved = promptfoo_resolve_env(import, url, item.second)) {
        provider.base_url = *resolved;
      }
    } else if (std::find(std::begin(k_promptfoo_params), std::end(k_promptfoo_params), key) !=
               std::end(k_promptfoo_params)) {
      provider.params[key] = yaml_json(import.source, item.second);
    } else if (key == "max_completion_tokens" || key == "maxTokens") {
      provider.params["max_tokens"] = yaml_json(import.source, item.second);
    } else {
      import.note(item.first, "unmapped-key", "provider option '" + key + "' is left out");
    }
  }
}

std::optional<PromptfooProvider> promptfoo_provider(PromptfooImport& import, const YAML::Node& item) {
  std::string id;
  YAML::Node config;
  std::string label;
  if (item.IsScalar()) {
    id = item.Scalar();
  } else if (item.IsMap() && item["id"]) {
    id = item["id"].Scalar();
    config = item["config"];
    label = item["label"] && item["label"].IsScalar() ? item["label"].Scalar() : "";
    for (const auto& key : item) {
      const std::string name = key.first.Scalar();
      if (name != "id" && name != "config" && name != "label") {
        import.note(key.first, "unmapped-key", "provider key '" + name + "' is left out");
      }
    }
  } else if (item.IsMap() && item.size() == 1) {  // { "openai:gpt-4o": { config: ... } }
    id = item.begin()->first.Scalar();
    config = item.begin()->second["config"];
  }
  const std::size_t colon = id.find(':');
  const std::string prefix = id.substr(0, colon);
  const auto known = std::find_if(std::begin(k_promptfoo_kinds), std::end(k_promptfoo_kinds),
                                  [&](const PromptfooKind& kind) { return kind.prefix == prefix; });
  if (id.empty() || known == std::end(k_promptfoo_kinds) || known->kind.empty() || colon == std::string::npos) {
    import.note(item, "unmapped-provider", "provider '" + id + "' has no counterpart here and is left out",
                "providers here: openai (and OpenAI-compatible services by base_url), anthropic, azure, gemini, "
                "the presets such as ollama, and exec in .promptops.toml");
    return std::nullopt;
  }
  PromptfooProvider provider;
  provider.kind = std::string(known->kind);
  provider.model = promptfoo_model_name(id, colon + 1);
  provider.label = label;
  provider.where = import.at(item);
  if (config && config.IsMap()) {
    promptfoo_provider_config(import, provider, config, known->key_env);
  }
  if (provider.api_key_env.empty() && !known->key_env.empty()) {
    if (provider.base_url.empty()) {
      provider.api_key_env = std::string(known->key_env);  // the service's own host, as promptfoo does
    } else {
      import.note(item, "no-key", "no key is sent to " + provider.base_url,
                  "if that server needs one, set api_key_env in [providers." + provider.kind + "] of .promptops.toml");
    }
  }
  return provider;
}

// The [providers.NAME] a provider uses: one of the project's or of this import with the same
// kind, URL and key variable, else a new one named after the kind.
std::string promptfoo_table_name(const PromptfooImport& import, const PromptfooProvider& provider,
                                 const std::vector<PromptfooProvider>& earlier) {
  for (const PromptfooProvider& other : earlier) {
    if (other.kind == provider.kind && other.base_url == provider.base_url && other.api_key_env == provider.api_key_env) {
      return other.table;
    }
  }
  std::set<std::string> taken;
  for (const PromptfooProvider& other : earlier) {
    taken.insert(other.table);
  }
  if (const Config* config = import.options.config) {
    for (const auto& [name, spec] : config->providers) {
      const std::string kind = spec.preset.empty() ? spec.kind : spec.preset;
      if (kind == provider.kind && (provider.base_url.empty() || spec.base_url == provider.base_url) &&
          (provider.api_key_env.empty() || spec.api_key_env == provider.api_key_env)) {
        return name;
      }
      taken.insert(name);
    }
  }
  std::string name = provider.kind;
  for (int n = 2; taken.count(name) != 0; ++n) {
    name = provider.kind + "-" + std::to_string(n);
  }
  return name;
}

std::vector<PromptfooProvider> promptfoo_providers(PromptfooImport& import, const YAML::Node& node) {
  std::vector<PromptfooProvider> providers;
  if (!node) {
    return providers;
  }
  std::vector<YAML::Node> items;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      items.push_back(item);
    }
  } else {
    items.push_back(node);
  }
  for (const YAML::Node& item : items) {
    if (auto provider = promptfoo_provider(import, item)) {
      provider->table = promptfoo_table_name(import, *provider, providers);
      providers.push_back(std::move(*provider));
    }
  }
  return providers;
}

// The provider tables this import adds to .promptops.toml (none that the project has).
std::string promptfoo_config_tables(const PromptfooImport& import, const std::vector<PromptfooProvider>& providers) {
  std::string text;
  std::set<std::string> written;
  for (const PromptfooProvider& provider : providers) {
    const bool exists = import.options.config != nullptr && import.options.config->providers.count(provider.table) != 0;
    if (exists || !written.insert(provider.table).second) {
      continue;
    }
    text += "[providers." + toml_key(provider.table) + "]\nkind = " + toml_string(provider.kind) + "\n";
    if (!provider.base_url.empty()) {
      text += "base_url = " + toml_string(provider.base_url) + "\n";
    }
    if (!provider.api_key_env.empty()) {
      text += "api_key_env = " + toml_string(provider.api_key_env) + "\n";
    }
    text += "\n";
  }
  if (!text.empty()) {
    text.pop_back();
  }
  return text;
}

// ---- Tests -----------------------------------------------------------------------------------

// An assertion as written here: promptfoo's keys that have no counterpart are noted, and one
// this project cannot check (a type it lacks, code to run) is left out (nullopt).
std::optional<nlohmann::json> promptfoo_assertion(PromptfooImport& import, const YAML::Node& node) {
  nlohmann::json spec = yaml_json(import.source, node);
  const Location where = import.at(node);
  if (!spec.is_object()) {
    import.note(node, "unmapped-assertion", "an assertion that is not a mapping is left out");
    return std::nullopt;
  }
  const std::string type = spec.value("type", std::string());
  if (spec.contains("transform")) {
    import.note(node, "unmapped-assertion",
                "assertion '" + type + "' with a transform is left out (a transform runs code)",
                "check the transformed value with a json-field or regex assertion");
    return std::nullopt;
  }
  if (spec.contains("provider")) {
    spec.erase("provider");
    import.note(node, "unmapped-key", "the grading provider of assertion '" + type + "' is left out",
                "the judge is the project's [defaults.judge] or the assertion's model key");
  }
  if (type == "javascript" || type == "python" || type == "webhook" || type == "ruby") {
    import.note(node, "unmapped-assertion", "assertion '" + type + "' is left out (it runs code)",
                "check the output with regex, json-field, is-json or llm-rubric instead");
    return std::nullopt;
  }
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> parsed = parse_assertion(spec, where, diagnostics);
  for (Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.severity == Severity::error) {
      import.note(node, "unmapped-assertion", "assertion '" + type + "' is left out: " + diagnostic.message,
                  diagnostic.hint);
    } else {
      diagnostic.where = where;
      import.result.notes.push_back(std::move(diagnostic));
    }
  }
  if (!parsed) {
    return std::nullopt;
  }
  return spec;
}

nlohmann::json promptfoo_assertions(PromptfooImport& import, const YAML::Node& node) {
  nlohmann::json asserts = nlohmann::json::array();
  if (node && node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (auto assertion = promptfoo_assertion(import, item)) {
        asserts.push_back(std::move(*assertion));
      }
    }
  } else if (node) {
    import.note(node, "unmapped-assertion", "assert is not a list and is left out");
  }
  return asserts;
}

// A variable's value: file:// text is read in (promptfoo loads it), code files are noted.
nlohmann::json promptfoo_var_value(PromptfooImport& import, const YAML::Node& node) {
  nlohmann::json value = yaml_json(import.source, node);
  if (value.is_string() && promptfoo_is_file_ref(value.get<std::string>())) {
    const std::string ref = value;
    const std::string extension = promptfoo_extension(ref);
    if (extension == ".js" || extension == ".py" || extension == ".ts") {
      import.note(node, "unmapped-var", "variable file '" + ref + "' would run code; its name is kept as the value");
      return value;
    }
    const std::string text = promptfoo_read(import, ref, node);
    if (extension == ".json" || extension == ".yaml" || extension == ".yml") {
      return yaml_json(import.source, parse_yaml(import.source, text));
    }
    return text;
  }
  return value;
}

// The most cases one test may expand to.
constexpr std::size_t k_promptfoo_max_expanded = 100'000;

// The cases of one test: one per combination of its list-valued variables, as promptfoo runs
// them. More than k_promptfoo_max_expanded is a ConfigError at the test.
std::vector<nlohmann::json> promptfoo_expand(const PromptfooImport& import, const nlohmann::json& row,
                                             const YAML::Node& test) {
  std::vector<nlohmann::json> rows{row};
  for (const auto& [name, value] : row["vars"].items()) {
    if (!value.is_array()) {
      continue;
    }
    if (!value.empty() && rows.size() > k_promptfoo_max_expanded / value.size()) {
      throw ConfigError(import.at(test).format() + ": the test's list-valued variables make more than 100000 cases",
                        "write the cases out in a CSV or JSONL file");
    }
    std::vector<nlohmann::json> expanded;
    for (const nlohmann::json& partial : rows) {
      for (const nlohmann::json& item : value) {
        nlohmann::json one = partial;
        one["vars"][name] = item;
        expanded.push_back(std::move(one));
      }
    }
    rows = std::move(expanded);
  }
  return rows;
}

void promptfoo_add_test(PromptfooImport& import, const YAML::Node& test, std::vector<nlohmann::json>& rows) {
  if (!test.IsMap()) {
    import.note(test, "unmapped-test", "a test that is not a mapping is left out");
    return;
  }
  nlohmann::json row = nlohmann::json::object();
  row["vars"] = nlohmann::json::object();
  for (const auto& item : test) {
    const std::string key = item.first.Scalar();
    if (key == "vars" && item.second.IsMap()) {
      for (const auto& var : item.second) {
        row["vars"][var.first.Scalar()] = promptfoo_var_value(import, var.second);
      }
    } else if (key == "assert") {
      nlohmann::json asserts = promptfoo_assertions(import, item.second);
      if (!asserts.empty()) {
        row["assert"] = std::move(asserts);
      }
    } else if (key == "description" || key == "threshold" || key == "metadata") {
      row[key] = yaml_json(import.source, item.second);
    } else if (key == "options" && item.second.IsMap() && item.second.size() == 0) {
      continue;
    } else {
      import.note(item.first, "unmapped-key", "test key '" + key + "' is left out");
    }
  }
  for (nlohmann::json& one : promptfoo_expand(import, row, test)) {
    rows.push_back(std::move(one));
  }
}

// A dataset file's cases as JSONL rows, for a file mixed with other tests.
void promptfoo_add_dataset_rows(PromptfooImport& import, const std::string& ref, const std::string& text,
                                const YAML::Node& where, std::vector<nlohmann::json>& rows) {
  const ParsedDataset parsed = parse_dataset(text, ref.substr(7));
  for (const Diagnostic& diagnostic : parsed.diagnostics) {
    import.note(where, "unmapped-test", ref + ":" + std::to_string(diagnostic.where.line) + ": " + diagnostic.message,
                diagnostic.hint);
  }
  for (const DatasetCase& one : parsed.cases) {
    nlohmann::json row = {{"vars", one.vars}};
    if (!one.expected.is_null()) {
      row["expected"] = one.expected;
    }
    if (!one.asserts.empty()) {
      row["assert"] = one.asserts;
    }
    if (!one.description.empty()) {
      row["description"] = one.description;
    }
    if (!one.metadata.is_null()) {
      row["metadata"] = one.metadata;
    }
    if (one.threshold) {
      row["threshold"] = *one.threshold;
    }
    rows.push_back(std::move(row));
  }
}

void promptfoo_add_tests_file(PromptfooImport& import, const std::string& ref, const YAML::Node& where,
                              std::vector<nlohmann::json>& rows) {
  const std::string extension = promptfoo_extension(ref);
  if (ref.find_first_of("*?[") != std::string::npos) {
    import.note(where, "unmapped-test", "tests glob '" + ref + "' is left out", "name each tests file");
    return;
  }
  if (extension == ".csv" || extension == ".jsonl") {
    promptfoo_add_dataset_rows(import, ref, promptfoo_read(import, ref, where), where, rows);
  } else if (extension == ".yaml" || extension == ".yml" || extension == ".json") {
    const YAML::Node tests = parse_yaml(import.source, promptfoo_read(import, ref, where));
    if (!tests.IsSequence()) {
      import.note(where, "unmapped-test", "tests file '" + ref + "' does not hold a list of tests and is left out");
      return;
    }
    for (const YAML::Node& test : tests) {
      promptfoo_add_test(import, test, rows);
    }
  } else {
    import.note(where, "unmapped-test", "tests file '" + ref + "' is left out (only CSV, JSONL, YAML and JSON are read)");
  }
}

std::vector<nlohmann::json> promptfoo_tests(PromptfooImport& import, const YAML::Node& node) {
  std::vector<nlohmann::json> rows;
  if (!node) {
    return rows;
  }
  if (node.IsScalar()) {
    promptfoo_add_tests_file(import, node.Scalar(), node, rows);
  } else if (node.IsSequence()) {
    for (const YAML::Node& test : node) {
      if (test.IsScalar()) {
        promptfoo_add_tests_file(import, test.Scalar(), test, rows);
      } else {
        promptfoo_add_test(import, test, rows);
      }
    }
  }
  return rows;
}

// ---- Putting it together ---------------------------------------------------------------------

struct PromptfooDefaults {
  nlohmann::json asserts = nlohmann::json::array();
  nlohmann::json vars = nlohmann::json::object();
};

PromptfooDefaults promptfoo_default_test(PromptfooImport& import, YAML::Node node) {
  PromptfooDefaults defaults;
  if (node && node.IsScalar() && promptfoo_is_file_ref(node.Scalar())) {
    node = parse_yaml(import.source, promptfoo_read(import, node.Scalar(), node));
  }
  if (!node || !node.IsMap()) {
    return defaults;
  }
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    if (key == "assert") {
      defaults.asserts = promptfoo_assertions(import, item.second);
    } else if (key == "vars" && item.second.IsMap()) {
      for (const auto& var : item.second) {
        defaults.vars[var.first.Scalar()] = promptfoo_var_value(import, var.second);
      }
    } else {
      import.note(item.first, "unmapped-key", "defaultTest key '" + key + "' is left out");
    }
  }
  return defaults;
}

// Names for the prompts: their own (label or file), else the import's, numbered when several.
void promptfoo_name_prompts(std::vector<PromptfooPrompt>& prompts, const std::string& base) {
  std::set<std::string> taken;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::string name = prompts[i].name.empty() ? (prompts.size() == 1 ? base : base + "-" + std::to_string(i + 1))
                                               : prompts[i].name;
    for (int n = 2; taken.count(name) != 0; ++n) {
      name = prompts[i].name + "-" + std::to_string(n);
    }
    taken.insert(name);
    prompts[i].name = name;
  }
}

// The first provider is the prompt's model; each other one a column of its matrix.
void promptfoo_set_models(PromptDraft& draft, EvalDraft& eval, const std::vector<PromptfooProvider>& providers) {
  if (providers.empty()) {
    return;
  }
  draft.provider = providers.front().table;
  draft.model = providers.front().model;
  for (const auto& [key, value] : providers.front().params.items()) {
    draft.params[key] = value;
  }
  for (std::size_t i = 1; i < providers.size(); ++i) {
    const PromptfooProvider& provider = providers[i];
    nlohmann::json entry = {{"label", provider.label.empty() ? provider.model : provider.label},
                            {"model", provider.table + "/" + provider.model}};
    // A column's parameters are set over the prompt's (the first provider's).
    if (!provider.params.empty()) {
      entry["params"] = provider.params;
    }
    eval.matrix.push_back(std::move(entry));
  }
}

// promptfoo declares no variables; lint wants each one the templates use declared here: required,
// or with defaultTest's value as its default.
void promptfoo_declare_vars(PromptDraft& draft, const nlohmann::json& default_vars) {
  for (const auto& [role, content] : draft.messages) {
    for (const TemplateVariable& variable : analyze_template(content).variables) {
      if (variable.in_section || draft.find_var(variable.name) != nullptr ||
          variable.name.find_first_of(" |()+") != std::string::npos) {
        continue;
      }
      DraftVar var;
      var.name = variable.name;
      const auto value = default_vars.find(variable.name);
      if (value != default_vars.end() && (value->is_string() || value->is_number() || value->is_boolean())) {
        var.default_value = *value;
      } else {
        var.required = true;
      }
      draft.vars.push_back(std::move(var));
    }
  }
}

std::string promptfoo_dataset_text(const std::vector<nlohmann::json>& rows) {
  std::string text;
  for (const nlohmann::json& row : rows) {
    text += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return text;
}

void promptfoo_check_top_keys(PromptfooImport& import, const YAML::Node& root) {
  static const std::set<std::string> known = {"description", "prompts", "providers", "tests", "defaultTest"};
  for (const auto& item : root) {
    const std::string key = item.first.Scalar();
    if (known.count(key) == 0) {
      import.note(item.first, "unmapped-key",
                  key == "env" ? "env is left out (values from a file are never copied; set them in the environment)"
                               : "'" + key + "' is left out");
    }
  }
}

}  // namespace

ImportResult import_promptfoo(const ImportSource& source, const ImportOptions& options) {
  PromptfooImport import{source, options, {}};
  const YAML::Node root = parse_yaml(source, source.text);
  if (!root.IsMap()) {
    throw ConfigError(source.path + ":1: a promptfoo configuration is a mapping with prompts, providers and tests",
                      "name the promptfooconfig.yaml file");
  }
  try {
    promptfoo_check_top_keys(import, root);
    const std::string base = promptfoo_base_name(source, options);
    std::vector<PromptfooPrompt> prompts = promptfoo_prompts(import, root["prompts"]);
    if (prompts.empty()) {
      throw ConfigError(source.path + ":1: the configuration has no prompt this project can hold",
                        "add prompts (strings, file:// text or chat JSON)");
    }
    promptfoo_name_prompts(prompts, base);
    const std::vector<PromptfooProvider> providers = promptfoo_providers(import, root["providers"]);
    const PromptfooDefaults defaults = promptfoo_default_test(import, root["defaultTest"]);
    const std::vector<nlohmann::json> rows = promptfoo_tests(import, root["tests"]);
    const std::string dataset = rows.empty() ? "" : options.dataset_root + "/" + base + ".jsonl";
    const std::string description = root["description"] && root["description"].IsScalar() ? root["description"].Scalar() : "";
    for (const PromptfooPrompt& prompt : prompts) {
      PromptDraft draft;
      draft.description = prompt.label.empty() ? description : prompt.label;
      draft.messages = prompt.messages;
      EvalDraft eval{dataset, defaults.asserts, defaults.vars, nlohmann::json::array()};
      promptfoo_set_models(draft, eval, providers);
      promptfoo_declare_vars(draft, defaults.vars);
      import.result.files.push_back({options.prompt_root + "/" + prompt.name + ".toml",
                                     "# Imported from " + source.path + ":" + std::to_string(prompt.where.line) + ".\n" +
                                         prompt_draft_toml(draft) + eval_tables_text(eval),
                                     ImportedFile::Kind::create});
    }
    if (!rows.empty()) {
      import.result.files.push_back({dataset, promptfoo_dataset_text(rows), ImportedFile::Kind::create});
    }
    const std::string tables = promptfoo_config_tables(import, providers);
    if (!tables.empty()) {
      import.result.files.push_back({".promptops.toml", tables, ImportedFile::Kind::config});
    }
    std::stable_sort(import.result.notes.begin(), import.result.notes.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.where.line < b.where.line; });
  } catch (const YAML::Exception& error) {
    const Location where{source.path, error.mark.is_null() ? 0 : error.mark.line + 1, 0};
    throw ConfigError(where.format() + ": unexpected YAML: " + error.msg, "see git-promptops-import(1) for the keys read");
  }
  return std::move(import.result);
}

}  // namespace promptops::interop
