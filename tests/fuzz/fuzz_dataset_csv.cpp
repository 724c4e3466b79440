// SPDX-License-Identifier: MIT
// Fuzzes CSV datasets (RFC 4180 with a header row).
#include "fuzz_dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  promptops::fuzz::check_dataset(promptops::fuzz::as_text(data, size), "evals/fuzz.csv");
  return 0;
}
