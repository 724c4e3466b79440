// SPDX-License-Identifier: MIT
// Aligned text tables: a header row, no box drawing, numbers right-aligned.
#include <promptops/output/table.hpp>

#include <algorithm>

#include <promptops/output/markdown.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::output {

Table::Table(std::vector<std::string> headers, std::vector<Align> align)
    : m_headers(std::move(headers)), m_align(std::move(align)) {
  m_align.resize(m_headers.size(), Align::left);
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(m_headers.size());
  m_rows.push_back(std::move(cells));
}

namespace {

std::string elide(const std::string& text, std::size_t width) {
  if (util::utf8_length(text) <= width) {
    return text;
  }
  std::string out;
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (count + 1 >= width) {
        break;
      }
      ++count;
    }
    out += text[i];
  }
  return out + "…";
}

}  // namespace

std::string Table::render(std::size_t max_width) const {
  std::vector<std::vector<std::string>> all;
  all.push_back(m_headers);
  all.insert(all.end(), m_rows.begin(), m_rows.end());
  std::vector<std::size_t> widths(m_headers.size(), 0);
  for (const auto& row : all) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], util::utf8_length(row[c]));
    }
  }
  if (max_width > 0 && !widths.empty()) {
    std::size_t total = 2 * (widths.size() - 1);
    for (const std::size_t w : widths) {
      total += w;
    }
    for (std::size_t c = widths.size(); c-- > 0;) {
      if (m_align[c] == Align::left && total > max_width) {
        const std::size_t excess = total - max_width;
        const std::size_t floor = std::min<std::size_t>(widths[c], 12);
        const std::size_t cut = std::min(excess, widths[c] - floor);
        widths[c] -= cut;
        total -= cut;
        break;
      }
    }
  }
  std::string out;
  for (const auto& row : all) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string cell = elide(row[c], widths[c]);
      const std::size_t pad = widths[c] - util::utf8_length(cell);
      if (c > 0) {
        line += "  ";
      }
      if (m_align[c] == Align::right) {
        line += std::string(pad, ' ') + cell;
      } else {
        line += cell + std::string(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

std::string render_tsv(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows) {
  const auto clean = [](std::string cell) {
    std::replace(cell.begin(), cell.end(), '\t', ' ');
    std::replace(cell.begin(), cell.end(), '\n', ' ');
    return cell;
  };
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += (c > 0 ? "\t" : "") + clean(row[c]);
    }
    out += "\n";
  };
  emit(headers);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

std::string Table::markdown() const {
  const auto emit = [](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const std::string& cell : cells) {
      line += " " + md_cell(cell) + " |";
    }
    return line + "\n";
  };
  std::string out = emit(m_headers) + "|";
  for (const Align align : m_align) {
    out += align == Align::right ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const std::vector<std::string>& row : m_rows) {
    out += emit(row);
  }
  return out;
}

std::string render_csv(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  const auto field = [](const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) {
      return text;
    }
    return "\"" + util::replace_all(text, "\"", "\"\"") + "\"";
  };
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += (c > 0 ? "," : "") + field(row[c]);
    }
    out += "\n";
  };
  emit(headers);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

}  // namespace promptops::output
