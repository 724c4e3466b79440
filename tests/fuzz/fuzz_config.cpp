// SPDX-License-Identifier: MIT
// Fuzzes .promptops.toml: parse_config (never throws) and the file-name globs it yields.
#include <promptops/config/config.hpp>

#include "fuzz_support.hpp"

using namespace promptops;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ParsedConfig parsed = parse_config(fuzz::as_text(data, size), ".promptops.toml");
  // A clone's patterns are matched against every file name under the prompt roots.
  for (const std::string& pattern : parsed.config.patterns) {
    glob_match(pattern, "classify.toml");
    glob_match(pattern, std::string(200, 'a') + ".prompt");
  }
  for (const Diagnostic& diagnostic : parsed.diagnostics) {
    fuzz::require(!diagnostic.message.empty(), "a diagnostic has a message");
  }
  return 0;
}
