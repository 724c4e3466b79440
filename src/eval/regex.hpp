// SPDX-License-Identifier: MIT
// The one wrapper of PCRE2: patterns compiled once in UTF mode, searched under match, heap and
// time limits, so that no pattern and no output can crash or hang a run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace promptops::inline eval {

class Regex;
struct RegexCompiled;

// What Regex::compile gives: the regex, or PCRE2's message and the offset in the pattern.
struct RegexCompileResult {
  std::shared_ptr<const Regex> regex;  // null on error
  std::string error;                         // "missing closing parenthesis at offset 9"
};

// What Regex::search gives: found, or an error that says which limit stopped the search.
struct RegexSearchResult {
  bool found = false;
  std::string error;  // "regex match limit reached", "regex time limit reached", or empty
};

// What Regex::find gives: the first match's byte span, or an error as for search().
struct RegexMatch {
  bool found = false;
  std::size_t begin = 0;  // byte offsets in the subject: [begin, end)
  std::size_t end = 0;
  std::string error;
};

// A compiled PCRE2 pattern. The dialect is PCRE2's in UTF mode with Unicode properties (\w, \d,
// \s, \b and [[:alpha:]] over all of Unicode, \p{Lu}), ECMAScript escapes \xHH, \uHHHH and
// \u{H...}, and $ only at the very end. Invalid UTF-8 in a subject never matches and is not an
// error. Immutable after compile; search() may run on several threads at once.
class Regex {
 public:
  // Limits of one search: backtracking steps per start position, heap for the interpreter's
  // backtracking frames, the JIT's stack, and wall-clock time for the whole search.
  static constexpr std::uint32_t k_match_limit = 1'000'000;
  static constexpr std::uint32_t k_heap_limit_kib = 64 * 1024;
  static constexpr std::size_t k_jit_stack_bytes = 8 * 1024 * 1024;
  static constexpr int k_time_limit_ms = 1000;

  // Compiles `pattern` (ignore_case: Unicode case-insensitive). Never throws for a bad pattern.
  static RegexCompileResult compile(std::string_view pattern, bool ignore_case);

  // Whether the pattern matches somewhere in `subject`.
  RegexSearchResult search(std::string_view subject) const;

  // The first match that starts at byte `start` or later (lookbehind may see the bytes before).
  RegexMatch find(std::string_view subject, std::size_t start) const;

  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

 private:
  explicit Regex(std::unique_ptr<RegexCompiled> compiled);
  std::unique_ptr<RegexCompiled> m_compiled;
};

}  // namespace promptops::eval
