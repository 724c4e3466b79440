// SPDX-License-Identifier: MIT
// How `check`, the hooks and `review` show a gate: text lines, JSON, and the parts they share.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include <promptops/workflows/check.hpp>

namespace promptops::cli {

// "accuracy 0.900 → 0.600 (-0.300 > max_drop 0.020, p = 0.0039 by McNemar)" and the like.
std::string describe_metric(const MetricCheck& check, double confidence);

// One block per changed prompt (status word, metrics, newly failing cases, problems), then a
// verdict line. `bypass` (e.g. "git commit --no-verify") is named when the gate fails.
std::string check_text(const CheckReport& report, const char* bypass);

// Why the baseline (candidate) side of `prompt` has no result, in words; empty when it has one.
std::string baseline_problem(const PromptCheck& prompt);
std::string candidate_problem(const PromptCheck& prompt);

nlohmann::json verdict_json(const GateVerdict& verdict);
nlohmann::json check_json(const CheckReport& report);
// {"commit", "prompt", "eval_key", "metric", "noted", "computed", "outcomes_differ"}
nlohmann::json mismatch_json(const NoteMismatch& mismatch);

}  // namespace promptops::cli
