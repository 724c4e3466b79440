// SPDX-License-Identifier: MIT
// End-to-end tests of the experiment matrix, `eval --model A,B --variant REF`: prompt variants
// crossed with models on the same cases, against the loopback model server, with the paired tests
// against the baseline column, the notes of each combination and a rerun that calls no model.
#include <algorithm>
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

// On test-model, v1 "Hey NAME" is right for Ann, Bob, Cid and Dee (0.500) and v2 "Yo NAME" for
// Ann, Bob, Cid, Eve, Fay and Gus (0.750); fast-model, and any model at temperature 0, answers
// "ok" to everything (1.000).
std::string answer(const json& body) {
  if (body.value("model", "") == "fast-model" || body.value("temperature", -1.0) == 0.0) {
    return "ok";
  }
  const std::string prompt = LlmServer::prompt_text(body);
  if (greets_right(prompt)) {
    return "ok";
  }
  return prompt;  // wrong: the prompt echoed
}

// fast-model costs $1000 per million tokens in and $2000 out: its 8 answers to "Yo NAME!" are 16
// tokens in and 8 out, $0.0320. test-model has no price.
const std::string k_prices = "\n[prices.\"fast-model\"]\ninput = 1000.0\noutput = 2000.0\n";

// Commit 1: the config, eight cases, greet v1 and other; commit 2: greet v2 (HEAD).
struct MatrixProject {
  LlmServer server;
  TempRepo repo;
  std::string v1;
  std::string v2;

  MatrixProject() {
    server.set_responder(answer);
    const std::vector<std::string> shas =
        import_commits(repo, {{"add greet",
                               {{".promptops.toml", config_toml(server, "", k_prices)},
                                {"evals/greet.jsonl", greet_cases(k_names)},
                                {"prompts/greet.toml", greet_toml("Hey {{who}}!")},
                                {"prompts/other.toml", greet_toml("Hi {{who}}!")}}},
                              {"greet: say yo", {{"prompts/greet.toml", greet_toml("Yo {{who}}!")}}}});
    v1 = shas[0];
    v2 = shas[1];
  }

  RunResult eval(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"eval"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_promptops(repo.path(), argv);
  }
};

// Latencies vary from run to run: "12 ms" becomes "N ms".
std::string without_ms(const std::string& text) {
  static const std::regex ms("[0-9]+ ms");
  return std::regex_replace(text, ms, "N ms");
}

const std::vector<std::string> k_matrix = {"HEAD", "--model", "test-model,fast-model", "--variant", "greet@HEAD~1"};

}  // namespace

TEST_CASE("eval --model A,B --variant NAME@REV evaluates the 2x2 matrix with paired tests", "[e2e][matrix]") {
  MatrixProject p;
  std::vector<std::string> args = k_matrix;
  args.insert(args.end(), {"--format", "csv"});
  const RunResult r = p.eval(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string head = "HEAD (" + p.v2.substr(0, 7) + ")";
  const std::string old = "greet@HEAD~1 (" + p.v1.substr(0, 7) + ")";
  // Against column 1 (v2 on test-model, 6 of 8): fast-model fixes dee and hal (McNemar p =
  // 2 * 1/4 = 0.5); v1 on test-model breaks eve, fay and gus and fixes dee (p = 2 * 5/16 =
  // 0.625). Tokens are words in and out: "Yo Ann!" is 2, "ok" 1, an echoed prompt 2; so
  // 6 * 3 + 2 * 4 = 26 for column 1, 8 * 3 = 24 for fast-model, 4 * 3 + 4 * 4 = 28 for column 3.
  const std::string expected =
      "PROMPT,#,VARIANT,MODEL,METRIC,VALUE,95% CI,DELTA,P,TOKENS,COST,P50,P95,NOTE\n"
      "greet,1," + head + ",local/test-model,accuracy,0.750,\"" + wilson_text(6, 8) + "\",,,26,-,N ms,N ms,baseline\n"
      "greet,2," + head + ",local/fast-model,accuracy,1.000,\"" + wilson_text(8, 8) +
      "\",+0.250,0.5000,24,$0.0320,N ms,N ms,best\n"
      "greet,3," + old + ",local/test-model,accuracy,0.500,\"" + wilson_text(4, 8) + "\",-0.250,0.6250,28,-,N ms,N ms,\n"
      "greet,4," + old + ",local/fast-model,accuracy,1.000,\"" + wilson_text(8, 8) +
      "\",+0.250,0.5000,24,$0.0320,N ms,N ms,\n";
  CHECK(without_ms(r.out) == expected);
  CHECK(p.server.requests() == 32);
  CHECK(seen_model(p.server, "fast-model") == 16);

  // Each combination is noted on its commit under its own key: two on HEAD, two on HEAD~1.
  CHECK(note_lines(p.repo, "HEAD").size() == 2);
  CHECK(note_lines(p.repo, "HEAD~1").size() == 2);

  // The rerun calls no model and prints the same figures.
  const RunResult again = p.eval(args);
  CHECK(again.exit_code == 0);
  CHECK(without_ms(again.out) == expected);
  CHECK(p.server.requests() == 32);

  const RunResult table = p.eval(k_matrix);
  CHECK(table.exit_code == 0);
  CHECK(table.err == "4 evaluations (4 from the cache), 0 model calls, 0 cached answers\n");
  CHECK(table.out.starts_with("PROMPT  #  VARIANT"));
  CHECK(table.out.find("greet   2  " + head + "          local/fast-model  accuracy  1.000  " + wilson_text(8, 8) +
                       "  +0.250  0.5000") != std::string::npos);
}

TEST_CASE("eval matrix as JSON, Markdown and an HTML page; --baseline pairs with another column", "[e2e][matrix]") {
  MatrixProject p;
  std::vector<std::string> args = k_matrix;
  args.insert(args.end(), {"--baseline", "2", "-o", "matrix.html", "-o", "matrix.md"});
  const json doc = eval_json(p.repo.path(), args);
  REQUIRE(doc["columns"].size() == 4);
  CHECK(doc["columns"][3]["label"] == "greet@HEAD~1 (" + p.v1.substr(0, 7) + ") · fast-model");
  CHECK(doc["columns"][3]["commit"] == p.v1);
  CHECK(doc["columns"][3]["model"] == "fast-model");
  CHECK(doc["columns"][0]["label"] == "HEAD (" + p.v2.substr(0, 7) + ") · test-model");
  REQUIRE(doc["prompts"].size() == 1);
  const json& cells = doc["prompts"][0]["cells"];
  CHECK(cells[1]["baseline"] == true);
  CHECK(cells[1]["best"] == true);  // the first of the two at 1.000
  CHECK(cells[0]["delta"].get<double>() == Approx(-0.25));
  CHECK(cells[0]["p_value"].get<double>() == Approx(0.5));
  CHECK(cells[0]["test"] == "McNemar");
  // v1 on test-model against fast-model: dee passes on both; 4 fail → pass... of 8, 4 pass → fail.
  CHECK(cells[2]["p_value"].get<double>() == Approx(0.125));  // 2 * (1/2)^4
  CHECK(cells[3]["delta"].get<double>() == Approx(0.0));
  CHECK(cells[3]["p_value"].get<double>() == Approx(1.0));
  CHECK(cells[3]["outcomes"] == "pppppppp");
  CHECK(doc["summary"]["real_calls"] == 32);

  const std::string markdown = read_text(p.repo.path() / "matrix.md");
  CHECK(markdown.starts_with("| PROMPT | # | VARIANT | MODEL | METRIC | VALUE | 95% CI | DELTA | P | TOKENS | COST "
                             "| P50 | P95 | NOTE |\n| --- | ---: | --- | --- | --- | ---: | --- | ---: | ---: | ---: "
                             "| ---: | ---: | ---: | --- |\n"));
  const std::string page = read_text(p.repo.path() / "matrix.html");
  CHECK(page.find("local/fast-model") != std::string::npos);
  CHECK(page.find("--model fast-model -- greet") != std::string::npos);
}

TEST_CASE("eval matrix refuses a range, two varied prompts, a column past the end", "[e2e][matrix]") {
  MatrixProject p;
  const RunResult range = p.eval({"HEAD~1..HEAD", "--model", "test-model,fast-model"});
  CHECK(range.exit_code == 129);
  CHECK(range.err ==
        "git-promptops: error: a matrix (--model, --variant, --set, --matrix) is of one revision, and 'HEAD~1..HEAD' is "
        "a range\n"
        "hint: give one revision (git promptops eval HEAD --model A,B), or no revision for the working tree\n");
  const RunResult set_range = p.eval({"HEAD~1..HEAD", "--set", "temperature=0,1"});
  CHECK(set_range.exit_code == 129);
  CHECK(set_range.err == range.err);
  const RunResult two = p.eval({"--variant", "greet@HEAD~1", "--variant", "other@HEAD~1"});
  CHECK(two.exit_code == 129);
  CHECK(two.err.starts_with("git-promptops: error: --variant names two prompts ('greet' and 'other')\n"));
  const RunResult names = p.eval({"--variant", "greet@HEAD~1", "--", "other"});
  CHECK(names.exit_code == 129);
  CHECK(names.err.starts_with("git-promptops: error: --variant varies prompt 'greet' but -- names other\n"));
  const RunResult past = p.eval({"--model", "test-model,fast-model", "--baseline", "3"});
  CHECK(past.exit_code == 129);
  CHECK(past.err.starts_with("git-promptops: error: --baseline 3 is past the last column (2)\n"));
  const RunResult empty = p.eval({"--model", "fast-model,"});
  CHECK(empty.exit_code == 129);
  CHECK(empty.err.starts_with("git-promptops: error: --model 'fast-model,' has an empty model name\n"));
  const RunResult unknown = p.eval({"--variant", "gret@HEAD~1"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("gret") != std::string::npos);
  CHECK(p.server.requests() == 0);
}

TEST_CASE("eval --set crosses model parameter values into the matrix", "[e2e][matrix]") {
  MatrixProject p;
  const RunResult r = p.eval({"HEAD", "--set", "temperature=0,0.7", "--format", "csv", "--", "greet"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string head = "HEAD (" + p.v2.substr(0, 7) + ")";
  // At temperature 0 every answer is "ok" (8 of 8, 8 * 3 tokens); at 0.7 v2 passes 6 of 8 (as in
  // the 2x2 test, 26 tokens): dee and hal flip to fail, McNemar p = 2 * 1/4 = 0.5.
  CHECK(without_ms(r.out) ==
        "PROMPT,#,VARIANT,MODEL,METRIC,VALUE,95% CI,DELTA,P,TOKENS,COST,P50,P95,NOTE\n"
        "greet,1," + head + ",local/test-model temperature=0,accuracy,1.000,\"" + wilson_text(8, 8) +
        "\",,,24,-,N ms,N ms,\"baseline, best\"\n"
        "greet,2," + head + ",local/test-model temperature=0.7,accuracy,0.750,\"" + wilson_text(6, 8) +
        "\",-0.250,0.5000,26,-,N ms,N ms,\n");
  CHECK(count_seen(p.server, [](const SeenRequest& q) { return q.body.value("temperature", -1.0) == 0.7; }) == 8);
  CHECK(p.server.requests() == 16);
  CHECK(note_lines(p.repo, "HEAD").size() == 2);  // each parameter value under its own key

  const json doc = eval_json(p.repo.path(), {"HEAD", "--set", "temperature=0,0.7", "--model", "test-model", "--", "greet"});
  CHECK(doc["columns"][1]["label"] == head + " · test-model · temperature=0.7");
  CHECK(doc["columns"][1]["params"] == json{{"temperature", 0.7}});
  CHECK(p.server.requests() == 16);

  const RunResult bare = p.eval({"HEAD", "--set", "temperature"});
  CHECK(bare.exit_code == 129);
  CHECK(bare.err ==
        "git-promptops: error: --set 'temperature' is not NAME=VALUE[,VALUE...] of a parameter not set yet\n"
        "hint: write --set temperature=0,0.7 (one --set per parameter, commas between values)\n");
  const RunResult empty = p.eval({"HEAD", "--set", "temperature=0,,1"});
  CHECK(empty.exit_code == 129);
  CHECK(empty.err ==
        "git-promptops: error: --set 'temperature=0,,1' has an empty value\n"
        "hint: write --set temperature=0,0.7 (commas between values, none at the ends)\n");
  CHECK(p.server.requests() == 16);
}

namespace {

// The project's config declares a fast-model column for every prompt; greet declares its own:
// prompt "other" read in its place, an inline template (v1's text), and v1 at temperature 0.
const std::string k_greet_matrix =
    "\n[[eval.matrix]]\nvariant = \"other\"\n"
    "\n[[eval.matrix]]\nlabel = \"hey\"\ntemplate = \"Hey {{who}}!\"\n"
    "\n[[eval.matrix]]\nvariant = \"HEAD~1\"\nparams = { temperature = 0 }\n";

void declare_matrix(MatrixProject& p) {
  p.repo.write(".promptops.toml", config_toml(p.server, "", k_prices) + "\n[[eval.matrix]]\nmodel = \"fast-model\"\n");
  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!", k_greet_matrix));
  p.repo.commit("declare the matrix");
}

}  // namespace

TEST_CASE("eval --matrix runs the [[eval.matrix]] columns of the config and of each prompt", "[e2e][matrix]") {
  MatrixProject p;
  // v1 on test-model first: the inline template repeats its text, so that column costs nothing.
  REQUIRE(p.eval({"HEAD", "--variant", "greet@HEAD~1", "--", "greet"}).exit_code == 0);
  const std::size_t before = p.server.requests();
  CHECK(before == 16);
  declare_matrix(p);
  const RunResult r = p.eval({"HEAD", "--matrix", "--format", "csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sha = p.repo.git({"rev-parse", "HEAD"}).substr(0, 7);
  const std::string head = "HEAD (" + sha + ")";
  const std::string old = "HEAD~1 (" + p.v2.substr(0, 7) + ")";
  // greet against column 1 (6 of 8): fast-model and v1 at temperature 0 fix dee and hal (p = 0.5);
  // "Hi NAME!" (other's text) breaks all six (p = 2 / 64, printed 0.0313); "Hey NAME!" breaks eve, fay and gus and
  // fixes dee (p = 0.625). other's own text passes none; on fast-model all 8 (p = 2 / 256).
  CHECK(without_ms(r.out) ==
        "PROMPT,#,VARIANT,MODEL,METRIC,VALUE,95% CI,DELTA,P,TOKENS,COST,P50,P95,NOTE\n"
        "greet,1," + head + ",local/test-model,accuracy,0.750,\"" + wilson_text(6, 8) + "\",,,26,-,N ms,N ms,baseline\n"
        "greet,2," + head + ",local/fast-model,accuracy,1.000,\"" + wilson_text(8, 8) +
        "\",+0.250,0.5000,24,$0.0320,N ms,N ms,best\n"
        "greet,3,other at " + head + ",local/test-model,accuracy,0.000,\"" + wilson_text(0, 8) +
        "\",-0.750,0.0313,32,-,N ms,N ms,\n"
        "greet,4,hey,local/test-model,accuracy,0.500,\"" + wilson_text(4, 8) + "\",-0.250,0.6250,28,-,N ms,N ms,\n"
        "greet,5," + old + ",local/test-model temperature=0,accuracy,1.000,\"" + wilson_text(8, 8) +
        "\",+0.250,0.5000,24,-,N ms,N ms,\n"
        "other,1," + head + ",local/test-model,accuracy,0.000,\"" + wilson_text(0, 8) +
        "\",,,32,-,N ms,N ms,baseline\n"
        "other,2," + head + ",local/fast-model,accuracy,1.000,\"" + wilson_text(8, 8) +
        "\",+1.000,0.0078,24,$0.0320,N ms,N ms,best\n");
  // greet's column 1 is in the cache, column 4 repeats v1's content and other's column 1 greet's
  // column 3 (the same text on the same cases): 4 new evaluations of 8 cases.
  CHECK(p.server.requests() - before == 32);
  // Notes on HEAD: greet and other on their own text (columns 1 and 2); columns 3 and 4 measured
  // text that is not HEAD's greet, so they are not noted; column 5 is noted on HEAD~1.
  CHECK(note_lines(p.repo, "HEAD").size() == 4);

  const json doc = eval_json(p.repo.path(), {"HEAD", "--matrix"});
  REQUIRE(doc["columns"].size() == 5);
  CHECK(doc["columns"][1]["prompt"].is_null());
  CHECK(doc["columns"][2]["prompt"] == "greet");
  CHECK(doc["columns"][3]["label"] == "hey");
  CHECK(doc["prompts"][1]["cells"].size() == 2);  // other: the base and the config's column
  CHECK(doc["summary"]["real_calls"] == 0);
  CHECK(p.server.requests() - before == 32);

  // -- other leaves greet's own columns out.
  const RunResult other = p.eval({"HEAD", "--matrix", "--format", "csv", "--", "other"});
  CHECK(other.exit_code == 0);
  CHECK(std::count(other.out.begin(), other.out.end(), '\n') == 3);
}

TEST_CASE("eval --matrix: a bad or missing [[eval.matrix]] is one clear error before any call", "[e2e][matrix]") {
  MatrixProject p;
  const RunResult none = p.eval({"HEAD", "--matrix"});
  CHECK(none.exit_code == 129);
  CHECK(none.err ==
        "git-promptops: error: --matrix found no [[eval.matrix]] entry in .promptops.toml or any prompt\n"
        "hint: declare columns as [[eval.matrix]] tables (model, params, variant, messages), or vary with --model, "
        "--variant and --set\n");

  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!", "\n[[eval.matrix]]\nlabel = \"same\"\n"));
  const RunResult empty = p.eval({"--matrix"});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err ==
        "git-promptops: error: prompts/greet.toml:10:1: a [[eval.matrix]] entry varies nothing: it would repeat the "
        "base column\nhint: give it a model, params, a variant or messages\n");

  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!", "\n[[eval.matrix]]\nmodle = \"fast-model\"\n"));
  const RunResult typo = p.eval({"--matrix"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.starts_with(
      "git-promptops: error: prompts/greet.toml:11:1: unknown key 'modle' in [[eval.matrix]]\nhint: did you mean "
      "'model'?\n"));

  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!", "\n[[eval.matrix]]\nvariant = \"nowhere\"\n"));
  const RunResult nowhere = p.eval({"--matrix"});
  CHECK(nowhere.exit_code == 2);
  CHECK(nowhere.err ==
        "git-promptops: error: prompts/greet.toml:10:1: no prompt at working tree or revision named 'nowhere'\n"
        "hint: a variant is a prompt's NAME at the evaluated revision, NAME@REV or a revision\n");

  p.repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!"));
  p.repo.write(".promptops.toml", config_toml(p.server, "", k_prices) +
                                      "\n[[eval.matrix]]\nvariant = \"other\"\n"
                                      "\n[[eval.matrix]]\ntemplate = \"Hi\"\n");
  const RunResult config = p.eval({"--matrix"});
  CHECK(config.exit_code == 2);
  CHECK(config.err.find(".promptops.toml:") != std::string::npos);
  CHECK(config.err.find("'eval.matrix.template' must be in a prompt's own [[eval.matrix]]") != std::string::npos);

  p.repo.write(".promptops.toml", config_toml(p.server, "", k_prices) + "\n[[eval.matrix]]\nvariant = \"other\"\n");
  const RunResult every = p.eval({"--matrix"});
  CHECK(every.exit_code == 2);
  CHECK(every.err.find("variant 'other' is a prompt, and an entry of .promptops.toml varies every prompt") !=
        std::string::npos);
  CHECK(p.server.requests() == 0);
}
