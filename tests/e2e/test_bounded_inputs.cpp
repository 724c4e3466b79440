// SPDX-License-Identifier: MIT
// End-to-end: inputs that used to crash or blow up (deep templates and JSON, huge prompts, numbers
// out of range), datasets as promptfoo writes them, and cases checked before the first model call.
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

std::string repeated(const std::string& piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

// git-promptops ARGS with its address space capped at `megabytes` (ulimit -v), so that a blow-up
// fails fast as "out of memory" instead of taking the machine.
RunResult run_capped(const TempRepo& repo, std::size_t megabytes, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"sh", "-c", "ulimit -v " + std::to_string(megabytes * 1024) + " && exec \"$0\" \"$@\"",
                                promptops_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(repo.path(), argv);
}

// A repository with the loopback provider and prompts/greet.toml ("Hey {{who}}!", `who` required)
// over evals/greet.jsonl = `cases`, committed.
struct Project {
  LlmServer server;
  TempRepo repo;

  explicit Project(const std::string& cases) {
    server.set_rules(greet_rules());
    repo.write(".promptops.toml", config_toml(server));
    repo.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
    repo.write("evals/greet.jsonl", cases);
    repo.commit("greet");
  }
};

// `count` greet cases "c1".."cN" for Ann, all expecting "ok".
std::string many_cases(int count) {
  std::string out;
  for (int i = 1; i <= count; ++i) {
    out += json({{"id", "c" + std::to_string(i)}, {"vars", {{"who", "Ann"}}}, {"expected", "ok"}}).dump() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("sections nested 80,000 deep: lint and render name the limit at once, in little memory",
          "[e2e][lint][render]") {
  TempRepo repo;
  const std::string deep = repeated("{{#a}}", 80000) + "x" + repeated("{{/a}}", 80000);  // under the 1 MiB file limit
  repo.write("prompts/deep.toml", "template = \"" + deep + "\"\n\n[vars]\na = { default = \"1\" }\n");
  repo.commit("deep");
  const RunResult lint = run_capped(repo, 1024, {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out ==
        "prompts/deep.toml:1:397: error: template syntax error: sections nested deeper than 64 levels "
        "[template-syntax]\n"
        "1 error, 0 warnings\n");
  const RunResult render = run_capped(repo, 1024, {"render", "deep"});
  CHECK(render.exit_code == 2);
  CHECK(render.out.empty());
  CHECK(render.err ==
        "git-promptops: error: prompts/deep.toml:1:397: template syntax error: sections nested deeper than 64 "
        "levels\n"
        "hint: run 'git promptops lint deep' for every problem\n");
}

TEST_CASE("a 5 MB prompt, or a value that renders past 4 MiB, is an error naming the prompt and the limit",
          "[e2e][render]") {
  TempRepo repo;
  repo.write("prompts/big.toml", "template = \"" + repeated("word ", 1000000) + "{{who}}\"\n\n[vars]\nwho = {}\n");
  repo.write("prompts/greet.toml", "template = \"{{#items}}Hey {{who}}!\\n{{/items}}\"\n\n[vars]\nwho = {}\nitems = {}\n");
  json items = json::array();
  for (int i = 0; i < 5000; ++i) {
    items.push_back(i);
  }
  repo.write("vars.json", json({{"who", std::string(1000, 'w')}, {"items", items}}).dump());
  repo.commit("big");
  const RunResult big = run_capped(repo, 1024, {"render", "big"});
  CHECK(big.exit_code == 2);
  // The file limit (1 MiB) stops it before the template limit (4 MiB) could.
  CHECK(big.err == "git-promptops: error: prompt file 'prompts/big.toml' is 5000038 bytes, over the 1 MiB limit "
                   "for a prompt file\n"
                   "hint: keep long reference text in a dataset and pass it in as a variable\n");
  const RunResult blown = run_capped(repo, 1024, {"render", "greet", "--vars", "vars.json"});
  CHECK(blown.exit_code == 2);
  CHECK(blown.out.empty());
  CHECK(blown.err ==
        "git-promptops: error: message 1 (user) of prompt 'greet': rendered text is larger than 4 MiB\n"
        "hint: a rendered message may be at most 4 MiB, with values nested at most 128 levels deep\n");
}

TEST_CASE("a dataset line nested 100,000 deep: eval and lint name file:line, and nothing is sent",
          "[e2e][eval][lint]") {
  Project p(many_cases(1) + "{\"id\": \"deep\", \"vars\": {\"who\": " + repeated("[", 100000) + repeated("]", 100000) +
            "}}\n");
  const RunResult eval = run_promptops(p.repo.path(), {"eval", "HEAD"});
  CHECK(eval.exit_code == 2);
  CHECK(eval.out.empty());
  CHECK(eval.err ==
        "git-promptops: error: evals/greet.jsonl:2:158: invalid JSON: arrays and objects nested deeper than 128 "
        "levels\n"
        "hint: a dataset value may nest arrays and objects at most 128 levels deep\n");
  CHECK(p.server.requests() == 0);
  const RunResult lint = run_promptops(p.repo.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out ==
        "evals/greet.jsonl:2:158: error: invalid JSON: arrays and objects nested deeper than 128 levels "
        "[invalid-json]\n"
        "  hint: a dataset value may nest arrays and objects at most 128 levels deep\n"
        "1 error, 0 warnings\n");
}

TEST_CASE("a number out of range in a dataset is an error at file:line", "[e2e][eval]") {
  Project p(many_cases(2) + "{\"vars\": {\"who\": \"Ann\", \"n\": 1e400}}\n");
  const RunResult eval = run_promptops(p.repo.path(), {"eval", "HEAD"});
  CHECK(eval.exit_code == 2);
  CHECK(eval.err ==
        "git-promptops: error: evals/greet.jsonl:3:34: invalid JSON: number overflow parsing '1e400'\n"
        "hint: a number must fit a 64-bit float (about 1.8e308); write a larger one as a string\n");
  CHECK(p.server.requests() == 0);
}

TEST_CASE("promptfoo's JSONL evaluates: description and metadata are read, other keys kept, lint warns once per key",
          "[e2e][eval][lint]") {
  std::string cases;
  for (int i = 1; i <= 200; ++i) {
    cases += json({{"vars", {{"who", i == 1 ? "Ann" : "Bob"}}},
                   {"expected", "ok"},
                   {"description", "greets " + std::string(i == 1 ? "Ann" : "Bob")},
                   {"metadata", {{"source", "faq"}, {"n", i}}},
                   {"options", {{"provider", "openai:gpt-4o"}}},
                   {"threshold", 0.5}})
                 .dump() +
             "\n";
  }
  Project p(cases);
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("value").get<double>() == Approx(1.0));
  CHECK(p.server.requests() == 2);  // two distinct prompts
  const std::string results = read_text(row.at("results_file").get<std::string>());
  json first;  // records are written as answers arrive: find case 1's
  for (std::size_t start = 0; start < results.size();) {
    const std::size_t end = results.find('\n', start);
    const json record = json::parse(results.substr(start, end - start));
    if (record.at("index") == 0) {
      first = record;
    }
    start = end + 1;
  }
  CHECK(first.at("description") == "greets Ann");
  CHECK(first.at("metadata") == json({{"source", "faq"}, {"n", 1}}));
  CHECK(first.at("other_keys") == json({{"options", {{"provider", "openai:gpt-4o"}}}}));
  const RunResult lint = run_promptops(p.repo.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out ==
        "evals/greet.jsonl:1: warning: unknown key 'options' in 200 cases (kept in the per-case records, otherwise "
        "unused) [unknown-key]\n"
        "  hint: a case has vars, expected, assert, id, group, description and metadata; variables go in \"vars\"\n"
        "0 errors, 1 warning\n");
  CHECK(lint.err.empty());
}

TEST_CASE("a case without a required variable at the end of the dataset stops every command before the first call",
          "[e2e][eval][optimize]") {
  const std::string bad_line = "{\"id\": \"c50\", \"vars\": {\"whom\": \"Ann\"}, \"expected\": \"ok\"}\n";
  Project p(many_cases(49) + bad_line);
  const std::string expected =
      "git-promptops: error: evals/greet.jsonl:50: case 'c50' gives no value for required variable 'who' of "
      "prompt 'greet'\n"
      "hint: add \"who\" to the case's vars; nothing was sent to the model\n";
  SECTION("eval") {
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == expected);
  }
  SECTION("optimize") {
    const RunResult r = run_promptops(p.repo.path(), {"optimize", "greet", "--budget", "100"});
    CHECK(r.exit_code == 2);
    CHECK(r.err == expected);
  }
  SECTION("every bad case at once, at most 20") {
    std::string cases;
    for (int i = 1; i <= 30; ++i) {
      cases += "{\"vars\": {}}\n";
    }
    p.repo.write("evals/greet.jsonl", cases);
    p.repo.commit("no vars");
    const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    std::string lines;
    for (int i = 1; i <= 20; ++i) {
      lines += "git-promptops: error: evals/greet.jsonl:" + std::to_string(i) + ": case '" + std::to_string(i) +
               "' gives no value for required variable 'who' of prompt 'greet'\n";
    }
    CHECK(r.err == lines +
                       "git-promptops: error: 10 more cases cannot render ('git promptops lint' lists them all)\n"
                       "hint: add \"who\" to the case's vars; nothing was sent to the model\n");
  }
  CHECK(p.server.requests() == 0);
}
