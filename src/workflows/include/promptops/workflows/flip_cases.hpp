// SPDX-License-Identifier: MIT
// The cases that flipped between pass and fail from one evaluation to another, with their
// recorded inputs and outputs (review and bisect show them).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <promptops/eval/case_records.hpp>
#include <promptops/eval/eval.hpp>

namespace promptops::inline workflows {

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

}  // namespace promptops::workflows
