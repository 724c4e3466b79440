// SPDX-License-Identifier: MIT
// The body of one prompt's semantic diff as `diff` prints it; `review` shows the same lines.
#pragma once

#include <string>
#include <vector>

#include <promptops/workflows/prompt_diff.hpp>

namespace promptops::cli {

// "key: old → new" per changed field, "--- role ---" and the changed lines of each changed
// message (indented by two), then "chars: a → b" and "tokens: a → b"; no indentation of its own.
std::vector<std::string> change_lines(const PromptChange& change, diff::Markers markers);

}  // namespace promptops::cli
