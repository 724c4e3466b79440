// SPDX-License-Identifier: MIT
// Markdown for reports (review, compare, bisect, eval --format markdown): one escaping everywhere.
#pragma once

#include <string>
#include <string_view>

namespace promptops::output {

// Text that stays inside one table cell or inline code span: `|` escaped, backticks turned into
// apostrophes (a cell may be put between backticks by md_code).
std::string md_cell(std::string_view text);
// `text` as inline code in a cell; empty for empty text.
std::string md_code(std::string_view text);

}  // namespace promptops::output
