// SPDX-License-Identifier: MIT
// Edits of prompt files that keep every other byte: a message's content or the model, in place.
#include <promptops/prompt/prompt_edit.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <toml++/toml.h>

#include <promptops/util/error.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

namespace {

std::size_t bom_size(std::string_view text) { return text.starts_with("\xEF\xBB\xBF") ? 3 : 0; }

// "\r\n" when the file's first line ends so, else "\n".
std::string newline_of(std::string_view text) {
  const std::size_t newline = text.find('\n');
  return newline != std::string_view::npos && newline > 0 && text[newline - 1] == '\r' ? "\r\n" : "\n";
}

// A text prompt's layout: the front matter's TOML is [toml_begin, toml_end), the body starts at
// body_offset.
struct TextLayout {
  bool front_matter = false;
  std::size_t toml_begin = 0;
  std::size_t toml_end = 0;
  std::size_t body_offset = 0;
};

TextLayout text_layout(std::string_view text, const std::string& path) {
  TextLayout layout;
  const std::size_t bom = bom_size(text);
  layout.body_offset = bom;
  std::size_t next = 0;
  if (util::line_at(text, bom, next) != "+++") {
    return layout;
  }
  std::size_t pos = next;
  while (pos < text.size()) {
    std::size_t after = 0;
    if (util::line_at(text, pos, after) == "+++") {
      layout.front_matter = true;
      layout.toml_begin = next;
      layout.toml_end = pos;
      layout.body_offset = after;
      return layout;
    }
    pos = after;
  }
  throw Error(path + ": front matter is not closed", "end it with a line that holds only +++");
}

toml::table parse_or_throw(std::string_view text, const std::string& path) {
  try {
    return toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    throw Error(path + ": cannot edit a file that does not parse: " + std::string(e.description()));
  }
}

// Byte offset of a toml++ position (1-based line, column in code points; a BOM is not counted).
std::size_t offset_of(std::string_view text, const toml::source_position& position) {
  std::size_t at = 0;
  for (std::size_t line = 1; line < position.line; ++line) {
    at = text.find('\n', at);
    if (at == std::string_view::npos) {
      return std::string_view::npos;
    }
    ++at;
  }
  if (position.line == 1) {
    at = bom_size(text);
  }
  for (std::size_t column = 1; column < position.column && at < text.size(); ++column) {
    ++at;
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) {
      ++at;
    }
  }
  return at;
}

// "path:line" of a node of TOML text that starts `line_offset` lines into the file (a front matter
// starts on line 2).
std::string at_line(const std::string& path, const toml::node& node, int line_offset) {
  return path + ":" + std::to_string(static_cast<long>(node.source().begin.line) + line_offset);
}

// A TOML string literal in the file: [begin, end) with its delimiters.
struct Literal {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool literal = false;         // '...' rather than "..."
  bool multi_line = false;      // """...""" or '''...'''
  std::string leading_newline;  // the newline right after a multi-line opening delimiter, if any
};

std::size_t quote_run(std::string_view text, std::size_t at, char quote) {
  std::size_t n = 0;
  while (at + n < text.size() && text[at + n] == quote) {
    ++n;
  }
  return n;
}

Literal find_literal(std::string_view text, const toml::node& node, const std::string& path,
                     int line_offset) {
  const std::size_t at = offset_of(text, node.source().begin);
  const std::string_view rest = at == std::string_view::npos ? std::string_view() : text.substr(at);
  if (rest.empty() || (rest.front() != '"' && rest.front() != '\'')) {
    throw Error(at_line(path, node, line_offset) + ": cannot find the string to replace",
                "edit the file by hand");
  }
  Literal out;
  out.begin = at;
  const char quote = rest.front();
  out.literal = quote == '\'';
  out.multi_line = quote_run(text, at, quote) >= 3;
  std::size_t pos = at + (out.multi_line ? 3 : 1);
  if (out.multi_line) {
    if (text.substr(pos).starts_with("\r\n")) {
      out.leading_newline = "\r\n";
    } else if (text.substr(pos).starts_with("\n")) {
      out.leading_newline = "\n";
    }
  }
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '\\' && !out.literal) {
      pos += 2;
    } else if (c == quote && !out.multi_line) {
      out.end = pos + 1;
      return out;
    } else if (c == quote) {
      // Up to two quotes of the content may come right before the closing delimiter.
      const std::size_t n = quote_run(text, pos, quote);
      if (n >= 3) {
        out.end = pos + n;
        return out;
      }
      pos += n;
    } else {
      ++pos;
    }
  }
  throw Error(at_line(path, node, line_offset) + ": the string is not closed");
}

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7F;
}

// Whether a literal string ('...' or, when multi_line, '''...''') holds `content` exactly.
bool literal_holds(std::string_view content, bool multi_line) {
  if (multi_line) {
    if (content.find("'''") != std::string_view::npos) {
      return false;
    }
  } else if (content.find('\'') != std::string_view::npos) {
    return false;
  }
  return std::none_of(content.begin(), content.end(),
                      [&](char c) { return is_control(c) && c != '\t' && !(multi_line && c == '\n'); });
}

std::string escaped(char c) {
  switch (c) {
    case '\\':
      return "\\\\";
    case '"':
      return "\\\"";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    default: {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      return buffer;
    }
  }
}

std::string one_line_basic(std::string_view content) {
  std::string out = "\"";
  for (const char c : content) {
    out += c == '\\' || c == '"' || (is_control(c) && c != '\t') ? escaped(c) : std::string(1, c);
  }
  return out + "\"";
}

// """...""": escapes backslashes, control characters but tab and newline, and every third quote of
// a run so that no run closes the string (a run of up to two may end the content).
std::string multi_line_basic(std::string_view content, std::string_view leading, std::string_view newline) {
  std::string out = "\"\"\"";
  out += leading;
  for (std::size_t i = 0; i < content.size();) {
    const char c = content[i];
    if (c == '"') {
      const std::size_t n = quote_run(content, i, '"');
      for (std::size_t q = 0; q < n; ++q) {
        out += q % 3 == 2 ? "\\\"" : "\"";
      }
      i += n;
      continue;
    }
    if (c == '\n') {
      out += newline;
    } else if (c == '\\' || (is_control(c) && c != '\t')) {
      out += escaped(c);
    } else {
      out += c;
    }
    ++i;
  }
  return out + "\"\"\"";
}

std::string multi_line_literal(std::string_view content, std::string_view leading, std::string_view newline) {
  std::string out = "'''";
  out += leading;
  for (const char c : content) {
    if (c == '\n') {
      out += newline;
    } else {
      out += c;
    }
  }
  return out + "'''";
}

// `content` as a TOML string in the style of `old` when that style holds it (see the header).
std::string serialize(const Literal& old, std::string_view content, std::string_view newline) {
  const bool has_newline = content.find('\n') != std::string_view::npos;
  if (!old.multi_line && !has_newline) {
    if (!old.literal) {
      return one_line_basic(content);
    }
    if (literal_holds(content, false)) {
      return "'" + std::string(content) + "'";
    }
  }
  // TOML trims a newline right after the opening delimiter: keep that layout, and write one when
  // the content itself starts with a newline.
  std::string leading = old.multi_line ? old.leading_newline : "";
  if (leading.empty() && content.starts_with("\n")) {
    leading = newline;
  }
  if (old.literal && (old.multi_line || has_newline) && literal_holds(content, true)) {
    return multi_line_literal(content, leading, newline);
  }
  return multi_line_basic(content, leading, newline);
}

struct Edit {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string text;
};

std::string apply(std::string_view text, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.offset > b.offset; });
  std::string out(text);
  for (const Edit& edit : edits) {
    out.replace(edit.offset, edit.length, edit.text);
  }
  return out;
}

// The `content` string of the index-th message as parse_prompt counts them.
const toml::node& message_node(const toml::table& root, std::size_t index, const std::string& path) {
  if (const toml::node* node = root.get("template")) {
    if (index == 0 && node->is_string()) {
      return *node;
    }
  } else if (const toml::array* array = root["messages"].as_array()) {
    std::size_t number = 0;
    for (const auto& item : *array) {
      const auto* table = item.as_table();
      if (table == nullptr) {
        continue;
      }
      const toml::node* role = table->get("role");
      const toml::node* content = table->get("content");
      const auto valid_role = [](const std::string& name) {
        return name == "system" || name == "user" || name == "assistant";
      };
      if (role == nullptr || !role->is_string() || !valid_role(role->as_string()->get()) ||
          content == nullptr || !content->is_string()) {
        continue;
      }
      if (number++ == index) {
        return *content;
      }
    }
  }
  throw Error(path + ": cannot find message " + std::to_string(index + 1) + " to replace",
              "edit the file by hand");
}

// Checks that `result` parses with no new errors and gives `expected`.
void verify(std::string_view before, const std::string& result, const Prompt& expected,
            const std::string& what) {
  std::vector<std::string> old_errors;
  for (const Diagnostic& d : parse_prompt(before, expected.path, expected.name).diagnostics) {
    if (d.severity == Severity::error) {
      old_errors.push_back(d.code + "\n" + d.message);
    }
  }
  const ParsedPrompt parsed = parse_prompt(result, expected.path, expected.name);
  for (const Diagnostic& d : parsed.diagnostics) {
    if (d.severity != Severity::error) {
      continue;
    }
    const auto it = std::find(old_errors.begin(), old_errors.end(), d.code + "\n" + d.message);
    if (it != old_errors.end()) {
      old_errors.erase(it);
      continue;
    }
    throw Error(
        "cannot " + what + " in " + expected.path + ": the result would not be valid: " + d.located_message(),
        "edit " + expected.path + " by hand");
  }
  if (!parsed.prompt || parsed.prompt->to_json() != expected.to_json()) {
    throw Error("internal: rewriting " + expected.path + " to " + what + " changed more than that");
  }
}

// Whether a line is the header of the root [model] table.
bool is_model_header(std::string_view line) {
  const auto skip_blanks = [&] {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
  };
  skip_blanks();
  if (!line.starts_with("[") || line.starts_with("[[")) {
    return false;
  }
  line.remove_prefix(1);
  skip_blanks();
  bool found = false;
  for (const std::string_view key : {"model", "\"model\"", "'model'"}) {
    if (line.starts_with(key)) {
      line.remove_prefix(key.size());
      found = true;
      break;
    }
  }
  skip_blanks();
  if (!found || !line.starts_with("]")) {
    return false;
  }
  line.remove_prefix(1);
  skip_blanks();
  while (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line.empty() || line.front() == '#';
}

std::string key_line(std::string_view key, std::string_view value, std::string_view newline) {
  return std::string(key) + " = " + one_line_basic(value) + std::string(newline);
}

// What goes between `toml_text` and a table appended to it: a blank line, unless there is one.
std::string separator(std::string_view toml_text, std::string_view newline) {
  if (toml_text.empty() || toml_text.ends_with("\n\n") || toml_text.ends_with("\n\r\n")) {
    return "";
  }
  if (toml_text.ends_with("\n")) {
    return std::string(newline);
  }
  return std::string(newline) + std::string(newline);
}

// The end of the [model] header line of `table`, or npos when the table has no such header (it is
// inline, or made by dotted keys or by a [model.sub] header).
std::size_t model_header_end(std::string_view toml_text, const toml::table& table) {
  if (table.is_inline()) {
    return std::string_view::npos;
  }
  const std::size_t line_start = offset_of(toml_text, toml::source_position{table.source().begin.line, 1});
  if (line_start == std::string_view::npos) {
    return std::string_view::npos;
  }
  const std::size_t newline_at = toml_text.find('\n', line_start);
  const std::size_t line_end = newline_at == std::string_view::npos ? toml_text.size() : newline_at;
  return is_model_header(toml_text.substr(line_start, line_end - line_start)) ? line_end
                                                                              : std::string_view::npos;
}

bool parses(std::string_view toml_text) {
  try {
    (void)toml::parse(toml_text);
    return true;
  } catch (const toml::parse_error&) {
    return false;
  }
}

// The TOML text `toml_text` (a whole file or a front matter) with the model set. Values that exist
// are replaced in place however the table is written; missing keys go after the [model] header.
std::string set_model(std::string_view toml_text, const std::string& path, int line_offset,
                      std::string_view provider, std::string_view name, std::string_view newline) {
  const toml::table root = parse_or_throw(toml_text, path);
  std::vector<std::pair<std::string_view, std::string_view>> wanted;
  if (!provider.empty()) {
    wanted.emplace_back("provider", provider);
  }
  wanted.emplace_back("name", name);

  const toml::node* model = root.get("model");
  if (model == nullptr) {
    std::string table = "[model]" + std::string(newline);
    for (const auto& [key, value] : wanted) {
      table += key_line(key, value, newline);
    }
    return std::string(toml_text) + separator(toml_text, newline) + table;
  }
  const auto* table = model->as_table();
  if (table == nullptr) {
    throw Error(at_line(path, *model, line_offset) + ": 'model' is not a table",
                "set the model in " + path + " by hand");
  }

  std::vector<Edit> edits;
  std::string missing;
  for (const auto& [key, value] : wanted) {
    if (const toml::node* node = table->get(key)) {
      if (!node->is_string()) {
        throw Error(at_line(path, *node, line_offset) + ": 'model." + std::string(key) + "' is not a string",
                    "set the model in " + path + " by hand");
      }
      const Literal old = find_literal(toml_text, *node, path, line_offset);
      edits.push_back(Edit{old.begin, old.end - old.begin, serialize(old, value, newline)});
    } else {
      missing += key_line(key, value, newline);
    }
  }
  if (missing.empty()) {
    return apply(toml_text, std::move(edits));
  }
  const std::size_t header_end = model_header_end(toml_text, *table);
  if (header_end != std::string_view::npos) {
    if (header_end == toml_text.size()) {
      edits.push_back(Edit{header_end, 0, std::string(newline) + missing});
    } else {
      edits.push_back(Edit{header_end + 1, 0, missing});
    }
    return apply(toml_text, std::move(edits));
  }
  // A table that only [model.sub] headers made may still get its own [model] header at the end;
  // one made by dotted keys or written inline may not.
  std::string result = apply(toml_text, std::move(edits));
  if (!table->is_inline()) {
    result += separator(result, newline) + "[model]" + std::string(newline) + missing;
    if (parses(result)) {
      return result;
    }
  }
  throw Error(at_line(path, *table, line_offset) + ": cannot add to the model: it is written " +
                  (table->is_inline() ? "as an inline table" : "with dotted keys"),
              "set the model in " + path + " by hand");
}

}  // namespace

std::string replace_message_content(std::string_view text, const Prompt& prompt, std::size_t index,
                                    std::string_view content) {
  if (index >= prompt.messages.size()) {
    throw Error("internal: " + prompt.path + " has no message " + std::to_string(index + 1));
  }
  std::string result;
  if (prompt.format == PromptFormat::text) {
    const TextLayout layout = text_layout(text, prompt.path);
    std::size_t next = 0;
    if (!layout.front_matter && util::line_at(content, 0, next) == "+++") {
      throw Error("cannot replace message 1 in " + prompt.path +
                      ": the new text starts with a +++ line, which would be read as front matter",
                  "edit " + prompt.path + " by hand");
    }
    // The file's final newline is not part of the body: keep it, or add one when the content ends
    // with a line break that it would otherwise eat.
    const std::string_view body = text.substr(layout.body_offset);
    std::string final_newline = body.ends_with("\r\n") ? "\r\n" : body.ends_with("\n") ? "\n" : "";
    if (content.ends_with("\r")) {
      final_newline = "\r\n";
    } else if (final_newline.empty() && content.ends_with("\n")) {
      final_newline = newline_of(text);
    }
    result = std::string(text.substr(0, layout.body_offset)) + std::string(content) + final_newline;
  } else {
    const toml::table root = parse_or_throw(text, prompt.path);
    const toml::node& node = message_node(root, index, prompt.path);
    const Literal old = find_literal(text, node, prompt.path, 0);
    result = apply(text, {Edit{old.begin, old.end - old.begin, serialize(old, content, newline_of(text))}});
  }
  Prompt expected = prompt;
  expected.messages[index].content = std::string(content);
  verify(text, result, expected, "replace message " + std::to_string(index + 1));
  return result;
}

std::string replace_model(std::string_view text, const Prompt& prompt, std::string_view provider,
                          std::string_view name) {
  const std::string newline = newline_of(text);
  std::string result;
  if (prompt.format == PromptFormat::text) {
    const TextLayout layout = text_layout(text, prompt.path);
    if (layout.front_matter) {
      const std::string_view front = text.substr(layout.toml_begin, layout.toml_end - layout.toml_begin);
      result = std::string(text.substr(0, layout.toml_begin)) +
               set_model(front, prompt.path, 1, provider, name, newline) +
               std::string(text.substr(layout.toml_end));
    } else {
      const std::size_t bom = bom_size(text);
      result = std::string(text.substr(0, bom)) + "+++" + newline +
               set_model("", prompt.path, 1, provider, name, newline) + "+++" + newline +
               std::string(text.substr(bom));
    }
  } else {
    result = set_model(text, prompt.path, 0, provider, name, newline);
  }
  Prompt expected = prompt;
  expected.model.name = std::string(name);
  if (!provider.empty()) {
    expected.model.provider = std::string(provider);
  }
  verify(text, result, expected, "set the model");
  return result;
}

}  // namespace promptops::prompt
