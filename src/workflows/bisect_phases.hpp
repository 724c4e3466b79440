// SPDX-License-Identifier: MIT
// The steps of `bisect` that decide without a repository or a model: which ends to evaluate,
// which version to probe next, and whether a version is bad. Plain values in, plain values out,
// so that the unit tests need no provider.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <promptops/workflows/bisect.hpp>
#include <promptops/workflows/gate.hpp>

namespace promptops::inline workflows::bisect_phases {

// The ends of the range to evaluate before the search. Like `git bisect run`, bisect takes the
// user's good and bad as given: an end is evaluated when `verify` asks, when its result is
// already known (cache, notes: no model call), or, for the good side, when the criterion measures
// a drop from it (a max_drop needs its value). `all` evaluates both, as it evaluates everything.
struct Ends {
  bool good = false;
  bool bad = false;
};
Ends ends_to_evaluate(const std::vector<BisectVersion>& versions, const GateSpec& gate, bool verify, bool all);

// The index in (lo, hi) to evaluate next: a version whose result is already known (free), nearest
// the middle; else the testable version nearest the middle. On a tie the lower index wins.
// nullopt when every version between is untestable (or there is none).
std::optional<std::size_t> probe(const std::vector<BisectVersion>& versions, std::size_t lo, std::size_t hi);

// A version judged by the criterion's gate against its baseline (nullopt: min clauses only).
// A plain max_drop (`plain_drop`: not --significant) makes any drop beyond it bad; otherwise a
// version is bad when the gate fails.
struct Judgement {
  GateVerdict verdict;
  bool bad = false;
};
Judgement judge_version(const GateSpec& gate, const std::optional<EvalResult>& baseline, const EvalResult& result,
                        const std::vector<std::string>& groups, bool plain_drop);

// --all: whether `now` (judged against its predecessor, judged `before`) fails a clause that the
// predecessor did not: a max_drop (measured between the two), or a min the predecessor met.
bool is_new_drop(const GateVerdict& now, const GateVerdict& before, bool plain_drop);

}  // namespace promptops::workflows::bisect_phases
