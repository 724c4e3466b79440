// SPDX-License-Identifier: MIT
// Microsoft Prompty (.prompty) files in and out: YAML front matter (model configuration and
// parameters, inputs) and a Jinja2 body with `system:` / `user:` / `assistant:` lines, mapped onto
// a TOML prompt with Mustache messages. Keys and endpoints are never copied into the prompt.
#include <algorithm>
#include <array>

#include <promptops/prompt/template.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include <promptops/interop/interop.hpp>

#include "prompt_draft.hpp"
#include "yaml_source.hpp"

namespace promptops::inline interop {

namespace {

struct PromptyBlock {
  enum class Kind { section, inverted, dropped };
  Kind kind = Kind::section;
  std::string statement;  // "if" or "for": which end tag closes it
  std::string name;       // the Mustache section name
  std::string loop_var;   // `for item in items`: item
  bool in_else = false;
};

bool prompty_is_name(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return util::is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  });
}

bool prompty_is_path(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (const std::string& part : util::split(text, '.')) {
    if (!prompty_is_name(part)) {
      return false;
    }
  }
  return true;
}

// Jinja2 statements and expressions as Mustache tags; what has no equivalent is a note.
class PromptyConverter {
 public:
  PromptyConverter(const ImportSource& source, std::vector<Diagnostic>& notes, std::vector<std::string> lists)
      : m_source(source), m_notes(notes), m_lists(std::move(lists)) {}

  std::string convert(std::string_view body, int first_line) {
    std::string out;
    std::size_t pos = 0;
    std::size_t counted = 0;
    int line = first_line;
    while (pos < body.size()) {
      const std::size_t start = body.find('{', pos);
      if (start == std::string_view::npos || start + 1 >= body.size()) {
        out += body.substr(pos);
        break;
      }
      const char kind = body[start + 1];
      if (kind != '{' && kind != '%' && kind != '#') {
        out += body.substr(pos, start + 1 - pos);
        pos = start + 1;
        continue;
      }
      out += body.substr(pos, start - pos);
      // Lines counted from the last tag on: linear in the body, however many tags it has.
      line += static_cast<int>(std::count(body.begin() + static_cast<std::ptrdiff_t>(counted),
                                          body.begin() + static_cast<std::ptrdiff_t>(start), '\n'));
      counted = start;
      const Location where{m_source.path, line, 0};
      const std::string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
      const std::size_t end = body.find(close, start + 2);
      if (end == std::string_view::npos) {
        throw ConfigError(where.format() + ": unclosed '{" + std::string(1, kind) + "'",
                          "close it with " + close);
      }
      pos = end + 2;
      std::string_view inner = body.substr(start + 2, end - start - 2);
      if (kind == '#') {
        if (inner.find("}}") != std::string_view::npos) {
          note(where, "comment-dropped",
               "a comment that holds '}}' cannot be a Mustache comment: it is left out");
        } else {
          out += "{{!" + std::string(inner) + "}}";
        }
        continue;
      }
      if (inner.starts_with("-") || inner.starts_with("+") || inner.ends_with("-") || inner.ends_with("+")) {
        if (!m_dash_noted) {
          note(where, "whitespace-control",
               "whitespace control ('-') is not kept: white space around tags may differ");
          m_dash_noted = true;
        }
        if (inner.starts_with("-") || inner.starts_with("+")) {
          inner.remove_prefix(1);
        }
        if (inner.ends_with("-") || inner.ends_with("+")) {
          inner.remove_suffix(1);
        }
      }
      const std::string_view content = util::trim(inner);
      out += kind == '{' ? expression(content, where) : statement(content, where);
    }
    if (!m_blocks.empty()) {
      throw ConfigError(Location{m_source.path, first_line, 0}.format() + ": '{% " +
                            m_blocks.back().statement + " %}' is not closed",
                        "close it with {% end" + m_blocks.back().statement + " %}");
    }
    return out;
  }

 private:
  const ImportSource& m_source;
  std::vector<Diagnostic>& m_notes;
  std::vector<PromptyBlock> m_blocks;
  std::vector<std::string> m_lists;  // inputs of type array: a section over them repeats
  bool m_dash_noted = false;

  void note(const Location& where, std::string code, std::string message, std::string hint = {}) {
    m_notes.push_back(import_note(where, std::move(code), std::move(message), std::move(hint)));
  }

  // A Jinja name or attribute path as a Mustache name: the innermost loop variable is ".".
  std::string path(std::string_view text) const {
    std::string_view rest = util::trim(text);
    for (auto it = m_blocks.rbegin(); it != m_blocks.rend(); ++it) {
      if (!it->loop_var.empty() && !it->in_else) {
        if (rest == it->loop_var) {
          return ".";
        }
        if (rest.starts_with(it->loop_var + ".")) {
          rest.remove_prefix(it->loop_var.size() + 1);
        }
        break;
      }
    }
    if (rest == "loop" || rest.starts_with("loop.")) {
      return {};
    }
    return prompty_is_path(rest) ? std::string(rest) : std::string();
  }

  std::string expression(std::string_view content, const Location& where) {
    std::string_view value = content;
    const std::size_t bar = content.find('|');
    if (bar != std::string_view::npos) {
      value = util::trim(content.substr(0, bar));
      note(where, "filter-dropped",
           "the filter in '{{ " + std::string(content) + " }}' is left out: the value is inserted as it is",
           "Mustache has no filters");
    }
    const std::string mapped = path(value);
    if (mapped.empty()) {
      note(where, "unsupported-expression",
           "'{{ " + std::string(content) + " }}' has no Mustache equivalent: it is left out",
           "use a plain variable name");
      return {};
    }
    return "{{" + mapped + "}}";
  }

  std::string open(PromptyBlock block) {
    const char sigil = block.kind == PromptyBlock::Kind::inverted ? '^' : '#';
    m_blocks.push_back(block);
    return block.kind == PromptyBlock::Kind::dropped ? std::string()
                                                     : std::string("{{") + sigil + block.name + "}}";
  }

  std::string dropped(const std::string& statement, std::string_view content, const Location& where) {
    note(where, "unsupported-block",
         "'{% " + std::string(content) +
             " %}' has no Mustache equivalent: the block's text is kept without it",
         "rewrite it with a variable that is true or false, or a list");
    PromptyBlock block;
    block.kind = PromptyBlock::Kind::dropped;
    block.statement = statement;
    return open(block);
  }

  std::string statement(std::string_view content, const Location& where) {
    const std::size_t space = content.find_first_of(" \t\n");
    const std::string keyword(content.substr(0, space));
    const std::string_view rest =
        space == std::string_view::npos ? std::string_view() : util::trim(content.substr(space));
    if (keyword == "if") {
      const bool negated = rest.starts_with("not ");
      const std::string name = path(negated ? util::trim(rest.substr(4)) : rest);
      if (name.empty() || name == ".") {
        return dropped("if", content, where);
      }
      if (!negated && std::find(m_lists.begin(), m_lists.end(), name) != m_lists.end()) {
        note(where, "list-condition",
             "'{% " + std::string(content) + " %}' tests a list: in Mustache the block repeats once per item",
             "test a true or false variable instead");
      }
      PromptyBlock block;
      block.kind = negated ? PromptyBlock::Kind::inverted : PromptyBlock::Kind::section;
      block.statement = "if";
      block.name = name;
      return open(block);
    }
    if (keyword == "for") {
      const std::size_t in = rest.find(" in ");
      const std::string var =
          in == std::string_view::npos ? std::string() : std::string(util::trim(rest.substr(0, in)));
      const std::string name = in == std::string_view::npos ? std::string() : path(rest.substr(in + 4));
      if (!prompty_is_name(var) || name.empty() || name == ".") {
        return dropped("for", content, where);
      }
      PromptyBlock block;
      block.statement = "for";
      block.name = name;
      block.loop_var = var;
      return open(block);
    }
    if (keyword == "else" || keyword == "elif") {
      if (m_blocks.empty()) {
        throw ConfigError(where.format() + ": '{% " + std::string(content) + " %}' is outside a block",
                          "remove it");
      }
      PromptyBlock& block = m_blocks.back();
      if (block.kind == PromptyBlock::Kind::dropped || block.in_else) {
        note(where, "unsupported-block",
             "'{% " + std::string(content) + " %}' has no Mustache equivalent: the text after it is kept");
        return {};
      }
      if (keyword == "elif") {
        note(where, "unsupported-block",
             "'{% " + std::string(content) +
                 " %}': the condition is left out, so its text renders whenever '" + block.name +
                 "' is false",
             "use a nested {% if %} instead");
      }
      block.in_else = true;
      const bool inverted = block.kind == PromptyBlock::Kind::inverted;
      return "{{/" + block.name + "}}{{" + (inverted ? "#" : "^") + block.name + "}}";
    }
    if (keyword == "endif" || keyword == "endfor") {
      const std::string statement = keyword.substr(3);
      if (m_blocks.empty() || m_blocks.back().statement != statement) {
        throw ConfigError(where.format() + ": '{% " + keyword + " %}' closes no '{% " + statement + " %}'",
                          "remove it");
      }
      const PromptyBlock block = m_blocks.back();
      m_blocks.pop_back();
      return block.kind == PromptyBlock::Kind::dropped ? std::string() : "{{/" + block.name + "}}";
    }
    note(where, "unsupported-statement",
         "'{% " + std::string(content) + " %}' has no Mustache equivalent: it is left out");
    return {};
  }
};

// "system:", "  # user :", "assistant[name=x]:" -> the role, else "".
std::string prompty_role_line(std::string_view line, bool& has_attributes) {
  std::string_view rest = util::trim(line);
  if (rest.starts_with("#")) {
    rest = util::trim(rest.substr(1));
  }
  if (!rest.ends_with(":")) {
    return {};
  }
  rest = util::trim(rest.substr(0, rest.size() - 1));
  has_attributes = false;
  if (rest.ends_with("]") && rest.find('[') != std::string_view::npos) {
    has_attributes = true;
    rest = rest.substr(0, rest.find('['));
  }
  const std::string role = util::to_lower(util::trim(rest));
  constexpr std::array<std::string_view, 6> k_roles{"system",   "user", "assistant",
                                                    "function", "tool", "developer"};
  return std::find(k_roles.begin(), k_roles.end(), role) != k_roles.end() ? role : std::string();
}

// The messages of the body; `starts` gets the line each message's content starts on.
void prompty_messages(const ImportSource& source, const std::string& body, int body_line, PromptDraft& draft,
                      std::vector<int>& starts, std::vector<Diagnostic>& notes) {
  std::string role = "system";
  int role_line = body_line - 1;
  std::string buffer;
  const auto flush = [&] {
    int start = role_line + 1;
    for (std::size_t i = 0; i < buffer.size() && util::is_ascii_space(buffer[i]); ++i) {
      start += buffer[i] == '\n' ? 1 : 0;
    }
    std::string content = draft_trim(buffer);
    buffer.clear();
    if (content.empty()) {
      return;
    }
    if (role == "function" || role == "tool") {
      notes.push_back(import_note(Location{source.path, role_line, 0}, "unsupported-role",
                                  "a '" + role + "' message is left out",
                                  "the project's messages are system, user or assistant"));
      return;
    }
    draft.messages.emplace_back(role == "developer" ? "system" : role, std::move(content));
    starts.push_back(start);
  };
  std::size_t pos = 0;
  int line = body_line;
  while (pos < body.size()) {
    std::size_t next = body.find('\n', pos);
    next = next == std::string::npos ? body.size() : next + 1;
    const std::string_view text(body.data() + pos, next - pos);
    bool attributes = false;
    const std::string found = prompty_role_line(text, attributes);
    if (!found.empty()) {
      flush();
      role = found;
      role_line = line;
      if (attributes) {
        notes.push_back(import_note(Location{source.path, line, 0}, "role-attributes",
                                    "the attributes of the role line are left out"));
      }
      if (found == "developer") {
        notes.push_back(import_note(Location{source.path, line, 0}, "role-changed",
                                    "a 'developer' message becomes a system message"));
      }
    } else {
      buffer += text;
    }
    pos = next;
    ++line;
  }
  flush();
}

void prompty_read_inputs(const ImportSource& source, const YAML::Node& inputs, int first, PromptDraft& draft,
                         std::vector<std::string>& lists, std::vector<Diagnostic>& notes) {
  const auto read_one = [&](const std::string& name, const YAML::Node& spec) {
    DraftVar var;
    var.name = name;
    if (spec.IsMap()) {
      for (const auto& item : spec) {
        const std::string key = item.first.Scalar();
        const Location where = location_of(source, item.first, first);
        if (key == "description" && item.second.IsScalar()) {
          var.description = item.second.Scalar();
        } else if (key == "required" && item.second.IsScalar()) {
          var.required = draft_yaml_to_json(item.second) == true;
        } else if (key == "default" && item.second.IsScalar()) {
          var.default_value = draft_yaml_to_json(item.second);
        } else if (key == "default") {
          notes.push_back(import_note(where, "default-not-kept",
                                      "the default of '" + name + "' is a list or a map: it is left out",
                                      "a variable's default is one string, number or boolean"));
        } else if (key == "type" || key == "kind" || key == "name") {
          // The project's variables are untyped JSON values; a list changes what {% if %} means.
          if (key != "name" && item.second.IsScalar() &&
              (item.second.Scalar() == "array" || item.second.Scalar() == "list")) {
            lists.push_back(name);
          }
        } else {
          notes.push_back(
              import_note(where, "input-not-kept", "inputs." + name + "." + key + " is left out"));
        }
      }
    }
    if (!var.default_value.is_null()) {
      var.required = false;
    }
    draft.vars.push_back(std::move(var));
  };
  if (inputs.IsMap()) {
    for (const auto& item : inputs) {
      read_one(item.first.Scalar(), item.second);
    }
  } else if (inputs.IsSequence()) {
    for (const YAML::Node& item : inputs) {
      if (item.IsMap() && draft_get(item, "name").IsScalar()) {
        read_one(draft_get(item, "name").Scalar(), item);
      }
    }
  }
}

// `${env:NAME}` -> NAME, else "".
std::string prompty_env_reference(const std::string& value) {
  if (value.starts_with("${env:") && value.ends_with("}")) {
    std::string name = value.substr(6, value.size() - 7);
    return name.substr(0, name.find(':'));
  }
  return {};
}

void prompty_read_connection(const ImportSource& source, const YAML::Node& configuration, int first,
                             PromptDraft& draft, std::vector<Diagnostic>& notes) {
  if (!configuration.IsMap()) {
    return;
  }
  std::string type =
      draft_get(configuration, "type").IsScalar() ? draft_get(configuration, "type").Scalar() : std::string();
  if (draft_get(configuration, "kind").IsScalar() && type.empty()) {
    type = draft_get(configuration, "kind").Scalar();
  }
  const bool azure = type == "azure_openai" || type == "azure";
  if (!type.empty()) {
    draft.provider = azure ? "azure" : type;
  }
  const std::string table =
      "[providers." + (draft.provider.empty() ? std::string("openai") : draft.provider) + "]";
  for (const auto& item : configuration) {
    const std::string key = item.first.Scalar();
    const Location where = location_of(source, item.first, first);
    const std::string value = item.second.IsScalar() ? item.second.Scalar() : std::string();
    const std::string env = prompty_env_reference(value);
    if (key == "type" || key == "kind") {
      if (azure || type == "openai") {
        continue;
      }
      notes.push_back(import_note(where, "provider-not-declared",
                                  "configuration type '" + type + "' becomes provider '" + type + "'",
                                  "declare " + table + " in .promptops.toml"));
    } else if (key == "azure_deployment" || key == "name" || key == "model" || key == "id") {
      draft.model = value;
    } else if (key == "api_key" || key == "key") {
      // A key never goes into a tracked file: only the name of its environment variable is told.
      notes.push_back(
          env.empty()
              ? import_note(where, "secret-not-copied",
                            "the API key is not copied: a key never goes into a tracked file",
                            "put the key in an environment variable and name it with api_key_env in " + table)
              : import_note(where, "secret-not-copied", "the API key comes from environment variable " + env,
                            "set api_key_env = \"" + env + "\" in " + table));
    } else if (key == "azure_endpoint" || key == "endpoint" || key == "base_url") {
      notes.push_back(env.empty() ? import_note(where, "endpoint-not-kept",
                                                "the endpoint '" + value + "' is not kept in the prompt",
                                                "set base_url in " + table)
                                  : import_note(where, "endpoint-not-kept",
                                                "the endpoint comes from environment variable " + env,
                                                "set base_url in " + table + " to its value"));
    } else if (key == "api_version" && !value.empty() && env.empty()) {
      notes.push_back(import_note(where, "connection-not-kept", "configuration.api_version is left out",
                                  "set api_version = \"" + value + "\" in " + table));
    } else {
      notes.push_back(import_note(where, "connection-not-kept", "configuration." + key + " is left out",
                                  "connection settings belong in " + table));
    }
  }
  if (azure) {
    notes.push_back(import_note(location_of(source, configuration, first), "provider-not-declared",
                                "an Azure OpenAI configuration becomes provider 'azure'",
                                "declare [providers.azure] in .promptops.toml with kind = \"azure\" and "
                                "base_url = \"https://RESOURCE.openai.azure.com\""));
  }
}

void prompty_read_parameters(const ImportSource& source, const YAML::Node& parameters, int first, bool camel,
                             PromptDraft& draft, std::vector<Diagnostic>& notes) {
  if (!parameters.IsMap()) {
    return;
  }
  for (const auto& item : parameters) {
    const std::string key = item.first.Scalar();
    const std::string mapped = camel ? draft_param_from_camel(key) : std::string();
    const std::string name = !mapped.empty() ? mapped : key;
    if (draft_is_openai_param(name) || name == "top_k") {
      draft.params[name] = draft_yaml_to_json(item.second);
    } else {
      notes.push_back(import_note(location_of(source, item.first, first), "param-not-kept",
                                  "parameter '" + key + "' is left out",
                                  "set a parameter the provider knows under [model]"));
    }
  }
}

void prompty_read_model(const ImportSource& source, const YAML::Node& model, int first, PromptDraft& draft,
                        std::vector<Diagnostic>& notes) {
  if (model.IsScalar()) {
    draft.model = model.Scalar();
    return;
  }
  if (!model.IsMap()) {
    return;
  }
  for (const auto& item : model) {
    const std::string key = item.first.Scalar();
    const Location where = location_of(source, item.first, first);
    if (key == "api" || key == "apiType") {
      if (item.second.Scalar() != "chat") {
        notes.push_back(
            import_note(where, "api-changed", "api '" + item.second.Scalar() + "' becomes a chat prompt"));
      }
    } else if (key == "configuration" || key == "connection") {
      prompty_read_connection(source, item.second, first, draft, notes);
    } else if (key == "parameters") {
      prompty_read_parameters(source, item.second, first, false, draft, notes);
    } else if (key == "options") {
      prompty_read_parameters(source, item.second, first, true, draft, notes);
    } else if (key == "id" && item.second.IsScalar()) {
      draft.model = item.second.Scalar();
    } else if (key == "provider" && item.second.IsScalar()) {
      const std::string provider = item.second.Scalar();
      draft.provider = provider == "azure_openai" || provider == "foundry" ? "azure" : provider;
    } else if (key == "response" && item.second.IsScalar() && item.second.Scalar() == "first") {
      continue;
    } else {
      notes.push_back(import_note(where, "model-not-kept", "model." + key + " is left out"));
    }
  }
}

bool prompty_is_mustache(const YAML::Node& front) {
  const YAML::Node engine = draft_get(front, "template");
  if (engine.IsScalar()) {
    return engine.Scalar() == "mustache";
  }
  return engine.IsMap() && draft_get(engine, "format").IsScalar() &&
         draft_get(engine, "format").Scalar() == "mustache";
}

}  // namespace

namespace {

ImportResult prompty_import_unguarded(const ImportSource& source, const ImportOptions& options) {
  ImportResult result;
  std::vector<Diagnostic>& notes = result.notes;
  const FrontMatter split = draft_split_front_matter(source);
  const int first = split.yaml_line;
  PromptDraft draft;
  std::string title;
  Location title_where{source.path, 1, 0};
  bool mustache = false;
  std::vector<std::string> lists;
  if (split.present) {
    const YAML::Node front = parse_yaml(source, split.yaml, first);
    if (!front.IsMap() && !front.IsNull()) {
      throw ConfigError(Location{source.path, first, 0}.format() + ": the front matter is not a map of keys",
                        "write key: value lines between the --- lines");
    }
    mustache = prompty_is_mustache(front);
    for (const auto& item : front) {
      const std::string key = item.first.Scalar();
      const YAML::Node& value = item.second;
      const Location where = location_of(source, item.first, first);
      if (key == "name" && value.IsScalar()) {
        title = value.Scalar();
        title_where = where;
      } else if (key == "description" && value.IsScalar()) {
        draft.description = value.Scalar();
      } else if (key == "tags" && value.IsSequence()) {
        for (const YAML::Node& tag : value) {
          draft.tags.push_back(tag.Scalar());
        }
      } else if (key == "model") {
        prompty_read_model(source, value, first, draft, notes);
      } else if (key == "inputs") {
        prompty_read_inputs(source, value, first, draft, lists, notes);
      } else if (key == "template" && (value.IsScalar() || value.IsMap())) {
        const std::string engine = value.IsScalar() ? value.Scalar()
                                   : draft_get(value, "format").IsScalar()
                                       ? draft_get(value, "format").Scalar()
                                       : "jinja2";
        if (engine != "jinja2" && engine != "mustache") {
          notes.push_back(
              import_note(where, "template-engine", "template engine '" + engine + "' is read as Jinja2"));
        }
      } else if (key == "sample") {
        notes.push_back(import_note(where, "sample-not-kept",
                                    "the sample values are not defaults: they are left out",
                                    "add them as a case of the prompt's evaluation dataset"));
      } else if (key == "$schema") {
        continue;
      } else {
        notes.push_back(import_note(where, "key-not-kept", "'" + key + "' is left out"));
      }
    }
  }
  const std::string name = draft_prompt_name(source, options, {}, title_where, ".prompty", notes);
  draft_sort_params(draft);
  if (!title.empty() && title != name) {
    notes.push_back(import_note(title_where, "name-not-kept",
                                "name '" + title + "' is not kept: the prompt is named '" + name + "'",
                                "give the prompt another name when importing it"));
  }
  std::string body = split.body;
  if (!mustache) {
    body = PromptyConverter(source, notes, lists).convert(split.body, split.body_line);
  }
  std::vector<int> starts;
  prompty_messages(source, body, split.body_line, draft, starts, notes);
  if (draft.messages.empty()) {
    throw ConfigError(Location{source.path, split.body_line, 0}.format() + ": the prompt has no messages",
                      "write the messages after the front matter, each after a line such as 'user:'");
  }
  const bool declared_inputs = !draft.vars.empty();
  for (std::size_t i = 0; i < draft.messages.size(); ++i) {
    const TemplateInfo info = analyze_template(draft.messages[i].second);
    if (!info.error.empty()) {
      throw ConfigError(Location{source.path, split.body_line, 0}.format() +
                            ": the converted template is not valid Mustache: " + info.error,
                        "a block may not span two messages");
    }
    for (const TemplateVariable& variable : info.variables) {
      if (variable.in_section || draft.find_var(variable.name) != nullptr) {
        continue;
      }
      if (declared_inputs) {
        notes.push_back(
            import_note(Location{source.path, starts[i] + variable.line - 1, 0}, "undeclared-variable",
                        "'" + variable.name + "' is used but not in inputs: it is declared optional"));
      }
      draft.vars.push_back(DraftVar{variable.name, false, nullptr, {}});
    }
  }
  draft_sort_notes(notes);
  result.files.push_back(ImportedFile{options.prompt_root + "/" + name + ".toml",
                                      "# Imported from " + source.path + ".\n" + prompt_draft_toml(draft)});
  return result;
}

}  // namespace

ImportResult import_prompty(const ImportSource& source, const ImportOptions& options) {
  try {
    return prompty_import_unguarded(source, options);
  } catch (const YAML::Exception& error) {
    const Location where{source.path, error.mark.is_null() ? 0 : error.mark.line + 2, 0};
    throw ConfigError(where.format() + ": unexpected YAML: " + error.msg,
                      "see git-promptops-import(1) for the keys read");
  }
}

// --- export -------------------------------------------------------------------------------------

std::string export_prompty(const Prompt& prompt, const ModelSpec& model, std::vector<Diagnostic>& notes) {
  nlohmann::ordered_json front = nlohmann::ordered_json::object();
  front["name"] = prompt.name;
  if (!prompt.description.empty()) {
    front["description"] = prompt.description;
  }
  if (!prompt.tags.empty()) {
    front["tags"] = prompt.tags;
  }
  const Location model_where = !prompt.model.where.file.empty() ? prompt.model.where
                               : !model.where.file.empty()      ? model.where
                                                                : Location{prompt.path, 0, 0};
  nlohmann::ordered_json section = nlohmann::ordered_json::object();
  section["api"] = "chat";
  nlohmann::ordered_json configuration = nlohmann::ordered_json::object();
  if (model.provider == "azure") {
    configuration["type"] = "azure_openai";
    if (!model.name.empty()) {
      configuration["azure_deployment"] = model.name;
    }
  } else {
    configuration["type"] = "openai";
    if (!model.name.empty()) {
      configuration["name"] = model.name;
    }
    if (!model.provider.empty() && model.provider != "openai") {
      notes.push_back(import_note(model_where, "provider-changed",
                                  "provider '" + model.provider + "' is written as an OpenAI configuration",
                                  "Prompty configurations are openai or azure_openai"));
    }
  }
  section["configuration"] = std::move(configuration);
  nlohmann::ordered_json parameters = nlohmann::ordered_json::object();
  if (model.params.is_object()) {
    for (const auto& [key, value] : model.params.items()) {
      if (draft_is_openai_param(key)) {
        parameters[key] = value;
      } else {
        notes.push_back(
            import_note(model_where, "param-not-kept",
                        "model parameter '" + key + "' has no Prompty parameter: it is left out"));
      }
    }
  }
  if (!parameters.empty()) {
    section["parameters"] = std::move(parameters);
  }
  front["model"] = std::move(section);
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
  for (const VarSpec& var : prompt.vars) {
    nlohmann::ordered_json spec = {{"type", "string"}};
    if (!var.description.empty()) {
      spec["description"] = var.description;
    }
    if (var.default_value) {
      spec["default"] = *var.default_value;
    } else if (var.required) {
      spec["required"] = true;
    }
    inputs[var.name] = std::move(spec);
  }
  if (!inputs.empty()) {
    front["inputs"] = std::move(inputs);
  }
  // Plain {{name}} tags read the same in Jinja2; anything else keeps Mustache, which Prompty runs.
  bool mustache = false;
  for (const Message& message : prompt.messages) {
    for (const std::string_view mark :
         {"{{#", "{{^", "{{/", "{{!", "{{>", "{{=", "{{&", "{{{", "{{.", "{%", "{#"}) {
      mustache = mustache || message.content.find(mark) != std::string::npos;
    }
  }
  if (mustache) {
    front["template"] = "mustache";
  }
  if (prompt.eval.present) {
    notes.push_back(
        import_note(prompt.eval.where.file.empty() ? Location{prompt.path, 0, 0} : prompt.eval.where,
                    "eval-not-kept", "the [eval] table has no place in a Prompty file: it is left out"));
  }
  if (!prompt.gate.empty()) {
    notes.push_back(
        import_note(prompt.gate.where.file.empty() ? Location{prompt.path, 0, 0} : prompt.gate.where,
                    "gate-not-kept", "the [gate] table has no place in a Prompty file: it is left out"));
  }
  std::string body;
  for (const Message& message : prompt.messages) {
    for (const std::string& line : util::split(message.content, '\n')) {
      bool attributes = false;
      if (!prompty_role_line(line, attributes).empty()) {
        notes.push_back(import_note(message.where, "message-split",
                                    "the line '" + line + "' would start a new message in Prompty"));
      }
    }
    body += (body.empty() ? "" : "\n") + message.role + ":\n" + message.content + "\n";
  }
  return draft_front_matter_text(front) + body;
}

}  // namespace promptops::inline interop
