// SPDX-License-Identifier: MIT
// End-to-end: assertions on hostile answers (a 28 KB line under a regex, a regex limit) and
// assertions that cannot work (empty values, undefined variables, bad patterns), stopped by
// eval before any model call and reported by lint at file:line.
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

namespace {

std::string long_line() {
  std::string answer;
  for (int i = 0; i < 14000; ++i) {
    answer += "ab";
  }
  return answer + "c";  // 28,001 bytes, one line
}

}  // namespace

TEST_CASE("a regex assertion on a 28 KB one-line answer is scored, not a crash", "[e2e][eval][regex]") {
  AskRepo p("{ type = \"regex\", value = \"^(a|b)*c$\" }",
            ask_row("long", "long one") + ask_row("short", "short one"),
            {{{"long one"}, long_line()}, {{"short one"}, "abd"}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pf");
  const std::map<std::string, json> records = records_by_id(row);
  REQUIRE(records.size() == 2);
  CHECK(records.at("long").at("output").get<std::string>().size() == 28001);
  CHECK(records.at("short").at("reasons") == json({"output does not match /^(a|b)*c$/"}));
}

TEST_CASE("a regex that reaches its match limit makes that case an error with the reason", "[e2e][eval][regex]") {
  AskRepo p("{ type = \"regex\", value = \"^(a+)+$\" }", ask_row("long", "long one") + ask_row("ok", "ok one"),
            {{{"long one"}, std::string(28000, 'a') + "!"}, {{"ok one"}, "aaa"}});
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD", "--format", "json"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "git-promptops: error: 1 case could not be judged: regex match limit reached (see the per-case results)\n"
        "hint: fix the assertion; a regular expression that reaches a limit needs less backtracking\n");
  const json doc = json::parse(r.out);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "ep");
  const std::map<std::string, json> records = records_by_id(row);
  REQUIRE(records.size() == 2);
  CHECK(records.at("long").at("error") == "regex match limit reached");
  CHECK(records.at("long").at("pass") == false);
}

TEST_CASE("assertions that cannot work stop eval before any model call, and lint names them",
          "[e2e][eval][lint]") {
  SECTION("an empty value") {
    AskRepo p("{ type = \"contains\", value = \"\" }", ask_row("one", "one"), {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err ==
          "git-promptops: error: prompts/ask.toml:4:1: contains assertion has an empty 'value', which every "
          "output contains\n"
          "hint: give the text to look for\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "prompts/ask.toml:4:1: error: contains assertion has an empty 'value', which every output contains "
          "[invalid-assertion]\n"
          "  hint: give the text to look for\n"
          "1 error, 0 warnings\n");
  }
  SECTION("a variable that a case does not define") {
    AskRepo p("{ type = \"contains\", value = \"{{city}}\" }",
              ask_row("one", "one", {{"vars", {{"q", "one"}, {"city", "Paris"}}}}) + ask_row("two", "two") +
                  ask_row("three", "three"),
              {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err ==
          "git-promptops: error: evals/ask.jsonl:2: case 'two' does not define variable 'city' used by the "
          "assertion at prompts/ask.toml:4:1 (nor do 1 other cases)\n"
          "hint: add \"city\" to the case's vars, or remove {{city}} from the assertion\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "evals/ask.jsonl:2: error: case 'two' does not define variable 'city' used by the assertion at "
          "prompts/ask.toml:4:1 (nor do 1 other cases) [undefined-variable]\n"
          "  hint: add \"city\" to the case's vars, or remove {{city}} from the assertion\n"
          "1 error, 0 warnings\n");
  }
  SECTION("a case's own pattern that does not compile") {
    AskRepo p("{ type = \"is-json\" }",
              ask_row("one", "one") +
                  ask_row("two", "two", {{"assert", {{{"type", "regex"}, {"value", "a(b"}}}}}),
              {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err ==
          "git-promptops: error: evals/ask.jsonl:2: regex assertion has a bad regex /a(b/: missing "
          "closing parenthesis at offset 3\n"
          "hint: fix the pattern; the dialect is PCRE2's\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "evals/ask.jsonl:2: error: regex assertion has a bad regex /a(b/: missing closing parenthesis at "
          "offset 3 [invalid-assertion]\n"
          "  hint: fix the pattern; the dialect is PCRE2's\n"
          "1 error, 0 warnings\n");
  }
}
