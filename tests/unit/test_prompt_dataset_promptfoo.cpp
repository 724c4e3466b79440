// SPDX-License-Identifier: MIT
// Unit tests for promptfoo's CSV conventions: __expected columns as assertions, __description,
// __metadata:KEY, __threshold, __metric, the refused code types, and a case's threshold in JSONL.
#include <catch2/catch.hpp>

#include <promptops/prompt/dataset.hpp>

#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;
using nlohmann::json;

namespace {

std::string cell(std::string_view text) {
  const std::optional<json> assertion = csv_assertion(text);
  return assertion ? assertion->dump() : "plain";
}

}  // namespace

TEST_CASE("a CSV cell in promptfoo's assertion syntax", "[prompt][csv]") {
  CHECK(cell("contains: Hello") == R"({"type":"contains","value":"Hello"})");
  CHECK(cell("regex:^Hello.*world$") == R"({"type":"regex","value":"^Hello.*world$"})");
  CHECK(cell("not-contains:error") == R"({"type":"not-contains","value":"error"})");
  CHECK(cell("similar(0.8):Hello world") == R"({"threshold":0.8,"type":"similar","value":"Hello world"})");
  CHECK(cell("grade:Does not mention being an AI") == R"({"type":"llm-rubric","value":"Does not mention being an AI"})");
  CHECK(cell("contains-any: <b>,</span>") == R"({"type":"contains-any","value":"<b>,</span>"})");
  CHECK(cell("is-json") == R"({"type":"is-json"})");
  CHECK(cell("not-contains-json") == R"({"type":"not-contains-json"})");
  SECTION("plain values") {
    CHECK(cell("Paris") == "plain");
    CHECK(cell("yes") == "plain");
    CHECK(cell("in-scope") == "plain");  // a bare name is a type only as is-... or contains-...
    CHECK(cell("https://example.com") == "plain");
    CHECK(cell("Answer: 4") == "plain");
    CHECK(cell("similar(x):y") == "plain");
    CHECK(cell("") == "plain");
  }
  SECTION("any lower-case name is a type: the evaluation engine says which exist") {
    CHECK(cell("note: x") == R"({"type":"note","value":"x"})");
  }
}

TEST_CASE("promptfoo's CSV columns", "[prompt][csv]") {
  const ParsedDataset parsed = parse_dataset(
      "question,__expected,__expected1,__expected2,__description,__metadata:source,__threshold,__metric\n"
      "2+2?,4,contains: four,is-json,math,faq,0.5,math\n"
      "Capital?,icontains:paris,Paris,,geo,,,\n",
      "evals/c.csv");
  CHECK(listing(parsed.diagnostics).empty());
  REQUIRE(parsed.cases.size() == 2);
  const DatasetCase& first = parsed.cases[0];
  CHECK(first.vars.dump() == R"({"question":"2+2?"})");
  CHECK(first.expected == "4");  // a plain __expected is the expected output, as before
  CHECK(first.asserts.dump() == R"([{"metric":"math","type":"contains","value":"four"},)"
                                R"({"metric":"math","type":"is-json"}])");
  CHECK(first.description == "math");
  CHECK(first.metadata.dump() == R"({"source":"faq"})");
  CHECK(first.threshold == 0.5);
  const DatasetCase& second = parsed.cases[1];
  CHECK(second.expected.is_null());
  CHECK(second.asserts.dump() == R"([{"type":"icontains","value":"paris"},{"type":"equals","value":"Paris"}])");
  CHECK(second.metadata.is_null());
  CHECK_FALSE(second.threshold);
  SECTION("the assert column's JSON comes first, then the cells") {
    const ParsedDataset both = parse_dataset(
        "q,__expected1,assert\nx,contains:a,\"[{\"\"type\"\": \"\"is-json\"\"}]\"\n", "evals/c.csv");
    CHECK(listing(both.diagnostics).empty());
    CHECK(both.cases.at(0).asserts.dump() == R"([{"type":"is-json"},{"type":"contains","value":"a"}])");
  }
}

TEST_CASE("promptfoo's CSV columns that cannot be honoured are errors at file:line", "[prompt][csv]") {
  CHECK(listing(parse_dataset("q,__expected\nx,javascript: output.length < 10\n", "c.csv").diagnostics) ==
        "c.csv:2: error: column '__expected': 'javascript' assertions run code, which git-promptops never does for "
        "a tracked file [invalid-case] (use a type that needs no code (regex, contains, is-json, llm-rubric...), or "
        "an exec assertion in a repository you trust (promptops.trustExec))\n");
  CHECK(listing(parse_dataset("q,__expected2\nx,python:len(output) > 3\n", "c.csv").diagnostics) ==
        "c.csv:2: error: column '__expected2': 'python' assertions run code, which git-promptops never does for a "
        "tracked file [invalid-case] (use a type that needs no code (regex, contains, is-json, llm-rubric...), or an "
        "exec assertion in a repository you trust (promptops.trustExec))\n");
  CHECK(listing(parse_dataset("q,__threshold\nx,high\n", "c.csv").diagnostics) ==
        "c.csv:2: error: 'threshold' must be a number from 0 to 1 (a score), not \"high\" [invalid-case] (0.5 "
        "passes the case when half the weight of its assertions passes)\n");
  // A stray byte in the cell (found by fuzz_dataset_csv) is shown as U+FFFD, not thrown.
  CHECK(listing(parse_dataset("q,__threshold\nx,hi\xffgh\n", "c.csv").diagnostics) ==
        "c.csv:2: error: 'threshold' must be a number from 0 to 1 (a score), not \"hi\xef\xbf\xbdgh\" "
        "[invalid-case] (0.5 passes the case when half the weight of its assertions passes)\n");
  CHECK(listing(parse_dataset("q,__prefix\nx,y\n", "c.csv").diagnostics) ==
        "c.csv:1: error: column '__prefix' (promptfoo's) is not supported [invalid-header] (put the text in the "
        "prompt's template, or in a variable the template uses)\n");
}

TEST_CASE("a JSONL case's threshold is read, not kept as an unknown key", "[prompt][csv]") {
  const ParsedDataset parsed =
      parse_dataset("{\"vars\": {}, \"threshold\": 0.25}\n{\"vars\": {}, \"threshold\": \"x\"}\n", "c.jsonl");
  REQUIRE(parsed.cases.size() == 1);
  CHECK(parsed.cases[0].threshold == 0.25);
  CHECK(parsed.cases[0].other_keys.is_null());
  CHECK(listing(parsed.diagnostics) ==
        "c.jsonl:2: error: 'threshold' must be a number from 0 to 1 (a score), not \"x\" [invalid-case] (0.5 passes "
        "the case when half the weight of its assertions passes)\n");
}
