// SPDX-License-Identifier: MIT
// The per-case records of an evaluation (what the runner wrote to EvalResult::results_file), read
// back by id for the commands that show cases: compare and review.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops::inline eval {

struct EvalResult;

// One case of an evaluation as the runner recorded it.
struct CaseRecord {
  std::string id;
  std::size_t index = 0;                           // position in the dataset
  nlohmann::json vars = nlohmann::json::object();  // the template variables of the case
  nlohmann::json expected;                         // null when the case has none
  std::string description;                         // the dataset's label of the case; empty = none
  nlohmann::json metadata;                         // the dataset's "metadata" object; null = none
  std::string output;                              // the model's answer; empty without one
  bool pass = false;
  double score = 0.0;                // mean assertion score, [0, 1]
  std::vector<std::string> reasons;  // why assertions failed, in their order
  std::string error;                 // why there is no answer; empty with one
  std::optional<double> latency_ms;  // nullopt without an answer
  double cost = 0.0;
};

// The records of the JSONL file `file` by case id. With --repeat > 1 a case has one record per
// sample; the one with the lowest repeat index is kept (the first in the file on a tie). Lines that
// are not JSON objects with a string "id" are skipped, as are fields of the wrong type (left at
// their defaults). A missing or unreadable file, or an empty path, gives an empty map: records are
// a convenience beside the results, never a reason to fail. Never throws for the file's content.
std::map<std::string, CaseRecord> read_case_records(const std::filesystem::path& file);

// The same for an evaluation: empty when it has no results_file (taken from notes, or run with
// results not written).
std::map<std::string, CaseRecord> read_case_records(const EvalResult& result);

// `text` on one line for a listing: whitespace runs (newlines included) become one space, the
// ends are trimmed, and text longer than `max_chars` characters (UTF-8 code points) is cut to
// `max_chars` - 1 and ends with "…".
std::string one_line_excerpt(std::string_view text, std::size_t max_chars = 80);

}  // namespace promptops::eval
