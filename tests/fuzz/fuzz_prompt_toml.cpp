// SPDX-License-Identifier: MIT
// Fuzzes TOML prompt files: parse, JSON, render and in-place edits.
#include "fuzz_prompt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  promptops::fuzz::check_prompt(promptops::fuzz::as_text(data, size), "prompts/fuzz/p.toml");
  return 0;
}
