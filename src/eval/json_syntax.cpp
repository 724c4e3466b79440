// SPDX-License-Identifier: MIT
// RFC 8259's grammar as a loop over an explicit stack of open containers.
#include "json_syntax.hpp"

#include <vector>

#include <utf8proc.h>

#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text, bool prefix = false) : m_text(text), m_prefix(prefix) {}

  JsonSyntax run() {
    skip_space();
    if (at_end()) {
      return fail("a value");
    }
    m_result.type = type_at(peek());
    if (!scan_document()) {
      return m_result;
    }
    if (m_prefix) {
      m_result.valid = true;
      m_result.offset = m_pos;
      return m_result;
    }
    skip_space();
    if (!at_end()) {
      return fail("the end of the text");
    }
    m_result.valid = true;
    return m_result;
  }

 private:
  enum class Expect { value, value_or_close, key, key_or_close, colon, comma_or_close };

  static std::string type_at(char c) {
    switch (c) {
      case '{':
        return "object";
      case '[':
        return "array";
      case '"':
        return "string";
      case 't':
      case 'f':
        return "boolean";
      case 'n':
        return "null";
      default:
        return "number";
    }
  }

  bool scan_document() {
    Expect expect = Expect::value;
    while (true) {
      skip_space();
      if (at_end()) {
        return fail_bool(m_stack.empty() ? "a value" : m_stack.back() == '[' ? "',' or ']'" : "',' or '}'");
      }
      const char c = peek();
      switch (expect) {
        case Expect::value_or_close:
          if (c == ']') {
            ++m_pos;
            m_stack.pop_back();
            expect = Expect::comma_or_close;
            break;
          }
          [[fallthrough]];
        case Expect::value:
          if (c == '{' || c == '[') {
            m_stack.push_back(c);
            ++m_pos;
            expect = c == '{' ? Expect::key_or_close : Expect::value_or_close;
          } else if (!scan_scalar()) {
            return false;
          } else {
            expect = Expect::comma_or_close;
          }
          break;
        case Expect::key_or_close:
          if (c == '}') {
            ++m_pos;
            m_stack.pop_back();
            expect = Expect::comma_or_close;
            break;
          }
          [[fallthrough]];
        case Expect::key:
          if (c != '"') {
            return fail_bool("a string key");
          }
          if (!scan_string()) {
            return false;
          }
          expect = Expect::colon;
          break;
        case Expect::colon:
          if (c != ':') {
            return fail_bool("':'");
          }
          ++m_pos;
          expect = Expect::value;
          break;
        case Expect::comma_or_close:
          if (m_stack.empty()) {
            return true;
          }
          if (c == ',') {
            ++m_pos;
            expect = m_stack.back() == '[' ? Expect::value : Expect::key;
          } else if ((c == ']' && m_stack.back() == '[') || (c == '}' && m_stack.back() == '{')) {
            ++m_pos;
            m_stack.pop_back();
          } else {
            return fail_bool(m_stack.back() == '[' ? "',' or ']'" : "',' or '}'");
          }
          break;
      }
      if (expect == Expect::comma_or_close && m_stack.empty()) {
        return true;
      }
    }
  }

  bool scan_scalar() {
    const char c = peek();
    if (c == '"') {
      return scan_string();
    }
    if (c == '-' || util::is_ascii_digit(c)) {
      return scan_number();
    }
    for (const std::string_view literal : {std::string_view("true"), std::string_view("false"),
                                           std::string_view("null")}) {
      if (c == literal.front()) {
        if (m_text.substr(m_pos, literal.size()) != literal) {
          return fail_bool("'" + std::string(literal) + "'");
        }
        m_pos += literal.size();
        return true;
      }
    }
    return fail_bool("a value");
  }

  bool scan_digits() {
    if (at_end() || !util::is_ascii_digit(peek())) {
      return fail_bool("a digit");
    }
    while (!at_end() && util::is_ascii_digit(peek())) {
      ++m_pos;
    }
    return true;
  }

  bool scan_number() {
    if (peek() == '-') {
      ++m_pos;
    }
    if (!at_end() && peek() == '0') {
      ++m_pos;
    } else if (!scan_digits()) {
      return false;
    }
    if (!at_end() && peek() == '.') {
      ++m_pos;
      if (!scan_digits()) {
        return false;
      }
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++m_pos;
      if (!at_end() && (peek() == '+' || peek() == '-')) {
        ++m_pos;
      }
      return scan_digits();
    }
    return true;
  }

  bool scan_escape() {
    ++m_pos;  // the backslash
    if (at_end()) {
      return fail_bool("an escape");
    }
    const char c = peek();
    if (c == 'u') {
      ++m_pos;
      for (int i = 0; i < 4; ++i, ++m_pos) {
        if (at_end() || !util::is_hex_digit(peek())) {
          return fail_bool("four hexadecimal digits after \\u");
        }
      }
      return true;
    }
    if (std::string_view("\"\\/bfnrt").find(c) == std::string_view::npos) {
      return fail_bool("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)");
    }
    ++m_pos;
    return true;
  }

  bool scan_string() {
    ++m_pos;  // the opening quote
    while (true) {
      if (at_end()) {
        return fail_bool("'\"'");
      }
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++m_pos;
        return true;
      }
      if (c == '\\') {
        if (!scan_escape()) {
          return false;
        }
      } else if (c < 0x20) {
        return fail_bool("a character (control characters must be escaped)");
      } else if (c < 0x80) {
        ++m_pos;
      } else {
        utf8proc_int32_t code_point = 0;
        const utf8proc_ssize_t length =
            utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(m_text.data() + m_pos),
                             static_cast<utf8proc_ssize_t>(m_text.size() - m_pos), &code_point);
        if (length <= 0) {
          return fail_bool("valid UTF-8");
        }
        m_pos += static_cast<std::size_t>(length);
      }
    }
  }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++m_pos;
    }
  }

  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return m_text[m_pos]; }

  JsonSyntax fail(const std::string& expected) {
    fail_bool(expected);
    return m_result;
  }
  bool fail_bool(const std::string& expected) {
    m_result.valid = false;
    m_result.offset = m_pos;
    m_result.error = "expected " + expected;
    return false;
  }

  std::string_view m_text;
  bool m_prefix = false;
  std::size_t m_pos = 0;
  std::vector<char> m_stack;
  JsonSyntax m_result;
};

}  // namespace

JsonSyntax check_json_syntax(std::string_view text) { return Scanner(text).run(); }

JsonSyntax check_json_prefix(std::string_view text) { return Scanner(text, true).run(); }

}  // namespace promptops::eval
