// SPDX-License-Identifier: MIT
// How `check`, the hooks and `review` show a gate.
#include "check_report.hpp"

#include <cmath>
#include <cstdio>

#include "common.hpp"
#include "evaluation.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;

std::string test_name(const std::string& test) { return test == "mcnemar" ? "McNemar" : "sign-flip test"; }

const char* change_word(PromptCheck::Change change) {
  switch (change) {
    case PromptCheck::Change::added:
      return "added";
    case PromptCheck::Change::deleted:
      return "deleted";
    case PromptCheck::Change::modified:
      break;
  }
  return "modified";
}

// At most `limit` ids, then "and N more".
std::string id_list(const std::vector<std::string>& ids, std::size_t limit = 20) {
  std::vector<std::string> shown(ids.begin(),
                                 ids.begin() + static_cast<std::ptrdiff_t>(std::min(limit, ids.size())));
  std::string out = util::join(shown, ", ");
  if (ids.size() > limit) {
    out += ", and " + std::to_string(ids.size() - limit) + " more";
  }
  return out;
}

json result_json(const std::optional<EvalResult>& result) {
  if (!result) {
    return nullptr;
  }
  json out = {
      {"key", result->key},
      {"model", result->model},
      {"dataset", result->dataset},
      {"metric", result->metric},
      {"value", result->value},
      {"interval",
       result->interval ? json::array({result->interval->low, result->interval->high}) : json(nullptr)},
      {"cases", result->metrics.cases},
      {"passed", result->metrics.passed},
      {"errors", result->errors},
      {"cost", result->metrics.cost},
      {"latency_p50_ms", result->metrics.latency ? json(result->metrics.latency->p50_ms) : json(nullptr)},
      {"source", source_of(*result)}};
  return out;
}

}  // namespace

std::string baseline_problem(const PromptCheck& prompt) {
  return prompt.baseline_uncached ? "baseline not in the cache or notes (--offline): min only"
                                  : prompt.baseline_problem;
}

std::string candidate_problem(const PromptCheck& prompt) {
  return prompt.candidate_uncached ? "not in the cache or notes (--offline): not checked" : prompt.candidate_problem;
}

std::string describe_metric(const MetricCheck& check, double confidence) {
  std::string out = check.metric + " ";
  if (check.baseline) {
    out += fixed(*check.baseline, 3) + " → " + fixed(check.candidate, 3) + " (" +
           signed_fixed(check.candidate - *check.baseline, 3);
  } else {
    out += fixed(check.candidate, 3) + " (no baseline";
  }
  std::vector<std::string> reasons;
  if (check.min) {
    reasons.push_back(std::string(check.below_min ? "below" : "min") + " " + (check.below_min ? "min " : "") +
                      fixed(*check.min, 3));
  }
  if (check.max_drop && check.baseline) {
    std::string drop =
        std::string(check.drop_exceeded ? "drop > " : "") + "max_drop " + fixed(*check.max_drop, 3);
    if (check.p_value) {
      drop += ", p = " + p_value_text(*check.p_value) + " by " + test_name(check.test);
      if (check.drop_exceeded && !check.significant) {
        drop += ", not significant at " + fixed(confidence, 2);
      }
      if (check.too_few_cases) {
        drop += ": " + too_few_cases_text(confidence);
      }
    } else if (check.drop_exceeded) {
      drop += ", no paired test for " + check.metric;
    }
    reasons.push_back(drop);
  }
  for (const std::string& reason : reasons) {
    out += "; " + reason;
  }
  return out + ")";
}

namespace {

// The status word of a prompt in the text report: ok, FAIL, skip (not judged), lint, deleted.
std::string status_word(const PromptCheck& prompt) {
  if (prompt.change == PromptCheck::Change::deleted) {
    return "deleted";
  }
  if (!prompt.has_eval) {
    return "lint";
  }
  if (!prompt.verdict) {
    return "skip";
  }
  return prompt.verdict->passed ? "ok" : "FAIL";
}

// One prompt's lines: its status and name, then its metrics, flips, sources and problems.
std::string prompt_text(const PromptCheck& prompt) {
  const std::string status = status_word(prompt);
  std::string out = status + std::string(status.size() < 7 ? 7 - status.size() : 1, ' ') + prompt.prompt;
  if (prompt.change == PromptCheck::Change::added) {
    out += " (new)";
  }
  if (!prompt.has_eval && prompt.change != PromptCheck::Change::deleted) {
    out += ": no [eval]; linted only";
  }
  out += "\n";
  if (prompt.verdict) {
    for (const MetricCheck& check : prompt.verdict->checks) {
      out += std::string(check.failed ? "  ✗ " : "    ") + describe_metric(check, prompt.verdict->confidence) + "\n";
    }
    if (prompt.verdict->flips && !prompt.verdict->flips->pass_to_fail.empty()) {
      const std::vector<std::string>& ids = prompt.verdict->flips->pass_to_fail;
      out += "    newly failing (" + std::to_string(ids.size()) + "): " + id_list(ids) + "\n";
    }
    if (prompt.verdict->flips && !prompt.verdict->flips->fail_to_pass.empty() && !prompt.verdict->passed) {
      const std::vector<std::string>& ids = prompt.verdict->flips->fail_to_pass;
      out += "    newly passing (" + std::to_string(ids.size()) + "): " + id_list(ids) + "\n";
    }
  }
  for (const auto& [side, result] : {std::pair{"baseline", &prompt.baseline}, std::pair{"candidate", &prompt.candidate}}) {
    if (*result && (*result)->from_notes) {
      out += std::string("    ") + side + " from notes (not recomputed)\n";
    }
  }
  for (const std::string& problem : {baseline_problem(prompt), candidate_problem(prompt)}) {
    if (!problem.empty() && problem != "new prompt: no baseline") {
      out += "    " + problem + "\n";
    }
  }
  return out;
}

// The last line: the gate passed, failed (with the way to bypass a hook) or could not be judged.
std::string gate_line(const CheckReport& report, const char* bypass) {
  std::size_t failed = 0;
  std::size_t judged = 0;
  std::vector<std::string> unchecked;
  for (const PromptCheck& prompt : report.prompts) {
    failed += prompt.failed() ? 1 : 0;
    judged += prompt.verdict ? 1 : 0;
    if (status_word(prompt) == "skip") {
      unchecked.push_back(prompt.prompt);
    }
  }
  if (failed == 0 && (report.errors > 0 || report.interrupted)) {
    return "gate not judged: " +
           std::string(report.interrupted ? "interrupted" : "the model gave no answer for some cases (see the error below)") +
           "\n";
  }
  if (failed > 0) {
    return "gate failed: " + std::to_string(failed) + " of " + util::plural(judged, "changed prompt") + " regressed" +
           (bypass != nullptr ? std::string(" (to bypass once: ") + bypass + ")\n" : "\n");
  }
  return "gate passed: " + util::plural(judged, "changed prompt") + " judged" +
         (!unchecked.empty() ? "; not checked: " + util::join(unchecked, ", ") : "") + "\n";
}

}  // namespace

std::string check_text(const CheckReport& report, const char* bypass) {
  std::string out;
  for (const Diagnostic& d : report.lint) {
    out += d.format() + " [" + d.code + "]\n";
    if (!d.hint.empty()) {
      out += "  hint: " + d.hint + "\n";
    }
  }
  if (report.lint_failed()) {
    return out + "check failed: fix the lint errors above (git promptops lint shows them all)\n";
  }
  if (report.prompts.empty()) {
    return out + "nothing to check: no prompt's content, dataset, model or assertions changed in the " +
           report.candidate_label + " against " + report.baseline_label +
           (report.unchanged > 0 ? " (" + std::to_string(report.unchanged) + " touched, evaluation unchanged)" : "") +
           "\n";
  }
  out += "check: " + report.candidate_label + " against " + report.baseline_label + "\n";
  for (const PromptCheck& prompt : report.prompts) {
    out += prompt_text(prompt);
  }
  return out + gate_line(report, bypass);
}

json verdict_json(const GateVerdict& verdict) {
  json checks = json::array();
  for (const MetricCheck& check : verdict.checks) {
    checks.push_back({{"metric", check.metric},
                      {"baseline", check.baseline ? json(*check.baseline) : json(nullptr)},
                      {"candidate", check.candidate},
                      {"min", check.min ? json(*check.min) : json(nullptr)},
                      {"max_drop", check.max_drop ? json(*check.max_drop) : json(nullptr)},
                      {"test", check.test.empty() ? json(nullptr) : json(check.test)},
                      {"p_value", check.p_value ? json(*check.p_value) : json(nullptr)},
                      {"below_min", check.below_min},
                      {"drop_exceeded", check.drop_exceeded},
                      {"significant", check.significant},
                      {"too_few_cases", check.too_few_cases},
                      {"failed", check.failed}});
  }
  json out = {{"passed", verdict.passed}, {"confidence", verdict.confidence}, {"checks", checks}};
  if (verdict.flips) {
    out["newly_failing"] = verdict.flips->pass_to_fail;
    out["newly_passing"] = verdict.flips->fail_to_pass;
  } else {
    out["newly_failing"] = nullptr;
    out["newly_passing"] = nullptr;
  }
  return out;
}

json check_json(const CheckReport& report) {
  json lint = json::array();
  for (const Diagnostic& d : report.lint) {
    lint.push_back({{"file", d.where.file},
                    {"line", d.where.line},
                    {"column", d.where.column},
                    {"severity", d.severity == Severity::error ? "error" : "warning"},
                    {"code", d.code},
                    {"message", d.message},
                    {"hint", d.hint}});
  }
  json prompts = json::array();
  for (const PromptCheck& prompt : report.prompts) {
    prompts.push_back({{"prompt", prompt.prompt},
                       {"path", prompt.path},
                       {"change", change_word(prompt.change)},
                       {"has_eval", prompt.has_eval},
                       {"baseline", result_json(prompt.baseline)},
                       {"candidate", result_json(prompt.candidate)},
                       {"baseline_problem", baseline_problem(prompt)},
                       {"candidate_problem", candidate_problem(prompt)},
                       {"verdict", prompt.verdict ? verdict_json(*prompt.verdict) : json(nullptr)}});
  }
  const bool judged = report.errors == 0 && !report.interrupted;
  const bool passed = !report.lint_failed() && !report.gate_failed() && judged;
  json mismatches = json::array();
  for (const NoteMismatch& mismatch : report.note_mismatches) {
    mismatches.push_back(mismatch_json(mismatch));
  }
  return {{"baseline", report.baseline ? json(report.baseline->hex()) : json(nullptr)},
          {"candidate", report.candidate_label},
          {"passed", passed},
          {"judged", judged || report.gate_failed()},
          {"lint", lint},
          {"prompts", prompts},
          {"unchanged", report.unchanged},
          {"real_calls", report.real_calls},
          {"cache_hits", report.cache_hits},
          {"errors", report.errors},
          {"note_mismatches", mismatches}};
}

json mismatch_json(const NoteMismatch& mismatch) {
  return {{"commit", mismatch.commit.hex()},       {"prompt", mismatch.prompt},
          {"eval_key", mismatch.eval_key},         {"metric", mismatch.metric},
          {"noted", mismatch.noted},               {"computed", mismatch.computed},
          {"outcomes_differ", mismatch.outcomes_differ}};
}

}  // namespace promptops::cli
