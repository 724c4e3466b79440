// SPDX-License-Identifier: MIT
// Unit tests for the JSON Schema validator: each keyword passing and failing, with the exact
// pointer and message, malformed schemas, and the $ref depth limit.
#include <catch2/catch.hpp>

#include "eval/json_schema.hpp"

using namespace promptops;
using nlohmann::json;

namespace {

std::shared_ptr<const JsonSchema> compile(const std::string& schema) {
  JsonSchemaCompiled compiled = JsonSchema::compile(json::parse(schema));
  INFO(compiled.error);
  REQUIRE(compiled.schema);
  return compiled.schema;
}

// "ok", or the violation's message.
std::string validate(const std::string& schema, const std::string& instance) {
  const JsonSchemaCheck check = compile(schema)->validate(json::parse(instance));
  CHECK(!check.error);
  return check.valid ? "ok" : check.message;
}

// The compile error of a malformed schema.
std::string compile_error(const json& schema) {
  JsonSchemaCompiled compiled = JsonSchema::compile(schema);
  CHECK(!compiled.schema);
  return compiled.error;
}

}  // namespace

TEST_CASE("schema type accepts one name or a list, and integer includes 2.0", "[eval][json-schema]") {
  CHECK(validate(R"({"type": "object"})", "{}") == "ok");
  CHECK(validate(R"({"type": "object"})", "[]") == "(root): expected object, got array");
  CHECK(validate(R"({"type": "integer"})", "2.0") == "ok");
  CHECK(validate(R"({"type": "integer"})", "2.5") == "(root): expected integer, got number");
  CHECK(validate(R"({"type": "number"})", "7") == "ok");
  CHECK(validate(R"({"type": ["string", "null"]})", "null") == "ok");
  CHECK(validate(R"({"type": ["string", "null"]})", "true") == "(root): expected string or null, got boolean");
  CHECK(validate("true", "1") == "ok");
  CHECK(validate("false", "1") == "(root): no value is allowed here (schema false)");
}

TEST_CASE("schema properties, required and additionalProperties name the failing pointer", "[eval][json-schema]") {
  const std::string schema = R"({"type": "object", "required": ["name", "price"],
      "properties": {"name": {"type": "string"}, "price": {"type": "number", "minimum": 5}},
      "additionalProperties": false})";
  CHECK(validate(schema, R"({"name": "tea", "price": 5})") == "ok");
  CHECK(validate(schema, R"({"name": "tea"})") == "(root): missing required property \"price\"");
  CHECK(validate(schema, R"({"name": 1, "price": 6})") == "/name: expected string, got integer");
  CHECK(validate(schema, R"({"name": "tea", "price": 3})") == "/price: 3 is less than minimum 5");
  CHECK(validate(schema, R"({"name": "tea", "price": 6, "x": 1})") == "(root): property \"x\" is not allowed");
  SECTION("additionalProperties as a schema") {
    CHECK(validate(R"({"additionalProperties": {"type": "integer"}})", R"({"a": 1, "b": "2"})") ==
          "/b: expected integer, got string");
  }
  SECTION("patternProperties, and additionalProperties for the keys no pattern matches") {
    const std::string patterned = R"({"properties": {"id": {"type": "integer"}},
        "patternProperties": {"^x-": {"type": "string"}, "_at$": {"type": "string", "minLength": 10}},
        "additionalProperties": false})";
    CHECK(validate(patterned, R"({"id": 1, "x-a": "b", "created_at": "2024-01-15"})") == "ok");
    CHECK(validate(patterned, R"({"x-a": 2})") == "/x-a: expected string, got integer");
    CHECK(validate(patterned, R"({"x-created_at": "2024"})") == "/x-created_at: length 4 is less than minLength 10");
    CHECK(validate(patterned, R"({"id": 1, "name": "n"})") == "(root): property \"name\" is not allowed");
    CHECK(compile_error(json::parse(R"({"patternProperties": {"a(": {}}})")) ==
          "/patternProperties/a( is a bad regex /a(/: missing closing parenthesis at offset 2");
  }
  SECTION("keys with / and ~ are escaped in the pointer") {
    CHECK(validate(R"({"properties": {"a/b~c": {"type": "null"}}})", R"({"a/b~c": 1})") ==
          "/a~1b~0c: expected null, got integer");
  }
  SECTION("min and max properties") {
    CHECK(validate(R"({"minProperties": 2})", R"({"a": 1})") == "(root): 1 property, fewer than minProperties 2");
    CHECK(validate(R"({"maxProperties": 1})", R"({"a": 1, "b": 2})") ==
          "(root): 2 properties, more than maxProperties 1");
  }
}

TEST_CASE("schema items, prefixItems and array bounds", "[eval][json-schema]") {
  const std::string schema = R"({"type": "object", "properties": {"items": {"type": "array", "minItems": 1,
      "items": {"type": "object", "properties": {"price": {"type": "number", "minimum": 5}}}}}})";
  CHECK(validate(schema, R"({"items": [{"price": 5}, {"price": 9}]})") == "ok");
  CHECK(validate(schema, R"({"items": [{"price": 5}, {"price": 9}, {"price": 3}]})") ==
        "/items/2/price: 3 is less than minimum 5");
  CHECK(validate(schema, R"({"items": []})") == "/items: 0 items, fewer than minItems 1");
  CHECK(validate(R"({"maxItems": 1})", "[1, 2]") == "(root): 2 items, more than maxItems 1");
  CHECK(validate(R"({"uniqueItems": true})", R"([1, "a", 1.0])") == "(root): 1.0 appears more than once (uniqueItems)");
  CHECK(validate(R"({"uniqueItems": true})", R"([1, "a", 2])") == "ok");
  SECTION("prefixItems, then items for the rest") {
    const std::string tuple = R"({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": {"type": "boolean"}})";
    CHECK(validate(tuple, R"(["a", 1, true, false])") == "ok");
    CHECK(validate(tuple, R"(["a", "b"])") == "/1: expected integer, got string");
    CHECK(validate(tuple, R"(["a", 1, 0])") == "/2: expected boolean, got integer");
  }
}

TEST_CASE("schema numbers, strings, enum and const", "[eval][json-schema]") {
  CHECK(validate(R"({"maximum": 10})", "10") == "ok");
  CHECK(validate(R"({"maximum": 10})", "10.5") == "(root): 10.5 is greater than maximum 10");
  CHECK(validate(R"({"exclusiveMinimum": 0})", "0") == "(root): 0 is not greater than exclusiveMinimum 0");
  CHECK(validate(R"({"exclusiveMaximum": 1})", "1") == "(root): 1 is not less than exclusiveMaximum 1");
  CHECK(validate(R"({"multipleOf": 0.5})", "2.5") == "ok");
  CHECK(validate(R"({"multipleOf": 2})", "3") == "(root): 3 is not a multiple of multipleOf 2");
  SECTION("lengths count code points, not bytes") {
    CHECK(validate(R"({"maxLength": 3})", R"("héé")") == "ok");
    CHECK(validate(R"({"maxLength": 3})", R"("héél")") == "(root): length 4 is greater than maxLength 3");
    CHECK(validate(R"({"minLength": 2})", R"("é")") == "(root): length 1 is less than minLength 2");
  }
  SECTION("pattern is searched, not anchored") {
    CHECK(validate(R"({"pattern": "^[A-Z]{3}-[0-9]+$"})", R"("ABC-12")") == "ok");
    CHECK(validate(R"({"pattern": "[0-9]"})", R"("a1b")") == "ok");
    CHECK(validate(R"({"pattern": "^[A-Z]{3}$"})", R"("abc")") == "(root): \"abc\" does not match /^[A-Z]{3}$/");
  }
  SECTION("a keyword for another type does not apply") {
    CHECK(validate(R"({"minimum": 5, "minLength": 9})", R"(["short"])") == "ok");
  }
  CHECK(validate(R"({"enum": ["red", "green", 3]})", "3") == "ok");
  CHECK(validate(R"({"enum": ["red", "green"]})", R"("blue")") == "(root): \"blue\" is not one of [\"red\",\"green\"]");
  CHECK(validate(R"({"const": {"a": 1}})", R"({"a": 1})") == "ok");
  CHECK(validate(R"({"const": "x"})", R"("y")") == "(root): \"y\" is not \"x\"");
}

TEST_CASE("schema anyOf, oneOf, allOf and not", "[eval][json-schema]") {
  const std::string any = R"({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]})";
  CHECK(validate(any, R"("a")") == "ok");
  CHECK(validate(any, "4") == "ok");
  CHECK(validate(any, "-1") == "(root): matches none of anyOf ((root): expected string, got integer)");
  const std::string one = R"({"oneOf": [{"type": "integer"}, {"minimum": 2}]})";
  CHECK(validate(one, "1") == "ok");
  CHECK(validate(one, "2.5") == "ok");
  CHECK(validate(one, "3") == "(root): matches 2 of oneOf's 2 schemas, not exactly 1");
  CHECK(validate(one, "1.5") == "(root): matches 0 of oneOf's 2 schemas, not exactly 1");
  CHECK(validate(R"({"allOf": [{"type": "integer"}, {"maximum": 3}]})", "4") == "(root): 4 is greater than maximum 3");
  CHECK(validate(R"({"not": {"type": "null"}})", "null") == "(root): matches the schema under not");
  CHECK(validate(R"({"not": {"type": "null"}})", "0") == "ok");
}

TEST_CASE("schema $ref resolves within the document, and a loop stops at the depth limit", "[eval][json-schema]") {
  const std::string schema = R"({"$defs": {"price": {"type": "number", "minimum": 0}},
      "definitions": {"name": {"type": "string"}},
      "type": "object", "properties": {"p": {"$ref": "#/$defs/price"}, "n": {"$ref": "#/definitions/name"}}})";
  CHECK(validate(schema, R"({"p": 1, "n": "x"})") == "ok");
  CHECK(validate(schema, R"({"p": -1})") == "/p: -1 is less than minimum 0");
  CHECK(validate(schema, R"({"n": 2})") == "/n: expected string, got integer");
  SECTION("a recursive tree") {
    const std::string tree = R"({"type": "object", "required": ["v"],
        "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}}})";
    CHECK(validate(tree, R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]})") == "ok");
    CHECK(validate(tree, R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": "3"}]}]})") ==
          "/kids/0/kids/0/v: expected integer, got string");
  }
  SECTION("a schema that refers to itself without consuming the document") {
    const JsonSchemaCheck check = compile(R"({"$ref": "#"})")->validate(json::parse("1"));
    CHECK(!check.valid);
    CHECK(check.error);
    CHECK(check.message == "(root): schema applied more than 256 levels deep (a $ref loop?)");
    const JsonSchemaCheck through_any = compile(R"({"anyOf": [{"$ref": "#"}]})")->validate(json::parse("1"));
    CHECK(through_any.error);
  }
  SECTION("branching over a deep document stops at the step limit instead of taking exponential time") {
    const std::string branching = R"({"anyOf": [{"type": "array", "items": {"$ref": "#"}},
                                             {"type": "array", "items": {"$ref": "#"}}]})";
    const std::string deep = std::string(60, '[') + "1" + std::string(60, ']');
    const JsonSchemaCheck check = compile(branching)->validate(json::parse(deep));
    CHECK(check.error);
    CHECK(check.message.rfind("/0/0/0/", 0) == 0);
    CHECK(check.message.find(": schema validation took more than 1000000 steps") != std::string::npos);
  }
  SECTION("unknown keywords are ignored") {
    CHECK(validate(R"({"title": "x", "format": "email", "x-extra": {"type": 3}})", "5") == "ok");
  }
}

TEST_CASE("malformed schemas are one error naming the keyword", "[eval][json-schema]") {
  CHECK(compile_error(json(3)) == "the schema must be a JSON object or a boolean, not number");
  CHECK(compile_error(json::parse(R"({"required": 3})")) == "/required must be an array of property names");
  CHECK(compile_error(json::parse(R"({"type": "float"})")) ==
        "/type must be one of null, boolean, object, array, number, string, integer, or an array of them");
  CHECK(compile_error(json::parse(R"({"properties": {"a": {"minimum": "1"}}})")) ==
        "/properties/a/minimum must be a number");
  CHECK(compile_error(json::parse(R"({"properties": {"a": 1}})")) ==
        "/properties/a must be a JSON object or a boolean, not number");
  CHECK(compile_error(json::parse(R"({"minLength": -1})")) == "/minLength must be a non-negative integer");
  CHECK(compile_error(json::parse(R"({"maxItems": 1.5})")) == "/maxItems must be a non-negative integer");
  CHECK(compile_error(json::parse(R"({"anyOf": []})")) == "/anyOf must be a non-empty array of schemas");
  CHECK(compile_error(json::parse(R"({"enum": "a"})")) == "/enum must be an array");
  CHECK(compile_error(json::parse(R"({"multipleOf": 0})")) == "/multipleOf must be greater than 0");
  CHECK(compile_error(json::parse(R"({"uniqueItems": 1})")) == "/uniqueItems must be true or false");
  CHECK(compile_error(json::parse(R"({"pattern": "a(b"})")) ==
        "/pattern is a bad regex /a(b/: missing closing parenthesis at offset 3");
  CHECK(compile_error(json::parse(R"({"$ref": "#/$defs/missing"})")) ==
        "/$ref '#/$defs/missing' points to nothing in this schema");
  CHECK(compile_error(json::parse(R"({"$ref": "https://example.com/s.json"})")) ==
        "/$ref 'https://example.com/s.json' does not point inside this schema; only \"#\" and \"#/...\" are "
        "supported");
  SECTION("a string value holds JSON text; a file reference is refused") {
    CHECK(JsonSchema::compile_value(json(R"({"type": "string"})")).schema);
    CHECK(JsonSchema::compile_value(json("file://schema.json")).error ==
          "is a file reference; schemas are inline only (write the schema as a table or object)");
    CHECK(JsonSchema::compile_value(json("{nope")).error.rfind("is a string that is not JSON: ", 0) == 0);
  }
}
