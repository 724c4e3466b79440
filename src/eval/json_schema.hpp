// SPDX-License-Identifier: MIT
// A JSON Schema validator for the draft 2020-12 keywords that real schemas use, on nlohmann::json.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace promptops::inline eval {

class Regex;
class JsonSchema;

// What JsonSchema::compile gives: the schema, or the first problem with it.
struct JsonSchemaCompiled {
  std::shared_ptr<const JsonSchema> schema;  // null on error
  std::string error;                         // "/properties/age/minimum must be a number"
};

// What JsonSchema::validate gives.
struct JsonSchemaCheck {
  bool valid = false;
  // Not valid: the first violation, led by the instance's JSON pointer ("/items/2/price: 3 is less
  // than minimum 5"; "(root)" for the document itself).
  std::string message;
  bool error = false;  // could not judge: nesting or $ref depth limit, a regex limit
};

// A schema checked once: known keywords with the wrong type, references that do not resolve and
// patterns that do not compile are errors; unknown keywords are ignored, as the specification
// says. Keywords: type, enum, const, properties, patternProperties, required, additionalProperties, min/maxProperties,
// items, prefixItems, min/maxItems, uniqueItems, minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, multipleOf, min/maxLength (code points), pattern (PCRE2), allOf, anyOf, oneOf,
// not, $ref to "#" or "#/<JSON pointer>" within the schema, $defs and definitions. Immutable after
// compile; validate() may run on several threads at once.
class JsonSchema {
 public:
  // The deepest validation may go, counting each subschema applied (a $ref, an item, a branch):
  // a schema that refers to itself without consuming the document stops here.
  static constexpr int k_max_depth = 256;
  // The most subschemas one validation applies: nested anyOf and oneOf over a deep document
  // would otherwise take exponential time.
  static constexpr std::size_t k_max_steps = 1'000'000;

  // `schema` must be an object or a boolean.
  static JsonSchemaCompiled compile(const nlohmann::json& schema);

  // A schema as an assertion's "value": an object or boolean, or a string of JSON text holding
  // one. A "file://" reference is an error: schemas are inline only.
  static JsonSchemaCompiled compile_value(const nlohmann::json& value);

  JsonSchemaCheck validate(const nlohmann::json& instance) const;

  const nlohmann::json& root() const { return m_root; }
  // The compiled "pattern" of the subschema `schema` (a node inside root()), or null.
  const Regex* pattern_of(const nlohmann::json& schema) const;
  // The compiled key of the patternProperties entry whose schema is `schema`, or null.
  const Regex* property_pattern_of(const nlohmann::json& schema) const;

 private:
  JsonSchema() = default;
  friend class SchemaChecker;
  nlohmann::json m_root;
  std::map<const nlohmann::json*, std::shared_ptr<const Regex>> m_patterns;
  std::map<const nlohmann::json*, std::shared_ptr<const Regex>> m_property_patterns;
};

}  // namespace promptops::eval
