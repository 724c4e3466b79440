// SPDX-License-Identifier: MIT
// What every fuzz target shares: the input as text, and the one kind of failure that is expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <promptops/util/error.hpp>

namespace promptops::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `step`, which may reject its input with promptops::Error (the tool prints it as a one-line
// error and exits 2). Any other exception escapes and stops the fuzzer: main() would report a
// library's raw message instead of `file:line` and a hint, or the contract says "never throws".
template <class Step>
void allow_error(Step&& step) {
  try {
    step();
  } catch (const Error&) {
  }
}

// An invariant of the code under test; a violation is a finding like a crash.
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace promptops::fuzz
