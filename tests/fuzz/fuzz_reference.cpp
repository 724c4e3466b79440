// SPDX-License-Identifier: MIT
// Fuzzes NAME[@REV] references as the commands read them from their arguments.
#include <promptops/prompt/registry.hpp>

#include "fuzz_support.hpp"

using namespace promptops;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::allow_error([&] {
    const Reference ref = Reference::parse(text);
    fuzz::require(!ref.name.empty(), "a parsed reference has a name");
    // What the tool prints must read back as the same reference.
    const Reference again = Reference::parse(ref.format());
    fuzz::require(again.name == ref.name && again.rev == ref.rev, "format() reads back");
  });
  return 0;
}
