// SPDX-License-Identifier: MIT
// The cases that flipped between two evaluations, with their recorded inputs and outputs, as
// `review` and `bisect` show them in text, Markdown and JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/workflows/flip_cases.hpp>

namespace promptops::cli {

// The cases themselves (FlipCase, FlippedCases, flipped_cases) are the workflow layer's; this file
// renders them.

// "  pass → fail cid: Cid (expected ok)\n    before: ok\n    after:  Yo Cid!\n", indented by `indent`.
std::string flip_text(const FlipCase& flip, const std::string& indent);

// "Flipped cases: N pass → fail, M fail → pass", a Markdown table of the cases shown, and how many
// more there are.
std::string flips_markdown(const FlippedCases& flips);

// {"id", "flip": "pass_to_fail" | "fail_to_pass", "before": record | null, "after": record | null}.
nlohmann::json flip_json(const FlipCase& flip);

}  // namespace promptops::cli
