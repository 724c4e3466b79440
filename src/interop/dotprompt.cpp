// SPDX-License-Identifier: MIT
// Google dotprompt (.prompt) files in and out: YAML front matter (model, config, Picoschema input)
// and a Handlebars body, mapped onto a TOML prompt with Mustache messages.
#include <algorithm>
#include <filesystem>
#include <map>

#include <promptops/prompt/template.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include <promptops/interop/interop.hpp>

#include "prompt_draft.hpp"
#include "yaml_source.hpp"

namespace promptops::inline interop {

namespace {

constexpr int k_dotprompt_max_partial_depth = 8;

// A piece of the converted body: Mustache text, or a {{role}} marker that starts a message.
struct DotpromptPiece {
  bool is_role = false;
  std::string text;  // the Mustache text, or the role
};

// An open block: what closes it and what {{else}} turns into.
struct DotpromptBlock {
  enum class Kind { section, inverted, dropped };
  Kind kind = Kind::section;
  std::string helper;  // as opened: "if", "each", "unless", "with", or the Mustache name
  std::string name;    // the Mustache section name
  std::string alias;   // `as |item|`: the name that stands for the current item
  bool in_else = false;
};

// The words of a Handlebars expression: quoted strings, (subexpressions) and words.
std::vector<std::string> dotprompt_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    if (util::is_ascii_space(text[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    if (text[i] == '"' || text[i] == '\'') {
      const char quote = text[i];
      i = text.find(quote, i + 1);
      i = i == std::string_view::npos ? text.size() : i + 1;
    } else if (text[i] == '(') {
      int depth = 0;
      for (; i < text.size(); ++i) {
        depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
        if (depth == 0) {
          ++i;
          break;
        }
      }
    } else {
      while (i < text.size() && !util::is_ascii_space(text[i])) {
        if (text[i] == '=' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\'')) {
          const char quote = text[i + 1];
          i = text.find(quote, i + 2);
          i = i == std::string_view::npos ? text.size() : i + 1;
          break;
        }
        ++i;
      }
    }
    words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

bool dotprompt_is_simple_path(std::string_view path) {
  if (path.empty()) {
    return false;
  }
  for (const std::string& part : util::split(path, '.')) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) {
          return util::is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 c == '-';
        })) {
      return false;
    }
  }
  return true;
}

std::string dotprompt_unquote(std::string_view word) {
  if (word.size() >= 2 && (word.front() == '"' || word.front() == '\'') && word.back() == word.front()) {
    return std::string(word.substr(1, word.size() - 2));
  }
  return std::string(word);
}

class DotpromptConverter {
 public:
  DotpromptConverter(std::vector<Diagnostic>& notes, std::vector<std::string> lists)
      : m_notes(notes), m_lists(std::move(lists)) {}

  std::vector<DotpromptPiece> pieces;

  void convert(const ImportSource& source, std::string_view body, int first_line, int depth) {
    if (depth == 0) {
      m_root = source.path;
    }
    const std::size_t blocks_before = m_blocks.size();
    std::size_t pos = 0;
    std::size_t counted = 0;
    int line = first_line;
    while (pos < body.size()) {
      const std::size_t start = body.find("{{", pos);
      if (start == std::string_view::npos) {
        text(body.substr(pos));
        break;
      }
      // Lines counted from the last tag on: linear in the body, however many tags it has.
      line += static_cast<int>(std::count(body.begin() + static_cast<std::ptrdiff_t>(counted),
                                          body.begin() + static_cast<std::ptrdiff_t>(start), '\n'));
      counted = start;
      const Location where{source.path, line, 0};
      if (start > 0 && body[start - 1] == '\\') {
        text(body.substr(pos, start - 1 - pos));
        note(where, "unsupported-syntax",
             "an escaped '\\{{' (literal braces) is not supported: it is left out",
             "write the literal text another way");
        const std::size_t end = body.find("}}", start);
        pos = end == std::string_view::npos ? body.size() : end + 2;
        continue;
      }
      text(body.substr(pos, start - pos));
      const bool long_comment = body.substr(start).starts_with("{{!--");
      const bool triple = !long_comment && body.substr(start).starts_with("{{{");
      const std::string_view close = long_comment ? "--}}" : triple ? "}}}" : "}}";
      const std::size_t open_size = long_comment ? 5 : triple ? 3 : 2;
      const std::size_t end = body.find(close, start + open_size);
      if (end == std::string_view::npos) {
        throw ConfigError(where.format() + ": unclosed '{{'", "close the tag with }}");
      }
      pos = end + close.size();
      const std::string_view inner = body.substr(start + open_size, end - start - open_size);
      if (long_comment) {
        if (inner.find("}}") != std::string_view::npos) {
          note(where, "comment-dropped",
               "a comment that holds '}}' cannot be a Mustache comment: it is left out");
        } else {
          text("{{!" + std::string(inner) + "}}");
        }
        continue;
      }
      std::string_view content = inner;
      if (content.starts_with("~") || content.ends_with("~")) {
        if (!m_tilde_noted) {
          note(where, "whitespace-control",
               "whitespace control ('~') is not kept: white space around tags may differ");
          m_tilde_noted = true;
        }
        if (content.starts_with("~")) {
          content.remove_prefix(1);
        }
        if (content.ends_with("~")) {
          content.remove_suffix(1);
        }
      }
      if (!triple && util::trim(content).starts_with("!")) {
        text("{{" + std::string(content) + "}}");  // a comment, kept as written
        continue;
      }
      tag(source, util::trim(content), triple, where, depth);
    }
    if (m_blocks.size() != blocks_before) {
      throw ConfigError(Location{source.path, first_line, 0}.format() + ": block '{{#" +
                            m_blocks.back().helper + "}}' is not closed",
                        "close it with {{/" + m_blocks.back().helper + "}}");
    }
  }

 private:
  std::vector<Diagnostic>& m_notes;
  std::vector<DotpromptBlock> m_blocks;
  std::size_t m_bytes = 0;
  std::map<std::string, std::string> m_partials;  // by path
  std::string m_root;                             // the imported file, for errors about the whole template
  std::vector<std::string> m_lists;               // schema fields of type array: a section over them repeats
  bool m_tilde_noted = false;

  void note(const Location& where, std::string code, std::string message, std::string hint = {}) {
    m_notes.push_back(import_note(where, std::move(code), std::move(message), std::move(hint)));
  }

  void text(std::string_view piece) {
    if (piece.empty()) {
      return;
    }
    // Partials can repeat partials: the whole template is bounded as a prompt's template is.
    m_bytes += piece.size();
    if (m_bytes > k_max_rendered_bytes) {
      throw ConfigError(
          m_root + ": the template with its partials is larger than " + util::mib(k_max_rendered_bytes),
          "a prompt's template may be at most " + util::mib(k_max_rendered_bytes));
    }
    if (pieces.empty() || pieces.back().is_role) {
      pieces.push_back(DotpromptPiece{false, {}});
    }
    pieces.back().text += piece;
  }

  // A Handlebars path as a Mustache name ("this" -> ".", an `as |item|` alias -> "."), or ""
  // when it has none (@index, ../x, x.[0]).
  std::string mustache_path(std::string_view path) const {
    std::string_view rest = path;
    if (rest == "this" || rest == ".") {
      return ".";
    }
    if (rest.starts_with("this.") || rest.starts_with("./")) {
      rest.remove_prefix(rest.starts_with("./") ? 2 : 5);
    }
    for (auto it = m_blocks.rbegin(); it != m_blocks.rend(); ++it) {
      if (!it->alias.empty() && !it->in_else) {
        if (rest == it->alias) {
          return ".";
        }
        if (rest.starts_with(it->alias + ".")) {
          rest.remove_prefix(it->alias.size() + 1);
        }
        break;
      }
    }
    return dotprompt_is_simple_path(rest) ? std::string(rest) : std::string();
  }

  void tag(const ImportSource& source, std::string_view content, bool triple, const Location& where,
           int depth) {
    if (content.empty()) {
      return;
    }
    if (!triple && content.front() == '!') {
      text("{{" + std::string(content) + "}}");
      return;
    }
    if (!triple && content.front() == '>') {
      partial(source, util::trim(content.substr(1)), where, depth);
      return;
    }
    if (!triple && (content.front() == '#' || content.front() == '^') && content != "^") {
      open_block(content, where);
      return;
    }
    if (!triple && content.front() == '/') {
      close_block(util::trim(content.substr(1)), where);
      return;
    }
    if (!triple && (content == "else" || content == "^" || content.starts_with("else "))) {
      else_block(content, where);
      return;
    }
    if (!triple && content.front() == '&') {
      content = util::trim(content.substr(1));
    }
    const std::vector<std::string> words = dotprompt_words(content);
    if (words.size() == 2 && words[0] == "role") {
      role(dotprompt_unquote(words[1]), where);
      return;
    }
    const std::string& head = words.front();
    if (words.size() == 1 && head != "history" && head != "media" && head != "section") {
      const std::string path = mustache_path(head);
      if (!path.empty()) {
        text("{{" + path + "}}");
        return;
      }
      note(where, "unsupported-expression",
           "'{{" + std::string(content) + "}}' has no Mustache equivalent: it is left out",
           head.starts_with("@") ? "Mustache has no loop data (@index, @first...)"
                                 : "use a plain variable name");
      return;
    }
    if (head == "history") {
      note(where, "unsupported-helper", "'{{history}}' (the conversation so far) is left out",
           "the project's prompts hold their messages only");
    } else if (head == "media") {
      note(where, "unsupported-helper", "'{{" + std::string(content) + "}}' (media) is left out",
           "the project's messages are text");
    } else {
      note(
          where, "unsupported-helper",
          "helper '" + head + "' has no Mustache equivalent: '{{" + std::string(content) + "}}' is left out");
    }
  }

  void role(const std::string& name, const Location& where) {
    std::string mapped = name == "model" ? "assistant" : name;
    if (mapped != "system" && mapped != "user" && mapped != "assistant") {
      note(where, "unsupported-role",
           "role '" + name + "' is not system, user or model: its text stays in the message before it");
      return;
    }
    if (!m_blocks.empty()) {
      note(where, "unsupported-role",
           "a role inside a block cannot start a message: its text stays in the message before it");
      return;
    }
    pieces.push_back(DotpromptPiece{true, mapped});
  }

  void open_block(std::string_view content, const Location& where) {
    const bool inverted = content.front() == '^';
    const std::vector<std::string> words = dotprompt_words(util::trim(content.substr(1)));
    DotpromptBlock block;
    block.helper = words.empty() ? std::string() : words.front();
    const auto drop = [&](const std::string& why) {
      block.kind = DotpromptBlock::Kind::dropped;
      note(where, "unsupported-block", why + ": the block's text is kept without the condition",
           "rewrite it with a variable that is true or false");
      m_blocks.push_back(block);
    };
    if (words.empty()) {
      drop("an empty block tag");
      return;
    }
    if (inverted || words.size() == 1) {
      // Mustache's own sections, which Handlebars reads the same way.
      const std::string path = mustache_path(words.front());
      if (path.empty() || path == "." || words.size() != 1) {
        drop("'{{" + std::string(content) + "}}' has no Mustache equivalent");
        return;
      }
      block.kind = inverted ? DotpromptBlock::Kind::inverted : DotpromptBlock::Kind::section;
      block.name = path;
      text(std::string("{{") + (inverted ? "^" : "#") + path + "}}");
      m_blocks.push_back(block);
      return;
    }
    const std::string& helper = words.front();
    const bool known = helper == "if" || helper == "unless" || helper == "each" || helper == "with";
    const bool aliased = words.size() == 4 && words[2] == "as" && words[3].size() > 2 &&
                         words[3].front() == '|' && words[3].back() == '|';
    if (!known || !(words.size() == 2 || (aliased && (helper == "each" || helper == "with")))) {
      drop(known ? "'{{" + std::string(content) + "}}' has no Mustache equivalent"
                 : "block helper '" + helper + "' has no Mustache equivalent");
      return;
    }
    const std::string path = mustache_path(words[1]);
    if (path.empty() || path == ".") {
      drop("'{{" + std::string(content) + "}}' has no Mustache equivalent");
      return;
    }
    if (helper == "if" && std::find(m_lists.begin(), m_lists.end(), path) != m_lists.end()) {
      note(where, "list-condition",
           "'{{" + std::string(content) + "}}' tests a list: in Mustache the block repeats once per item",
           "test a true or false variable instead");
    }
    block.kind = helper == "unless" ? DotpromptBlock::Kind::inverted : DotpromptBlock::Kind::section;
    block.name = path;
    if (aliased) {
      block.alias = words[3].substr(1, words[3].size() - 2);
    }
    text(std::string("{{") + (block.kind == DotpromptBlock::Kind::inverted ? "^" : "#") + path + "}}");
    m_blocks.push_back(block);
  }

  void close_block(std::string_view name, const Location& where) {
    if (m_blocks.empty()) {
      throw ConfigError(where.format() + ": '{{/" + std::string(name) + "}}' closes no block", "remove it");
    }
    const DotpromptBlock block = m_blocks.back();
    const std::string expected = block.helper;
    if (name != expected) {
      throw ConfigError(where.format() + ": '{{/" + std::string(name) + "}}' closes '{{#" + expected + "}}'",
                        "close it with {{/" + expected + "}}");
    }
    m_blocks.pop_back();
    if (block.kind != DotpromptBlock::Kind::dropped) {
      text("{{/" + block.name + "}}");
    }
  }

  void else_block(std::string_view content, const Location& where) {
    if (m_blocks.empty()) {
      throw ConfigError(where.format() + ": '{{" + std::string(content) + "}}' is outside a block",
                        "remove it");
    }
    DotpromptBlock& block = m_blocks.back();
    if (block.kind == DotpromptBlock::Kind::dropped || block.in_else) {
      note(where, "unsupported-block",
           "'{{" + std::string(content) + "}}' has no Mustache equivalent: the text after it is kept");
      return;
    }
    if (content != "else" && content != "^") {
      note(where, "unsupported-block",
           "'{{" + std::string(content) + "}}': the condition is left out, so its text renders whenever '" +
               block.name + "' is false",
           "use a nested {{#if}} instead");
    }
    block.in_else = true;
    const bool inverted = block.kind == DotpromptBlock::Kind::inverted;
    // On one line even when {{else}} stands alone: kainjow keeps the line break after a standalone
    // closing tag, which would add a blank line.
    text("{{/" + block.name + "}}{{" + (inverted ? "#" : "^") + block.name + "}}");
  }

  void partial(const ImportSource& source, std::string_view content, const Location& where, int depth) {
    const std::vector<std::string> words = dotprompt_words(content);
    if (words.empty()) {
      note(where, "unsupported-partial", "an empty partial tag is left out");
      return;
    }
    if (words.size() > 1) {
      note(where, "unsupported-partial",
           "the context given to partial '" + words.front() +
               "' is left out: it renders with the prompt's own values");
    }
    if (depth >= k_dotprompt_max_partial_depth) {
      throw ConfigError(where.format() + ": partials nested deeper than " +
                            std::to_string(k_dotprompt_max_partial_depth) + " levels",
                        "a partial may not include itself");
    }
    const std::string name = dotprompt_unquote(words.front());
    const std::filesystem::path named(name);
    const std::string file =
        (named.has_parent_path() ? named.parent_path().generic_string() + "/" : std::string()) + "_" +
        named.filename().string() + ".prompt";
    const bool leaves =
        name.empty() || name.front() == '/' ||
        std::any_of(named.begin(), named.end(), [](const auto& part) { return part == ".."; });
    const std::filesystem::path beside = std::filesystem::path(source.path).parent_path() / file;
    std::error_code ec;
    if (!leaves && !std::filesystem::exists(std::filesystem::symlink_status(beside, ec))) {
      note(where, "partial-not-found",
           "partial '" + name + "' (" + file + ") is not beside " + source.path + ": it is left out",
           "put " + file + " beside the file and import again");
      return;
    }
    // Read once: a partial used many times is read from the cache.
    const std::string key = beside.generic_string();
    auto cached = m_partials.find(key);
    if (cached == m_partials.end()) {
      cached = m_partials.emplace(key, read_beside(source, file, where)).first;
    }
    const ImportSource partial_source{key, cached->second};
    // A partial is a template; a front matter, if any, is not part of it.
    const FrontMatter split = draft_split_front_matter(partial_source);
    convert(partial_source, split.body, split.body_line, depth + 1);
  }
};

// --- front matter -------------------------------------------------------------------------------

struct DotpromptPico {
  std::string name;
  bool optional = false;
  std::string type;
  std::string description;
};

// "name?(array, the list)" -> name, optional, type, description.
DotpromptPico dotprompt_pico_key(const std::string& key) {
  DotpromptPico out;
  std::string name = key;
  const std::size_t paren = name.find('(');
  if (paren != std::string::npos && name.back() == ')') {
    const std::string inside = name.substr(paren + 1, name.size() - paren - 2);
    const std::size_t comma = inside.find(',');
    out.type = std::string(util::trim(inside.substr(0, comma)));
    if (comma != std::string::npos) {
      out.description = std::string(util::trim(inside.substr(comma + 1)));
    }
    name.resize(paren);
  }
  if (name.ends_with("?")) {
    out.optional = true;
    name.pop_back();
  }
  out.name = name;
  return out;
}

void dotprompt_read_schema(const ImportSource& source, const YAML::Node& schema, int first_line,
                           PromptDraft& draft, std::vector<std::string>& lists,
                           std::vector<Diagnostic>& notes) {
  if (schema.IsScalar()) {
    notes.push_back(import_note(
        location_of(source, schema, first_line), "schema-not-kept",
        "input.schema names the registered schema '" + schema.Scalar() + "', whose fields are not known here",
        "declare the variables under [vars]"));
    return;
  }
  if (!schema.IsMap()) {
    return;
  }
  if (draft_get(schema, "properties").IsMap()) {  // JSON Schema
    std::vector<std::string> required;
    if (draft_get(schema, "required").IsSequence()) {
      for (const YAML::Node& item : draft_get(schema, "required")) {
        required.push_back(item.Scalar());
      }
    }
    for (const auto& item : draft_get(schema, "properties")) {
      DraftVar var;
      var.name = item.first.Scalar();
      var.required = std::find(required.begin(), required.end(), var.name) != required.end();
      if (item.second.IsMap() && draft_get(item.second, "description").IsScalar()) {
        var.description = draft_get(item.second, "description").Scalar();
      }
      if (item.second.IsMap() && draft_get(item.second, "default").IsScalar()) {
        var.default_value = draft_yaml_to_json(draft_get(item.second, "default"));
      }
      draft.vars.push_back(std::move(var));
    }
    return;
  }
  for (const auto& item : schema) {
    const std::string key = item.first.Scalar();
    if (key == "(*)") {
      notes.push_back(
          import_note(location_of(source, item.first, first_line), "schema-not-kept",
                      "the wildcard field '(*)' is left out: the project declares each variable by name"));
      continue;
    }
    DotpromptPico pico = dotprompt_pico_key(key);
    if (pico.type.empty() && item.second.IsScalar()) {
      const std::string& value = item.second.Scalar();
      const std::size_t comma = value.find(',');
      pico.type = std::string(util::trim(value.substr(0, comma)));
      if (comma != std::string::npos) {
        pico.description = std::string(util::trim(value.substr(comma + 1)));
      }
    }
    if (pico.type == "array") {
      lists.push_back(pico.name);
    }
    DraftVar var;
    var.name = pico.name;
    var.required = !pico.optional;
    var.description = pico.description;
    draft.vars.push_back(std::move(var));
  }
}

void dotprompt_read_defaults(const ImportSource& source, const YAML::Node& defaults, int first_line,
                             PromptDraft& draft, std::vector<Diagnostic>& notes) {
  if (!defaults.IsMap()) {
    return;
  }
  for (const auto& item : defaults) {
    const std::string name = item.first.Scalar();
    if (!item.second.IsScalar()) {
      notes.push_back(import_note(location_of(source, item.second, first_line), "default-not-kept",
                                  "the default of '" + name + "' is a list or a map: it is left out",
                                  "a variable's default is one string, number or boolean"));
      continue;
    }
    DraftVar* var = draft.find_var(name);
    if (var == nullptr) {
      draft.vars.push_back(DraftVar{name, false, nullptr, {}});
      var = &draft.vars.back();
    }
    var->default_value = draft_yaml_to_json(item.second);
    var->required = false;  // a default always gives a value
  }
}

void dotprompt_read_model(const ImportSource& source, const YAML::Node& model, int first_line,
                          PromptDraft& draft, std::vector<Diagnostic>& notes) {
  const std::string text = model.Scalar();
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) {
    draft.model = text;
    return;
  }
  const std::string plugin = text.substr(0, slash);
  draft.model = text.substr(slash + 1);
  if (plugin == "googleai" || plugin == "vertexai") {
    draft.provider = "gemini";
    notes.push_back(import_note(
        location_of(source, model, first_line), "provider-not-declared",
        "model '" + text + "' runs on provider 'gemini'" +
            (plugin == "vertexai" ? " (the Gemini API, not Vertex AI)" : std::string()),
        "declare [providers.gemini] with kind = \"gemini\" in .promptops.toml if the project has none"));
  } else {
    draft.provider = plugin;
  }
}

void dotprompt_read_config(const ImportSource& source, const YAML::Node& config, int first_line,
                           PromptDraft& draft, std::vector<Diagnostic>& notes) {
  if (!config.IsMap()) {
    return;
  }
  for (const auto& item : config) {
    const std::string key = item.first.Scalar();
    const std::string mapped = draft_param_from_camel(key);
    const Location where = location_of(source, item.first, first_line);
    if (key == "version" && item.second.IsScalar()) {
      draft.model = item.second.Scalar();
      notes.push_back(
          import_note(where, "model-version", "config.version '" + draft.model + "' is the model's name"));
    } else if (!mapped.empty() || key == "seed") {
      draft.params[mapped.empty() ? key : mapped] = draft_yaml_to_json(item.second);
    } else {
      notes.push_back(import_note(where, "param-not-kept",
                                  "config." + key + " has no model parameter here: it is left out",
                                  "set a parameter the provider knows under [model]"));
    }
  }
}

void dotprompt_read_output(const ImportSource& source, const YAML::Node& output, int first_line,
                           PromptDraft& draft, std::vector<Diagnostic>& notes) {
  if (!output.IsMap()) {
    return;
  }
  for (const auto& item : output) {
    const std::string key = item.first.Scalar();
    const Location where = location_of(source, item.first, first_line);
    if (key == "format" && item.second.IsScalar() && item.second.Scalar() == "json") {
      draft.params["response_format"] = {{"type", "json_object"}};
    } else if (key == "format" && item.second.IsScalar() && item.second.Scalar() == "text") {
      continue;
    } else {
      notes.push_back(import_note(where, "output-not-kept", "output." + key + " is left out",
                                  key == "schema"
                                      ? "check the answer's shape with an assertion such as is-json in [eval]"
                                      : std::string()));
    }
  }
}

}  // namespace

namespace {

ImportResult dotprompt_import_unguarded(const ImportSource& source, const ImportOptions& options) {
  ImportResult result;
  std::vector<Diagnostic>& notes = result.notes;
  const FrontMatter split = draft_split_front_matter(source);
  const int first = split.yaml_line;
  PromptDraft draft;
  std::string preferred;
  Location name_where{source.path, 1, 0};
  YAML::Node schema;
  std::vector<std::string> lists;
  if (split.present) {
    const YAML::Node front = parse_yaml(source, split.yaml, first);
    if (!front.IsMap() && !front.IsNull()) {
      throw ConfigError(Location{source.path, first, 0}.format() + ": the front matter is not a map of keys",
                        "write key: value lines between the --- lines");
    }
    if (draft_get(front, "input").IsMap() && draft_get(draft_get(front, "input"), "schema")) {
      schema = draft_get(draft_get(front, "input"), "schema");
    }
    for (const auto& item : front) {
      const std::string key = item.first.Scalar();
      const YAML::Node& value = item.second;
      const Location where = location_of(source, item.first, first);
      if (key == "name" && value.IsScalar()) {
        preferred = value.Scalar();
        name_where = where;
      } else if (key == "variant" && value.IsScalar()) {
        continue;  // after the name
      } else if (key == "description" && value.IsScalar()) {
        draft.description = value.Scalar();
      } else if (key == "model" && value.IsScalar()) {
        dotprompt_read_model(source, value, first, draft, notes);
      } else if (key == "config") {
        dotprompt_read_config(source, value, first, draft, notes);
      } else if (key == "input" && value.IsMap()) {
        if (draft_get(value, "schema")) {
          dotprompt_read_schema(source, draft_get(value, "schema"), first, draft, lists, notes);
        }
        dotprompt_read_defaults(source, draft_get(value, "default"), first, draft, notes);
        for (const auto& part : value) {
          if (part.first.Scalar() != "schema" && part.first.Scalar() != "default") {
            notes.push_back(import_note(location_of(source, part.first, first), "input-not-kept",
                                        "input." + part.first.Scalar() + " is left out"));
          }
        }
      } else if (key == "output") {
        dotprompt_read_output(source, value, first, draft, notes);
      } else if (key == "metadata" && value.IsMap()) {
        for (const auto& part : value) {
          if (part.first.Scalar() == "tags" && part.second.IsSequence()) {
            for (const YAML::Node& tag : part.second) {
              draft.tags.push_back(tag.Scalar());
            }
          } else {
            notes.push_back(import_note(location_of(source, part.first, first), "metadata-not-kept",
                                        "metadata." + part.first.Scalar() + " is left out"));
          }
        }
      } else {
        notes.push_back(import_note(where, "key-not-kept", "'" + key + "' is left out",
                                    key == "tools" ? "the project's prompts call no tools" : std::string()));
      }
    }
    if (draft_get(front, "variant").IsScalar() && !preferred.empty()) {
      preferred += "." + draft_get(front, "variant").Scalar();
    }
  }
  const std::string name = draft_prompt_name(source, options, preferred, name_where, ".prompt", notes);
  draft_sort_params(draft);

  DotpromptConverter converter(notes, lists);
  converter.convert(source, split.body, split.body_line, 0);
  std::string role = "user";
  std::string buffer;
  const auto flush = [&] {
    std::string content = draft_trim(buffer);
    if (!content.empty()) {
      draft.messages.emplace_back(role, std::move(content));
    }
    buffer.clear();
  };
  for (const DotpromptPiece& piece : converter.pieces) {
    if (piece.is_role) {
      flush();
      role = piece.text;
    } else {
      buffer += piece.text;
    }
  }
  flush();
  if (draft.messages.empty()) {
    throw ConfigError(
        Location{source.path, split.body_line, 0}.format() + ": the prompt has no template text",
        "write the template after the front matter");
  }

  // Every name the messages use is declared, as lint wants: optional, as Handlebars renders a
  // missing value as nothing.
  const bool has_schema = !schema.IsNull();
  for (const auto& [message_role, content] : draft.messages) {
    const TemplateInfo info = analyze_template(content);
    if (!info.error.empty()) {
      throw ConfigError(Location{source.path, split.body_line, 0}.format() +
                        ": the converted template is not valid Mustache: " + info.error);
    }
    for (const TemplateVariable& variable : info.variables) {
      if (variable.in_section || draft.find_var(variable.name) != nullptr) {
        continue;
      }
      if (has_schema) {
        notes.push_back(
            import_note(location_of(source, schema, first), "undeclared-variable",
                        "'" + variable.name + "' is used but not in input.schema: it is declared optional"));
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

ImportResult import_dotprompt(const ImportSource& source, const ImportOptions& options) {
  try {
    return dotprompt_import_unguarded(source, options);
  } catch (const YAML::Exception& error) {
    const Location where{source.path, error.mark.is_null() ? 0 : error.mark.line + 2, 0};
    throw ConfigError(where.format() + ": unexpected YAML: " + error.msg,
                      "see git-promptops-import(1) for the keys read");
  }
}

// --- export -------------------------------------------------------------------------------------

std::string export_dotprompt(const Prompt& prompt, const ModelSpec& model, std::vector<Diagnostic>& notes) {
  nlohmann::ordered_json front = nlohmann::ordered_json::object();
  front["name"] = prompt.name;
  if (!prompt.description.empty()) {
    front["description"] = prompt.description;
  }
  const Location model_where = !prompt.model.where.file.empty() ? prompt.model.where
                               : !model.where.file.empty()      ? model.where
                                                                : Location{prompt.path, 0, 0};
  if (!model.name.empty()) {
    const std::string plugin = model.provider == "gemini" ? "googleai" : model.provider;
    front["model"] = plugin.empty() ? model.name : plugin + "/" + model.name;
  } else if (!model.provider.empty()) {
    notes.push_back(import_note(model_where, "model-not-kept",
                                "provider '" + model.provider + "' without a model name is left out"));
  }
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  nlohmann::ordered_json output = nlohmann::ordered_json::object();
  if (model.params.is_object()) {
    for (const auto& [key, value] : model.params.items()) {
      const std::string camel = draft_param_to_camel(key);
      if (key == "response_format" && value.is_object() && value.value("type", "") == "json_object") {
        output["format"] = "json";
      } else if (key == "stop" && value.is_string()) {
        config["stopSequences"] = nlohmann::ordered_json::array({value});
      } else if (!camel.empty() || key == "seed") {
        config[camel.empty() ? key : camel] = value;
      } else {
        notes.push_back(
            import_note(model_where, "param-not-kept",
                        "model parameter '" + key + "' has no dotprompt config key: it is left out"));
      }
    }
  }
  if (!config.empty()) {
    front["config"] = std::move(config);
  }
  nlohmann::ordered_json schema = nlohmann::ordered_json::object();
  nlohmann::ordered_json defaults = nlohmann::ordered_json::object();
  for (const VarSpec& var : prompt.vars) {
    const bool optional = !var.required || var.default_value.has_value();
    schema[var.name + (optional ? "?" : "")] =
        "string" + (var.description.empty() ? std::string() : ", " + var.description);
    if (var.default_value) {
      defaults[var.name] = *var.default_value;
    }
  }
  if (!schema.empty()) {
    front["input"]["schema"] = std::move(schema);
    if (!defaults.empty()) {
      front["input"]["default"] = std::move(defaults);
    }
  }
  if (!output.empty()) {
    front["output"] = std::move(output);
  }
  if (!prompt.tags.empty()) {
    front["metadata"]["tags"] = prompt.tags;
  }
  if (prompt.eval.present) {
    notes.push_back(
        import_note(prompt.eval.where.file.empty() ? Location{prompt.path, 0, 0} : prompt.eval.where,
                    "eval-not-kept", "the [eval] table has no place in a dotprompt file: it is left out"));
  }
  if (!prompt.gate.empty()) {
    notes.push_back(
        import_note(prompt.gate.where.file.empty() ? Location{prompt.path, 0, 0} : prompt.gate.where,
                    "gate-not-kept", "the [gate] table has no place in a dotprompt file: it is left out"));
  }
  std::string body;
  const bool one_user = prompt.messages.size() == 1 && prompt.messages.front().role == "user";
  for (const Message& message : prompt.messages) {
    if (message.content.find("{{>") != std::string::npos ||
        message.content.find("{{=") != std::string::npos) {
      notes.push_back(
          import_note(message.where, "template-changed",
                      "Mustache partials and delimiter changes are not read the same way by Handlebars"));
    }
    if (!one_user) {
      body += (body.empty() ? "" : "\n") + std::string("{{role \"") +
              (message.role == "assistant" ? "model" : message.role) + "\"}}\n";
    }
    body += message.content + "\n";
  }
  return draft_front_matter_text(front) + body;
}

}  // namespace promptops::inline interop
