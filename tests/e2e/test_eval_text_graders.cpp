// SPDX-License-Identifier: MIT
// End-to-end: the text graders and negated types through the real pipeline, and a malformed one
// stopped before any model call and reported by lint at its file:line.
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using nlohmann::json;

TEST_CASE("text graders and negated types judge answers through eval", "[e2e][eval][text]") {
  AskRepo p(
      "{ type = \"icontains-any\", value = \"paris, \\\"Lyon, France\\\"\" },\n"
      "{ type = \"not-regex\", value = \"\\\\d\" },\n"
      "{ type = \"word-count\", value = { max = 6 } },\n"
      "{ type = \"rouge-n\", value = \"{{expected}}\", threshold = 0.5 }",
      ask_row("paris", "capital of France", {{"expected", "Paris is the capital"}}) +
          ask_row("lyon", "a city of France", {{"expected", "Lyon is a city in France"}}) +
          ask_row("digits", "the year", {{"expected", "It was 1999"}}),
      {{{"capital of France"}, "PARIS is the capital."},
       {{"a city of France"}, "Lyon, France is a large city."},
       {{"the year"}, "It was 1999, in Paris."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  CHECK(p.server.requests() == 3);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "ppf");
  json digits;
  const std::string text = read_text(row.at("results_file").get<std::string>());
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    json record = json::parse(text.substr(start, end - start));
    if (record.at("id") == "digits") {
      digits = std::move(record);
    }
    start = end + 1;
  }
  CHECK(digits.at("reasons") == json({"not-regex: output matches /\\d/"}));
}

TEST_CASE("a malformed text grader stops eval before any model call, and lint names its line",
          "[e2e][eval][lint][text]") {
  SECTION("in the prompt's assertions") {
    AskRepo p("{ type = \"not-word-count\", value = { min = 5, max = 2 } }", ask_row("one", "one"), {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err == "git-promptops: error: prompts/ask.toml:4:1: not-word-count assertion has min 5 above max 2\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "prompts/ask.toml:4:1: error: not-word-count assertion has min 5 above max 2 [invalid-assertion]\n"
          "1 error, 0 warnings\n");
  }
  SECTION("in a case's own assertions") {
    AskRepo p("{ type = \"is-json\" }",
                  ask_row("one", "one") +
                      ask_row("two", "two", {{"assert", {{{"type", "contains-any"}, {"value", json::array()}}}}}),
                  {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err ==
          "git-promptops: error: evals/ask.jsonl:2: contains-any assertion has no item in 'value'\n"
          "hint: list the texts to look for\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "evals/ask.jsonl:2: error: contains-any assertion has no item in 'value' [invalid-assertion]\n"
          "  hint: list the texts to look for\n"
          "1 error, 0 warnings\n");
  }
}
