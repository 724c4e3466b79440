// SPDX-License-Identifier: MIT
// What makes assertions combine: the scoring keys every assertion may carry (weight, metric) and
// promptfoo's assert-set, parsed and evaluated beside the single assertion types.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/diagnostic.hpp>
#include <promptops/eval/assertions.hpp>

namespace promptops::inline eval {

// The keys every assertion may carry besides its type's options.
inline constexpr std::string_view k_scoring_keys[] = {"weight", "metric"};

// True when `spec` is an object whose "type" is "assert-set".
bool is_assert_set(const nlohmann::json& spec);

// Reads "weight" (a non-negative number) and "metric" (a name that is not a built-in metric's)
// into `assertion`; appends an "invalid-assertion" error for each bad one and returns false then.
bool read_scoring_keys(const nlohmann::json& spec, Assertion& assertion, const Location& where,
                       std::vector<Diagnostic>& diagnostics);

// An assert-set: {"type": "assert-set", "assert": [...], "threshold", "weight", "metric"}, each
// member through parse_assertion() at the same location; a member that is itself a set is an error.
std::optional<Assertion> parse_assert_set(const nlohmann::json& spec, const Location& where,
                                          std::vector<Diagnostic>& diagnostics);

// The set's verdict: its members' weighted mean, pass by its threshold (or every member), and a
// reason naming the members that failed. A member that could not judge makes the set an error.
// `members`, when given, receives each member's result (those evaluated before an error).
AssertionResult evaluate_set(const Assertion& set, std::string_view output, const EvalContext& context,
                             std::vector<AssertionResult>* members = nullptr);

// The error of a case threshold, [eval] threshold or set threshold that is not a number in [0, 1];
// empty when `value` is one.
std::string threshold_problem(const nlohmann::json& value);

}  // namespace promptops::eval
