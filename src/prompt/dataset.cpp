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

const std::vector<std::string> k_case_keys{"vars",  "expected",    "assert",  "id",
                                           "group", "description", "metadata", "threshold"};
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
    if (const auto threshold = row.find("threshold"); threshold != row.end() && !threshold->is_null()) {
      ok = set_threshold(c, *threshold, line) && ok;
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

  // Keys no field reads (promptfoo's "options", "providerOutput"...) are kept with the case; one
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

  // A case threshold: a score from 0 to 1.
  bool set_threshold(DatasetCase& c, const nlohmann::json& value, int line) {
    if (!value.is_number() || !(value.get<double>() >= 0.0 && value.get<double>() <= 1.0)) {
      error(line, 0, "invalid-case",
            "'threshold' must be a number from 0 to 1 (a score), not " + util::json_text(value),
            "0.5 passes the case when half the weight of its assertions passes");
      return false;
    }
    c.threshold = value.get<double>();
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

enum class Role { var, expected, id, group, assert_json, assertion, description, metadata, threshold, metric };

struct Column {
  std::string name;
  Role role = Role::var;
  std::string key;  // __metadata:KEY's KEY
};

// The role of a header column, by name; promptfoo's "__" columns included.
Column classify_column(const std::string& name) {
  Column column{name, Role::var, {}};
  if (name == "expected" || name == "__expected") {
    column.role = Role::expected;
  } else if (name.size() > 10 && name.rfind("__expected", 0) == 0 &&
             std::all_of(name.begin() + 10, name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    column.role = Role::assertion;
  } else if (name == "id") {
    column.role = Role::id;
  } else if (name == "group") {
    column.role = Role::group;
  } else if (name == "assert") {
    column.role = Role::assert_json;
  } else if (name == "__description") {
    column.role = Role::description;
  } else if (name.rfind("__metadata:", 0) == 0 && name.size() > 11) {
    column.role = Role::metadata;
    column.key = name.substr(11);
  } else if (name == "__threshold") {
    column.role = Role::threshold;
  } else if (name == "__metric") {
    column.role = Role::metric;
  }
  return column;
}

// The header's columns, or nullopt when it has an error (each reported).
std::optional<std::vector<Column>> read_header(const CsvRecord& header, Reader& reader) {
  std::vector<Column> columns;
  bool ok = header.ok;
  std::optional<std::string> expected_column;
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    const std::string name(util::trim(header.fields[c]));
    if (name.empty()) {
      reader.error(header.line, 0, "invalid-header", "column " + std::to_string(c + 1) + " of the header has no name");
      ok = false;
    } else if (std::any_of(columns.begin(), columns.end(), [&](const Column& other) { return other.name == name; })) {
      reader.error(header.line, 0, "invalid-header", "duplicate column '" + name + "'");
      ok = false;
    } else if (name == "__prefix" || name == "__suffix") {
      reader.error(header.line, 0, "invalid-header", "column '" + name + "' (promptfoo's) is not supported",
                   "put the text in the prompt's template, or in a variable the template uses");
      ok = false;
    }
    Column column = classify_column(name);
    if (column.role == Role::expected) {
      if (expected_column) {
        reader.error(header.line, 0, "invalid-header",
                     "columns '" + *expected_column + "' and '" + name + "' both give the expected output");
        ok = false;
      }
      expected_column = name;
    }
    columns.push_back(std::move(column));
  }
  if (!ok) {
    return std::nullopt;
  }
  return columns;
}

// promptfoo's types that run code: refused, since a tracked file never runs a command here.
bool runs_code(std::string_view cell) {
  for (std::string_view prefix : {"javascript:", "fn:", "eval:", "python:", "ruby:", "file://", "not-javascript:",
                                  "not-python:", "not-ruby:"}) {
    if (cell.substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return false;
}

// One assertion cell (__expectedN, or __expected written as an assertion) into the case's asserts.
bool add_cell_assertion(DatasetCase& c, const Column& column, const std::string& cell, bool plain_is_equals,
                        Reader& reader, int line) {
  const std::string_view text = util::trim(cell);
  if (runs_code(text)) {
    reader.error(line, 0, "invalid-case",
                 "column '" + column.name + "': '" + std::string(text.substr(0, text.find(':'))) +
                     "' assertions run code, which git-promptops never does for a tracked file",
                 "use a type that needs no code (regex, contains, is-json, llm-rubric...), or an exec assertion "
                 "in a repository you trust (promptops.trustExec)");
    return false;
  }
  std::optional<nlohmann::json> assertion = csv_assertion(text);
  if (!assertion) {
    if (!plain_is_equals) {
      return true;
    }
    assertion = nlohmann::json{{"type", "equals"}, {"value", cell}};
  }
  if (!c.asserts.is_array()) {
    c.asserts = nlohmann::json::array();
  }
  c.asserts.push_back(std::move(*assertion));
  return true;
}

// A CSV cell as a number, for __threshold.
std::optional<double> cell_number(const std::string& cell) {
  const util::JsonParse parsed = util::parse_json(util::trim(cell));
  if (!parsed.ok() || !parsed.value.is_number()) {
    return std::nullopt;
  }
  return parsed.value.get<double>();
}

// Fills `c` from one cell by its column's role; false when the cell is bad (reported).
bool read_cell(DatasetCase& c, const Column& column, const std::string& cell, Reader& reader, int line,
               std::string& metric) {
  switch (column.role) {
    case Role::var:
      c.vars[column.name] = cell;
      return true;
    case Role::expected:
      if (column.name == "__expected" && (csv_assertion(util::trim(cell)) || runs_code(util::trim(cell)))) {
        return add_cell_assertion(c, column, cell, false, reader, line);
      }
      if (!cell.empty()) {
        c.expected = cell;
      }
      return true;
    case Role::assertion:
      return cell.empty() || add_cell_assertion(c, column, cell, true, reader, line);
    case Role::id:
      if (!cell.empty()) {
        c.id = cell;
      }
      return true;
    case Role::group:
      c.group = cell;
      return true;
    case Role::description:
      c.description = cell;
      return true;
    case Role::metadata:
      if (!cell.empty()) {
        c.metadata[column.key] = cell;
      }
      return true;
    case Role::threshold: {
      if (util::trim(cell).empty()) {
        return true;
      }
      const std::optional<double> number = cell_number(cell);
      return reader.set_threshold(c, number ? nlohmann::json(*number) : nlohmann::json(cell), line);
    }
    case Role::metric:
      metric = std::string(util::trim(cell));
      return true;
    case Role::assert_json:
      break;
  }
  if (util::trim(cell).empty()) {
    return true;
  }
  util::JsonParse parsed = util::parse_json(cell);
  if (!parsed.ok()) {
    reader.error(line, 0, "invalid-json", "invalid JSON in column 'assert': " + parsed.reason(),
                 json_hint(parsed.reason()));
    return false;
  }
  nlohmann::json asserts = std::move(parsed.value);
  if (asserts.is_object()) {
    asserts = nlohmann::json::array({asserts});
  }
  if (!reader.set_asserts(c, asserts, line)) {
    return false;
  }
  return true;
}

// __metric names the metric of the assertions the row's __expected columns wrote (those without one).
void apply_row_metric(DatasetCase& c, std::size_t json_asserts, const std::string& metric) {
  if (metric.empty() || !c.asserts.is_array()) {
    return;
  }
  for (std::size_t i = json_asserts; i < c.asserts.size(); ++i) {
    nlohmann::json& a = c.asserts[i];
    if (a.is_object() && !a.contains("metric")) {
      a["metric"] = metric;
    }
  }
}

void parse_csv(std::string_view text, Reader& reader) {
  const std::vector<CsvRecord> records = read_csv(text, reader);
  if (records.empty()) {
    return;
  }
  const std::optional<std::vector<Column>> columns = read_header(records.front(), reader);
  if (!columns) {
    return;
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (!record.ok) {
      continue;
    }
    if (record.fields.size() != columns->size()) {
      reader.error(record.line, 0, "invalid-row",
                   "row has " + std::to_string(record.fields.size()) + " fields, the header has " +
                       std::to_string(columns->size()));
      continue;
    }
    DatasetCase c;
    c.line = record.line;
    c.id = std::to_string(record.line);
    bool ok = true;
    std::string metric;
    // The "assert" column's JSON comes first, so cell assertions are appended after it.
    for (std::size_t f = 0; f < columns->size(); ++f) {
      if ((*columns)[f].role == Role::assert_json) {
        ok = read_cell(c, (*columns)[f], record.fields[f], reader, record.line, metric) && ok;
      }
    }
    const std::size_t json_asserts = c.asserts.is_array() ? c.asserts.size() : 0;
    for (std::size_t f = 0; f < columns->size(); ++f) {
      if ((*columns)[f].role != Role::assert_json) {
        ok = read_cell(c, (*columns)[f], record.fields[f], reader, record.line, metric) && ok;
      }
    }
    apply_row_metric(c, json_asserts, metric);
    if (ok) {
      reader.add(std::move(c));
    }
  }
}

}  // namespace

namespace {

bool is_type_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// "(0.8)" after a type: the number, or nullopt when `text` is not one in parentheses.
std::optional<double> parenthesized_number(std::string_view text) {
  if (text.size() < 3 || text.front() != '(' || text.back() != ')') {
    return std::nullopt;
  }
  const util::JsonParse parsed = util::parse_json(text.substr(1, text.size() - 2));
  if (!parsed.ok() || !parsed.value.is_number()) {
    return std::nullopt;
  }
  return parsed.value.get<double>();
}

}  // namespace

std::optional<nlohmann::json> csv_assertion(std::string_view cell) {
  cell = util::trim(cell);
  if (cell.empty() || cell.front() < 'a' || cell.front() > 'z') {
    return std::nullopt;
  }
  std::size_t end = 0;
  while (end < cell.size() && is_type_char(cell[end])) {
    ++end;
  }
  std::string type(cell.substr(0, end));
  const std::string_view base = std::string_view(type).substr(type.rfind("not-", 0) == 0 ? 4 : 0);
  if (end == cell.size()) {  // a bare type: only the valueless kinds promptfoo writes so
    const bool valueless = base.rfind("is-", 0) == 0 || base.rfind("contains-", 0) == 0;
    return valueless && base.size() > 3 ? std::optional(nlohmann::json{{"type", type}}) : std::nullopt;
  }
  const std::size_t colon = cell.find(':', end);
  if (colon == std::string_view::npos || cell.substr(colon, 3) == "://") {
    return std::nullopt;
  }
  std::optional<double> threshold;
  if (colon != end) {
    threshold = parenthesized_number(cell.substr(end, colon - end));
    if (!threshold) {
      return std::nullopt;
    }
  }
  if (type == "grade") {
    type = "llm-rubric";
  }
  nlohmann::json assertion{{"type", type}, {"value", std::string(util::trim(cell.substr(colon + 1)))}};
  if (threshold) {
    assertion["threshold"] = *threshold;
  }
  return assertion;
}

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
