// SPDX-License-Identifier: MIT
// Weights, named metrics and assert-sets: how assertion results combine into one verdict.
#include "assertion_sets.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <promptops/eval/eval.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

using nlohmann::json;

// The keys an assert-set reads.
const std::vector<std::string> k_set_keys{"type", "assert", "threshold", "weight", "metric", "description", "name"};

// How many failed members a set's reason quotes before "and N more".
constexpr std::size_t k_max_quoted_members = 3;

void report(std::vector<Diagnostic>& diagnostics, const Location& where, std::string message, std::string hint = {},
            Severity severity = Severity::error) {
  diagnostics.push_back(Diagnostic{severity, where, "invalid-assertion", std::move(message), std::move(hint)});
}

bool valid_metric_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
  });
}

// Two decimals, as promptfoo prints an aggregate score.
std::string two_decimals(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

// The set's members, each parsed where the set was written; false when one has an error.
bool read_members(const json& spec, Assertion& set, const Location& where, std::vector<Diagnostic>& diagnostics) {
  const auto members = spec.find("assert");
  if (members == spec.end() || !members->is_array() || members->empty()) {
    report(diagnostics, where, "assert-set needs 'assert', a non-empty array of assertions",
           "write {\"type\": \"assert-set\", \"assert\": [{\"type\": \"contains\", \"value\": \"...\"}]}");
    return false;
  }
  bool ok = true;
  for (const json& member : *members) {
    if (is_assert_set(member)) {
      report(diagnostics, where, "an assert-set cannot hold another assert-set",
             "list the inner set's assertions in the outer set, or make the inner set a sibling");
      ok = false;
      continue;
    }
    std::optional<Assertion> parsed = parse_assertion(member, where, diagnostics);
    if (!parsed) {
      ok = false;
      continue;
    }
    for (const std::string& name : parsed->variables) {
      if (std::find(set.variables.begin(), set.variables.end(), name) == set.variables.end()) {
        set.variables.push_back(name);
      }
    }
    set.members.push_back(std::move(*parsed));
  }
  return ok;
}

void warn_unknown_set_keys(const json& spec, const Location& where, std::vector<Diagnostic>& diagnostics) {
  for (const auto& [key, unused] : spec.items()) {
    if (std::find(k_set_keys.begin(), k_set_keys.end(), key) == k_set_keys.end()) {
      const std::string suggestion = did_you_mean(key, k_set_keys);
      report(diagnostics, where, "assert-set has unknown option '" + key + "'",
             suggestion.empty() ? "" : "did you mean '" + suggestion + "'?", Severity::warning);
    }
  }
}

// The reason of a set: which members failed (the first few quoted), and the score against the
// threshold when there is one.
std::string set_reason(const WeightedScore& total, const Assertion& set, const std::vector<std::string>& failed) {
  std::string reason = "assert-set: ";
  if (set.threshold) {
    reason += total.threshold_reason(set.threshold) + "; ";
  }
  if (failed.empty()) {
    return reason + "all " + std::to_string(set.members.size()) + " passed";
  }
  reason += std::to_string(failed.size()) + " of " + std::to_string(set.members.size()) + " failed: ";
  const std::size_t quoted = std::min(failed.size(), k_max_quoted_members);
  reason += util::join(std::vector<std::string>(failed.begin(), failed.begin() + static_cast<long>(quoted)), "; ");
  if (failed.size() > quoted) {
    reason += "; and " + std::to_string(failed.size() - quoted) + " more";
  }
  return reason;
}

}  // namespace

bool is_assert_set(const json& spec) {
  if (!spec.is_object()) {
    return false;
  }
  const auto type = spec.find("type");
  return type != spec.end() && type->is_string() && type->get_ref<const std::string&>() == "assert-set";
}

std::string threshold_problem(const json& value) {
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0.0 ||
      value.get<double>() > 1.0) {
    return "must be a number from 0 to 1 (a score), not " + value.dump();
  }
  return {};
}

bool read_scoring_keys(const json& spec, Assertion& assertion, const Location& where,
                       std::vector<Diagnostic>& diagnostics) {
  bool ok = true;
  if (const auto weight = spec.find("weight"); weight != spec.end()) {
    if (!weight->is_number() || !std::isfinite(weight->get<double>()) || weight->get<double>() < 0.0) {
      report(diagnostics, where, "assertion 'weight' must be a non-negative number, not " + weight->dump(),
             "use 1 (the default), 2 to count twice, or 0 to report without scoring");
      ok = false;
    } else {
      assertion.weight = weight->get<double>();
    }
  }
  if (const auto metric = spec.find("metric"); metric != spec.end()) {
    const std::vector<std::string>& builtin = metric_names();
    if (!metric->is_string() || !valid_metric_name(metric->get<std::string>())) {
      report(diagnostics, where,
             "assertion 'metric' must be a name of letters, digits, '_', '-' or '.', not " + metric->dump());
      ok = false;
    } else if (std::find(builtin.begin(), builtin.end(), metric->get<std::string>()) != builtin.end()) {
      report(diagnostics, where, "assertion 'metric' \"" + metric->get<std::string>() + "\" is a built-in metric",
             "give the assertion's metric its own name; built-in: " + util::join(builtin, ", "));
      ok = false;
    } else {
      assertion.metric = metric->get<std::string>();
    }
  }
  return ok;
}

std::optional<Assertion> parse_assert_set(const json& spec, const Location& where,
                                          std::vector<Diagnostic>& diagnostics) {
  Assertion set;
  set.is_set = true;
  set.spec = spec;
  set.where = where;
  warn_unknown_set_keys(spec, where, diagnostics);
  bool ok = read_scoring_keys(spec, set, where, diagnostics);
  if (const auto threshold = spec.find("threshold"); threshold != spec.end()) {
    if (const std::string problem = threshold_problem(*threshold); !problem.empty()) {
      report(diagnostics, where, "assert-set 'threshold' " + problem, "0.5 passes when half the weight passes");
      ok = false;
    } else {
      set.threshold = threshold->get<double>();
    }
  }
  ok = read_members(spec, set, where, diagnostics) && ok;
  if (!ok) {
    return std::nullopt;
  }
  return set;
}

AssertionResult evaluate_set(const Assertion& set, std::string_view output, const EvalContext& context,
                             std::vector<AssertionResult>* members) {
  WeightedScore total;
  std::vector<std::string> failed;
  for (const Assertion& member : set.members) {
    AssertionResult result = evaluate(member, output, context);
    if (members != nullptr) {
      members->push_back(result);
    }
    if (result.error) {
      return result;
    }
    total.add(result, member.weight);
    if (!result.pass && member.weight > 0.0) {
      failed.push_back(std::string(assertion_type_name(member.type)) + ": " + result.reason);
    }
  }
  AssertionResult out;
  out.pass = total.pass(set.threshold);
  out.score = total.score();
  if (!out.pass || context.pass_reasons) {
    out.reason = set_reason(total, set, failed);
  }
  return out;
}

void for_each_leaf(const Assertion& assertion, const std::function<void(const Assertion&)>& visit) {
  if (!assertion.is_set) {
    visit(assertion);
    return;
  }
  for (const Assertion& member : assertion.members) {
    visit(member);
  }
}

void WeightedScore::add(const AssertionResult& result, double weight) {
  ++m_count;
  if (weight <= 0.0) {
    return;  // promptfoo: an assertion of weight 0 passes and adds nothing to the score
  }
  m_weighted += result.score * weight;
  m_weight += weight;
  m_all_pass = m_all_pass && result.pass;
}

double WeightedScore::score() const { return m_weight == 0.0 ? 1.0 : m_weighted / m_weight; }

bool WeightedScore::pass(const std::optional<double>& threshold) const {
  return threshold ? score() >= *threshold : m_all_pass;
}

std::string WeightedScore::threshold_reason(const std::optional<double>& threshold) const {
  if (!threshold) {
    return {};
  }
  const bool pass = score() >= *threshold;
  return "score " + two_decimals(score()) + (pass ? " >= " : " < ") + "threshold " + util::shortest(*threshold);
}

}  // namespace promptops::eval
