// SPDX-License-Identifier: MIT
// Formatting of diagnostics about user files.
#include <promptops/config/diagnostic.hpp>

#include <algorithm>

#include <promptops/util/error.hpp>

namespace promptops::inline config {

std::string Location::format() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) {
      out += ':' + std::to_string(column);
    }
  }
  return out;
}

std::string Diagnostic::format() const {
  const std::string place = where.format();
  const char* label = severity == Severity::error ? "error" : "warning";
  if (place.empty()) {
    return std::string(label) + ": " + message;
  }
  return place + ": " + label + ": " + message;
}

std::string Diagnostic::located_message() const {
  const std::string place = where.format();
  return place.empty() ? message : place + ": " + message;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::error; });
}

void throw_first_error(const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::error) {
      throw ConfigError(d.located_message(), d.hint);
    }
  }
}

}  // namespace promptops::config
