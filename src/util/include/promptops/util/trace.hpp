// SPDX-License-Identifier: MIT
// Trace output for developers: GIT_PROMPTOPS_TRACE or GIT_TRACE = 1 (stderr) or an absolute path.
#pragma once

#include <string>

namespace promptops::util {

bool trace_enabled();
// Writes "trace git-promptops: <line>" to the trace destination. Never pass an API key.
void trace_line(const std::string& line);

}  // namespace promptops::util

// Evaluates `expr` (a std::string) only when tracing is on.
#define PO_TRACE(expr)                                   \
  do {                                                   \
    if (::promptops::util::trace_enabled()) {            \
      ::promptops::util::trace_line(expr);               \
    }                                                    \
  } while (false)
