// SPDX-License-Identifier: MIT
// Markdown escaping for reports.
#include <promptops/output/markdown.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::output {

std::string md_cell(std::string_view text) {
  return util::replace_all(util::replace_all(std::string(text), "|", "\\|"), "`", "'");
}

std::string md_code(std::string_view text) { return text.empty() ? "" : "`" + md_cell(text) + "`"; }

}  // namespace promptops::output
