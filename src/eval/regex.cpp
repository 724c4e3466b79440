// SPDX-License-Identifier: MIT
// PCRE2 behind RAII handles: compile options, limits, the per-thread JIT stack and the clock.
#include "regex.hpp"

#include <chrono>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <promptops/util/handle.hpp>

namespace promptops::inline eval {

namespace {

using util::Handle;

using CodeHandle = Handle<pcre2_code, pcre2_code_free>;
using CompileContextHandle = Handle<pcre2_compile_context, pcre2_compile_context_free>;
using MatchContextHandle = Handle<pcre2_match_context, pcre2_match_context_free>;
using MatchDataHandle = Handle<pcre2_match_data, pcre2_match_data_free>;
using JitStackHandle = Handle<pcre2_jit_stack, pcre2_jit_stack_free>;

// UTF-8 with Unicode classes; invalid UTF-8 in a subject is skipped, not an error. \C would
// split a code point. Callouts before every item let the clock stop a search that the match
// limit does not (a possessive scan inside a backtracking loop counts as one step).
constexpr std::uint32_t k_options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                                    PCRE2_NEVER_BACKSLASH_C | PCRE2_AUTO_CALLOUT;
// \xHH, \uHHHH and \u{H...} as in ECMAScript.
constexpr std::uint32_t k_extra_options = PCRE2_EXTRA_ALT_BSUX;
// The clock is read once every this many callouts.
constexpr unsigned k_callouts_per_clock_read = 1024;

std::string error_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(code, buffer, sizeof buffer);
  return length < 0 ? "PCRE2 error " + std::to_string(code)
                    : std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

// The JIT's stack: one per thread, since a JIT stack must not be shared by concurrent matches.
pcre2_jit_stack* thread_jit_stack() {
  thread_local const JitStackHandle stack{pcre2_jit_stack_create(32 * 1024, Regex::k_jit_stack_bytes, nullptr)};
  return stack.get();
}

// This thread's match context (the limits, the JIT stack) and match data (the one pair of offsets
// a search reads: a match with more groups returns 0 and still fills it), made once per thread.
struct MatchState {
  MatchContextHandle context;
  MatchDataHandle data;
};

MatchState* thread_match_state() {
  thread_local MatchState state = [] {
    MatchState made{MatchContextHandle{pcre2_match_context_create(nullptr)},
                    MatchDataHandle{pcre2_match_data_create(1, nullptr)}};
    if (made.context) {
      pcre2_set_match_limit(made.context.get(), Regex::k_match_limit);
      pcre2_set_depth_limit(made.context.get(), Regex::k_match_limit);
      pcre2_set_heap_limit(made.context.get(), Regex::k_heap_limit_kib);
      if (pcre2_jit_stack* stack = thread_jit_stack()) {
        pcre2_jit_stack_assign(made.context.get(), nullptr, stack);
      }
    }
    return made;
  }();
  return state.context && state.data ? &state : nullptr;
}

struct Clock {
  std::chrono::steady_clock::time_point deadline;
  unsigned callouts = 0;
  bool expired = false;
};

int check_clock(pcre2_callout_block*, void* data) {
  Clock& clock = *static_cast<Clock*>(data);
  if (++clock.callouts % k_callouts_per_clock_read == 0 && std::chrono::steady_clock::now() > clock.deadline) {
    clock.expired = true;
    return PCRE2_ERROR_CALLOUT;
  }
  return 0;
}

std::string limit_message(int code, const Clock& clock) {
  switch (code) {
    case PCRE2_ERROR_MATCHLIMIT:
      return "regex match limit reached";
    case PCRE2_ERROR_DEPTHLIMIT:
      return "regex depth limit reached";
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_NOMEMORY:
      return "regex heap limit reached";
    case PCRE2_ERROR_JIT_STACKLIMIT:
      return "regex stack limit reached";
    default:
      return clock.expired ? "regex time limit reached" : "regex error: " + error_message(code);
  }
}

}  // namespace

struct RegexCompiled {
  CodeHandle code;
  bool jit = false;
};

Regex::Regex(std::unique_ptr<RegexCompiled> compiled) : m_compiled(std::move(compiled)) {}

Regex::~Regex() = default;

RegexCompileResult Regex::compile(std::string_view pattern, bool ignore_case) {
  const CompileContextHandle context{pcre2_compile_context_create(nullptr)};
  if (!context) {
    return {nullptr, "out of memory"};
  }
  pcre2_set_compile_extra_options(context.get(), k_extra_options);
  int code = 0;
  PCRE2_SIZE offset = 0;
  auto compiled = std::make_unique<RegexCompiled>();
  compiled->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     k_options | (ignore_case ? PCRE2_CASELESS : 0u), &code, &offset,
                                     context.get()));
  if (!compiled->code) {
    return {nullptr, error_message(code) + " at offset " + std::to_string(offset)};
  }
  // Without JIT (not built in, or no executable memory) the interpreter runs under the same limits.
  compiled->jit = pcre2_jit_compile(compiled->code.get(), PCRE2_JIT_COMPLETE) == 0;
  return {std::shared_ptr<const Regex>(new Regex(std::move(compiled))), ""};
}

RegexSearchResult Regex::search(std::string_view subject) const {
  const RegexMatch match = find(subject, 0);
  return {match.found, match.error};
}

RegexMatch Regex::find(std::string_view subject, std::size_t start) const {
  MatchState* state = thread_match_state();
  if (state == nullptr) {
    return {false, 0, 0, "regex heap limit reached"};
  }
  pcre2_match_context* context = state->context.get();
  pcre2_match_data* data = state->data.get();
  Clock clock{std::chrono::steady_clock::now() + std::chrono::milliseconds(k_time_limit_ms)};
  pcre2_set_callout(context, check_clock, &clock);
  // A null subject is allowed only from PCRE2 10.41 on, whatever its length.
  const char* begin = subject.empty() ? "" : subject.data();
  const int rc = pcre2_match(m_compiled->code.get(), reinterpret_cast<PCRE2_SPTR>(begin), subject.size(), start, 0,
                             data, context);
  if (rc >= 0) {
    const PCRE2_SIZE* span = pcre2_get_ovector_pointer(data);
    return {true, span[0], span[1], ""};
  }
  if (rc == PCRE2_ERROR_NOMATCH) {
    return {};
  }
  return {false, 0, 0, limit_message(rc, clock)};
}

}  // namespace promptops::eval
