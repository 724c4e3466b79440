// SPDX-License-Identifier: MIT
// Fuzzes Mustache templates: the static scan (lint) and rendering with a small fixed data set.
#include <promptops/prompt/template.hpp>

#include "fuzz_support.hpp"

using namespace promptops;

namespace {

// The shapes a dataset row gives: strings, numbers, booleans, lists of objects and of strings,
// nested objects, an empty list.
const nlohmann::json& context() {
  static const nlohmann::json values = nlohmann::json::parse(R"({
    "name": "Ann", "input": "a {{b}} c", "n": 42, "f": 0.5, "t": true, "no": false,
    "items": [{"name": "tea"}, {"name": "cake"}], "tags": ["x", "y"],
    "user": {"name": "Ann", "address": {"city": "Oslo"}}, "empty": []
  })");
  return values;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const TemplateInfo info = analyze_template(text);
  for (const TemplateVariable& variable : info.variables) {
    fuzz::require(variable.line >= 1 && variable.column >= 1, "a variable has a position");
  }
  fuzz::allow_error([&] { render_template(text, context()); });
  return 0;
}
