// SPDX-License-Identifier: MIT
// Findings about user files (config, prompts, datasets), collected so all are shown at once.
#pragma once

#include <string>
#include <vector>

namespace promptops::inline config {

// A place in a user file. line and column are 1-based; 0 means unknown.
struct Location {
  std::string file;  // repository-relative path, '/'-separated
  int line = 0;
  int column = 0;

  // "file:line:col", "file:line" or "file", whichever is known.
  std::string format() const;
};

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  Location where;
  std::string code;     // stable kebab-case id, e.g. "unknown-key", "undeclared-variable"
  std::string message;  // one line, lower case, no final period
  std::string hint;     // how to fix it, or empty

  // "file:line:col: error: message" (the hint is not included).
  std::string format() const;
  // "file:line:col: message", for an error line that already says "error".
  std::string located_message() const;
};

// True when any diagnostic is an error (warnings alone are false).
bool has_errors(const std::vector<Diagnostic>& diagnostics);

// Throws ConfigError for the first error of `diagnostics` (its located message and hint); nothing
// when there is none.
void throw_first_error(const std::vector<Diagnostic>& diagnostics);

}  // namespace promptops::config
