// SPDX-License-Identifier: MIT
// The dataset checks that the JSONL and CSV targets share.
#pragma once

#include <promptops/prompt/dataset.hpp>

#include "fuzz_support.hpp"

namespace promptops::fuzz {

// parse_dataset never throws; each case's values are written into reports and notes as JSON.
inline void check_dataset(std::string_view text, const std::string& path) {
  const ParsedDataset parsed = parse_dataset(text, path);
  for (const DatasetCase& row : parsed.cases) {
    require(row.line >= 1, "a case has a line");
    require(row.vars.is_object(), "a case's vars are an object");
    require(row.asserts.is_array(), "a case's assertions are an array");
    row.vars.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    row.expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace promptops::fuzz
