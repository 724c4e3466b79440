// SPDX-License-Identifier: MIT
// Prompt files: TOML prompts, text prompts with +++ front matter, and rendering their messages.
#include <promptops/prompt/prompt.hpp>

#include <algorithm>

#include <promptops/util/error.hpp>
#include <promptops/prompt/template.hpp>

#include <promptops/config/toml_reader.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

namespace {

using config::Entry;
using config::TomlReader;

const std::vector<std::string> k_prompt_keys{"description", "tags", "template", "messages",
                                             "model",       "vars", "eval",     "gate"};
const std::vector<std::string> k_front_matter_keys{"description", "tags", "model", "vars", "eval", "gate"};
const std::vector<std::string> k_message_keys{"role", "content"};
const std::vector<std::string>& k_roles = config::message_roles();
const std::vector<std::string> k_var_keys{"required", "default", "description"};

// Byte offsets in one file <-> 1-based line and column; columns count code points, as toml++ does.
class FileText {
 public:
  explicit FileText(std::string_view text) : m_text(text) {
    m_starts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        m_starts.push_back(i + 1);
      }
    }
  }

  std::string_view text() const { return m_text; }

  std::size_t offset(int line, int column) const {
    if (line < 1 || static_cast<std::size_t>(line) > m_starts.size() || column < 1) {
      return std::string_view::npos;
    }
    std::size_t at = m_starts[static_cast<std::size_t>(line) - 1];
    for (int i = 1; i < column && at < m_text.size(); ++i) {
      ++at;
      while (at < m_text.size() && (static_cast<unsigned char>(m_text[at]) & 0xC0) == 0x80) {
        ++at;
      }
    }
    return at;
  }

  Location location(const std::string& path, std::size_t offset) const {
    offset = std::min(offset, m_text.size());
    const auto it = std::upper_bound(m_starts.begin(), m_starts.end(), offset);
    const auto line = static_cast<std::size_t>(it - m_starts.begin()) - 1;
    const std::size_t start = m_starts[line];
    const auto column = util::utf8_length(m_text.substr(start, offset - start)) + 1;
    return Location{path, static_cast<int>(line + 1), static_cast<int>(column)};
  }

 private:
  std::string_view m_text;
  std::vector<std::size_t> m_starts;
};

// Where a TOML string's content starts in the file. `exact` when the file holds the content
// verbatim there (no escapes), so that positions inside the content map onto the file.
struct ContentStart {
  std::size_t offset = std::string_view::npos;
  bool exact = false;
};

ContentStart content_start(const FileText& file, const toml::node& node, std::string_view content) {
  ContentStart out;
  std::size_t at =
      file.offset(static_cast<int>(node.source().begin.line), static_cast<int>(node.source().begin.column));
  if (at == std::string_view::npos) {
    return out;
  }
  const std::string_view text = file.text();
  const std::string_view rest = text.substr(at);
  if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
    at += 3;
    // TOML trims a newline right after the opening delimiter.
    if (text.substr(at).starts_with("\r\n")) {
      at += 2;
    } else if (text.substr(at).starts_with("\n")) {
      at += 1;
    }
  } else if (rest.starts_with("\"") || rest.starts_with("'")) {
    at += 1;
  } else {
    return out;
  }
  out.offset = at;
  out.exact = text.substr(at, content.size()) == content;
  return out;
}

// Byte offset in `text` of a 1-based line and byte column.
std::size_t offset_in(std::string_view text, int line, int column) {
  std::size_t at = 0;
  for (int i = 1; i < line; ++i) {
    const std::size_t newline = text.find('\n', at);
    if (newline == std::string_view::npos) {
      return text.size();
    }
    at = newline + 1;
  }
  return std::min(text.size(), at + static_cast<std::size_t>(std::max(column, 1) - 1));
}

void check_template(std::vector<Diagnostic>& out, const std::string& path, const FileText& file,
                    std::string_view content, ContentStart start, const Location& fallback) {
  const TemplateInfo info = analyze_template(content);
  if (info.error.empty()) {
    return;
  }
  Diagnostic d;
  d.code = "template-syntax";
  d.message = "template syntax error: " + info.error;
  if (start.offset != std::string_view::npos && start.exact) {
    d.where = file.location(path, start.offset + offset_in(content, info.error_line, info.error_column));
  } else if (start.offset != std::string_view::npos) {
    d.where = file.location(path, start.offset);
  } else {
    d.where = fallback;
  }
  out.push_back(std::move(d));
}

// A var's default written as a string, number or boolean, as text.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (const auto* text = node.as_string()) {
    return text->get();
  }
  if (const auto* integer = node.as_integer()) {
    return std::to_string(integer->get());
  }
  if (const auto* number = node.as_floating_point()) {
    return nlohmann::json(number->get()).dump();
  }
  if (const auto* flag = node.as_boolean()) {
    return std::string(flag->get() ? "true" : "false");
  }
  return std::nullopt;
}

// Mustache cannot look up names with dots or spaces, or that start like a tag type.
bool is_template_name(std::string_view name) {
  if (name.empty() || std::string_view("#^/!>&=").find(name.front()) != std::string_view::npos) {
    return false;
  }
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '.' || c == '{' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
  });
}

void read_vars(TomlReader& reader, const toml::table& table, Prompt& prompt) {
  for (const Entry& entry : config::in_file_order(table)) {
    VarSpec var;
    var.name = std::string(entry.key->str());
    var.where = reader.where(entry.key->source());
    const std::string path = config::key_path("vars", var.name);
    if (!is_template_name(var.name)) {
      reader.report(Severity::error, entry.key->source(), "invalid-value",
                    "variable name '" + var.name + "' cannot be used in a template",
                    "use letters, digits, '_' and '-'");
    }
    if (const auto* spec = entry.node->as_table()) {
      reader.check_keys(*spec, k_var_keys, "[" + path + "]");
      if (const auto required = reader.get_bool(*spec, "required", path)) {
        var.required = *required;
      }
      if (const toml::node* value = spec->get("default")) {
        if (auto text = scalar_text(*value)) {
          var.default_value = std::move(text);
        } else {
          reader.wrong_type(*value, config::key_path(path, "default"), "a string");
        }
      }
      if (auto description = reader.get_string(*spec, "description", path)) {
        var.description = std::move(*description);
      }
    } else if (auto text = scalar_text(*entry.node)) {
      var.default_value = std::move(text);
    } else {
      reader.wrong_type(*entry.node, path, "a table such as { required = true } or a default string");
    }
    prompt.vars.push_back(std::move(var));
  }
}

void read_eval(TomlReader& reader, const toml::table& table, Prompt& prompt) {
  EvalSpec& eval = prompt.eval;
  eval.present = true;
  eval.raw = config::to_json(table);
  eval.where = reader.where(table.source());
  // Other keys (repeat, threshold, judge...) belong to the evaluation engine: kept in `raw`.
  if (auto dataset = reader.get_string(table, "dataset", "eval")) {
    eval.dataset = std::move(*dataset);
  }
  if (auto metric = reader.get_string(table, "metric", "eval")) {
    eval.metric = std::move(*metric);
  }
  if (const toml::node* defaults = table.get("default_vars")) {
    if (const auto* vars = defaults->as_table()) {
      eval.default_vars = config::to_json(*vars);
    } else {
      reader.wrong_type(*defaults, "eval.default_vars", "a table such as { scope = \"cards\" }");
    }
  }
  if (const toml::node* matrix = table.get("matrix")) {
    eval.matrix = reader.read_matrix(*matrix, "eval.matrix", true);
  }
  if (const toml::node* asserts = table.get("assert")) {
    const auto* array = asserts->as_array();
    if (array == nullptr) {
      reader.wrong_type(*asserts, "eval.assert",
                        "an array of tables such as [{ type = \"equals\", value = \"{{expected}}\" }]");
      return;
    }
    bool ok = true;
    for (const auto& item : *array) {
      if (!item.is_table()) {
        reader.wrong_type(item, "eval.assert", "an array of tables");
        ok = false;
      }
    }
    if (ok) {
      eval.asserts = config::to_json(*array);
    }
  }
}

// The keys that TOML prompts and front matter share.
void read_common(TomlReader& reader, const toml::table& root, Prompt& prompt) {
  if (auto description = reader.get_string(root, "description", "")) {
    prompt.description = std::move(*description);
  }
  if (auto tags = reader.get_string_array(root, "tags", "")) {
    prompt.tags = std::move(*tags);
  }
  if (const toml::table* model = reader.get_table(root, "model", "")) {
    prompt.model = reader.read_model(*model, "model");
  }
  if (const toml::table* vars = reader.get_table(root, "vars", "")) {
    read_vars(reader, *vars, prompt);
  }
  if (const toml::table* eval = reader.get_table(root, "eval", "")) {
    read_eval(reader, *eval, prompt);
  }
  if (const toml::table* gate = reader.get_table(root, "gate", "")) {
    prompt.gate = reader.read_gate(*gate, "gate");
  }
}

Diagnostic no_template(const std::string& path, std::string message, std::string hint) {
  Diagnostic d;
  d.where.file = path;
  d.code = "no-template";
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::vector<Message> read_messages(TomlReader& reader, const FileText& file, const toml::node& node,
                                   std::vector<Diagnostic>& out) {
  std::vector<Message> messages;
  const auto* array = node.as_array();
  if (array == nullptr) {
    reader.wrong_type(node, "messages", "an array of tables ([[messages]])");
    return messages;
  }
  int number = 0;
  for (const auto& item : *array) {
    ++number;
    const auto* table = item.as_table();
    if (table == nullptr) {
      reader.wrong_type(item, "messages", "an array of tables ([[messages]])");
      continue;
    }
    reader.check_keys(*table, k_message_keys, "[[messages]]");
    Message message;
    message.where = reader.where(table->source());
    bool ok = true;
    if (const auto role = reader.get_string(*table, "role", "messages")) {
      if (std::find(k_roles.begin(), k_roles.end(), *role) != k_roles.end()) {
        message.role = *role;
      } else {
        const std::string suggestion = did_you_mean(*role, k_roles);
        reader.report(
            Severity::error, table->get("role")->source(), "invalid-role", "unknown role '" + *role + "'",
            suggestion.empty() ? "expected system, user or assistant" : "did you mean '" + suggestion + "'?");
        ok = false;
      }
    } else {
      ok = false;
      if (table->get("role") == nullptr) {
        reader.report(Severity::error, table->source(), "missing-key",
                      "message " + std::to_string(number) + " has no role",
                      "add role = \"system\", \"user\" or \"assistant\"");
      }
    }
    if (const auto content = reader.get_string(*table, "content", "messages")) {
      message.content = *content;
      const toml::node& content_node = *table->get("content");
      const ContentStart start = content_start(file, content_node, *content);
      if (start.offset != std::string_view::npos) {
        message.where = file.location(reader.path(), start.offset);
      } else {
        message.where = reader.where(content_node.source());
      }
      check_template(out, reader.path(), file, *content, start, message.where);
    } else {
      ok = false;
      if (table->get("content") == nullptr) {
        reader.report(Severity::error, table->source(), "missing-key",
                      "message " + std::to_string(number) + " has no content", "add content = \"...\"");
      }
    }
    if (ok) {
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

bool read_toml_prompt(std::string_view text, Prompt& prompt, std::vector<Diagnostic>& out) {
  const auto root = config::parse_toml(text, prompt.path, out);
  if (!root) {
    return false;
  }
  const FileText file(text);
  TomlReader reader(prompt.path, out);
  reader.check_keys(*root, k_prompt_keys, "");
  read_common(reader, *root, prompt);

  const toml::node* template_node = root->get("template");
  const toml::node* messages_node = root->get("messages");
  if (template_node != nullptr) {
    if (const auto* content = template_node->as_string()) {
      prompt.has_template_key = true;
      Message message;
      message.role = "user";
      message.content = content->get();
      const ContentStart start = content_start(file, *template_node, message.content);
      message.where = start.offset != std::string_view::npos ? file.location(prompt.path, start.offset)
                                                             : reader.where(template_node->source());
      check_template(out, prompt.path, file, message.content, start, message.where);
      prompt.messages.push_back(std::move(message));
    } else {
      reader.wrong_type(*template_node, "template", "a string");
    }
  }
  if (messages_node != nullptr) {
    std::vector<Message> messages = read_messages(reader, file, *messages_node, out);
    if (template_node != nullptr) {
      reader.report(Severity::error, messages_node->source(), "template-and-messages",
                    "prompt has both 'template' and 'messages'",
                    "use template for one user message or [[messages]] for a conversation, not both");
    } else if (messages_node->is_array() && messages_node->as_array()->empty()) {
      out.push_back(no_template(prompt.path, "prompt has no messages",
                                "add [[messages]] tables with role and content"));
    } else {
      prompt.messages = std::move(messages);
    }
  }
  if (template_node == nullptr && messages_node == nullptr) {
    out.push_back(no_template(prompt.path, "prompt has no template or messages",
                              "add template = \"...\" or [[messages]] tables with role and content"));
  }
  return true;
}

bool read_text_prompt(std::string_view text, Prompt& prompt, std::vector<Diagnostic>& out) {
  prompt.has_template_key = true;
  const FileText file(text);
  const std::size_t bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::size_t body_offset = bom;
  int body_line = 1;

  std::size_t next = 0;
  if (util::line_at(text, bom, next) == "+++") {
    const std::size_t front_start = next;
    std::size_t pos = next;
    int line = 2;
    bool closed = false;
    while (pos < text.size()) {
      std::size_t after = 0;
      if (util::line_at(text, pos, after) == "+++") {
        closed = true;
        body_offset = after;
        body_line = line + 1;
        break;
      }
      pos = after;
      ++line;
    }
    if (!closed) {
      Diagnostic d;
      d.where = Location{prompt.path, 1, 1};
      d.code = "unclosed-front-matter";
      d.message = "front matter is not closed";
      d.hint = "end it with a line that holds only +++";
      out.push_back(std::move(d));
      return false;
    }
    const std::string_view front = text.substr(front_start, pos - front_start);
    const auto table = config::parse_toml(front, prompt.path, out, 1);
    if (!table) {
      return false;
    }
    TomlReader reader(prompt.path, out, 1);
    std::vector<std::string> keys = k_front_matter_keys;
    keys.insert(keys.end(), {"template", "messages"});
    reader.check_keys(*table, keys, "");
    for (const Entry& entry : config::in_file_order(*table)) {
      const std::string_view key = entry.key->str();
      if (key == "template" || key == "messages") {
        reader.report(Severity::error, entry.key->source(), "unknown-key",
                      "unknown key '" + std::string(key) + "'",
                      "in a text prompt the template is the text after the closing +++");
      }
    }
    read_common(reader, *table, prompt);
  }

  // The file's final newline is an editor convention, not part of the prompt.
  std::string_view body = text.substr(body_offset);
  if (body.ends_with("\r\n")) {
    body.remove_suffix(2);
  } else if (body.ends_with("\n")) {
    body.remove_suffix(1);
  }
  if (util::trim(body).empty()) {
    out.push_back(
        no_template(prompt.path, "prompt has no template",
                    body_offset > bom ? "write the template after the closing +++" : "the file is empty"));
    return true;
  }
  // TOML (the front matter) is UTF-8 by definition; the body must be too, since every prompt
  // goes out as JSON (to the model, in eval keys, show and export).
  if (const std::size_t bad = util::invalid_utf8_at(body); bad != std::string_view::npos) {
    Diagnostic d;
    d.where = file.location(prompt.path, body_offset + bad);
    d.code = "invalid-utf8";
    d.message = "the template is not valid UTF-8";
    d.hint = "save the file as UTF-8";
    out.push_back(std::move(d));
    return true;
  }
  Message message;
  message.role = "user";
  message.content = std::string(body);
  message.where = Location{prompt.path, body_line, 1};
  check_template(out, prompt.path, file, body, ContentStart{body_offset, true}, message.where);
  prompt.messages.push_back(std::move(message));
  return true;
}

// Template variables the prompt reads from its inputs, in first-use order. Names used only
// inside a section are fields of the section's value unless the prompt declares them.
std::vector<std::string> used_variables(const Prompt& prompt) {
  std::vector<std::string> names;
  for (const Message& message : prompt.messages) {
    for (const TemplateVariable& variable : analyze_template(message.content).variables) {
      if (variable.in_section && prompt.find_var(variable.name) == nullptr) {
        continue;
      }
      if (std::find(names.begin(), names.end(), variable.name) == names.end()) {
        names.push_back(variable.name);
      }
    }
  }
  return names;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  quoted.reserve(names.size());
  for (const std::string& name : names) {
    quoted.push_back("'" + name + "'");
  }
  return util::join(quoted, ", ");
}

}  // namespace

const VarSpec* Prompt::find_var(std::string_view var_name) const {
  const auto it =
      std::find_if(vars.begin(), vars.end(), [&](const VarSpec& v) { return v.name == var_name; });
  return it == vars.end() ? nullptr : &*it;
}

ModelSpec Prompt::effective_model(const Config& config) const { return model.over(config.default_model); }

nlohmann::json VarSpec::to_json() const {
  nlohmann::json item = {{"name", name}, {"required", required}};
  if (default_value) {
    item["default"] = *default_value;
  }
  item["description"] = description;
  return item;
}

nlohmann::json Prompt::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  out["name"] = name;
  out["path"] = path;
  out["format"] = format == PromptFormat::toml ? "toml" : "text";
  out["description"] = description;
  out["tags"] = tags;
  nlohmann::json messages_json = nlohmann::json::array();
  for (const Message& message : messages) {
    messages_json.push_back({{"role", message.role}, {"content", message.content}});
  }
  out["messages"] = std::move(messages_json);
  out["model"] = {{"provider", model.provider},
                  {"name", model.name},
                  {"params", model.params.is_object() ? model.params : nlohmann::json::object()}};
  nlohmann::json vars_json = nlohmann::json::array();
  for (const VarSpec& var : vars) {
    vars_json.push_back(var.to_json());
  }
  out["vars"] = std::move(vars_json);
  out["eval"] = eval.present ? eval.raw : nlohmann::json(nullptr);
  if (gate.empty()) {
    out["gate"] = nullptr;
  } else {
    out["gate"] = {{"min", gate.min}, {"max_drop", gate.max_drop}, {"confidence", gate.confidence}};
  }
  out["variables"] = used_variables(*this);
  return out;
}

ParsedPrompt parse_prompt(std::string_view text, const std::string& path, const std::string& name) {
  ParsedPrompt parsed;
  Prompt prompt;
  prompt.name = name;
  prompt.path = path;
  prompt.format = path.ends_with(".toml") ? PromptFormat::toml : PromptFormat::text;
  const bool understood = prompt.format == PromptFormat::toml
                              ? read_toml_prompt(text, prompt, parsed.diagnostics)
                              : read_text_prompt(text, prompt, parsed.diagnostics);
  config::sort_by_location(parsed.diagnostics);
  if (understood) {
    parsed.prompt = std::move(prompt);
  }
  return parsed;
}

std::vector<Message> render_prompt(const Prompt& prompt, const nlohmann::json& values) {
  return PromptRenderer(prompt).render(values);
}

PromptRenderer::PromptRenderer(const Prompt& prompt) : m_prompt(prompt) {
  m_templates.reserve(prompt.messages.size());
  for (const Message& message : prompt.messages) {
    m_templates.emplace_back(message.content);
  }
  bool syntax_ok = true;
  for (const CompiledTemplate& compiled : m_templates) {
    syntax_ok = syntax_ok && compiled.info().error.empty();
  }
  if (syntax_ok) {
    m_required = required_variables(prompt);  // analyzes the templates again: once, not per case
  }
  for (const VarSpec& var : prompt.vars) {
    if (var.default_value) {
      m_defaults[var.name] = *var.default_value;
    }
  }
}

// A syntax error names the message's place in the prompt file.
void PromptRenderer::check_syntax() const {
  for (std::size_t i = 0; i < m_templates.size(); ++i) {
    const TemplateInfo& info = m_templates[i].info();
    if (info.error.empty()) {
      continue;
    }
    Location where = m_prompt.messages[i].where;
    if (where.line > 0) {
      if (info.error_line == 1) {
        where.column = where.column > 0 ? where.column + info.error_column - 1 : 0;
      } else {
        where.line += info.error_line - 1;
        where.column = info.error_column;
      }
    }
    const std::string place = where.format();
    throw ConfigError((place.empty() ? "" : place + ": ") + "template syntax error: " + info.error);
  }
}

std::vector<Message> PromptRenderer::render(const nlohmann::json& values) const {
  const Prompt& prompt = m_prompt;
  if (!values.is_null() && !values.is_object()) {
    throw ConfigError("variable values for prompt '" + prompt.name + "' must be a JSON object");
  }
  check_syntax();
  const std::vector<std::string> missing = missing_variables(m_required, values);
  if (!missing.empty()) {
    const std::string what = missing.size() == 1
                                 ? "missing value for required variable '" + missing.front() + "'"
                                 : "missing values for required variables " + quoted_list(missing);
    throw ConfigError(what + " in prompt '" + prompt.name + "'", {}, std::make_shared<MissingVariables>(missing));
  }
  // Without defaults the case's own object is the context: no copy per case.
  nlohmann::json merged;
  if (!m_defaults.empty()) {
    merged = m_defaults;
    if (values.is_object()) {
      for (const auto& [key, value] : values.items()) {
        merged[key] = value;
      }
    }
  }
  const nlohmann::json& context = !m_defaults.empty() ? merged : values.is_object() ? values : m_defaults;

  std::vector<Message> rendered;
  rendered.reserve(prompt.messages.size());
  for (std::size_t i = 0; i < prompt.messages.size(); ++i) {
    const Message& message = prompt.messages[i];
    Message out{message.role, {}, message.where};
    try {
      out.content = m_templates[i].render(context);
    } catch (const ConfigError& e) {
      throw ConfigError("message " + std::to_string(rendered.size() + 1) + " (" + message.role + ") of prompt '" +
                            prompt.name + "': " + e.what(),
                        "a rendered message may be at most " + std::to_string(k_max_rendered_bytes >> 20) +
                            " MiB, with values nested at most " + std::to_string(k_max_value_depth) +
                            " levels deep");
    }
    rendered.push_back(std::move(out));
  }
  return rendered;
}

std::vector<std::string> required_variables(const Prompt& prompt) {
  std::vector<std::string> names;
  const auto add = [&](const std::string& var_name) {
    const VarSpec* var = prompt.find_var(var_name);
    // Undeclared variables are required; declared ones only when they say so. A default always
    // gives a value.
    const bool required = var == nullptr || (var->required && !var->default_value);
    if (required && std::find(names.begin(), names.end(), var_name) == names.end()) {
      names.push_back(var_name);
    }
  };
  for (const std::string& var_name : used_variables(prompt)) {
    add(var_name);
  }
  for (const VarSpec& var : prompt.vars) {
    if (var.required) {
      add(var.name);
    }
  }
  return names;
}

std::vector<std::string> missing_variables(const std::vector<std::string>& required, const nlohmann::json& values) {
  std::vector<std::string> missing;
  for (const std::string& name : required) {
    const auto it = values.is_object() ? values.find(name) : values.end();
    if (!values.is_object() || it == values.end() || it->is_null()) {
      missing.push_back(name);
    }
  }
  return missing;
}

void apply_default_vars(const EvalSpec& eval, nlohmann::json& vars) {
  if (eval.default_vars.empty()) {
    return;
  }
  if (!vars.is_object()) {
    vars = nlohmann::json::object();
  }
  for (const auto& [name, value] : eval.default_vars.items()) {
    if (!vars.contains(name)) {
      vars[name] = value;
    }
  }
}

std::vector<Diagnostic> check_case_variables(const Prompt& prompt, std::span<const DatasetCase> cases,
                                             const std::string& path) {
  std::vector<Diagnostic> out;
  const std::vector<std::string> required = required_variables(prompt);
  for (const DatasetCase& c : cases) {
    nlohmann::json vars = c.vars;
    apply_default_vars(prompt.eval, vars);
    for (const std::string& name : missing_variables(required, vars)) {
      Diagnostic d;
      d.where = Location{path, c.line, 0};
      d.code = "missing-variable";
      d.message =
          "case '" + c.id + "' gives no value for required variable '" + name + "' of prompt '" + prompt.name + "'";
      d.hint = "add \"" + name + "\" to the case's vars";
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace promptops::prompt
