// SPDX-License-Identifier: MIT
// End-to-end tests of `compare`: two versions, two branches and two models on the same cases,
// judged by the loopback model server, with the paired statistics and the cases that differ.
#include <regex>
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

const std::vector<std::string> k_names = {"Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"};

// Dee's answer to v2: long and on several lines, so that the listing shows an excerpt.
const std::string k_long_answer =
    "Sorry,\nI would rather not greet Dee today, because the weather is dreadful and the coffee machine is "
    "broken again.";

// v1 "Hey NAME" is right for Ann, Bob, Cid and Dee (0.500); v2 "Yo NAME" breaks Dee and fixes Eve,
// Fay and Gus (0.750). Paired: pass->fail 1, fail->pass 3, so exact McNemar p = 2 * 5/16 = 0.625.
// "other" ("Hey NAME!!") scores as v1. The model "other-model" answers "ok" to everything.
std::string answer(const json& body) {
  if (body.value("model", "") == "other-model") {
    return "ok";
  }
  const std::string prompt = LlmServer::prompt_text(body);
  if (greets_right(prompt)) {
    return "ok";
  }
  if (prompt.find("Yo Dee") != std::string::npos) {
    return k_long_answer;
  }
  return prompt;  // wrong: the prompt echoed
}

// Commit 1: the config, eight cases, greet v1 and other; commit 2: greet v2. main is at v2.
struct CompareProject {
  LlmServer server;
  TempRepo repo;
  std::string v1;
  std::string v2;

  CompareProject() {
    server.set_responder(answer);
    const std::vector<std::string> shas =
        import_commits(repo, {{"add greet",
                               {{".promptops.toml", config_toml(server)},
                                {"evals/greet.jsonl", greet_cases(k_names)},
                                {"prompts/greet.toml", greet_toml("Hey {{who}}!")},
                                {"prompts/other.toml", greet_toml("Hey {{who}}!!")}}},
                              {"greet: say yo", {{"prompts/greet.toml", greet_toml("Yo {{who}}!")}}}});
    v1 = shas[0];
    v2 = shas[1];
  }

  RunResult compare(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"compare"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_promptops(repo.path(), argv);
  }

  json compare_json(std::vector<std::string> args, int exit_code = 0) const {
    args.insert(args.begin(), {"--format", "json"});
    const RunResult r = compare(args);
    INFO("stderr: " << r.err);
    INFO("stdout: " << r.out);
    REQUIRE(r.exit_code == exit_code);
    const json doc = json::parse(r.out, nullptr, false);
    REQUIRE(!doc.is_discarded());
    return doc;
  }
};

// The text report without its p50 latency lines (timings vary), after checking their form.
std::string without_latency(const std::string& text) {
  static const std::regex latency("  p50 latency  \\d+ ms → \\d+ ms\n");
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(start, end - start);
    if (line.starts_with("  p50 latency")) {
      CHECK(std::regex_match(line, latency));
    } else {
      out += line;
    }
    start = end;
  }
  return out;
}

// k_long_answer as the report shows it: on one line, cut to 80 characters.
const std::string k_long_excerpt =
    "Sorry, I would rather not greet Dee today, because the weather is dreadful and…";

std::string greet_v1_v2_report(const CompareProject& p, const std::string& a, const std::string& b) {
  return "greet: " + a + " (" + short_sha(p.v1) + ") → " + b + " (" + short_sha(p.v2) +
         ")\n"
         "  model        local/test-model → local/test-model\n"
         "  accuracy     0.500 " +
         wilson_text(4, 8) + " → 0.750 " + wilson_text(6, 8) +
         " (+0.250)\n"
         "  McNemar      p = 0.6250 (pass→fail 1, fail→pass 3)\n"
         "  mean score   0.500 → 0.750 (+0.250 [-0.250, +0.750], p = 0.6250 by sign-flip test)\n"
         "  cost         - → -\n"
         "  4 of 8 cases differ:\n"
         "    dee  pass → fail\n"
         "      vars      {\"who\":\"Dee\"}\n"
         "      expected  ok\n"
         "      A         ok\n"
         "      B         " +
         k_long_excerpt +
         "\n"
         "    eve  fail → pass\n"
         "      vars      {\"who\":\"Eve\"}\n"
         "      expected  ok\n"
         "      A         Hey Eve!\n"
         "      B         ok\n"
         "    fay  fail → pass\n"
         "      vars      {\"who\":\"Fay\"}\n"
         "      expected  ok\n"
         "      A         Hey Fay!\n"
         "      B         ok\n"
         "    gus  fail → pass\n"
         "      vars      {\"who\":\"Gus\"}\n"
         "      expected  ok\n"
         "      A         Hey Gus!\n"
         "      B         ok\n";
}

}  // namespace

TEST_CASE("compare NAME@v1 NAME@v2 shows the paired statistics and every case that differs",
          "[e2e][compare]") {
  CompareProject p;
  RunResult r = p.compare({"greet@v1", "greet@v2"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(without_latency(r.out) == greet_v1_v2_report(p, "greet@v1", "greet@v2"));
  CHECK(r.err == "16 model calls, 0 cached answers\n");
  CHECK(p.server.requests() == 16);
  // Both commits got their evaluation in their notes, as eval records them.
  CHECK(note_lines(p.repo, p.v1).size() == 1);
  CHECK(note_lines(p.repo, p.v2).size() == 1);

  // Again: everything from the cache, the same report, no request.
  r = p.compare({"greet@v1", "greet@v2"});
  CHECK(r.exit_code == 0);
  CHECK(without_latency(r.out) == greet_v1_v2_report(p, "greet@v1", "greet@v2"));
  CHECK(p.server.requests() == 16);

  // Revisions name the same versions: the same evaluations.
  r = p.compare({"greet@" + p.v1, "greet@HEAD"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("4 of 8 cases differ:\n") != std::string::npos);
  CHECK(p.server.requests() == 16);

  // --offline reads the same from the cache.
  r = p.compare({"greet@v1", "greet@v2", "--offline"});
  CHECK(r.exit_code == 0);
  CHECK(without_latency(r.out) == greet_v1_v2_report(p, "greet@v1", "greet@v2"));
  CHECK(p.server.requests() == 16);
}

TEST_CASE("compare --format json has the results, tests and differing cases", "[e2e][compare]") {
  CompareProject p;
  const json doc = p.compare_json({"greet@v1", "greet@v2"});
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["a"]["reference"] == "greet@v1");
  CHECK(doc["a"]["commit"] == p.v1);
  CHECK(doc["a"]["prompt"] == "greet");
  CHECK(doc["b"]["commit"] == p.v2);
  CHECK(doc["b"]["model"].is_null());
  CHECK(doc["missing"] == json::array());
  CHECK(doc["summary"]["real_calls"] == 16);
  REQUIRE(doc["prompts"].size() == 1);
  const json& greet = doc["prompts"][0];
  CHECK(greet["prompt"] == "greet");
  CHECK(greet["metric"] == "accuracy");
  CHECK(greet["a"]["value"] == 0.5);
  CHECK(greet["b"]["value"] == 0.75);
  CHECK(greet["a"]["model"] == "local/test-model");
  CHECK(greet["b"]["outcomes"] == "pppfpppf");
  CHECK(greet["delta"] == 0.25);
  CHECK(greet["mcnemar"]["pass_to_fail"] == 1);
  CHECK(greet["mcnemar"]["fail_to_pass"] == 3);
  CHECK(greet["mcnemar"]["p_value"].get<double>() == Approx(0.625).epsilon(1e-12));
  CHECK(greet["bootstrap"]["delta"] == 0.25);
  CHECK(greet["bootstrap"]["resamples"] == 10000);
  CHECK(greet["bootstrap"]["seed"] == 1);
  CHECK(greet["bootstrap"]["grouped"] == false);
  // The p-value is the sign-flip test's: on pass/fail scores it is McNemar's.
  CHECK(greet["sign_flip"]["p_value"].get<double>() == Approx(0.625).epsilon(1e-12));
  CHECK(greet["sign_flip"]["clusters"] == 8);
  CHECK(greet["sign_flip"]["discordant"] == 4);
  CHECK(greet["sign_flip"]["exact"] == true);
  CHECK(greet["too_few_cases"] == false);  // B is better
  CHECK(greet["pairs"]["paired"] == 8);
  CHECK(greet["pairs"]["both_pass"] == 3);
  CHECK(greet["pairs"]["both_fail"] == 1);
  CHECK(greet["pairs"]["pass_to_fail"] == json({"dee"}));
  CHECK(greet["pairs"]["fail_to_pass"] == json({"eve", "fay", "gus"}));
  REQUIRE(greet["differences"].size() == 4);
  const json& dee = greet["differences"][0];
  CHECK(dee["id"] == "dee");
  CHECK(dee["a"] == "pass");
  CHECK(dee["b"] == "fail");
  CHECK(dee["vars"] == json({{"who", "Dee"}}));
  CHECK(dee["expected"] == "ok");
  CHECK(dee["a_record"]["output"] == "ok");
  CHECK(dee["b_record"]["output"] == k_long_answer);  // whole, not excerpted
  CHECK(dee["b_record"]["pass"] == false);
  CHECK(dee["b_record"]["reasons"].size() == 1);
  CHECK(greet["differences"][3]["id"] == "gus");
}

TEST_CASE("compare --format markdown gives a table per prompt for a pull request", "[e2e][compare]") {
  CompareProject p;
  const RunResult r = p.compare({"greet@v1", "greet@v2", "--format", "markdown"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("### `greet`: greet@v1 (" + short_sha(p.v1) + ") → greet@v2 (" + short_sha(p.v2) +
                          ")\n\n| | A | B | Δ |\n| --- | ---: | ---: | ---: |\n"
                          "| accuracy | 0.500 " +
                          wilson_text(4, 8) + " | 0.750 " + wilson_text(6, 8) + " | +0.250 |\n"));
  CHECK(r.out.find("McNemar p = 0.6250 (pass→fail 1, fail→pass 3) · sign-flip test of the mean score: "
                   "p = 0.6250\n") != std::string::npos);
  CHECK(r.out.find("**4 of 8 cases differ**\n") != std::string::npos);
  CHECK(r.out.find("| `dee` | pass | fail | `{\"who\":\"Dee\"}` | `ok` | ok | " + k_long_excerpt + " |\n") !=
        std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("compare --format html writes the page of both sides with the flipped cases", "[e2e][compare]") {
  CompareProject p;
  const RunResult r = p.compare({"greet@v1", "greet@v2", "--format", "html"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.starts_with("<!DOCTYPE html>"));
  CHECK(r.out.find("<h1>git-promptops compare</h1>") != std::string::npos);
  CHECK(r.out.find("Made by <code>git promptops compare greet@v1 greet@v2</code>") != std::string::npos);
  CHECK(r.out.find("data-version=\"v1\" data-value=\"0.500\"") != std::string::npos);
  CHECK(r.out.find("data-version=\"v2\" data-value=\"0.750\"") != std::string::npos);
  CHECK(r.out.find("<tr class=\"case\" data-id=\"dee\" data-outcomes=\"pf\">") != std::string::npos);
  CHECK(p.server.requests() == 16);
  // The page comes from the cache the second time.
  CHECK(p.compare({"greet@v1", "greet@v2", "--format", "html"}).out == r.out);
  CHECK(p.server.requests() == 16);
}

TEST_CASE("compare says when a drop rests on too few changed cases to be significant", "[e2e][compare]") {
  // greet@v2 -> greet@v1: pass -> fail 3, fail -> pass 1. With 4 changed cases the smallest
  // two-sided p is 2 * 2^-4 = 0.125, so no outcome of them could be significant at 95%.
  CompareProject p;
  const RunResult r = p.compare({"greet@v2", "greet@v1"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("  mean score   0.750 → 0.500 (-0.250 [-0.750, +0.250], p = 0.6250 by sign-flip test)\n"
                   "               too few cases to show a significant drop at 95%\n") != std::string::npos);
  const json doc = p.compare_json({"greet@v2", "greet@v1"});
  CHECK(doc["prompts"][0]["too_few_cases"] == true);
  const RunResult markdown = p.compare({"greet@v2", "greet@v1", "--format", "markdown"});
  CHECK(markdown.out.find("sign-flip test of the mean score: p = 0.6250 · too few cases to show a significant "
                          "drop at 95%\n") != std::string::npos);
}

TEST_CASE("compare NAME NAME --model runs B on the other model", "[e2e][compare]") {
  CompareProject p;
  const RunResult r = p.compare({"greet", "greet", "--model", "other-model"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(without_latency(r.out) ==
        "greet: greet (working tree) → greet (working tree)\n"
        "  model        local/test-model → local/other-model\n"
        "  accuracy     0.750 " +
            wilson_text(6, 8) + " → 1.000 " + wilson_text(8, 8) +
            " (+0.250)\n"
            "  McNemar      p = 0.5000 (pass→fail 0, fail→pass 2)\n"
            "  mean score   0.750 → 1.000 (+0.250 [0.000, +0.500], p = 0.5000 by sign-flip test)\n"
            "  cost         - → -\n"
            "  2 of 8 cases differ:\n"
            "    dee  fail → pass\n"
            "      vars      {\"who\":\"Dee\"}\n"
            "      expected  ok\n"
            "      A         " +
            k_long_excerpt +
            "\n"
            "      B         ok\n"
            "    hal  fail → pass\n"
            "      vars      {\"who\":\"Hal\"}\n"
            "      expected  ok\n"
            "      A         Yo Hal!\n"
            "      B         ok\n");
  CHECK(seen_model(p.server, "test-model") == 8);
  CHECK(seen_model(p.server, "other-model") == 8);
  CHECK(p.server.requests() == 16);
  // The working tree has no notes.
  CHECK_FALSE(has_notes_ref(p.repo));

  // PROVIDER/NAME works too, and the answers are cached by model.
  const json doc = p.compare_json({"greet", "greet", "--model", "local/other-model"});
  CHECK(doc["b"]["model"] == "local/other-model");
  CHECK(doc["prompts"][0]["b"]["model"] == "local/other-model");
  CHECK(p.server.requests() == 16);
}

TEST_CASE("compare two branches: every prompt present at both", "[e2e][compare]") {
  CompareProject p;
  p.repo.git({"branch", "old", p.v1});
  p.repo.git({"checkout", "-q", "-b", "feature"});
  p.repo.write("prompts/extra.toml", greet_toml("Hey {{who}}!!!"));
  p.repo.commit("add extra");
  p.repo.git({"checkout", "-q", "main"});

  const RunResult r = p.compare({"old", "feature"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err ==
        "git-promptops: warning: not compared (only in B): extra\n"
        "24 model calls, 0 cached answers\n");
  // greet changed; other did not (one evaluation serves both sides).
  CHECK(p.server.requests() == 24);
  const std::string out = without_latency(r.out);
  const std::string feature = chomp_line(p.repo.git({"rev-parse", "feature"}));
  CHECK(out.starts_with("greet: old (" + short_sha(p.v1) + ") → feature (" + short_sha(feature) + ")\n"));
  CHECK(out.find("  McNemar      p = 0.6250 (pass→fail 1, fail→pass 3)\n") != std::string::npos);
  CHECK(out.find("\nother: old (" + short_sha(p.v1) + ") → feature (" + short_sha(feature) +
                 ")\n"
                 "  model        local/test-model → local/test-model\n"
                 "  accuracy     0.500 " +
                 wilson_text(4, 8) + " → 0.500 " + wilson_text(4, 8) +
                 " (0.000)\n"
                 "  McNemar      p = 1.0000 (pass→fail 0, fail→pass 0)\n"
                 "  mean score   0.500 → 0.500 (0.000 [0.000, 0.000], p = 1.0000 by sign-flip test)\n"
                 "  cost         - → -\n"
                 "  no case differs (8 cases)\n") != std::string::npos);

  // Prompt names after -- choose among them.
  const json doc = p.compare_json({"old", "feature", "--", "other"});
  REQUIRE(doc["prompts"].size() == 1);
  CHECK(doc["prompts"][0]["prompt"] == "other");
  CHECK(doc["prompts"][0]["differences"] == json::array());
  CHECK(p.server.requests() == 24);
  // One that is not at both sides.
  const RunResult extra = p.compare({"old", "feature", "--", "extra"});
  CHECK(extra.exit_code == 2);
  CHECK(extra.err.starts_with("git-promptops: error: no prompt named 'extra' at old (" + short_sha(p.v1) +
                              ")\n"));
}

TEST_CASE("compare rejects unknown names, mismatched prompts and identical sides", "[e2e][compare]") {
  CompareProject p;
  SECTION("unknown prompt with a version") {
    const RunResult r = p.compare({"gret@v1", "greet@v2"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("did you mean 'greet'?") != std::string::npos);
  }
  SECTION("unknown prompt or revision") {
    const RunResult r = p.compare({"gret", "greet"});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "git-promptops: error: no prompt or revision named 'gret'\n"
          "hint: did you mean 'greet'?\n");
  }
  SECTION("two different prompts") {
    const RunResult r = p.compare({"greet@v1", "other"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.starts_with("git-promptops: error: A and B name different prompts ('greet' and 'other')\n"));
  }
  SECTION("a prompt against a revision") {
    const RunResult r = p.compare({"greet@v1", "main"});
    CHECK(r.exit_code == 129);
    CHECK(r.err ==
          "git-promptops: error: A names the prompt 'greet' and B ('main') does not\n"
          "hint: name it on both sides: git promptops compare greet@v1 greet@main\n");
  }
  SECTION("the same target twice") {
    RunResult r = p.compare({"greet", "greet"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.starts_with("git-promptops: error: A and B are the same (greet (working tree))\n"));
    r = p.compare({"HEAD", "main"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.starts_with("git-promptops: error: A and B are the same (HEAD (" + short_sha(p.v2) + "))\n"));
  }
  SECTION("one reference, or three") {
    CHECK(p.compare({"greet@v1"}).exit_code == 129);
    const RunResult r = p.compare({"HEAD~1", "HEAD", "greet"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.find("hint: put prompt names after --: git promptops compare HEAD~1 HEAD -- greet\n") !=
          std::string::npos);
  }
  CHECK(p.server.requests() == 0);
}

TEST_CASE("compare --offline with nothing cached says what is missing and exits 2", "[e2e][compare]") {
  CompareProject p;
  const RunResult r = p.compare({"greet@v1", "greet@v2", "--offline"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("git-promptops: error: not in the cache or notes (--offline): greet at A (greet@v1 (" +
                   short_sha(p.v1) + ")), greet at B (greet@v2 (" + short_sha(p.v2) + "))\n") !=
        std::string::npos);
  CHECK(p.server.requests() == 0);
}

TEST_CASE("compare prints what it could compare, then exits 2 for cases without an answer",
          "[e2e][compare]") {
  CompareProject p;
  p.repo.write(".promptops.toml", config_toml(p.server, "max_retries = 1\n"));
  Fault fault;
  fault.kind = Fault::Kind::status;
  fault.status = 500;
  p.server.inject_when("Yo Hal", fault);
  const RunResult r = p.compare({"greet@v1", "greet"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.find("    hal  fail → error\n") != std::string::npos);
  CHECK(r.out.find("B: 1 case sample without an answer, left out of the pairing\n") != std::string::npos);
  CHECK(r.err.find("git-promptops: error: 1 case got no answer from the provider") != std::string::npos);
}
