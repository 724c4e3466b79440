// SPDX-License-Identifier: MIT
// Reading toml++ trees into promptops values while collecting diagnostics.
#include <promptops/config/toml_reader.hpp>

#include <algorithm>
#include <sstream>

#include <promptops/util/strings.hpp>

namespace promptops::inline config {

namespace {

bool is_bare_key(std::string_view key) {
  if (key.empty()) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool before(const toml::source_position& a, const toml::source_position& b) {
  if (a.line != b.line) {
    return a.line < b.line;
  }
  return a.column < b.column;
}

template <class T>
std::string streamed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// toml++'s "Error while parsing array: encountered end-of-file" in house style:
// "invalid array: encountered end-of-file".
std::string syntax_message(std::string_view description) {
  constexpr std::string_view k_prefix = "Error while parsing ";
  std::string out(description);
  if (description.substr(0, k_prefix.size()) == k_prefix) {
    out = "invalid " + std::string(description.substr(k_prefix.size()));
  } else if (!out.empty() && out.front() >= 'A' && out.front() <= 'Z') {
    out.front() = static_cast<char>(out.front() - 'A' + 'a');
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '\n')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::vector<Entry> in_file_order(const toml::table& table) {
  std::vector<Entry> entries;
  entries.reserve(table.size());
  for (const auto& [key, node] : table) {
    entries.push_back(Entry{&key, &node});
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return before(a.key->source().begin, b.key->source().begin);
  });
  return entries;
}

std::string key_path(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  if (is_bare_key(key)) {
    out += key;
  } else {
    out += '"';
    out += util::replace_all(std::string(key), "\"", "\\\"");
    out += '"';
  }
  return out;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

nlohmann::json to_json(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : *table) {
      out[std::string(key.str())] = to_json(value);
    }
    return out;
  }
  if (const auto* array = node.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : *array) {
      out.push_back(to_json(item));
    }
    return out;
  }
  if (const auto* text = node.as_string()) {
    return text->get();
  }
  if (const auto* integer = node.as_integer()) {
    return integer->get();
  }
  if (const auto* number = node.as_floating_point()) {
    return number->get();
  }
  if (const auto* flag = node.as_boolean()) {
    return flag->get();
  }
  if (const auto* date = node.as_date()) {
    return streamed(date->get());
  }
  if (const auto* time = node.as_time()) {
    return streamed(time->get());
  }
  if (const auto* date_time = node.as_date_time()) {
    return streamed(date_time->get());
  }
  return nullptr;
}

std::optional<toml::table> parse_toml(std::string_view text, const std::string& path,
                                      std::vector<Diagnostic>& out, int line_offset) {
  try {
    return toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    Diagnostic d;
    d.where.file = path;
    d.where.line = static_cast<int>(e.source().begin.line);
    d.where.column = static_cast<int>(e.source().begin.column);
    if (d.where.line > 0) {
      d.where.line += line_offset;
    }
    d.code = "syntax-error";
    d.message = syntax_message(e.description());
    out.push_back(std::move(d));
    return std::nullopt;
  }
}

void sort_by_location(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.where.line != b.where.line) {
      return a.where.line < b.where.line;
    }
    return a.where.column < b.where.column;
  });
}

TomlReader::TomlReader(std::string path, std::vector<Diagnostic>& out, int line_offset)
    : m_path(std::move(path)), m_out(out), m_line_offset(line_offset) {}

Location TomlReader::where(const toml::source_region& region) const {
  Location location;
  location.file = m_path;
  location.line = static_cast<int>(region.begin.line);
  location.column = static_cast<int>(region.begin.column);
  if (location.line > 0) {
    location.line += m_line_offset;
  } else {
    location.column = 0;
  }
  return location;
}

void TomlReader::report(Severity severity, const toml::source_region& region, std::string code,
                        std::string message, std::string hint) {
  Diagnostic d;
  d.severity = severity;
  d.where = where(region);
  d.code = std::move(code);
  d.message = std::move(message);
  d.hint = std::move(hint);
  m_out.push_back(std::move(d));
}

void TomlReader::wrong_type(const toml::node& node, std::string_view path, std::string_view expected) {
  report(Severity::error, node.source(), "invalid-value",
         "'" + std::string(path) + "' must be " + std::string(expected) + ", not " + type_name(node));
}

void TomlReader::bad_value(const toml::node& node, std::string_view path, std::string_view expected,
                           std::string hint) {
  report(Severity::error, node.source(), "invalid-value",
         "'" + std::string(path) + "' must be " + std::string(expected), std::move(hint));
}

void TomlReader::check_keys(const toml::table& table, const std::vector<std::string>& valid,
                            std::string_view in_what) {
  for (const Entry& entry : in_file_order(table)) {
    const std::string_view key = entry.key->str();
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) {
      continue;
    }
    std::string message = "unknown key '" + std::string(key) + "'";
    if (!in_what.empty()) {
      message += " in " + std::string(in_what);
    }
    const std::string suggestion = did_you_mean(key, valid);
    std::string hint = suggestion.empty() ? "expected one of: " + util::join(valid, ", ")
                                          : "did you mean '" + suggestion + "'?";
    report(Severity::error, entry.key->source(), "unknown-key", std::move(message), std::move(hint));
  }
}

std::optional<std::string> TomlReader::get_string(const toml::table& table, std::string_view key,
                                                  std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  if (const auto* text = node->as_string()) {
    return text->get();
  }
  wrong_type(*node, key_path(parent, key), "a string");
  return std::nullopt;
}

std::optional<bool> TomlReader::get_bool(const toml::table& table, std::string_view key,
                                         std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  if (const auto* flag = node->as_boolean()) {
    return flag->get();
  }
  wrong_type(*node, key_path(parent, key), "a boolean (true or false)");
  return std::nullopt;
}

std::optional<std::int64_t> TomlReader::get_integer(const toml::table& table, std::string_view key,
                                                    std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  if (const auto* integer = node->as_integer()) {
    return integer->get();
  }
  wrong_type(*node, key_path(parent, key), "an integer");
  return std::nullopt;
}

std::optional<double> TomlReader::get_number(const toml::table& table, std::string_view key,
                                             std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  if (const auto* integer = node->as_integer()) {
    return static_cast<double>(integer->get());
  }
  if (const auto* number = node->as_floating_point()) {
    return number->get();
  }
  wrong_type(*node, key_path(parent, key), "a number");
  return std::nullopt;
}

std::optional<std::vector<std::string>> TomlReader::get_string_array(const toml::table& table,
                                                                     std::string_view key,
                                                                     std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    wrong_type(*node, key_path(parent, key), "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : *array) {
    if (const auto* text = item.as_string()) {
      out.push_back(text->get());
    } else {
      wrong_type(item, key_path(parent, key), "an array of strings");
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

const toml::table* TomlReader::get_table(const toml::table& table, std::string_view key,
                                         std::string_view parent) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return nullptr;
  }
  if (const auto* inner = node->as_table()) {
    return inner;
  }
  wrong_type(*node, key_path(parent, key), "a table");
  return nullptr;
}

ModelSpec TomlReader::read_model(const toml::table& table, std::string_view path) {
  ModelSpec model;
  model.where = where(table.source());
  for (const Entry& entry : in_file_order(table)) {
    const std::string key(entry.key->str());
    if (key == "provider" || key == "name") {
      const auto* text = entry.node->as_string();
      if (text == nullptr) {
        wrong_type(*entry.node, key_path(path, key), "a string");
      } else if (text->get().empty()) {
        bad_value(*entry.node, key_path(path, key), "a non-empty string");
      } else {
        (key == "provider" ? model.provider : model.name) = text->get();
      }
    } else {
      model.params[key] = to_json(*entry.node);
    }
  }
  return model;
}

std::map<std::string, double> TomlReader::read_thresholds(const toml::node& node, std::string_view path,
                                                          bool non_negative) {
  std::map<std::string, double> out;
  const auto* table = node.as_table();
  if (table == nullptr) {
    wrong_type(node, path, "a table of metric thresholds such as { accuracy = 0.9 }");
    return out;
  }
  for (const Entry& entry : in_file_order(*table)) {
    const std::string metric(entry.key->str());
    double value = 0;
    if (const auto* integer = entry.node->as_integer()) {
      value = static_cast<double>(integer->get());
    } else if (const auto* number = entry.node->as_floating_point()) {
      value = number->get();
    } else {
      wrong_type(*entry.node, key_path(path, metric), "a number");
      continue;
    }
    if (non_negative && !(value >= 0)) {
      bad_value(*entry.node, key_path(path, metric), "a number of at least 0");
      continue;
    }
    out[metric] = value;
  }
  return out;
}

GateSpec TomlReader::read_gate(const toml::table& table, std::string_view path) {
  GateSpec gate;
  gate.where = where(table.source());
  check_keys(table, {"min", "max_drop", "confidence"}, "[" + std::string(path) + "]");
  if (const toml::node* min = table.get("min")) {
    gate.min = read_thresholds(*min, key_path(path, "min"), false);
  }
  if (const toml::node* max_drop = table.get("max_drop")) {
    gate.max_drop = read_thresholds(*max_drop, key_path(path, "max_drop"), true);
  }
  if (const auto confidence = get_number(table, "confidence", path)) {
    if (*confidence > 0 && *confidence < 1) {
      gate.confidence = *confidence;
      gate.confidence_set = true;
    } else {
      bad_value(*table.get("confidence"), key_path(path, "confidence"),
                "a number between 0 and 1 (exclusive)", "for example confidence = 0.95");
    }
  }
  return gate;
}

const std::vector<std::string>& message_roles() {
  static const std::vector<std::string> roles{"system", "user", "assistant"};
  return roles;
}

std::vector<MatrixEntry> TomlReader::read_matrix(const toml::node& node, std::string_view path, bool own_prompt) {
  std::vector<MatrixEntry> entries;
  const auto* array = node.as_array();
  if (array == nullptr) {
    wrong_type(node, path, "an array of tables ([[eval.matrix]])");
    return entries;
  }
  for (const auto& item : *array) {
    const auto* table = item.as_table();
    if (table == nullptr) {
      wrong_type(item, path, "an array of tables ([[eval.matrix]])");
    } else if (std::optional<MatrixEntry> entry = read_matrix_entry(*table, path, own_prompt)) {
      entries.push_back(std::move(*entry));
    }
  }
  return entries;
}

// One [[eval.matrix]] table; nullopt when it has an error or varies nothing.
std::optional<MatrixEntry> TomlReader::read_matrix_entry(const toml::table& table, std::string_view path,
                                                         bool own_prompt) {
  static const std::vector<std::string> keys{"label", "model", "params", "variant", "messages", "template"};
  const std::size_t errors_before = m_out.size();
  check_keys(table, keys, "[[" + std::string(path) + "]]");
  MatrixEntry entry;
  entry.where = where(table.source());
  entry.label = get_string(table, "label", path).value_or("");
  for (const char* key : {"model", "variant"}) {
    if (std::optional<std::string> text = get_string(table, key, path)) {
      if (text->empty()) {
        bad_value(*table.get(key), key_path(path, key), "a non-empty string");
      }
      (std::string_view(key) == "model" ? entry.model : entry.variant) = std::move(*text);
    }
  }
  if (const toml::table* params = get_table(table, "params", path)) {
    entry.params = to_json(*params);
  }
  const toml::node* messages = table.get("messages");
  const toml::node* body = table.get("template");
  if ((messages != nullptr || body != nullptr) && !own_prompt) {
    bad_value(messages != nullptr ? *messages : *body, key_path(path, messages != nullptr ? "messages" : "template"),
              "in a prompt's own [[eval.matrix]]",
              "messages replace one prompt's; .promptops.toml's entries vary every prompt");
  } else if (messages != nullptr && body != nullptr) {
    report(Severity::error, messages->source(), "template-and-messages",
           "a [[" + std::string(path) + "]] entry has both 'template' and 'messages'",
           "use template for one user message or messages for a conversation, not both");
  } else if (messages != nullptr) {
    entry.messages = read_matrix_messages(*messages, key_path(path, "messages"));
  } else if (std::optional<std::string> text = get_string(table, "template", path)) {
    entry.messages.emplace_back("user", std::move(*text));
  }
  if (m_out.size() != errors_before) {
    return std::nullopt;
  }
  if (entry.model.empty() && entry.params.empty() && entry.variant.empty() && entry.messages.empty()) {
    report(Severity::error, table.source(), "invalid-value",
           "a [[" + std::string(path) + "]] entry varies nothing: it would repeat the base column",
           own_prompt ? "give it a model, params, a variant or messages" : "give it a model, params or a variant");
    return std::nullopt;
  }
  return entry;
}

// messages = [{ role = "system", content = "..." }, ...] in a matrix entry: (role, content) pairs.
std::vector<std::pair<std::string, std::string>> TomlReader::read_matrix_messages(const toml::node& node,
                                                                                  std::string_view path) {
  std::vector<std::pair<std::string, std::string>> messages;
  const auto* array = node.as_array();
  if (array == nullptr) {
    wrong_type(node, path, "an array of tables such as [{ role = \"system\", content = \"...\" }]");
    return messages;
  }
  if (array->empty()) {
    bad_value(node, path, "a non-empty array: one table per message");
    return messages;
  }
  for (const auto& item : *array) {
    const auto* table = item.as_table();
    if (table == nullptr) {
      wrong_type(item, path, "an array of tables such as [{ role = \"system\", content = \"...\" }]");
      continue;
    }
    check_keys(*table, {"role", "content"}, std::string(path));
    const std::optional<std::string> role = get_string(*table, "role", path);
    const std::optional<std::string> content = get_string(*table, "content", path);
    if (!role || !content) {
      report(Severity::error, table->source(), "missing-key", "a message of '" + std::string(path) +
                                                                  "' needs a role and a content string",
             "write { role = \"system\", content = \"...\" }");
    } else if (std::find(message_roles().begin(), message_roles().end(), *role) == message_roles().end()) {
      bad_value(*table->get("role"), key_path(path, "role"), "system, user or assistant");
    } else {
      messages.emplace_back(*role, *content);
    }
  }
  return messages;
}

}  // namespace promptops::config
