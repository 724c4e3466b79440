// SPDX-License-Identifier: MIT
// Reading toml++ trees into promptops values while collecting diagnostics (config and prompt files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <promptops/config/config.hpp>
#include <promptops/config/diagnostic.hpp>

namespace promptops::inline config {

// One entry of a table; both pointers are borrowed from the table.
struct Entry {
  const toml::key* key = nullptr;
  const toml::node* node = nullptr;
};

// The entries of a table in file order (toml++ keeps tables sorted by key).
std::vector<Entry> in_file_order(const toml::table& table);

// `parent.key` for messages; keys that are not bare TOML keys are quoted.
std::string key_path(std::string_view parent, std::string_view key);

// "a string", "an integer", "a table"... for "must be X, not Y" messages.
std::string type_name(const toml::node& node);

// The value as JSON: tables become objects, dates and times their TOML text.
nlohmann::json to_json(const toml::node& node);

// Parses TOML text. A syntax error becomes one "syntax-error" diagnostic (at the error's
// line:col, moved down by `line_offset` lines) and nullopt.
std::optional<toml::table> parse_toml(std::string_view text, const std::string& path,
                                      std::vector<Diagnostic>& out, int line_offset = 0);

// Sorts diagnostics by line and column; equal positions keep their order.
void sort_by_location(std::vector<Diagnostic>& diagnostics);

// The roles a message may have: system, user, assistant.
const std::vector<std::string>& message_roles();

// Typed access to one file's TOML tree. Every problem is appended to the borrowed diagnostics
// vector; getters return nullopt (or nullptr) when a value is absent or has the wrong type.
class TomlReader {
 public:
  // `line_offset` is added to every line: a text prompt's front matter starts on line 2.
  TomlReader(std::string path, std::vector<Diagnostic>& out, int line_offset = 0);

  const std::string& path() const { return m_path; }
  Location where(const toml::source_region& region) const;

  void report(Severity severity, const toml::source_region& region, std::string code, std::string message,
              std::string hint = {});
  // "invalid-value" at the node: "'path' must be EXPECTED, not a TYPE".
  void wrong_type(const toml::node& node, std::string_view path, std::string_view expected);
  // "invalid-value" at the node: "'path' must be EXPECTED" (the type was right, the value not).
  void bad_value(const toml::node& node, std::string_view path, std::string_view expected,
                 std::string hint = {});
  // "unknown-key" for each key not in `valid`, with "did you mean" or the list of valid keys.
  // `in_what` names the table for nested ones ("[providers.openai]"); empty for the root.
  void check_keys(const toml::table& table, const std::vector<std::string>& valid, std::string_view in_what);

  std::optional<std::string> get_string(const toml::table& table, std::string_view key,
                                        std::string_view parent);
  std::optional<bool> get_bool(const toml::table& table, std::string_view key, std::string_view parent);
  std::optional<std::int64_t> get_integer(const toml::table& table, std::string_view key,
                                          std::string_view parent);
  // An integer or a float.
  std::optional<double> get_number(const toml::table& table, std::string_view key, std::string_view parent);
  std::optional<std::vector<std::string>> get_string_array(const toml::table& table, std::string_view key,
                                                           std::string_view parent);
  const toml::table* get_table(const toml::table& table, std::string_view key, std::string_view parent);

  // [model] or [defaults.model]: provider, name, and every other key passed through as params.
  ModelSpec read_model(const toml::table& table, std::string_view path);
  // [gate] or [defaults.gate]: min and max_drop tables of numbers, confidence in (0, 1).
  GateSpec read_gate(const toml::table& table, std::string_view path);
  // [[eval.matrix]]: an array of tables with label, model, params, variant and, when `own_prompt`
  // (a prompt's [eval], not .promptops.toml), messages or template.
  std::vector<MatrixEntry> read_matrix(const toml::node& node, std::string_view path, bool own_prompt);

 private:
  std::map<std::string, double> read_thresholds(const toml::node& node, std::string_view path,
                                                bool non_negative);
  std::optional<MatrixEntry> read_matrix_entry(const toml::table& table, std::string_view path, bool own_prompt);
  std::vector<std::pair<std::string, std::string>> read_matrix_messages(const toml::node& node, std::string_view path);

  std::string m_path;
  std::vector<Diagnostic>& m_out;
  int m_line_offset = 0;
};

}  // namespace promptops::config
