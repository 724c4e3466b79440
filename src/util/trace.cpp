// SPDX-License-Identifier: MIT
// Trace output for developers: GIT_PROMPTOPS_TRACE or GIT_TRACE = 1 (stderr) or an absolute path.
#include <promptops/util/trace.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace promptops::util {

namespace {

struct TraceTarget {
  std::FILE* file = nullptr;
  TraceTarget() {
    const char* value = std::getenv("GIT_PROMPTOPS_TRACE");
    if (value == nullptr || *value == '\0') {
      value = std::getenv("GIT_TRACE");
    }
    if (value == nullptr || *value == '\0' || std::string(value) == "0" ||
        std::string(value) == "false") {
      return;
    }
    if (value[0] == '/') {
      file = std::fopen(value, "a");
    } else {
      file = stderr;
    }
  }
};

TraceTarget& target() {
  static TraceTarget instance;
  return instance;
}

}  // namespace

bool trace_enabled() { return target().file != nullptr; }

void trace_line(const std::string& line) {
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(target().file, "trace git-promptops: %s\n", line.c_str());
  std::fflush(target().file);
}

}  // namespace promptops::util
