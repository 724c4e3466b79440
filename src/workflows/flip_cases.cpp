// SPDX-License-Identifier: MIT
// The cases that flipped between two evaluations, paired by id, with their per-case records.
#include <promptops/workflows/flip_cases.hpp>

#include <map>

#include <promptops/eval/statistics.hpp>

namespace promptops::inline workflows {

FlippedCases flipped_cases(const EvalResult& before, const EvalResult& after, std::size_t limit) {
  const Flips flips = promptops::flips(before.case_ids, before.outcomes, after.case_ids, after.outcomes);
  FlippedCases out;
  out.pass_to_fail = flips.pass_to_fail.size();
  out.fail_to_pass = flips.fail_to_pass.size();
  if (out.total() == 0) {
    return out;
  }
  const std::map<std::string, CaseRecord> records_before = read_case_records(before);
  const std::map<std::string, CaseRecord> records_after = read_case_records(after);
  const auto add = [&](const std::vector<std::string>& ids, bool now_passing) {
    for (std::size_t i = 0; i < ids.size() && (limit == 0 || i < limit); ++i) {
      FlipCase flip;
      flip.id = ids[i];
      flip.now_passing = now_passing;
      if (const auto it = records_before.find(ids[i]); it != records_before.end()) {
        flip.before = it->second;
      }
      if (const auto it = records_after.find(ids[i]); it != records_after.end()) {
        flip.after = it->second;
      }
      out.cases.push_back(std::move(flip));
    }
  };
  add(flips.pass_to_fail, false);
  add(flips.fail_to_pass, true);
  return out;
}

}  // namespace promptops::workflows
