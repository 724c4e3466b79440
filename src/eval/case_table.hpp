// SPDX-License-Identifier: MIT
// The cases of a suite in a compact form: one byte buffer holds every case's fields as
// MessagePack, and each case is a row of offsets into it (36 bytes), read again when a case is
// used: 100,000 small cases take about 7 MB where DatasetCase values took about 45 MB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/prompt/dataset.hpp>

namespace promptops::inline eval {

// Adds to `out` (a JSON object, or null for one) the optional fields of `c` that are set:
// "description", "metadata" and "other_keys" (not "group"). What a row keeps beside its id,
// vars and expected, and what a per-case record shows of the case.
void add_optional_fields(nlohmann::json& out, const DatasetCase& c);

class CaseTable {
 public:
  std::size_t size() const { return m_rows.size(); }
  bool empty() const { return m_rows.empty(); }

  // Room for `rows` more cases and `bytes` more text.
  void reserve(std::size_t rows, std::size_t bytes);
  // Adds a case; its "assert" is not kept (the suite keeps it parsed).
  void push_back(const DatasetCase& c);
  // Appends the cases of `other`.
  void append(const CaseTable& other);
  // Gives back the room reserve() and growth left unused.
  void shrink_to_fit();

  // Case `index` as parsed (its "assert" null); throws std::out_of_range past the end.
  DatasetCase operator[](std::size_t index) const { return at(index); }
  DatasetCase at(std::size_t index) const;

  int line(std::size_t index) const { return m_rows.at(index).line; }
  std::string_view id(std::size_t index) const { return text(m_rows.at(index).id); }
  bool has_expected(std::size_t index) const { return m_rows.at(index).expected.size != 0; }
  nlohmann::json expected(std::size_t index) const;
  void set_expected(std::size_t index, const nlohmann::json& expected);

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;  // 0 = absent
  };
  struct Row {
    std::int32_t line = 0;
    Span id;
    Span vars;
    Span expected;
    Span extra;  // {"group", "description", "metadata", "other_keys"} when any is set
  };

  Span add_text(std::string_view text);
  std::string_view text(Span span) const { return std::string_view(m_text).substr(span.offset, span.size); }
  nlohmann::json parse(Span span) const;

  std::string m_text;
  std::vector<Row> m_rows;
};

}  // namespace promptops::eval
