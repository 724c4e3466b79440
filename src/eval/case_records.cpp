// SPDX-License-Identifier: MIT
// Reading back the per-case JSONL records of an evaluation, by case id.
#include <promptops/eval/case_records.hpp>

#include <cstdint>
#include <fstream>
#include <limits>
#include <type_traits>

#include <promptops/eval/eval.hpp>

#include <promptops/util/json.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

// The field `key` of `record` when it has type `T`, else nullopt (an entry from another version).
template <class T>
std::optional<T> field(const json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end()) {
    return std::nullopt;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) {
      return it->get<std::string>();
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) {
      return it->get<bool>();
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (it->is_number()) {
      return it->get<T>();
    }
  } else {
    if (it->is_number_unsigned() || (it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
      return it->get<T>();
    }
  }
  return std::nullopt;
}

CaseRecord to_record(const json& line) {
  CaseRecord record;
  record.id = line.at("id").get<std::string>();
  record.index = field<std::size_t>(line, "index").value_or(0);
  if (const auto it = line.find("vars"); it != line.end() && it->is_object()) {
    record.vars = *it;
  }
  if (const auto it = line.find("expected"); it != line.end()) {
    record.expected = *it;
  }
  record.description = field<std::string>(line, "description").value_or("");
  if (const auto it = line.find("metadata"); it != line.end() && it->is_object()) {
    record.metadata = *it;
  }
  record.output = field<std::string>(line, "output").value_or("");
  record.pass = field<bool>(line, "pass").value_or(false);
  record.score = field<double>(line, "score").value_or(0.0);
  if (const auto it = line.find("reasons"); it != line.end() && it->is_array()) {
    for (const json& reason : *it) {
      if (reason.is_string()) {
        record.reasons.push_back(reason.get<std::string>());
      }
    }
  }
  record.error = field<std::string>(line, "error").value_or("");
  record.latency_ms = field<double>(line, "latency_ms");
  record.cost = field<double>(line, "cost").value_or(0.0);
  return record;
}

}  // namespace

std::map<std::string, CaseRecord> read_case_records(const std::filesystem::path& file) {
  std::map<std::string, CaseRecord> records;
  if (file.empty()) {
    return records;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return records;
  }
  std::map<std::string, std::size_t> repeats;  // the repeat index of the record kept, by id
  std::string text;
  while (std::getline(in, text)) {
    const util::JsonParse parsed = util::parse_json(text);
    const json& line = parsed.value;
    if (!parsed.ok() || !line.is_object()) {
      continue;
    }
    const auto id = line.find("id");
    if (id == line.end() || !id->is_string()) {
      continue;
    }
    const std::size_t repeat =
        field<std::size_t>(line, "repeat").value_or(std::numeric_limits<std::size_t>::max());
    const auto kept = repeats.find(id->get_ref<const std::string&>());
    if (kept != repeats.end() && kept->second <= repeat) {
      continue;
    }
    CaseRecord record = to_record(line);
    repeats[record.id] = repeat;
    std::string key = record.id;
    records.insert_or_assign(std::move(key), std::move(record));
  }
  return records;
}

std::map<std::string, CaseRecord> read_case_records(const EvalResult& result) {
  return read_case_records(std::filesystem::path(result.results_file));
}

std::string one_line_excerpt(std::string_view text, std::size_t max_chars) {
  std::string flat;
  flat.reserve(text.size());
  bool pending_space = false;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f') {
      pending_space = !flat.empty();
      continue;
    }
    if (pending_space) {
      flat += ' ';
      pending_space = false;
    }
    flat += c;
  }
  // Count code points: a byte that does not continue a UTF-8 sequence starts one.
  std::size_t chars = 0;
  std::size_t cut = std::string::npos;  // byte offset where character max_chars - 1 starts
  for (std::size_t i = 0; i < flat.size(); ++i) {
    if ((static_cast<unsigned char>(flat[i]) & 0xC0) == 0x80) {
      continue;
    }
    if (max_chars > 0 && chars == max_chars - 1) {
      cut = i;
    }
    ++chars;
  }
  if (chars <= max_chars) {
    return flat;
  }
  if (max_chars == 0) {
    return "";
  }
  flat.resize(cut);
  while (!flat.empty() && flat.back() == ' ') {
    flat.pop_back();
  }
  return flat + "…";
}

}  // namespace promptops::eval
