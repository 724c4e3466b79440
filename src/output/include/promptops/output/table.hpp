// SPDX-License-Identifier: MIT
// Aligned text tables: a header row, no box drawing, numbers right-aligned.
#pragma once

#include <string>
#include <vector>

namespace promptops::output {

enum class Align { left, right };

class Table {
 public:
  // One column per header; align says how cells (and the header) line up.
  Table(std::vector<std::string> headers, std::vector<Align> align = {});
  void add_row(std::vector<std::string> cells);
  bool empty() const { return m_rows.empty(); }
  // Rows separated by '\n' (with a final newline); columns by two spaces; no trailing blanks.
  // Widths count UTF-8 code points. With max_width > 0 the last left-aligned column is elided
  // with "…" to fit (used on a terminal only).
  std::string render(std::size_t max_width = 0) const;
  // The same rows as a Markdown table: cells escaped by md_cell, right-aligned columns as ---:.
  std::string markdown() const;

 private:
  std::vector<std::string> m_headers;
  std::vector<Align> m_align;
  std::vector<std::vector<std::string>> m_rows;
};

// Tab-separated values: the header, then rows; tabs and newlines in cells become spaces.
std::string render_tsv(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows);

// Comma-separated values (RFC 4180): the header, then rows; a cell with a comma, quote or line
// break is quoted, its quotes doubled.
std::string render_csv(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);

}  // namespace promptops::output
