// SPDX-License-Identifier: MIT
// End-to-end: JSON Schema on is-json and contains-json written as TOML tables, the pii and
// moderation guardrails on the output and on the rendered input, and malformed ones stopped before
// any model call and reported by lint at file:line.
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

TEST_CASE("contains-json with a TOML schema using $defs and $ref scores each answer", "[e2e][eval][json-schema]") {
  AskRepo p(
      "  { type = \"contains-json\", value = { type = \"object\", required = [\"items\"], properties = { items = {"
      " type = \"array\", items = { \"$ref\" = \"#/$defs/item\" } } },"
      " \"$defs\" = { item = { type = \"object\", properties = { price = { type = \"number\", minimum = 5 } } } } } },\n",
      ask_row("good", "good one") + ask_row("cheap", "cheap one") + ask_row("prose", "prose one"),
      {{{"good one"}, "Here you go:\n```json\n{\"items\": [{\"price\": 5}]}\n```"},
       {{"cheap one"}, "{\"items\": [{\"price\": 9}, {\"price\": 9}, {\"price\": 3}]}"},
       {{"prose one"}, "Sorry, I cannot list items."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pff");
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("cheap").at("reasons") ==
        json({"JSON at bytes 1-53 does not match the schema: /items/2/price: 3 is less than minimum 5"}));
  CHECK(records.at("prose").at("reasons") == json({"output contains no JSON object"}));
}

TEST_CASE("pii checks the output, and with on = input the rendered prompt", "[e2e][eval][pii]") {
  AskRepo p("  { type = \"pii\", value = \"email, card\" },\n  { type = \"pii\", on = \"input\", value = [\"email\"] },\n",
            ask_row("clean", "hello") + ask_row("leak", "my card") + ask_row("asks", "mail ann@example.org"),
            {{{"hello"}, "Hi there."},
             {{"my card"}, "Your card 4111 1111 1111 1111 is on file."},
             {{"ann@example.org"}, "Done."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pff");
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("leak").at("reasons") == json({"output holds pii: card at bytes 11-29 (4111…1111)"}));
  CHECK(records.at("asks").at("reasons") == json({"input holds pii: email at bytes 9-23 (ann…org)"}));
}

TEST_CASE("moderation asks the provider's moderations endpoint once per text, on the output or the input",
          "[e2e][eval][moderation]") {
  AskRepo p(
      "  { type = \"moderation\" },\n  { type = \"moderation\", on = \"input\", value = \"hate, violence\" "
      "},\n",
      ask_row("clean", "hello") + ask_row("angry", "insult me") + ask_row("asks", "kill it") +
          ask_row("again", "hello"),
      {{{"insult me"}, "You idiot."}, {{"kill it"}, "Stopped the process."}, {{"hello"}, "Hi there."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pffp");
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("angry").at("reasons") == json({"moderation flagged the output: harassment 0.90"}));
  CHECK(records.at("asks").at("reasons") == json({"moderation flagged the input: violence 0.90"}));
  CHECK(records.at("clean").at("score").get<double>() == Approx(0.99));
  // "Hi there." and "Q: hello" are asked once for two cases: answers are cached by content.
  CHECK(count_seen(p.server, [](const SeenRequest& r) { return r.path == "/v1/moderations"; }) == 6);
  for (const SeenRequest& request : p.server.seen()) {
    if (request.path == "/v1/moderations") {
      CHECK_FALSE(request.body.contains("model"));
    }
  }

  p.server.reset_counters();
  CHECK(eval_json(p.repo.path(), {"HEAD"}).at("rows").at(0).at("outcomes") == "pffp");
  CHECK(p.server.requests() == 0);
}

TEST_CASE("a moderation category the endpoint does not return makes the case an error",
          "[e2e][eval][moderation]") {
  AskRepo p("  { type = \"moderation\", value = [\"violent\"] },\n", ask_row("one", "hello"), {});
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD", "--format", "json"});
  CHECK(r.exit_code == 2);
  const json doc = json::parse(r.out);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "e");
  CHECK(records_by_id(row).at("one").at("reasons") ==
        json({"the moderations endpoint has no category 'violent'"}));
}

TEST_CASE("moderation on a provider without the endpoint stops with the provider named",
          "[e2e][eval][moderation]") {
  AskRepo p("  { type = \"moderation\", provider = \"claude\" },\n", ask_row("one", "hello"), {});
  std::string config = p.repo.read(".promptops.toml");
  config += "\n[providers.claude]\nkind = \"anthropic\"\nbase_url = \"" + p.server.base_url() + "\"\n";
  p.repo.write(".promptops.toml", config);
  p.repo.commit("claude");
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("provider 'claude' (anthropic) has no moderations endpoint") != std::string::npos);
}

TEST_CASE("a malformed JSON Schema or pii kind stops eval before any model call, and lint names it",
          "[e2e][eval][lint]") {
  SECTION("a schema keyword of the wrong type") {
    AskRepo p("  { type = \"is-json\" },\n  { type = \"is-json\", value = { type = \"object\", required = 3 } },\n",
              ask_row("one", "one"), {});
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
    CHECK(r.err ==
          "git-promptops: error: prompts/ask.toml:4:1: is-json assertion has a bad JSON Schema in 'value': "
          "/required must be an array of property names\n"
          "hint: write the schema inline as a table or object, e.g. { type = \"object\", required = [\"answer\"] }\n");
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "prompts/ask.toml:4:1: error: is-json assertion has a bad JSON Schema in 'value': /required must be an "
          "array of property names [invalid-assertion]\n"
          "  hint: write the schema inline as a table or object, e.g. { type = \"object\", required = "
          "[\"answer\"] }\n"
          "1 error, 0 warnings\n");
  }
  SECTION("moderation categories that are not a list") {
    AskRepo p("  { type = \"moderation\", value = 3, on = \"both\" },\n", ask_row("one", "one"), {});
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(
        lint.out ==
        "prompts/ask.toml:4:1: error: moderation assertion 'value' must list categories [invalid-assertion]\n"
        "  hint: write value = [\"violence\", \"hate\"], or leave it out to check all\n"
        "prompts/ask.toml:4:1: error: moderation assertion option 'on' must be \"output\" or \"input\" "
        "[invalid-assertion]\n"
        "2 errors, 0 warnings\n");
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
  }
  SECTION("an unknown pii kind") {
    AskRepo p("  { type = \"pii\", value = [\"card\", \"phon\"] },\n", ask_row("one", "one"), {});
    const RunResult lint = run_promptops(p.repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          "prompts/ask.toml:4:1: error: unknown pii kind 'phon' [invalid-assertion]\n"
          "  hint: did you mean 'phone'?\n"
          "1 error, 0 warnings\n");
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(p.server.requests() == 0);
  }
}
