// SPDX-License-Identifier: MIT
// End-to-end: JSON Schema on is-json and contains-json written as TOML tables, the pii guardrail on
// the output and on the rendered input, and malformed ones stopped before any model call and
// reported by lint at file:line.
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

// One commit: prompts/ask.toml (`template = "Q: {{q}}"`, [eval] on evals/ask.jsonl with
// `asserts`) and the dataset; the loopback server answers by `rules`.
struct Project {
  LlmServer server;
  TempRepo repo;

  Project(const std::string& asserts, const std::string& dataset, std::vector<LlmServer::Rule> rules) {
    server.set_rules(std::move(rules));
    repo.write(".promptops.toml", config_toml(server));
    repo.write("prompts/ask.toml",
               "template = \"Q: {{q}}\"\n"
               "[vars]\n"
               "q = { required = true }\n"
               "[eval]\n"
               "dataset = \"evals/ask.jsonl\"\n"
               "assert = [\n" +
                   asserts + "]\n");
    repo.write("evals/ask.jsonl", dataset);
    repo.commit("ask");
  }
};

std::string ask_case(const std::string& id, const std::string& q) {
  return json{{"id", id}, {"vars", {{"q", q}}}}.dump() + "\n";
}

std::map<std::string, json> case_records(const json& row) {
  std::map<std::string, json> records;
  const std::string text = read_text(row.at("results_file").get<std::string>());
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    json record = json::parse(text.substr(start, end - start));
    const std::string id = record.at("id").get<std::string>();
    records[id] = std::move(record);
    start = end + 1;
  }
  return records;
}

}  // namespace

TEST_CASE("contains-json with a TOML schema using $defs and $ref scores each answer", "[e2e][eval][json-schema]") {
  Project p(
      "  { type = \"contains-json\", value = { type = \"object\", required = [\"items\"], properties = { items = {"
      " type = \"array\", items = { \"$ref\" = \"#/$defs/item\" } } },"
      " \"$defs\" = { item = { type = \"object\", properties = { price = { type = \"number\", minimum = 5 } } } } } },\n",
      ask_case("good", "good one") + ask_case("cheap", "cheap one") + ask_case("prose", "prose one"),
      {{{"good one"}, "Here you go:\n```json\n{\"items\": [{\"price\": 5}]}\n```"},
       {{"cheap one"}, "{\"items\": [{\"price\": 9}, {\"price\": 9}, {\"price\": 3}]}"},
       {{"prose one"}, "Sorry, I cannot list items."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pff");
  const std::map<std::string, json> records = case_records(row);
  CHECK(records.at("cheap").at("reasons") ==
        json({"JSON at bytes 1-53 does not match the schema: /items/2/price: 3 is less than minimum 5"}));
  CHECK(records.at("prose").at("reasons") == json({"output contains no JSON object"}));
}

TEST_CASE("pii checks the output, and with on = input the rendered prompt", "[e2e][eval][pii]") {
  Project p("  { type = \"pii\", value = \"email, card\" },\n  { type = \"pii\", on = \"input\", value = [\"email\"] },\n",
            ask_case("clean", "hello") + ask_case("leak", "my card") + ask_case("asks", "mail ann@example.org"),
            {{{"hello"}, "Hi there."},
             {{"my card"}, "Your card 4111 1111 1111 1111 is on file."},
             {{"ann@example.org"}, "Done."}});
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pff");
  const std::map<std::string, json> records = case_records(row);
  CHECK(records.at("leak").at("reasons") == json({"output holds pii: card at bytes 11-29 (4111…1111)"}));
  CHECK(records.at("asks").at("reasons") == json({"input holds pii: email at bytes 9-23 (ann…org)"}));
}

TEST_CASE("a malformed JSON Schema or pii kind stops eval before any model call, and lint names it",
          "[e2e][eval][lint]") {
  SECTION("a schema keyword of the wrong type") {
    Project p("  { type = \"is-json\" },\n  { type = \"is-json\", value = { type = \"object\", required = 3 } },\n",
              ask_case("one", "one"), {});
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
  SECTION("an unknown pii kind") {
    Project p("  { type = \"pii\", value = [\"card\", \"phon\"] },\n", ask_case("one", "one"), {});
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
