// SPDX-License-Identifier: MIT
// Evaluation datasets: JSONL (or a JSON array) and CSV files of cases.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/diagnostic.hpp>

namespace promptops::inline prompt {

// One row of a dataset.
struct DatasetCase {
  int line = 0;    // 1-based line where the case starts in the file
  std::string id;  // the row's "id" (a number becomes its text), else the line number as text
  nlohmann::json vars = nlohmann::json::object();    // template variable values
  nlohmann::json expected;                           // null when the row has none
  nlohmann::json asserts = nlohmann::json::array();  // extra assertions for this case only
  std::string group;                                 // clusters related cases; empty = none
  std::string description;                           // a human label of the case; empty = none
  nlohmann::json metadata;                           // the row's "metadata" object; null = none
  // promptfoo's test threshold: the case passes when its weighted score reaches it. JSONL's
  // "threshold" (also kept in other_keys, as before it was read) or CSV's __threshold.
  std::optional<double> threshold;
  // The row's other keys (promptfoo's "options", "threshold"...), kept as written for the
  // per-case records; nothing else reads them.
  nlohmann::json other_keys;  // null when the row has none
};

struct ParsedDataset {
  std::vector<DatasetCase> cases;       // in file order; rows with errors are left out
  std::vector<Diagnostic> diagnostics;  // bad rows (file:line), unknown keys, duplicate ids
};

// Parses a dataset; the format follows the extension of `path`:
// - .jsonl and .json: one JSON object per line, {"vars": {...}, "expected": ..., "assert": [...],
//   "id": ..., "group": ..., "description": "...", "metadata": {...}}, where only "vars" is
//   required and blank lines are skipped. Other keys are kept in DatasetCase::other_keys with one
//   warning per key (its first line and the number of cases). Values may nest at most
//   util::k_json_max_depth (128) levels. A .json file whose first character is '[' is instead
//   one JSON array of such objects.
// - .csv: RFC 4180 with a header row. The columns "expected", "id" and "group" fill those
//   fields, an "assert" column holds a JSON array of assertions, and every other column is a
//   variable (as a string). An empty expected, id or group cell is absent. promptfoo's columns:
//   "__expected" is the expected output, or one assertion when its cell is written as one
//   (csv_assertion()); "__expected1", "__expected2"... hold one assertion each (a plain value
//   means equals); "__description", "__metadata:KEY", "__threshold" and "__metric" (the metric
//   of the row's __expected assertions) fill those fields; "__prefix" and "__suffix" are errors.
// Never throws for bad content.
ParsedDataset parse_dataset(std::string_view text, const std::string& path);

// promptfoo's spelling of one assertion in a CSV cell: "TYPE:VALUE", "TYPE(THRESHOLD):VALUE",
// or a bare "is-..."/"contains-..." type (optionally "not-"), as {"type", "value", "threshold"};
// "grade:" is llm-rubric. TYPE is any lower-case name (the evaluation engine checks it), and a
// value after "://" is not a type (a URL). nullopt when `cell` is a plain value.
std::optional<nlohmann::json> csv_assertion(std::string_view cell);

// Receives each case of a dataset as it is read.
using CaseSink = std::function<void(DatasetCase&&)>;

// parse_dataset(), but each case goes to `sink` as soon as it is read (in file order, rows with
// errors left out) instead of into one vector: a caller that keeps cases in a compact form never
// holds 100,000 DatasetCase values at once. Returns the diagnostics. Never throws for bad content.
std::vector<Diagnostic> parse_dataset(std::string_view text, const std::string& path, const CaseSink& sink);

// The extensions parse_dataset reads, lower case with the dot (".jsonl"); case is ignored.
const std::vector<std::string>& dataset_extensions();

// True when `path` has one of dataset_extensions().
bool is_dataset_path(std::string_view path);

}  // namespace promptops::prompt
