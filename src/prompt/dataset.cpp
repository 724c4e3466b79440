// SPDX-License-Identifier: MIT
// Evaluation datasets: JSONL, JSON arrays and CSV files of cases, with a diagnostic per bad row.
#include <promptops/prompt/dataset.hpp>

#include <algorithm>
#include <map>
#include <optional>

#include <promptops/config/config.hpp>

#include <promptops/util/json.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

namespace {

const std::vector<std::string> k_case_keys{"vars", "expected", "assert", "id", "group", "description", "metadata"};
constexpr std::string_view k_bom = "\xEF\xBB\xBF";

std::string extension_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = file.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return {};
  }
  return util::to_lower(file.substr(dot));
}

// "a string", "an object", "null"... for "must be X, not Y" messages.
std::string json_type(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    default:
      return std::string("a ") + value.type_name();
  }
}

// The hint for a JSON error: numbers out of range and too deep values have a fix of their own.
std::string json_hint(const std::string& error) {
  if (error.rfind("number overflow", 0) == 0) {
    return "a number must fit a 64-bit float (about 1.8e308); write a larger one as a string";
  }
  if (error.rfind("arrays and objects nested deeper", 0) == 0) {
    return "a dataset value may nest arrays and objects at most " + std::to_string(util::k_json_max_depth) +
           " levels deep";
  }
  return {};
}

class Reader {
 public:
  // Each case goes to `sink` as it is read; `out` gets the diagnostics.
  Reader(const std::string& path, ParsedDataset& out, const CaseSink& sink)
      : m_path(path), m_out(out), m_sink(sink) {}

  void error(int line, int column, std::string code, std::string message, std::string hint = {}) {
    Diagnostic d;
    d.where = Location{m_path, line, column};
    d.code = std::move(code);
    d.message = std::move(message);
    d.hint = std::move(hint);
    m_out.diagnostics.push_back(std::move(d));
  }

  // Room for `rows` cases at once, so that 100,000 cases never hold a second, half-size copy
  // while the vector grows (only when the cases are kept in `out`).
  void reserve(std::size_t rows) {
    if (!m_sink) {
      m_out.cases.reserve(rows);
    }
  }

  std::size_t cases() const { return m_cases; }

  void add(DatasetCase c) {
    const auto [it, inserted] = m_id_lines.emplace(c.id, c.line);
    if (!inserted) {
      error(c.line, 0, "duplicate-id",
            "duplicate case id '" + c.id + "' (first used on line " + std::to_string(it->second) + ")",
            "give every case its own id");
      return;
    }
    ++m_cases;
    if (m_sink) {
      m_sink(std::move(c));
    } else {
      m_out.cases.push_back(std::move(c));
    }
  }

  // One JSON case object (a JSONL line or an element of a JSON array).
  void json_case(const nlohmann::json& row, int line) {
    if (!row.is_object()) {
      error(line, 0, "invalid-case", "a case must be a JSON object, not " + json_type(row),
            "write {\"vars\": {...}, \"expected\": ...}");
      return;
    }
    bool ok = true;
    DatasetCase c;
    for (const auto& [key, value] : row.items()) {
      if (std::find(k_case_keys.begin(), k_case_keys.end(), key) == k_case_keys.end()) {
        c.other_keys[key] = value;
        note_unknown_key(key, line);
      }
    }
    c.line = line;
    const auto vars = row.find("vars");
    if (vars == row.end()) {
      error(line, 0, "invalid-case", "case has no \"vars\" object",
            "write {\"vars\": {\"name\": \"value\"}, \"expected\": ...}");
      ok = false;
    } else if (!vars->is_object()) {
      error(line, 0, "invalid-case", "'vars' must be a JSON object, not " + json_type(*vars));
      ok = false;
    } else {
      c.vars = *vars;
    }
    if (const auto expected = row.find("expected"); expected != row.end()) {
      c.expected = *expected;
    }
    if (const auto asserts = row.find("assert"); asserts != row.end() && !asserts->is_null()) {
      if (!set_asserts(c, *asserts, line)) {
        ok = false;
      }
    }
    c.id = std::to_string(line);
    if (const auto id = row.find("id"); id != row.end() && !id->is_null()) {
      if (id->is_string() && !id->get<std::string>().empty()) {
        c.id = id->get<std::string>();
      } else if (id->is_number_integer()) {
        c.id = id->dump();
      } else {
        error(line, 0, "invalid-case",
              "'id' must be a non-empty string or an integer, not " + json_type(*id));
        ok = false;
      }
    }
    if (const auto group = row.find("group"); group != row.end() && !group->is_null()) {
      if (group->is_string()) {
        c.group = group->get<std::string>();
      } else {
        error(line, 0, "invalid-case", "'group' must be a string, not " + json_type(*group));
        ok = false;
      }
    }
    if (const auto description = row.find("description"); description != row.end() && !description->is_null()) {
      if (description->is_string()) {
        c.description = description->get<std::string>();
      } else {
        error(line, 0, "invalid-case", "'description' must be a string, not " + json_type(*description));
        ok = false;
      }
    }
    if (const auto metadata = row.find("metadata"); metadata != row.end() && !metadata->is_null()) {
      if (metadata->is_object()) {
        c.metadata = *metadata;
      } else {
        error(line, 0, "invalid-case", "'metadata' must be a JSON object, not " + json_type(*metadata));
        ok = false;
      }
    }
    if (ok) {
      add(std::move(c));
    }
  }

  // Keys no field reads (promptfoo's "options", "threshold"...) are kept with the case; one
  // warning per key names its first line and how many cases have it.
  void note_unknown_key(const std::string& key, int line) {
    const auto [it, inserted] = m_unknown_keys.try_emplace(key, UnknownKey{line, 0});
    ++it->second.cases;
  }

  void warn_unknown_keys() {
    for (const auto& [key, seen] : m_unknown_keys) {
      const std::string suggestion = did_you_mean(key, k_case_keys);
      Diagnostic d;
      d.severity = Severity::warning;
      d.where = Location{m_path, seen.first_line, 0};
      d.code = "unknown-key";
      d.message = "unknown key '" + key + "' in " +
                  (seen.cases == 1 ? std::string("1 case") : std::to_string(seen.cases) + " cases") +
                  " (kept in the per-case records, otherwise unused)";
      d.hint = suggestion.empty() ? "a case has vars, expected, assert, id, group, description and metadata; "
                                    "variables go in \"vars\""
                                  : "did you mean '" + suggestion + "'?";
      m_out.diagnostics.push_back(std::move(d));
    }
  }

  bool set_asserts(DatasetCase& c, const nlohmann::json& asserts, int line) {
    const bool valid =
        asserts.is_array() &&
        std::all_of(asserts.begin(), asserts.end(), [](const nlohmann::json& a) { return a.is_object(); });
    if (!valid) {
      error(line, 0, "invalid-case", "'assert' must be an array of objects",
            "write \"assert\": [{\"type\": \"contains\", \"value\": \"...\"}]");
      return false;
    }
    c.asserts = asserts;
    return true;
  }

  const std::string& path() const { return m_path; }

 private:
  const std::string& m_path;
  ParsedDataset& m_out;
  const CaseSink& m_sink;
  std::size_t m_cases = 0;
  struct UnknownKey {
    int first_line;
    std::size_t cases;
  };
  std::map<std::string, int> m_id_lines;
  std::map<std::string, UnknownKey> m_unknown_keys;
};

void parse_jsonl(std::string_view text, Reader& reader) {
  reader.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    const std::size_t newline = text.find('\n', pos);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') {
      row.remove_suffix(1);
    }
    if (util::trim(row).empty()) {
      continue;
    }
    const util::JsonParse parsed = util::parse_json(row);
    if (!parsed.ok()) {
      reader.error(line, static_cast<int>(std::min(parsed.byte, row.size() + 1)), "invalid-json",
                   "invalid JSON: " + parsed.reason(), json_hint(parsed.reason()));
      continue;
    }
    reader.json_case(parsed.value, line);
  }
}

// The line on which each element of a top-level JSON array starts.
std::vector<int> element_lines(std::string_view text) {
  std::vector<int> lines;
  int line = 1;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool expect_element = false;
  for (const char c : text) {
    if (c == '\n') {
      ++line;
    }
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    }
    if (depth == 1 && expect_element && c != ']') {
      lines.push_back(line);
      expect_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      expect_element = depth == 1;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_element = true;
    }
  }
  return lines;
}

void parse_json_array(std::string_view text, Reader& reader) {
  const util::JsonParse parsed = util::parse_json(text);
  if (!parsed.ok()) {
    // parsed.byte is 1-based; turn it into a line and column.
    const std::size_t offset = std::min(parsed.byte == 0 ? 0 : parsed.byte - 1, text.size());
    const std::string_view before = text.substr(0, offset);
    const int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    reader.error(line, static_cast<int>(column), "invalid-json", "invalid JSON: " + parsed.reason(),
                 json_hint(parsed.reason()));
    return;
  }
  const nlohmann::json& value = parsed.value;
  const std::vector<int> lines = element_lines(text);
  for (std::size_t i = 0; i < value.size(); ++i) {
    reader.json_case(value[i], i < lines.size() ? lines[i] : 0);
  }
}

struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
  bool ok = true;
};

// RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.
std::vector<CsvRecord> read_csv(std::string_view text, Reader& reader) {
  std::vector<CsvRecord> records;
  const std::size_t size = text.size();
  std::size_t i = 0;
  int line = 1;
  while (i < size) {
    CsvRecord record;
    record.line = line;
    bool first_quoted = false;
    for (;;) {
      std::string field;
      if (i < size && text[i] == '"') {
        if (record.fields.empty()) {
          first_quoted = true;
        }
        ++i;
        bool closed = false;
        while (i < size) {
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < size && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') {
            ++line;
          }
          field += c;
          ++i;
        }
        if (!closed) {
          reader.error(record.line, 0, "invalid-csv", "unterminated quoted field",
                       "close the field with \" and write a quote inside a field as \"\"");
          return records;
        }
        if (i < size && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r')) {
          reader.error(line, 0, "invalid-csv", "text after the closing quote of a field",
                       "quote the whole field and write a quote inside it as \"\"");
          record.ok = false;
          while (i < size && text[i] != ',' && text[i] != '\n') {
            ++i;
          }
        }
      } else {
        while (i < size && text[i] != ',' && text[i] != '\n') {
          field += text[i];
          ++i;
        }
        if (!field.empty() && field.back() == '\r') {
          field.pop_back();
        }
      }
      record.fields.push_back(std::move(field));
      if (i < size && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < size && text[i] == '\r') {
        ++i;
      }
      if (i < size && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    const bool blank = record.fields.size() == 1 && !first_quoted && util::trim(record.fields[0]).empty();
    if (!blank) {
      records.push_back(std::move(record));
    }
  }
  return records;
}

void parse_csv(std::string_view text, Reader& reader) {
  const std::vector<CsvRecord> records = read_csv(text, reader);
  if (records.empty()) {
    return;
  }
  enum class Role { var, expected, id, group, assert_json };
  std::vector<std::string> names;
  std::vector<Role> roles;
  bool header_ok = records.front().ok;
  const int header_line = records.front().line;
  std::optional<std::string> expected_column;
  for (std::size_t c = 0; c < records.front().fields.size(); ++c) {
    const std::string name(util::trim(records.front().fields[c]));
    if (name.empty()) {
      reader.error(header_line, 0, "invalid-header",
                   "column " + std::to_string(c + 1) + " of the header has no name");
      header_ok = false;
    } else if (std::find(names.begin(), names.end(), name) != names.end()) {
      reader.error(header_line, 0, "invalid-header", "duplicate column '" + name + "'");
      header_ok = false;
    }
    Role role = Role::var;
    if (name == "expected" || name == "__expected") {
      if (expected_column) {
        reader.error(header_line, 0, "invalid-header",
                     "columns '" + *expected_column + "' and '" + name + "' both give the expected output");
        header_ok = false;
      }
      expected_column = name;
      role = Role::expected;
    } else if (name == "id") {
      role = Role::id;
    } else if (name == "group") {
      role = Role::group;
    } else if (name == "assert") {
      role = Role::assert_json;
    }
    names.push_back(name);
    roles.push_back(role);
  }
  if (!header_ok) {
    return;
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (!record.ok) {
      continue;
    }
    if (record.fields.size() != names.size()) {
      reader.error(record.line, 0, "invalid-row",
                   "row has " + std::to_string(record.fields.size()) + " fields, the header has " +
                       std::to_string(names.size()));
      continue;
    }
    DatasetCase c;
    c.line = record.line;
    c.id = std::to_string(record.line);
    bool ok = true;
    for (std::size_t f = 0; f < names.size(); ++f) {
      const std::string& cell = record.fields[f];
      switch (roles[f]) {
        case Role::var:
          c.vars[names[f]] = cell;
          break;
        case Role::expected:
          if (!cell.empty()) {
            c.expected = cell;
          }
          break;
        case Role::id:
          if (!cell.empty()) {
            c.id = cell;
          }
          break;
        case Role::group:
          c.group = cell;
          break;
        case Role::assert_json:
          if (!util::trim(cell).empty()) {
            util::JsonParse parsed = util::parse_json(cell);
            if (!parsed.ok()) {
              reader.error(record.line, 0, "invalid-json", "invalid JSON in column 'assert': " + parsed.reason(),
                           json_hint(parsed.reason()));
              ok = false;
              break;
            }
            nlohmann::json asserts = std::move(parsed.value);
            if (asserts.is_object()) {
              asserts = nlohmann::json::array({asserts});
            }
            ok = reader.set_asserts(c, asserts, record.line) && ok;
          }
          break;
      }
    }
    if (ok) {
      reader.add(std::move(c));
    }
  }
}

}  // namespace

const std::vector<std::string>& dataset_extensions() {
  static const std::vector<std::string> extensions{".jsonl", ".json", ".csv"};
  return extensions;
}

bool is_dataset_path(std::string_view path) {
  const std::vector<std::string>& extensions = dataset_extensions();
  return std::find(extensions.begin(), extensions.end(), extension_of(path)) != extensions.end();
}

namespace {

// Reads `text` into `parsed`: its cases go to `sink`, or into parsed.cases when it is empty.
void read_dataset(std::string_view text, const std::string& path, ParsedDataset& parsed,
                  const CaseSink& sink) {
  Reader reader(path, parsed, sink);
  // Editors hide a byte order mark, so columns on line 1 are counted after it.
  if (text.substr(0, k_bom.size()) == k_bom) {
    text.remove_prefix(k_bom.size());
  }
  const std::string extension = extension_of(path);
  if (extension == ".jsonl" || extension == ".json") {
    const std::string_view start = util::trim(text);
    if (extension == ".json" && !start.empty() && start.front() == '[') {
      parse_json_array(text, reader);
    } else {
      parse_jsonl(text, reader);
    }
    reader.warn_unknown_keys();
  } else if (extension == ".csv") {
    parse_csv(text, reader);
  } else {
    Diagnostic d;
    d.where.file = path;
    d.code = "unknown-format";
    d.message = "unsupported dataset format '" + (extension.empty() ? path : extension) + "'";
    d.hint = "use a .jsonl, .json or .csv file";
    parsed.diagnostics.push_back(std::move(d));
    return;
  }
  if (reader.cases() == 0 && parsed.diagnostics.empty()) {
    Diagnostic d;
    d.severity = Severity::warning;
    d.where.file = path;
    d.code = "empty-dataset";
    d.message = "dataset has no cases";
    parsed.diagnostics.push_back(std::move(d));
  }
  std::stable_sort(parsed.diagnostics.begin(), parsed.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.where.line < b.where.line; });
}

}  // namespace

ParsedDataset parse_dataset(std::string_view text, const std::string& path) {
  ParsedDataset parsed;
  read_dataset(text, path, parsed, CaseSink());
  return parsed;
}

std::vector<Diagnostic> parse_dataset(std::string_view text, const std::string& path, const CaseSink& sink) {
  ParsedDataset parsed;
  read_dataset(text, path, parsed, sink);
  return std::move(parsed.diagnostics);
}

}  // namespace promptops::prompt
