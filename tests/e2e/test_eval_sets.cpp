// SPDX-License-Identifier: MIT
// End-to-end: assert-sets, weights, thresholds, [eval] defaults and named metrics through the real
// binary and the loopback model server: eval's outputs, the notes, check's gate and bisect.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::gate;
using nlohmann::json;

namespace {

// A named metric "polite" (an assert-set), a weight-0 "has_o", defaults and a gate on "polite".
const std::string k_eval_extra =
    "default_vars = { who = \"nobody\" }\n"
    "default_assert = [ { type = \"contains\", value = \"o\", weight = 0, metric = \"has_o\" } ]\n"
    "assert = [ { type = \"assert-set\", metric = \"polite\", assert = [ { type = \"equals\", value = \"ok\" } ] } ]\n";

std::string sets_prompt(const std::string& text, const std::string& gate) {
  return "template = \"" + text +
         "\"\n"
         "\n"
         "[vars]\n"
         "who = { required = true }\n"
         "\n"
         "[eval]\n"
         "dataset = \"evals/greet.jsonl\"\n" +
         k_eval_extra + gate;
}

struct SetsProject {
  LlmServer server;
  TempRepo repo;
  std::string gate;
  std::string base;

  explicit SetsProject(std::string gate_toml) : gate(std::move(gate_toml)) {
    server.set_rules(gate_rules());
    repo.write(".promptops.toml", config_toml(server));
    repo.write("evals/greet.jsonl", greet_cases(k_names));
    repo.write("prompts/greet.toml", sets_prompt("Hey {{who}}!", gate));
    base = repo.commit("add greet");
  }

  std::string commit(const std::string& text, const std::string& subject) {
    repo.write("prompts/greet.toml", sets_prompt(text, gate));
    return repo.commit(subject);
  }
};

}  // namespace

TEST_CASE("eval reports named metrics in text, json and markdown, and records them in the notes",
          "[e2e][eval][sets]") {
  SetsProject p("");
  const std::string head = short_sha(p.commit("Yo {{who}}!", "greet: yo"));
  const json doc = eval_json(p.repo.path(), {"HEAD"});
  const json& metrics = doc.at("rows").at(0).at("metrics");
  CHECK(metrics.at("named").at("polite").at("mean") == 0.25);  // Ann and Bob of 8
  CHECK(metrics.at("named").at("polite").at("cases") == 8);
  CHECK(metrics.at("named").at("has_o").at("mean") == 1.0);  // "ok", and the echoed "Yo NAME!"
  CHECK(metrics.at("pass_rate") == 0.25);  // the weight-0 assertion never fails a case
  CHECK(metrics.at("mean_score") == 0.25);
  const RunResult text = run_promptops(p.repo.path(), {"eval", "HEAD"});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("\nCOMMIT   PROMPT  VERSION  NAMED METRIC  VALUE  95% CI        CASES\n" + head +
                      "  greet   v2       has_o         1.000  [0.68, 1.00]      8\n" + head +
                      "  greet   v2       polite        0.250  [0.07, 0.59]      8\n") != std::string::npos);
  const RunResult markdown = run_promptops(p.repo.path(), {"eval", "HEAD", "--format", "markdown"});
  CHECK(markdown.out.find("| `" + head + "` | greet | v2 | polite | 0.250 | [0.07, 0.59] | 8 |\n") !=
        std::string::npos);
  const std::vector<json> notes = note_lines(p.repo, "HEAD");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].at("metrics").at("named").at("polite").at("mean") == 0.25);
  CHECK(notes[0].at("named_scores").at("polite") == json({1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}));
}

TEST_CASE("a [gate] on a named metric fails a significant drop with the paired test", "[e2e][check][sets]") {
  SetsProject p("\n[gate]\nmax_drop = { polite = 0 }\n");
  p.repo.write("prompts/greet.toml", sets_prompt("Yo {{who}}!", p.gate));
  p.repo.git({"add", "prompts/greet.toml"});
  const RunResult r = run_promptops(p.repo.path(), {"check", "--staged", "--format", "json"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  const json doc = json::parse(r.out);
  const json& check = doc.at("prompts").at(0).at("verdict").at("checks").at(0);
  CHECK(check.at("metric") == "polite");
  CHECK(check.at("test") == "sign_flip");
  CHECK(check.at("p_value").get<double>() == Approx(0.03125).epsilon(1e-12));  // 6 cases down: 2 / 2^6
  CHECK(check.at("failed") == true);
  SECTION("a gate on a metric no assertion names is an error at the gate's line") {
    p.repo.write("prompts/greet.toml", sets_prompt("Yo {{who}}!", "\n[gate]\nmin = { polit = 0.5 }\n"));
    p.repo.git({"add", "prompts/greet.toml"});
    const RunResult bad = run_promptops(p.repo.path(), {"check", "--staged"});
    INFO(bad.err);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("prompts/greet.toml:12:1: unknown metric 'polit' in [gate]\nhint: did you mean 'polite'?") !=
          std::string::npos);
  }
}

TEST_CASE("bisect --metric finds where a named metric fell", "[e2e][bisect][sets]") {
  SetsProject p("");
  p.commit("Hey {{who}}!!", "greet: louder");
  const std::string bad = p.commit("Yo {{who}}!", "greet: yo");
  p.commit("Yo {{who}}!!", "greet: yo louder");
  const RunResult r = run_promptops(p.repo.path(), {"bisect", "greet", "--good", p.base, "--metric", "polite",
                                                     "--threshold", "0.9", "--verify", "--format", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  const json doc = json::parse(r.out);
  CHECK(doc.at("drops").at(0).at("first_bad").at("commit") == bad);
  SECTION("a metric the suite does not have") {
    const RunResult none = run_promptops(p.repo.path(), {"bisect", "greet", "--good", p.base, "--metric", "tone",
                                                          "--threshold", "0.9", "--verify"});
    INFO(none.err);
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("prompt 'greet' has no metric 'tone': no assertion of its suite names it") !=
          std::string::npos);
  }
}

TEST_CASE("lint checks [eval] default_assert, threshold and assert-sets at file:line", "[e2e][lint][sets]") {
  SetsProject p("");
  p.repo.write("prompts/greet.toml",
               "template = \"Hey {{who}}!\"\n[vars]\nwho = { required = true }\n[eval]\ndataset = "
               "\"evals/greet.jsonl\"\nthreshold = 1.5\ndefault_assert = [ { type = \"contans\", value = \"o\" } ]\n"
               "assert = [ { type = \"assert-set\", assert = [ { type = \"assert-set\", assert = [] } ] } ]\n");
  const RunResult lint = run_promptops(p.repo.path(), {"lint"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out ==
        "prompts/greet.toml:4:1: error: an assert-set cannot hold another assert-set [invalid-assertion]\n"
        "  hint: list the inner set's assertions in the outer set, or make the inner set a sibling\n"
        "prompts/greet.toml:4:1: error: unknown assertion type 'contans' [unknown-assertion]\n"
        "  hint: did you mean 'contains'?\n"
        "prompts/greet.toml:4:1: error: [eval] threshold must be a number from 0 to 1 (a score), not 1.5 "
        "[invalid-threshold]\n"
        "  hint: 0.5 passes a case when half the weight of its assertions passes\n"
        "3 errors, 0 warnings\n");
}
