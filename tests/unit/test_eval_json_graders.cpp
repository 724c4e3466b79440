// SPDX-License-Identifier: MIT
// Unit tests for is-json with a schema and contains-json: verdicts, reasons with byte spans, and
// malformed assertions.
#include <catch2/catch.hpp>

#include <promptops/eval/assertions.hpp>

#include "eval/json_graders.hpp"

using namespace promptops;
using nlohmann::json;

namespace {

Assertion parse_one(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"cases.jsonl", 3, 0}, diagnostics);
  INFO(spec.dump());
  REQUIRE(diagnostics.empty());
  REQUIRE(assertion.has_value());
  return *assertion;
}

// "pass|reason", "fail|reason" or "error|reason".
std::string check(const json& spec, std::string_view output) {
  const AssertionResult result = evaluate(parse_one(spec), output, EvalContext{});
  CHECK(result.score == (result.pass ? 1.0 : 0.0));
  return std::string(result.error ? "error|" : result.pass ? "pass|" : "fail|") + result.reason;
}

std::string diagnose(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"p.toml", 7, 0}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += (out.empty() ? "" : "\n") + d.format() + " [" + d.hint + "]";
  }
  return (assertion ? "ok\n" : "rejected\n") + out;
}

// The spans find_embedded_json() gives over all of `text`, as "begin-end" in bytes.
std::string spans(std::string_view text) {
  EmbeddedJsonSearch search;
  std::size_t from = 0;
  std::string out;
  while (const auto found = find_embedded_json(text, from, search)) {
    out += (out.empty() ? "" : " ") + std::string(text.substr(found->begin, found->end - found->begin));
    from = found->resume;
  }
  return out;
}

const json k_price_schema = json::parse(
    R"({"type": "object", "required": ["price"], "properties": {"price": {"type": "number", "minimum": 5}}})");

}  // namespace

TEST_CASE("is-json with a schema in value", "[eval][json-graders]") {
  const json spec{{"type", "is-json"}, {"value", k_price_schema}};
  CHECK(check(spec, R"({"price": 7})") == "pass|output matches the schema");
  CHECK(check(spec, R"({"price": 3})") == "fail|output does not match the schema: /price: 3 is less than minimum 5");
  CHECK(check(spec, R"([1])") == "fail|output does not match the schema: (root): expected object, got array");
  CHECK(check(spec, "price: 7") == "fail|output is not JSON: parse error at line 1, column 1: syntax error while parsing value - invalid "
        "literal; last read: 'p'");
  SECTION("without a schema, any JSON value") {
    CHECK(check(json{{"type", "is-json"}}, "[1]") == "pass|output is JSON array");
  }
  SECTION("a schema as a string of JSON text") {
    CHECK(check(json{{"type", "is-json"}, {"value", R"({"type": "array"})"}}, "[1]") ==
          "pass|output matches the schema");
  }
  SECTION("JSON too deep to read is a failure with the reason") {
    CHECK(check(spec, std::string(200, '[') + std::string(200, ']')) ==
          "fail|output cannot be read: arrays and objects nested deeper than 128 levels");
  }
  SECTION("a $ref loop cannot judge") {
    CHECK(check(json{{"type", "is-json"}, {"value", {{"$ref", "#"}}}}, "1") ==
          "error|output: (root): schema applied more than 256 levels deep (a $ref loop?)");
  }
}

TEST_CASE("contains-json finds objects in prose and code fences", "[eval][json-graders]") {
  CHECK(spans(R"(Sure! {"a": 1} and {"b": {"c": 2}} done)") == R"({"a": 1} {"b": {"c": 2}})");
  CHECK(spans("Use {braces} like {this}, then {\"x\": \"}\"}") == "{\"x\": \"}\"}");
  CHECK(spans("```json\n[1, 2]\n```\n") == "[1, 2]");
  CHECK(spans("```\n\"bare fence\"\n```") == "\"bare fence\"");
  CHECK(spans("```json\n{\"a\": 1}\n```") == "{\"a\": 1}");
  CHECK(spans("```text\nno json\n```\n{\"after\": true}") == "{\"after\": true}");
  CHECK(spans("a list [1, 2] and a number 3 are not objects") == "");
  CHECK(spans("```\ncode\n```\n42\n```json\n[true]\n```") == "[true]");  // 42 is between blocks
  CHECK(spans("```js\nconst x = {\"a\": 1};\n```") == "{\"a\": 1}");
  CHECK(spans("{\"unterminated\": ") == "");
}

TEST_CASE("contains-json verdicts, with and without a schema", "[eval][json-graders]") {
  const json plain{{"type", "contains-json"}};
  CHECK(check(plain, "Here: {\"a\": 1}.") == "pass|output contains JSON at bytes 7-14");
  CHECK(check(plain, "no json here, only [1, 2]") == "fail|output contains no JSON object");
  CHECK(check(plain, "{not: json}") == "fail|output contains no JSON object");
  const json spec{{"type", "contains-json"}, {"value", k_price_schema}};
  CHECK(check(spec, "Price: {\"price\": 9}") == "pass|JSON at bytes 8-19 matches the schema");
  CHECK(check(spec, "{\"price\": 1} or {\"price\": 8}") == "pass|JSON at bytes 17-28 matches the schema");
  CHECK(check(spec, "{\"price\": 1} or {\"cost\": 8}") ==
        "fail|JSON at bytes 1-12 does not match the schema: /price: 1 is less than minimum 5 (nor does 1 other "
        "JSON value)");
  CHECK(check(spec, "{\"price\": 1} or {\"cost\": 8} or {}") ==
        "fail|JSON at bytes 1-12 does not match the schema: /price: 1 is less than minimum 5 (nor do 2 other "
        "JSON values)");
  CHECK(check(spec, "nothing") == "fail|output contains no JSON object");
  SECTION("a pathological output stops at the scan budget instead of taking quadratic time") {
    std::string output;
    for (int i = 0; i < 20000; ++i) {
      output += "{\"a\":";
    }
    output += std::string(3000, ' ');
    CHECK(check(plain, output) ==
          "error|contains-json scanned 32 MiB without an answer; the output is too unlike JSON to search");
  }
  SECTION("a megabyte of backticks is read once, not once per fence") {
    CHECK(check(plain, std::string(1 << 20, '`')) == "fail|output contains no JSON object");
    CHECK(check(plain, std::string(1 << 20, '`') + "\n{}") == "pass|output contains JSON at bytes 1048578-1048579");
  }
}

TEST_CASE("a malformed schema is one error at parse time", "[eval][json-graders]") {
  CHECK(diagnose(json{{"type", "is-json"}, {"value", json::parse(R"({"required": 3})")}}) ==
        "rejected\np.toml:7: error: is-json assertion has a bad JSON Schema in 'value': /required must be an "
        "array of property names [write the schema inline as a table or object, e.g. { type = \"object\", "
        "required = [\"answer\"] }]");
  CHECK(diagnose(json{{"type", "contains-json"}, {"value", 3}}) ==
        "rejected\np.toml:7: error: contains-json assertion has a bad JSON Schema in 'value': the schema must "
        "be a JSON object or a boolean, not number [write the schema inline as a table or object, e.g. { type = "
        "\"object\", required = [\"answer\"] }]");
  CHECK(diagnose(json{{"type", "contains-json"}, {"value", "file://../schema.json"}}) ==
        "rejected\np.toml:7: error: contains-json assertion has a bad JSON Schema in 'value': is a file "
        "reference; schemas are inline only (write the schema as a table or object) [write the schema inline as "
        "a table or object, e.g. { type = \"object\", required = [\"answer\"] }]");
  CHECK(diagnose(json{{"type", "contains-json"}, {"valu", 3}}) ==
        "ok\np.toml:7: warning: contains-json assertion has unknown option 'valu' [did you mean 'value'?]");
}
