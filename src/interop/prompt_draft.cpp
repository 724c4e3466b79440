// SPDX-License-Identifier: MIT
// Imported prompts as TOML prompt files, and the small mappings the one-prompt formats share.
#include "prompt_draft.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <tuple>
#include <utility>

#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include "yaml_source.hpp"

namespace promptops::inline interop {

namespace {

bool draft_is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return util::is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

void draft_escape_char(std::string& out, char c) {
  switch (c) {
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\r':
      out += "\\r";
      return;
    default:
      break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7F) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "\\u%04X", byte);
    out += buffer;
  } else {
    out += c;
  }
}

// A TOML basic string; a text with line breaks as a multi-line string whose first line break
// TOML trims, so the content reads as written.
std::string draft_toml_string(std::string_view text) {
  std::string out;
  if (text.find('\n') == std::string_view::npos) {
    out = "\"";
    for (const char c : text) {
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        draft_escape_char(out, c);
      }
    }
    return out + "\"";
  }
  out = "\"\"\"\n";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      // Never three quotes in a row, and none right before the closing delimiter.
      out += (i + 1 == text.size() || text[i + 1] == '"') ? "\\\"" : "\"";
    } else if (c == '\n' || c == '\t') {
      out += c;
    } else {
      draft_escape_char(out, c);
    }
  }
  return out + "\"\"\"";
}

std::string draft_toml_key(std::string_view key) { return draft_is_bare_key(key) ? std::string(key) : draft_toml_string(key); }

std::string draft_toml_value(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return draft_toml_string(value.get<std::string>());
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return value.dump();
    case nlohmann::json::value_t::number_float: {
      std::string text = value.dump();
      if (text.find_first_of(".eE") == std::string::npos) {
        text += ".0";
      }
      return text;
    }
    case nlohmann::json::value_t::array: {
      std::vector<std::string> items;
      for (const auto& item : value) {
        items.push_back(draft_toml_value(item));
      }
      return "[" + util::join(items, ", ") + "]";
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::string> items;
      for (const auto& [key, item] : value.items()) {
        items.push_back(draft_toml_key(key) + " = " + draft_toml_value(item));
      }
      return items.empty() ? "{}" : "{ " + util::join(items, ", ") + " }";
    }
    default:
      return "\"\"";
  }
}

struct ParamName {
  std::string_view camel;
  std::string_view snake;
};

constexpr std::array<ParamName, 7> k_draft_param_names{{
    {"maxOutputTokens", "max_tokens"},
    {"topP", "top_p"},
    {"topK", "top_k"},
    {"stopSequences", "stop"},
    {"presencePenalty", "presence_penalty"},
    {"frequencyPenalty", "frequency_penalty"},
    {"temperature", "temperature"},
}};

}  // namespace

DraftVar* PromptDraft::find_var(std::string_view name) {
  const auto it = std::find_if(vars.begin(), vars.end(), [&](const DraftVar& v) { return v.name == name; });
  return it == vars.end() ? nullptr : &*it;
}

std::string prompt_draft_toml(const PromptDraft& draft) {
  std::string out;
  if (!draft.description.empty()) {
    out += "description = " + draft_toml_string(draft.description) + "\n";
  }
  if (!draft.tags.empty()) {
    out += "tags = " + draft_toml_value(nlohmann::ordered_json(draft.tags)) + "\n";
  }
  // A lone user message is `template`, a root key: it must come before the first table.
  const bool one_template = draft.messages.size() == 1 && draft.messages.front().first == "user";
  if (one_template) {
    out += "template = " + draft_toml_string(draft.messages.front().second) + "\n";
  }
  const auto section = [&out](const std::string& header) {
    if (!out.empty()) {
      out += "\n";
    }
    out += header + "\n";
  };
  if (!draft.provider.empty() || !draft.model.empty() || !draft.params.empty()) {
    section("[model]");
    if (!draft.provider.empty()) {
      out += "provider = " + draft_toml_string(draft.provider) + "\n";
    }
    if (!draft.model.empty()) {
      out += "name = " + draft_toml_string(draft.model) + "\n";
    }
    for (const auto& [key, value] : draft.params.items()) {
      out += draft_toml_key(key) + " = " + draft_toml_value(value) + "\n";
    }
  }
  if (!draft.vars.empty()) {
    section("[vars]");
    for (const DraftVar& var : draft.vars) {
      nlohmann::ordered_json spec = nlohmann::ordered_json::object();
      if (var.required) {
        spec["required"] = true;
      }
      if (!var.default_value.is_null()) {
        spec["default"] = var.default_value;
      }
      if (!var.description.empty()) {
        spec["description"] = var.description;
      }
      if (spec.empty()) {
        spec["required"] = false;
      }
      out += draft_toml_key(var.name) + " = " + draft_toml_value(spec) + "\n";
    }
  }
  if (!one_template) {
    for (const auto& [role, content] : draft.messages) {
      section("[[messages]]");
      out += "role = " + draft_toml_string(role) + "\n";
      out += "content = " + draft_toml_string(content) + "\n";
    }
  }
  return out;
}

void draft_sort_params(PromptDraft& draft) {
  std::vector<std::string> keys;
  for (const auto& item : draft.params.items()) {
    keys.push_back(item.key());
  }
  std::sort(keys.begin(), keys.end());
  nlohmann::ordered_json sorted = nlohmann::ordered_json::object();
  for (const std::string& key : keys) {
    sorted[key] = draft.params[key];
  }
  draft.params = std::move(sorted);
}

void draft_sort_notes(std::vector<Diagnostic>& notes) {
  std::stable_sort(notes.begin(), notes.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line) < std::tie(b.where.file, b.where.line);
  });
}

bool is_draft_prompt_name(std::string_view name) {
  if (name.empty() || name.size() > 200) {
    return false;
  }
  for (const std::string& part : util::split(name, '/')) {
    if (part.empty() || part == "." || part == ".." || part.front() == '.') {
      return false;
    }
    const bool ok = std::all_of(part.begin(), part.end(), [](char c) {
      return util::is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' ||
             c == '.';
    });
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string draft_prompt_name(const ImportSource& source, const ImportOptions& options, const std::string& preferred,
                              const Location& preferred_where, std::string_view extension,
                              std::vector<Diagnostic>& notes) {
  if (!options.name.empty()) {
    if (!is_draft_prompt_name(options.name)) {
      throw UsageError("invalid prompt name '" + options.name + "'",
                       "use letters, digits, '.', '_' and '-', with '/' between directories");
    }
    return options.name;
  }
  std::string stem = std::filesystem::path(source.path).filename().string();
  if (stem.ends_with(extension) && stem.size() > extension.size()) {
    stem.resize(stem.size() - extension.size());
  }
  if (!preferred.empty()) {
    if (is_draft_prompt_name(preferred)) {
      return preferred;
    }
    notes.push_back(import_note(preferred_where, "name-not-kept",
                                "name '" + preferred + "' cannot name a prompt file: the prompt is named '" + stem + "'",
                                "give the prompt another name when importing it"));
  }
  if (!is_draft_prompt_name(stem)) {
    throw UsageError("'" + source.path + "' gives no usable prompt name", "give the prompt a name when importing it");
  }
  return stem;
}

std::string draft_param_from_camel(std::string_view name) {
  for (const ParamName& entry : k_draft_param_names) {
    if (entry.camel == name) {
      return std::string(entry.snake);
    }
  }
  return {};
}

std::string draft_param_to_camel(std::string_view name) {
  for (const ParamName& entry : k_draft_param_names) {
    if (entry.snake == name) {
      return std::string(entry.camel);
    }
  }
  return {};
}

bool draft_is_openai_param(std::string_view name) {
  constexpr std::array<std::string_view, 8> k_names{"max_tokens", "temperature",       "top_p",           "stop",
                                                    "seed",       "frequency_penalty", "presence_penalty", "response_format"};
  return std::find(k_names.begin(), k_names.end(), name) != k_names.end();
}

nlohmann::json draft_yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const YAML::Node& item : node) {
        out.push_back(draft_yaml_to_json(item));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& item : node) {
        out[item.first.Scalar()] = draft_yaml_to_json(item.second);
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") {  // quoted: a string whatever it reads as
        return text;
      }
      if (text == "true" || text == "True" || text == "TRUE") {
        return true;
      }
      if (text == "false" || text == "False" || text == "FALSE") {
        return false;
      }
      if (text == "null" || text == "~") {
        return nullptr;
      }
      if (!text.empty() && text.find_first_not_of("+-0123456789") == std::string::npos &&
          text.find_first_of("0123456789") != std::string::npos && text.find_first_of("+-", 1) == std::string::npos) {
        try {
          return std::stoll(text);
        } catch (const std::exception&) {
          return text;
        }
      }
      if (!text.empty() && text.find_first_not_of("+-.0123456789eE") == std::string::npos &&
          text.find_first_of("0123456789") != std::string::npos) {
        try {
          std::size_t used = 0;
          const double value = std::stod(text, &used);
          if (used == text.size()) {
            return value;
          }
        } catch (const std::exception&) {
          return text;
        }
      }
      return text;
    }
    default:
      return nullptr;
  }
}

namespace {

// A string that a YAML reader would take for a number, boolean or null, or that is empty.
bool draft_needs_quotes(const std::string& text) {
  if (text.empty()) {
    return true;
  }
  YAML::Node probe(text);
  return !draft_yaml_to_json(probe).is_string();
}

void draft_emit(YAML::Emitter& emitter, const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      emitter << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        emitter << YAML::Key << key << YAML::Value;
        draft_emit(emitter, item);
      }
      emitter << YAML::EndMap;
      return;
    case nlohmann::json::value_t::array:
      emitter << YAML::BeginSeq;
      for (const auto& item : value) {
        draft_emit(emitter, item);
      }
      emitter << YAML::EndSeq;
      return;
    case nlohmann::json::value_t::string: {
      const std::string text = value.get<std::string>();
      // Leading or trailing white space (a stop sequence "\n\n") survives only in quotes.
      if (draft_needs_quotes(text) || util::trim(text) != text) {
        emitter << YAML::DoubleQuoted << text;
      } else if (text.find('\n') != std::string::npos) {
        emitter << YAML::Literal << text;
      } else {
        emitter << text;
      }
      return;
    }
    case nlohmann::json::value_t::boolean:
      emitter << (value.get<bool>() ? "true" : "false");
      return;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      emitter << value.dump();
      return;
    default:
      emitter << YAML::Null;
      return;
  }
}

}  // namespace

YAML::Node draft_get(const YAML::Node& node, const std::string& key) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      if (item.first.IsScalar() && item.first.Scalar() == key) {
        return item.second;
      }
    }
  }
  return YAML::Node();
}

FrontMatter draft_split_front_matter(const ImportSource& source) {
  FrontMatter out;
  const std::string_view text = source.text;
  const std::size_t bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::size_t next = 0;
  if (util::line_at(text, bom, next) != "---") {
    out.body = std::string(text.substr(bom));
    return out;
  }
  std::size_t pos = next;
  int line = 2;
  while (pos < text.size()) {
    std::size_t after = 0;
    if (util::line_at(text, pos, after) == "---") {
      out.present = true;
      out.yaml = std::string(text.substr(next, pos - next));
      out.yaml_line = 2;
      out.body = std::string(text.substr(after));
      out.body_line = line + 1;
      return out;
    }
    pos = after;
    ++line;
  }
  throw ConfigError(Location{source.path, 1, 0}.format() + ": front matter is not closed",
                    "end it with a line that holds only ---");
}

std::string draft_front_matter_text(const nlohmann::ordered_json& front) {
  if (front.empty()) {
    return {};
  }
  YAML::Emitter emitter;
  emitter.SetIndent(2);
  draft_emit(emitter, front);
  const std::string text = emitter.c_str();
  return "---\n" + text + "\n---\n";
}

std::string draft_trim(std::string_view text) {
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size() && util::is_ascii_space(text[i]); ++i) {
    if (text[i] == '\n') {
      begin = i + 1;
    }
  }
  if (begin < text.size() && util::trim(text.substr(begin)).empty()) {
    begin = text.size();
  }
  std::size_t end = text.size();
  while (end > begin && util::is_ascii_space(text[end - 1])) {
    --end;
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace promptops::interop
