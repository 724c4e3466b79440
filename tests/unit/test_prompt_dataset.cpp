// SPDX-License-Identifier: MIT
// Unit tests for reading JSONL, JSON and CSV datasets.
#include <catch2/catch.hpp>

#include <promptops/prompt/dataset.hpp>

#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;

namespace {


// "id@line group vars expected asserts" per case.
std::string cases_of(const ParsedDataset& parsed) {
  std::string out;
  for (const DatasetCase& c : parsed.cases) {
    out += c.id + "@" + std::to_string(c.line) + " " + c.group + " " + c.vars.dump() + " " +
           c.expected.dump() + " " + c.asserts.dump() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("JSONL datasets", "[prompt]") {
  SECTION("happy path: every field, blank lines skipped, default ids are line numbers") {
    const ParsedDataset parsed = parse_dataset(
        "{\"vars\": {\"q\": \"hi\"}, \"expected\": \"IN_SCOPE\"}\n"
        "\n"
        "   \r\n"
        "{\"vars\": {\"q\": \"ö ✓\", \"n\": 2}, \"expected\": {\"label\": 1}, \"id\": \"c-2\", \"group\": "
        "\"g\","
        " \"assert\": [{\"type\": \"contains\", \"value\": \"x\"}]}\r\n"
        "{\"vars\": {}, \"id\": 7}",
        "evals/a.jsonl");
    CHECK(listing(parsed.diagnostics).empty());
    CHECK(cases_of(parsed) ==
          "1@1  {\"q\":\"hi\"} \"IN_SCOPE\" []\n"
          "c-2@4 g {\"n\":2,\"q\":\"ö ✓\"} {\"label\":1} [{\"type\":\"contains\",\"value\":\"x\"}]\n"
          "7@5  {} null []\n");
  }
  SECTION("bad lines are reported with their line numbers, good ones kept") {
    const ParsedDataset parsed = parse_dataset(
        "{\"vars\": {\"q\": \"a\"}}\n"
        "{\"vars\": {\"q\": \"b\"},}\n"
        "[1, 2]\n"
        "{\"vars\": \"q\"}\n"
        "{\"question\": \"x\", \"expcted\": \"y\"}\n"
        "{\"vars\": {}, \"assert\": {\"type\": \"x\"}, \"id\": true, \"group\": 3}\n"
        "{\"vars\": {}, \"id\": \"1\"}\n"
        "{\"vars\": {\"q\": \"c\"}}\n",
        "d.jsonl");
    CHECK(listing(parsed.diagnostics) ==
          "d.jsonl:2:21: error: invalid JSON: syntax error while parsing object key - unexpected '}'; "
          "expected string literal [invalid-json]\n"
          "d.jsonl:3: error: a case must be a JSON object, not an array [invalid-case] "
          "(write {\"vars\": {...}, \"expected\": ...})\n"
          "d.jsonl:4: error: 'vars' must be a JSON object, not a string [invalid-case]\n"
          "d.jsonl:5: error: case has no \"vars\" object [invalid-case] "
          "(write {\"vars\": {\"name\": \"value\"}, \"expected\": ...})\n"
          "d.jsonl:5: warning: unknown key 'expcted' in 1 case (kept in the per-case records, otherwise unused) "
          "[unknown-key] (did you mean 'expected'?)\n"
          "d.jsonl:5: warning: unknown key 'question' in 1 case (kept in the per-case records, otherwise unused) "
          "[unknown-key] (a case has vars, expected, assert, id, group, description and metadata; variables go "
          "in \"vars\")\n"
          "d.jsonl:6: error: 'assert' must be an array of objects [invalid-case] "
          "(write \"assert\": [{\"type\": \"contains\", \"value\": \"...\"}])\n"
          "d.jsonl:6: error: 'id' must be a non-empty string or an integer, not a boolean [invalid-case]\n"
          "d.jsonl:6: error: 'group' must be a string, not a number [invalid-case]\n"
          "d.jsonl:7: error: duplicate case id '1' (first used on line 1) [duplicate-id] "
          "(give every case its own id)\n");
    CHECK(cases_of(parsed) == "1@1  {\"q\":\"a\"} null []\n8@8  {\"q\":\"c\"} null []\n");
  }
  SECTION("an empty file is a warning") {
    const ParsedDataset parsed = parse_dataset("\n\n", "d.jsonl");
    CHECK(listing(parsed.diagnostics) == "d.jsonl: warning: dataset has no cases [empty-dataset]\n");
  }
}

TEST_CASE("JSONL datasets as promptfoo writes them", "[prompt]") {
  std::string text;
  for (int i = 1; i <= 200; ++i) {
    text += R"({"vars": {"q": "q)" + std::to_string(i) +
            R"("}, "description": "case )" + std::to_string(i) +
            R"(", "metadata": {"source": "faq", "n": )" + std::to_string(i) +
            R"(}, "options": {"provider": "x"}, "threshold": 0.5)" + (i == 150 ? R"(, "providerOutput": "y")" : "") +
            "}\n";
  }
  const ParsedDataset parsed = parse_dataset(text, "evals/pf.jsonl");
  SECTION("description and metadata are read; other keys are kept") {
    REQUIRE(parsed.cases.size() == 200);
    const DatasetCase& c = parsed.cases[149];
    CHECK(c.description == "case 150");
    CHECK(c.metadata.dump() == R"({"n":150,"source":"faq"})");
    CHECK(c.other_keys.dump() == R"({"options":{"provider":"x"},"providerOutput":"y"})");
    CHECK(parsed.cases[0].other_keys.dump() == R"({"options":{"provider":"x"}})");
    CHECK(c.threshold == 0.5);
  }
  SECTION("one warning per unknown key, at its first line, with the number of cases") {
    CHECK(listing(parsed.diagnostics) ==
          "evals/pf.jsonl:1: warning: unknown key 'options' in 200 cases (kept in the per-case records, otherwise "
          "unused) [unknown-key] (a case has vars, expected, assert, id, group, description and metadata; "
          "variables go in \"vars\")\n"
          "evals/pf.jsonl:150: warning: unknown key 'providerOutput' in 1 case (kept in the per-case records, "
          "otherwise unused) [unknown-key] (a case has vars, expected, assert, id, group, description and "
          "metadata; variables go in \"vars\")\n");
  }
  SECTION("description must be a string and metadata an object") {
    const ParsedDataset bad = parse_dataset(
        "{\"vars\": {}, \"description\": 3}\n{\"vars\": {}, \"metadata\": [1]}\n{\"vars\": {}, \"metadata\": null}\n",
        "d.jsonl");
    CHECK(listing(bad.diagnostics) ==
          "d.jsonl:1: error: 'description' must be a string, not a number [invalid-case]\n"
          "d.jsonl:2: error: 'metadata' must be a JSON object, not an array [invalid-case]\n");
    REQUIRE(bad.cases.size() == 1);
    CHECK(bad.cases[0].metadata.is_null());
  }
}

TEST_CASE("dataset JSON errors always name file:line", "[prompt]") {
  SECTION("a line nested 100,000 deep is an error at its line, not a crash") {
    const ParsedDataset parsed = parse_dataset(
        "{\"vars\": {\"q\": 1}}\n{\"vars\": {\"q\": " + std::string(100000, '[') + "}}\n", "d.jsonl");
    CHECK(listing(parsed.diagnostics) ==
          "d.jsonl:2:142: error: invalid JSON: arrays and objects nested deeper than 128 levels [invalid-json] "
          "(a dataset value may nest arrays and objects at most 128 levels deep)\n");
    CHECK(parsed.cases.size() == 1);
  }
  SECTION("128 levels in a line are fine") {
    const ParsedDataset parsed = parse_dataset(
        "{\"vars\": {\"q\": " + std::string(126, '[') + std::string(126, ']') + "}}\n", "d.jsonl");
    CHECK(listing(parsed.diagnostics).empty());
    CHECK(parsed.cases.size() == 1);
  }
  SECTION("1e400 is an error at file:line:column") {
    const ParsedDataset parsed = parse_dataset("{\"vars\": {}}\n{\"vars\": {\"n\": 1e400}}\n", "d.jsonl");
    CHECK(listing(parsed.diagnostics) ==
          "d.jsonl:2:20: error: invalid JSON: number overflow parsing '1e400' [invalid-json] "
          "(a number must fit a 64-bit float (about 1.8e308); write a larger one as a string)\n");
  }
  SECTION("in a JSON array file, at the element's line") {
    const ParsedDataset parsed =
        parse_dataset("[\n  {\"vars\": {}},\n  {\"vars\": {\"n\": -1e999}}\n]\n", "d.json");
    CHECK(listing(parsed.diagnostics) ==
          "d.json:3:23: error: invalid JSON: number overflow parsing '-1e999' [invalid-json] "
          "(a number must fit a 64-bit float (about 1.8e308); write a larger one as a string)\n");
    const ParsedDataset deep = parse_dataset("[\n  {\"vars\": " + std::string(200, '[') + "\n]\n", "d.json");
    CHECK(listing(deep.diagnostics) ==
          "d.json:2:138: error: invalid JSON: arrays and objects nested deeper than 128 levels [invalid-json] "
          "(a dataset value may nest arrays and objects at most 128 levels deep)\n");
  }
  SECTION("in a CSV assert cell") {
    const ParsedDataset parsed = parse_dataset("q,assert\nx,\"[{\"\"n\"\": 1e400}]\"\n", "d.csv");
    CHECK(listing(parsed.diagnostics) ==
          "d.csv:2: error: invalid JSON in column 'assert': number overflow parsing '1e400' [invalid-json] "
          "(a number must fit a 64-bit float (about 1.8e308); write a larger one as a string)\n");
  }
}

TEST_CASE("JSON datasets: lines or one array", "[prompt]") {
  SECTION("JSON lines in a .json file") {
    const ParsedDataset parsed = parse_dataset("{\"vars\": {\"a\": 1}}\n{\"vars\": {\"a\": 2}}\n", "d.json");
    CHECK(listing(parsed.diagnostics).empty());
    CHECK(parsed.cases.size() == 2);
  }
  SECTION("an array keeps each element's line") {
    const ParsedDataset parsed = parse_dataset(
        "\xEF\xBB\xBF[\n  {\"vars\": {\"a\": \"[x, {y}]\"}},\n  {\"vars\": {\"a\": \"2\"},\n   \"expected\": "
        "\"z\"},\n"
        "  {\"vars\": 1}\n]\n",
        "d.json");
    CHECK(listing(parsed.diagnostics) ==
          "d.json:5: error: 'vars' must be a JSON object, not a number [invalid-case]\n");
    CHECK(cases_of(parsed) == "2@2  {\"a\":\"[x, {y}]\"} null []\n3@3  {\"a\":\"2\"} \"z\" []\n");
  }
  SECTION("a syntax error in an array") {
    const ParsedDataset parsed = parse_dataset("[\n  {\"vars\": {}},\n  {\"vars\": x}\n]\n", "d.json");
    REQUIRE(parsed.diagnostics.size() == 1);
    CHECK(parsed.diagnostics[0].where.format() == "d.json:3:12");
    CHECK(parsed.diagnostics[0].code == "invalid-json");
    CHECK(parsed.cases.empty());
  }
}

TEST_CASE("CSV datasets", "[prompt]") {
  SECTION("happy path with reserved columns") {
    const ParsedDataset parsed = parse_dataset(
        "question,expected,id,group,assert,scope\r\n"
        "Can I pay?,IN_SCOPE,,cards,,all\r\n"
        "Weather?,OUT_OF_SCOPE,w1,,\"[{\"\"type\"\": \"\"equals\"\"}]\",x\r\n"
        "Nothing expected,,,,\"{\"\"type\"\": \"\"contains\"\"}\",\n",
        "evals/c.csv");
    CHECK(listing(parsed.diagnostics).empty());
    CHECK(cases_of(parsed) ==
          "2@2 cards {\"question\":\"Can I pay?\",\"scope\":\"all\"} \"IN_SCOPE\" []\n"
          "w1@3  {\"question\":\"Weather?\",\"scope\":\"x\"} \"OUT_OF_SCOPE\" [{\"type\":\"equals\"}]\n"
          "4@4  {\"question\":\"Nothing expected\",\"scope\":\"\"} null [{\"type\":\"contains\"}]\n");
  }
  SECTION("quoted fields hold commas, quotes and line breaks") {
    const ParsedDataset parsed = parse_dataset(
        "text,__expected\n"
        "\"a, b\",\"say \"\"hi\"\"\"\n"
        "\"line 1\nline 2\r\nline 3\",\"\"\n"
        "plain,\"\"\"quoted\"\"\"\n"
        "\n"
        "last,x",
        "c.csv");
    CHECK(listing(parsed.diagnostics).empty());
    CHECK(cases_of(parsed) ==
          "2@2  {\"text\":\"a, b\"} \"say \\\"hi\\\"\" []\n"
          "3@3  {\"text\":\"line 1\\nline 2\\r\\nline 3\"} null []\n"
          "6@6  {\"text\":\"plain\"} \"\\\"quoted\\\"\" []\n"
          "8@8  {\"text\":\"last\"} \"x\" []\n");
  }
  SECTION("bad rows are reported with the line they start on") {
    const ParsedDataset parsed = parse_dataset(
        "a,b\n"
        "1,2\n"
        "\"x\ny\",2,3\n"
        "only\n"
        "\"q\"junk,2\n"
        "5,\"[not json\"\n"
        "6,\"unterminated\n",
        "c.csv");
    CHECK(listing(parsed.diagnostics) ==
          "c.csv:3: error: row has 3 fields, the header has 2 [invalid-row]\n"
          "c.csv:5: error: row has 1 fields, the header has 2 [invalid-row]\n"
          "c.csv:6: error: text after the closing quote of a field [invalid-csv] "
          "(quote the whole field and write a quote inside it as \"\")\n"
          "c.csv:8: error: unterminated quoted field [invalid-csv] "
          "(close the field with \" and write a quote inside a field as \"\")\n");
    CHECK(cases_of(parsed) ==
          "2@2  {\"a\":\"1\",\"b\":\"2\"} null []\n7@7  {\"a\":\"5\",\"b\":\"[not json\"} null []\n");
  }
  SECTION("header problems") {
    CHECK(listing(parse_dataset("a,,a\n1,2,3\n", "c.csv").diagnostics) ==
          "c.csv:1: error: column 2 of the header has no name [invalid-header]\n"
          "c.csv:1: error: duplicate column 'a' [invalid-header]\n");
    CHECK(listing(parse_dataset("expected,__expected\n1,2\n", "c.csv").diagnostics) ==
          "c.csv:1: error: columns 'expected' and '__expected' both give the expected output "
          "[invalid-header]\n");
    CHECK(listing(parse_dataset("a\n", "c.csv").diagnostics) ==
          "c.csv: warning: dataset has no cases [empty-dataset]\n");
    CHECK(listing(parse_dataset("a,assert\n1,[x\n", "c.csv").diagnostics) ==
          "c.csv:2: error: invalid JSON in column 'assert': syntax error while parsing value - invalid "
          "literal; "
          "last read: '[x' [invalid-json]\n");
  }
}

TEST_CASE("dataset formats follow the extension", "[prompt]") {
  CHECK(listing(parse_dataset("x", "evals/data.txt").diagnostics) ==
        "evals/data.txt: error: unsupported dataset format '.txt' [unknown-format] (use a .jsonl, .json or "
        ".csv file)\n");
  CHECK(listing(parse_dataset("x", "evals/data").diagnostics) ==
        "evals/data: error: unsupported dataset format 'evals/data' [unknown-format] "
        "(use a .jsonl, .json or .csv file)\n");
  CHECK(is_dataset_path("evals/a.jsonl"));
  CHECK(is_dataset_path("A.CSV"));
  CHECK(is_dataset_path("x.json"));
  CHECK_FALSE(is_dataset_path("x.toml"));
  CHECK_FALSE(is_dataset_path("dir.csv/file"));
}
