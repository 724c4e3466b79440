// SPDX-License-Identifier: MIT
// parse_json: nlohmann's iterative SAX parser building the value, with a depth limit.
#include <promptops/util/json.hpp>

namespace promptops::util {

namespace {

using json = nlohmann::json;
using DomBuilder = nlohmann::detail::json_sax_dom_parser<json>;

// Forwards to nlohmann's own value builder, counting the open arrays and objects; stops the
// parse (by returning false) at the first level past the limit or the first error.
class BoundedBuilder {
 public:
  BoundedBuilder(json& out, int max_depth, JsonParse& result)
      : m_builder(out, /*allow_exceptions=*/false), m_max_depth(max_depth), m_result(result) {}

  bool null() { return m_builder.null(); }
  bool boolean(bool value) { return m_builder.boolean(value); }
  bool number_integer(json::number_integer_t value) { return m_builder.number_integer(value); }
  bool number_unsigned(json::number_unsigned_t value) { return m_builder.number_unsigned(value); }
  bool number_float(json::number_float_t value, const json::string_t& text) {
    return m_builder.number_float(value, text);
  }
  bool string(json::string_t& value) { return m_builder.string(value); }
  bool binary(json::binary_t& value) { return m_builder.binary(value); }
  bool key(json::string_t& value) { return m_builder.key(value); }
  bool start_object(std::size_t size) { return open() && m_builder.start_object(size); }
  bool end_object() {
    --m_depth;
    return m_builder.end_object();
  }
  bool start_array(std::size_t size) { return open() && m_builder.start_array(size); }
  bool end_array() {
    --m_depth;
    return m_builder.end_array();
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& e) {
    m_result.error = json_error_text(e);
    m_result.byte = position;
    return false;
  }

 private:
  bool open() {
    if (++m_depth > m_max_depth) {
      m_result.error = "arrays and objects nested deeper than " + std::to_string(m_max_depth) + " levels";
      return false;
    }
    return true;
  }

  DomBuilder m_builder;
  int m_max_depth;
  int m_depth = 0;
  JsonParse& m_result;
};

// The 1-based byte of the bracket that opens level `max_depth` + 1. Exact here because the
// parser accepted everything before it, so brackets inside strings are known to be in strings.
std::size_t too_deep_at(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return i + 1;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return 0;
}

}  // namespace

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    const std::size_t end = what.find("] ");
    what = end == std::string::npos ? what : what.substr(end + 2);
  }
  return what;
}

std::string JsonParse::reason() const {
  if (error.rfind("parse error", 0) == 0) {
    const std::size_t colon = error.find(": ");
    return colon == std::string::npos ? error : error.substr(colon + 2);
  }
  return error;
}

JsonParse parse_json(std::string_view text, int max_depth) {
  JsonParse result;
  json value;
  BoundedBuilder builder(value, max_depth, result);
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder);
  if (!ok || !result.error.empty()) {
    if (result.error.empty()) {
      result.error = "invalid JSON";
    }
    if (result.byte == 0) {
      result.byte = too_deep_at(text, max_depth);
    }
    return result;  // `value` may hold a partial document: the iterative destructor frees it
  }
  result.value = std::move(value);
  return result;
}

}  // namespace promptops::util
