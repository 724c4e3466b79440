// SPDX-License-Identifier: MIT
// The cases of a suite as rows of offsets into one byte buffer.
#include "case_table.hpp"

#include <limits>
#include <stdexcept>

#include <promptops/util/error.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

// MessagePack keeps a value's bytes as they are (a CSV cell need not be UTF-8) and reads back fast.
std::string pack(const json& value) {
  std::string bytes;
  json::to_msgpack(value, bytes);
  return bytes;
}

}  // namespace

void add_optional_fields(json& out, const DatasetCase& c) {
  if (!c.description.empty()) {
    out["description"] = c.description;
  }
  if (!c.metadata.is_null()) {
    out["metadata"] = c.metadata;
  }
  if (!c.other_keys.is_null()) {
    out["other_keys"] = c.other_keys;
  }
}

void CaseTable::reserve(std::size_t rows, std::size_t bytes) {
  m_rows.reserve(m_rows.size() + rows);
  m_text.reserve(m_text.size() + bytes);
}

void CaseTable::push_back(const DatasetCase& c) {
  Row row;
  row.line = c.line;
  row.id = add_text(c.id);
  row.vars = add_text(pack(c.vars));
  if (!c.expected.is_null()) {
    row.expected = add_text(pack(c.expected));
  }
  json extra;
  if (!c.group.empty()) {
    extra["group"] = c.group;
  }
  add_optional_fields(extra, c);
  if (c.threshold) {
    extra["threshold"] = *c.threshold;
  }
  if (!extra.is_null()) {
    row.extra = add_text(pack(extra));
  }
  m_rows.push_back(row);
}

void CaseTable::append(const CaseTable& other) {
  if (m_text.size() + other.m_text.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw Error("the datasets of one suite are too large (4 GiB at most)");
  }
  const auto shift = static_cast<std::uint32_t>(m_text.size());
  m_text += other.m_text;
  m_rows.reserve(m_rows.size() + other.m_rows.size());
  for (Row row : other.m_rows) {
    for (Span* span : {&row.id, &row.vars, &row.expected, &row.extra}) {
      span->offset += span->size == 0 ? 0 : shift;
    }
    m_rows.push_back(row);
  }
}

void CaseTable::shrink_to_fit() {
  m_rows.shrink_to_fit();
  m_text.shrink_to_fit();
}

DatasetCase CaseTable::at(std::size_t index) const {
  const Row& row = m_rows.at(index);
  DatasetCase c;
  c.line = row.line;
  c.id = std::string(text(row.id));
  c.vars = parse(row.vars);
  c.expected = parse(row.expected);
  c.asserts = json();
  if (row.extra.size != 0) {
    json extra = parse(row.extra);
    c.group = extra.value("group", std::string());
    c.description = extra.value("description", std::string());
    if (const auto metadata = extra.find("metadata"); metadata != extra.end()) {
      c.metadata = std::move(*metadata);
    }
    if (const auto other = extra.find("other_keys"); other != extra.end()) {
      c.other_keys = std::move(*other);
    }
    if (const auto threshold = extra.find("threshold"); threshold != extra.end()) {
      c.threshold = threshold->get<double>();
    }
  }
  return c;
}

json CaseTable::expected(std::size_t index) const { return parse(m_rows.at(index).expected); }

void CaseTable::set_expected(std::size_t index, const json& expected) {
  Row& row = m_rows.at(index);
  row.expected = expected.is_null() ? Span() : add_text(pack(expected));
}

CaseTable::Span CaseTable::add_text(std::string_view bytes) {
  if (m_text.size() + bytes.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw Error("the datasets of one suite are too large (4 GiB at most)");
  }
  Span span{static_cast<std::uint32_t>(m_text.size()), static_cast<std::uint32_t>(bytes.size())};
  m_text.append(bytes);
  return span;
}

json CaseTable::parse(Span span) const {
  if (span.size == 0) {
    return json();
  }
  const std::string_view bytes = text(span);
  return json::from_msgpack(bytes.begin(), bytes.end());
}

}  // namespace promptops::eval
