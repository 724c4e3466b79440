// SPDX-License-Identifier: MIT
// Small string helpers with no promptops knowledge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace promptops::util {

std::vector<std::string> split(std::string_view text, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view text);
std::string to_lower(std::string_view text);
// Edit distance (bytes; adjacent transpositions count 1), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b);
// Replaces every occurrence of `from` (non-empty) with `to`.
std::string replace_all(std::string text, std::string_view from, std::string_view to);
// Number of Unicode code points in UTF-8 text (invalid bytes count as one each).
std::size_t utf8_length(std::string_view text);
// The length (1 to 4) of the well-formed UTF-8 sequence that starts at text[pos], or 0 when the
// bytes there are not one (a stray continuation byte, a truncated or overlong sequence, a
// surrogate, or a code point above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);
// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included), or npos when all of `text` is
// valid: JSON output (nlohmann's dump) throws on anything else.
std::size_t invalid_utf8_at(std::string_view text);
// "1 case", "3 cases", "0 cases": the count and the word, with an "s" unless the count is 1.
std::string plural(std::size_t n, std::string_view word);
// ASCII classes, unlike <cctype> independent of the locale and safe for any char.
constexpr bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_hex_digit(char c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// "12 MiB": a byte count in whole mebibytes, for the size limits that errors name.
std::string mib(std::uint64_t bytes);
// "0.900": `value` with `digits` decimals.
std::string fixed(double value, int digits);
// "0.5", "12", "1e-05": printf's %g, the shortest form of a number for messages.
std::string shortest(double value);
// The line of `text` that starts at `pos`, without its line ending and trailing blanks; `next` is
// set to the start of the following line (text.size() after the last).
std::string_view line_at(std::string_view text, std::size_t pos, std::size_t& next);

}  // namespace promptops::util
