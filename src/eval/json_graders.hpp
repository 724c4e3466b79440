// SPDX-License-Identifier: MIT
// The JSON assertions beyond the grammar: a schema on is-json, and contains-json.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <promptops/eval/assertions.hpp>

namespace promptops::inline eval {

class JsonSchema;

// Where contains-json found a JSON value: [begin, end) in bytes of the output.
struct EmbeddedJson {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t resume = 0;  // where to look for the next one
};

// The bytes contains-json may scan in one output, counted over all the starts it tries: past it,
// the assertion cannot judge (text such as "{{{{..." would otherwise cost quadratic time).
inline constexpr std::size_t k_embedded_json_budget = 32u * 1024 * 1024;

// The state of one search through an output, carried from one find_embedded_json() to the next.
struct EmbeddedJsonSearch {
  std::size_t budget = k_embedded_json_budget;  // decreased by the bytes scanned
  std::size_t fences = 0;                       // ``` fences that start before `counted`
  std::size_t counted = 0;
};

// The first JSON value at or after byte `from` of `text` (`from` never decreasing within one
// search): an object starting at a '{' (as promptfoo finds them), or the whole body of a ``` code
// fence that opens a block (any JSON value, with or without an info string such as "json").
// nullopt when there is none or the budget ran out.
std::optional<EmbeddedJson> find_embedded_json(std::string_view text, std::size_t from, EmbeddedJsonSearch& search);

// `json_text` (valid JSON syntax) against `schema`; `what` names it in the reason ("output").
AssertionResult check_schema(const JsonSchema& schema, std::string_view json_text, const std::string& what);

// contains-json: some embedded JSON value (conforming to the schema when there is one).
AssertionResult evaluate_contains_json(const Assertion& assertion, std::string_view output);

}  // namespace promptops::eval
