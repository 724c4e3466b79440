// SPDX-License-Identifier: MIT
// Fuzzes JSONL datasets, and the same bytes as a .json file (a JSON array when it starts with '[').
#include "fuzz_dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = promptops::fuzz::as_text(data, size);
  promptops::fuzz::check_dataset(text, "evals/fuzz.jsonl");
  promptops::fuzz::check_dataset(text, "evals/fuzz.json");
  return 0;
}
