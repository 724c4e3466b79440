// SPDX-License-Identifier: MIT
// eval --model A,B --variant REF: the experiment matrix as a table, Markdown, CSV or JSON.
#pragma once

#include <cstddef>
#include <string>

#include <promptops/workflows/matrix.hpp>

namespace promptops::cli {

// The matrix in `format` (text at `width` columns, 0 = unbounded; markdown; csv; json): one row
// per prompt and column with the headline metric and its interval, the delta and paired p-value
// against the baseline column, tokens, cost and latency p50/p95; the baseline and best marked.
std::string matrix_document(const MatrixReport& report, const std::string& format, std::size_t width);

}  // namespace promptops::cli
