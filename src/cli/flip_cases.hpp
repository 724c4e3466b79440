// SPDX-License-Identifier: MIT
// The cases that flipped between two evaluations, with their recorded inputs and outputs, as
// `review` and `bisect` show them in text, Markdown and JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/case_records.hpp>
#include <promptops/eval.hpp>

namespace promptops::cli {

struct FlipCase {
  std::string id;
  bool now_passing = false;
  std::optional<CaseRecord> before;  // nullopt: not recorded here (a result taken from notes)
  std::optional<CaseRecord> after;
};

struct FlippedCases {
  std::size_t pass_to_fail = 0;
  std::size_t fail_to_pass = 0;
  std::vector<FlipCase> cases;  // pass -> fail first, then fail -> pass, each in `after`'s case order

  std::size_t total() const { return pass_to_fail + fail_to_pass; }
};

// The cases of `before` and `after` paired by id that changed between pass and fail, at most
// `limit` of each direction (0 = all), with their per-case records.
FlippedCases flipped_cases(const EvalResult& before, const EvalResult& after, std::size_t limit);

// "  pass → fail cid: Cid (expected ok)\n    before: ok\n    after:  Yo Cid!\n", indented by `indent`.
std::string flip_text(const FlipCase& flip, const std::string& indent);

// "Flipped cases: N pass → fail, M fail → pass", a Markdown table of the cases shown, and how many
// more there are.
std::string flips_markdown(const FlippedCases& flips);

// {"id", "flip": "pass_to_fail" | "fail_to_pass", "before": record | null, "after": record | null}.
nlohmann::json flip_json(const FlipCase& flip);

// A Markdown table cell: "|" escaped, backquotes made quotes.
std::string md_cell(std::string text);

}  // namespace promptops::cli
