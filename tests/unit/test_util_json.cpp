// SPDX-License-Identifier: MIT
// Unit tests for util/json: parsing untrusted JSON with bounded depth.
#include <catch2/catch.hpp>

#include <promptops/util/json.hpp>

using namespace promptops;

TEST_CASE("parse_json parses documents and reports errors with their byte", "[util]") {
  SECTION("a document") {
    const util::JsonParse parsed = util::parse_json(R"({"a": [1, 2.5, "x", null, true, {"b": {}}]})");
    REQUIRE(parsed.ok());
    CHECK(parsed.value.dump() == R"({"a":[1,2.5,"x",null,true,{"b":{}}]})");
  }
  SECTION("a syntax error: nlohmann's text, its place, and the reason alone") {
    const util::JsonParse parsed = util::parse_json(R"({"vars": {"q": "b"},})");
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.value.is_null());
    CHECK(parsed.error ==
          "parse error at line 1, column 21: syntax error while parsing object key - unexpected '}'; "
          "expected string literal");
    CHECK(parsed.reason() == "syntax error while parsing object key - unexpected '}'; expected string literal");
    CHECK(parsed.byte == 21);
  }
  SECTION("trailing text is an error") {
    CHECK_FALSE(util::parse_json("{} x").ok());
  }
  SECTION("a number too large for a double is an error, not an exception") {
    const util::JsonParse parsed = util::parse_json(R"({"n": 1e400})");
    CHECK(parsed.error == "number overflow parsing '1e400'");
    CHECK(parsed.reason() == "number overflow parsing '1e400'");
    CHECK(parsed.byte == 11);
  }
}

TEST_CASE("parse_json accepts 128 levels and stops at the 129th", "[util]") {
  const auto nested = [](int depth) { return std::string(static_cast<std::size_t>(depth), '[') +
                                             std::string(static_cast<std::size_t>(depth), ']'); };
  CHECK(util::parse_json(nested(128)).ok());
  const util::JsonParse deep = util::parse_json(nested(129));
  CHECK(deep.error == "arrays and objects nested deeper than 128 levels");
  CHECK(deep.byte == 129);
  SECTION("brackets inside strings do not count") {
    const std::string text = "{\"a\": \"[[[{{{\\\"[[\", \"b\": " + nested(127) + "}";
    CHECK(util::parse_json(text).ok());
    const util::JsonParse over = util::parse_json("{\"a\": \"[[\\\"\", \"b\": " + nested(128) + "}");
    CHECK(over.byte == 147);
    CHECK_FALSE(over.ok());
  }
  SECTION("a custom limit") {
    CHECK(util::parse_json("[[1]]", 2).ok());
    CHECK(util::parse_json("[[1]]", 1).error == "arrays and objects nested deeper than 1 levels");
  }
  SECTION("100,000 levels: an error, no crash, at once") {
    const util::JsonParse parsed = util::parse_json(std::string(100000, '[') + std::string(100000, ']'));
    CHECK(parsed.error == "arrays and objects nested deeper than 128 levels");
    CHECK(parsed.byte == 129);
  }
}
