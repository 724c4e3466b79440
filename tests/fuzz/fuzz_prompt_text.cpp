// SPDX-License-Identifier: MIT
// Fuzzes text prompt files (+++ TOML front matter, then the template): parse, JSON, render and in-place edits.
#include "fuzz_prompt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  promptops::fuzz::check_prompt(promptops::fuzz::as_text(data, size), "prompts/fuzz/p.prompt");
  return 0;
}
