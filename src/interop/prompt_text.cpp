// SPDX-License-Identifier: MIT
// TOML text for imports: escaped strings, inline values and prompt files.
#include <cstdio>

#include "prompt_text.hpp"

namespace promptops::inline interop {

namespace {

std::string escaped_char(char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    default:
      break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7f) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "\\u%04X", byte);
    return buffer;
  }
  return std::string(1, c);
}

bool is_bare_key(std::string_view key) {
  if (key.empty()) {
    return false;
  }
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string toml_string(std::string_view text) {
  if (text.find('\n') == std::string_view::npos) {
    std::string out = "\"";
    for (const char c : text) {
      out += escaped_char(c);
    }
    return out + "\"";
  }
  std::string out = "\"\"\"\n";
  for (const char c : text) {
    out += c == '\n' || c == '\t' ? std::string(1, c) : escaped_char(c);
  }
  return out + "\"\"\"";
}

std::string toml_key(std::string_view key) { return is_bare_key(key) ? std::string(key) : toml_string(key); }

std::string toml_value(const nlohmann::json& value) {
  if (value.is_string()) {
    return toml_string(value.get_ref<const std::string&>());
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "true" : "false";
  }
  if (value.is_number_float()) {
    std::string number = value.dump();
    return number.find_first_of(".eE") == std::string::npos ? number + ".0" : number;
  }
  if (value.is_number()) {
    return value.dump();
  }
  if (value.is_array()) {
    std::string out = "[";
    for (const nlohmann::json& item : value) {
      out += (out.size() > 1 ? ", " : "") + toml_value(item);
    }
    return out + "]";
  }
  if (value.is_object()) {
    if (value.empty()) {
      return "{}";
    }
    std::string out = "{ ";
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      if (item.is_null()) {
        continue;
      }
      out += (first ? "" : ", ") + toml_key(key) + " = " + toml_value(item);
      first = false;
    }
    return out + " }";
  }
  return "\"\"";
}

std::string eval_tables_text(const EvalDraft& draft) {
  if (draft.dataset.empty() && draft.asserts.empty() && draft.default_vars.empty() && draft.matrix.empty()) {
    return "";
  }
  std::string out = "\n[eval]\n";
  if (!draft.dataset.empty()) {
    out += "dataset = " + toml_string(draft.dataset) + "\n";
  }
  if (!draft.asserts.empty()) {
    out += "assert = [\n";
    for (const nlohmann::json& assertion : draft.asserts) {
      out += "  " + toml_value(assertion) + ",\n";
    }
    out += "]\n";
  }
  if (!draft.default_vars.empty()) {
    out += "default_vars = " + toml_value(draft.default_vars) + "\n";
  }
  for (const nlohmann::json& entry : draft.matrix) {
    out += "\n[[eval.matrix]]\n";
    for (const auto& [key, value] : entry.items()) {
      out += toml_key(key) + " = " + toml_value(value) + "\n";
    }
  }
  return out;
}

}  // namespace promptops::interop
