// SPDX-License-Identifier: MIT
// End-to-end: eval's run controls: --filter, --sample/--seed and --limit choose the cases, a
// selection is cached under its own key and never recorded in notes; -j bounds requests in flight.
#include <set>
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

// Ten cases: refund-0..refund-4 and ship-0..ship-4 (ship-2 described as "late parcel").
std::string ten_cases() {
  std::string rows;
  for (const char* group : {"refund", "ship"}) {
    for (int i = 0; i < 5; ++i) {
      const std::string id = std::string(group) + "-" + std::to_string(i);
      json extra = json::object();
      if (id == "ship-2") {
        extra["description"] = "late parcel";
      }
      rows += ask_row(id, "question " + id, extra);
    }
  }
  return rows;
}

// The case ids of an eval row, from its per-case results, in dataset order.
std::vector<std::string> ids_of(const json& row) {
  std::vector<std::string> ids;
  for (const auto& [id, record] : records_by_id(row)) {
    ids.push_back(id);
  }
  return ids;
}

bool has_notes(const TempRepo& repo) {
  return run(repo.path(), {"git", "rev-parse", "--verify", "-q", "refs/notes/promptops"}).exit_code == 0;
}

}  // namespace

TEST_CASE("eval --filter runs only the cases whose id or description it finds, and writes no note",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const json doc = eval_json(p.repo.path(), {"HEAD", "--filter", "^refund-[0-2]|late"});
  const json& row = doc.at("rows").at(0);
  CHECK(ids_of(row) == std::vector<std::string>{"refund-0", "refund-1", "refund-2", "ship-2"});
  CHECK(row.at("outcomes") == "pppp");
  CHECK(p.server.requests() == 4);
  CHECK_FALSE(has_notes(p.repo));

  // The same selection again is cached; the whole suite is another evaluation, and is noted.
  p.server.reset_counters();
  CHECK(
      eval_json(p.repo.path(), {"HEAD", "--filter", "^refund-[0-2]|late"}).at("rows").at(0).at("outcomes") ==
      "pppp");
  CHECK(p.server.requests() == 0);
  CHECK(eval_json(p.repo.path(), {"HEAD"}).at("rows").at(0).at("outcomes") == "pppppppppp");
  CHECK(p.server.requests() == 6);
  CHECK(has_notes(p.repo));
}

TEST_CASE("eval --sample draws the same cases for the same seed, and --limit keeps the first",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const auto sampled = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args{"HEAD"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ids_of(eval_json(p.repo.path(), args).at("rows").at(0));
  };
  const std::vector<std::string> first = sampled({"--sample", "4", "--seed", "7"});
  CHECK(first.size() == 4);
  CHECK(sampled({"--sample", "4", "--seed", "7"}) == first);
  std::set<std::vector<std::string>> draws;
  for (const char* seed : {"1", "2", "3", "4", "5"}) {
    draws.insert(sampled({"--sample", "4", "--seed", seed}));
  }
  CHECK(draws.size() > 1);  // five seeds do not all draw the same four of ten
  CHECK(sampled({"--filter", "^ship", "--limit", "2"}) == std::vector<std::string>{"ship-0", "ship-1"});
  CHECK(sampled({"--filter", "^ship", "--sample", "9"}).size() == 5);
  CHECK_FALSE(has_notes(p.repo));
}

TEST_CASE("a selection of no case, or a filter that is not a pattern, is a usage error (129) before any call",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const RunResult none = run_promptops(p.repo.path(), {"eval", "HEAD", "--filter", "^nothing"});
  CHECK(none.exit_code == 129);
  CHECK(none.err ==
        "git-promptops: error: no case of evals/ask.jsonl is selected by filter ^nothing\n"
        "hint: check the filter against the case ids and descriptions\n");
  const RunResult bad = run_promptops(p.repo.path(), {"eval", "HEAD", "--filter", "(refund"});
  CHECK(bad.exit_code == 129);
  CHECK(bad.err.rfind("git-promptops: error: the case filter '(refund' is not a regular expression: missing "
                      "closing parenthesis",
                      0) == 0);
  const RunResult seed_alone = run_promptops(p.repo.path(), {"eval", "HEAD", "--seed", "3"});
  CHECK(seed_alone.exit_code == 129);
  CHECK(p.server.requests() == 0);
}

TEST_CASE("eval -j bounds the requests in flight to each provider", "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  p.server.set_latency(std::chrono::milliseconds(30));
  CHECK(eval_json(p.repo.path(), {"HEAD", "-j", "2"}).at("rows").at(0).at("outcomes") == "pppppppppp");
  CHECK(p.server.requests() == 10);
  CHECK(p.server.max_in_flight() == 2);
  const RunResult zero = run_promptops(p.repo.path(), {"eval", "HEAD", "-j", "0"});
  CHECK(zero.exit_code == 129);
}

TEST_CASE("eval --max-calls sends no request past the budget, keeps every answer, and exits 2",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD", "--max-calls", "4", "-j", "3"});
  CHECK(r.exit_code == 2);
  CHECK(p.server.requests() == 4);
  CHECK(r.err.find(
            "git-promptops: error: stopped at --max-calls 4: 4 answers received in this run are kept in the "
            "cache, and the unfinished rows have no result\n"
            "hint: run the same command with a larger --max-calls (or none) to go on from the cache\n") !=
        std::string::npos);

  // The cached answers are free: a budget of 6 finishes the ten cases.
  p.server.reset_counters();
  CHECK(eval_json(p.repo.path(), {"HEAD", "--max-calls", "6"}).at("rows").at(0).at("outcomes") ==
        "pppppppppp");
  CHECK(p.server.requests() == 6);
}

TEST_CASE("eval --max-cost estimates the run, sends no request past the budget, and exits 2",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  // Each answer echoes "Q: question ID": 3 tokens in and 3 out at $1000 per million, $0.006. The
  // estimate of a request is 5 tokens in (20 or 18 bytes / 4, rounded up) and the longest answer
  // so far out: $0.005 for the first, $0.008 after. With -j 1: $0.006, $0.012, $0.018, and the
  // fourth ($0.026) would pass $0.021.
  p.repo.write(".promptops.toml", config_toml(p.server, "", "[prices.\"test-model\"]\ninput = 1000\noutput = 1000\n"));
  p.repo.commit("prices");
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD", "--max-cost", "0.021", "-j", "1"});
  CHECK(r.exit_code == 2);
  CHECK(p.server.requests() == 3);
  CHECK(r.err ==
        "eval: 10 requests to send, estimated $0.0500 (50 tokens in; the output of 10 is not bounded by "
        "max_tokens) of --max-cost $0.0210\n"
        "0 evaluations (0 from the cache), 3 model calls, 0 cached answers\n"
        "git-promptops: error: stopped at --max-cost $0.0210: $0.0180 spent; 3 answers received in this run are "
        "kept in the cache, and the unfinished rows have no result\n"
        "hint: run the same command with a larger --max-cost (or none) to go on from the cache\n");

  // The cached answers are free and out of the estimate.
  p.server.reset_counters();
  const RunResult rest = run_promptops(p.repo.path(), {"eval", "HEAD", "--max-cost", "1", "--format", "json"});
  CHECK(rest.exit_code == 0);
  CHECK(json::parse(rest.out).at("rows").at(0).at("outcomes") == "pppppppppp");
  CHECK(p.server.requests() == 7);
  CHECK(rest.err ==
        "eval: 7 requests to send, estimated $0.0350 (35 tokens in; the output of 7 is not bounded by "
        "max_tokens) of --max-cost $1.0000\n");
}

TEST_CASE("eval --max-cost needs a price for the model and a positive budget", "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const RunResult r = run_promptops(p.repo.path(), {"eval", "HEAD", "--max-cost", "5"});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "git-promptops: error: model 'test-model' has no price, and a cost budget needs the price of every "
        "model it asks\n"
        "hint: add [prices.\"test-model\"] with input and output (per million tokens) to .promptops.toml\n");
  CHECK(p.server.requests() == 0);
  CHECK(run_promptops(p.repo.path(), {"eval", "HEAD", "--max-cost", "0"}).exit_code == 129);
  CHECK(run_promptops(p.repo.path(), {"eval", "HEAD", "--max-cost", "-1"}).exit_code == 129);
  CHECK(p.server.requests() == 0);
}

TEST_CASE("eval --failing runs only the cases that did not pass in the last recorded result",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question refund\" },\n", ten_cases(), {});
  const RunResult none = run_promptops(p.repo.path(), {"eval", "--failing"});
  CHECK(none.exit_code == 2);
  CHECK(none.err ==
        "git-promptops: error: --failing: no prompt has a recorded result to take its failing cases from\n"
        "hint: run git promptops eval first: it records each result in notes\n");

  // HEAD's result, recorded in its note: the five ship cases fail.
  CHECK(eval_json(p.repo.path(), {"HEAD"}).at("rows").at(0).at("outcomes") == "pppppfffff");
  p.server.reset_counters();
  const json doc = eval_json(p.repo.path(), {"--failing", "--no-cache"});
  const json& row = doc.at("rows").at(0);
  CHECK(ids_of(row) == std::vector<std::string>{"ship-0", "ship-1", "ship-2", "ship-3", "ship-4"});
  CHECK(row.at("outcomes") == "fffff");
  CHECK(p.server.requests() == 5);

  // Fixed in the working tree: the failing cases pass; a selection writes no note, so the last
  // recorded result is still HEAD's.
  p.repo.write("prompts/ask.toml",
               "template = \"Q: {{q}}\"\n[vars]\nq = { required = true }\n[eval]\ndataset = \"evals/ask.jsonl\"\n"
               "assert = [{ type = \"contains\", value = \"question\" }]\n");
  CHECK(eval_json(p.repo.path(), {"--failing", "--", "ask"}).at("rows").at(0).at("outcomes") == "ppppp");
  p.repo.commit("ask: any question");
  CHECK(eval_json(p.repo.path(), {"HEAD"}).at("rows").at(0).at("outcomes") == "pppppppppp");
  const RunResult clean = run_promptops(p.repo.path(), {"eval", "--failing"});
  CHECK(clean.exit_code == 0);
  CHECK(clean.out == "no case failed in the last recorded results: nothing to run\n");

  const RunResult unknown = run_promptops(p.repo.path(), {"eval", "--failing", "--", "nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err ==
        "git-promptops: error: --failing: prompt 'nope' has no recorded result to take its failing cases from\n"
        "hint: run git promptops eval -- nope first: it records each result in notes\n");
}

TEST_CASE("eval -o writes the report to each file in the format of its extension", "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"question\" },\n", ten_cases(), {});
  const std::filesystem::path dir = p.repo.path() / "out";
  const RunResult r =
      run_promptops(p.repo.path(), {"eval", "HEAD", "--format", "markdown", "-o", "out/r.json", "--output",
                                    "out/r.md", "-o", "out/r.xml", "-o", "out/r.csv"});
  REQUIRE(r.exit_code == 0);
  CHECK(read_text(dir / "r.md") == r.out);
  const json doc = json::parse(read_text(dir / "r.json"));
  CHECK(doc.at("rows").at(0).at("outcomes") == "pppppppppp");
  CHECK(read_text(dir / "r.xml") == run_promptops(p.repo.path(), {"eval", "HEAD", "--format", "junit"}).out);
  const std::string csv = read_text(dir / "r.csv");
  CHECK(csv.rfind("COMMIT,PROMPT,VERSION,METRIC,VALUE,95% CI,DELTA,CALLS,COST,SUBJECT\n", 0) == 0);
  CHECK(csv.find(",ask,v1,pass_rate,1.000,\"[0.72, 1.00]\",,10,-,ask\n") != std::string::npos);

  const RunResult bad = run_promptops(p.repo.path(), {"eval", "HEAD", "-o", "out/r.pdf"});
  CHECK(bad.exit_code == 129);
  CHECK(bad.err ==
        "git-promptops: error: -o out/r.pdf: the extension names no report format\n"
        "hint: use .json, .md (markdown), .csv, .xml (JUnit), .txt (the table) or .html (the page)\n");
  CHECK_FALSE(std::filesystem::exists(dir / "r.pdf"));
}

TEST_CASE("eval --var sets a variable in every case over the dataset's, and writes no note",
          "[e2e][eval][selection]") {
  AskRepo p("  { type = \"contains\", value = \"{{q}}\" },\n", ten_cases(), {});
  const json doc = eval_json(p.repo.path(), {"HEAD", "--var", "q=same for all", "--limit", "3"});
  CHECK(doc.at("rows").at(0).at("outcomes") == "ppp");
  CHECK(p.server.requests() == 1);  // three cases, one rendered request
  CHECK(p.server.seen().at(0).body.at("messages").at(0).at("content") == "Q: same for all");
  CHECK_FALSE(has_notes(p.repo));

  const RunResult bad = run_promptops(p.repo.path(), {"eval", "HEAD", "--var", "q"});
  CHECK(bad.exit_code == 129);
  CHECK(bad.err == "git-promptops: error: --var 'q' is not NAME=VALUE\nhint: write --var city=Paris\n");
}
