// SPDX-License-Identifier: MIT
// End-to-end: assertion types through the real pipeline (a judge model and embeddings on the
// loopback server, prices and timings), and `cache stats|clear`.
#include <chrono>
#include <map>
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

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// prompts/ask.toml: `template = "TEXT"` with [eval] on evals/ask.jsonl plus `eval_extra`.
std::string ask_toml(const std::string& eval_extra, const std::string& text = "Q: {{q}}") {
  return "template = \"" + text +
         "\"\n"
         "\n"
         "[vars]\n"
         "q = { required = true }\n"
         "\n"
         "[eval]\n"
         "dataset = \"evals/ask.jsonl\"\n" +
         eval_extra;
}

std::string ask_case(const std::string& id, const std::string& q, const json& expected = nullptr) {
  json row = {{"id", id}, {"vars", {{"q", q}}}};
  if (!expected.is_null()) {
    row["expected"] = expected;
  }
  return row.dump() + "\n";
}

// One commit with the config, prompts/ask.toml and its dataset; the server answers by `rules`.
struct AskProject {
  LlmServer server;
  TempRepo repo;

  AskProject(const std::string& eval_extra, const std::string& dataset, std::vector<LlmServer::Rule> rules,
             const std::string& provider_extra = "", const std::string& config_extra = "") {
    server.set_rules(std::move(rules));
    repo.write(".promptops.toml", config_toml(server, provider_extra, config_extra));
    repo.write("prompts/ask.toml", ask_toml(eval_extra));
    repo.write("evals/ask.jsonl", dataset);
    repo.commit("ask");
  }

  const std::filesystem::path& path() const { return repo.path(); }
};

std::size_t seen_on_path(const LlmServer& server, const std::string& path) {
  return count_seen(server, [&](const SeenRequest& request) { return request.path == path; });
}

}  // namespace

// --- assertion types ---------------------------------------------------------------------------

TEST_CASE("contains and regex assertions score each answer, and a case passes when all of them pass",
          "[e2e][eval]") {
  AskProject p(
      "assert = [ { type = \"contains\", value = \"{{expected}}\" },\n"
      "           { type = \"regex\", value = \"^[A-Z][a-z]+ is the capital\" } ]\n",
      ask_case("paris", "capital of France", "Paris") + ask_case("madrid", "capital of Spain", "Madrid") +
          ask_case("rome", "capital of Italy", "Rome"),
      {{{"capital of France"}, "Paris is the capital."},
       {{"capital of Spain"}, "Barcelona is the capital."},
       {{"capital of Italy"}, "rome? Rome is the capital."}});
  const json doc = eval_json(p.path(), {"HEAD"});
  CHECK(p.server.requests() == 3);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("metric") == "pass_rate");
  CHECK(row.at("outcomes") == "pff");
  CHECK(row.at("value").get<double>() == Approx(1.0 / 3));
  CHECK(row.at("metrics").at("mean_score").get<double>() == Approx(2.0 / 3));  // 1, 0.5, 0.5
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("paris").at("reasons") == json::array());
  CHECK(records.at("madrid").at("reasons") == json({"output does not contain \"Madrid\""}));
  REQUIRE(records.at("rome").at("reasons").size() == 1);
  CHECK(contains(records.at("rome").at("reasons")[0].get<std::string>(), "^[A-Z][a-z]+ is the capital"));
  CHECK(records.at("rome").at("score").get<double>() == Approx(0.5));
}

TEST_CASE("is-json and json-field assertions read the answer as JSON", "[e2e][eval]") {
  AskProject p(
      "metric = \"mean_score\"\n"
      "assert = [ { type = \"is-json\" }, { type = \"json-field\", path = \"/label\", value = "
      "\"{{expected}}\" } ]\n",
      ask_case("refund", "classify: refund please", "billing") +
          ask_case("hello", "classify: hello there", "greeting") +
          ask_case("broken", "classify: broken", "other"),
      {{{"refund please"}, R"({"label": "billing", "confidence": 0.9})"},
       {{"hello there"}, R"({"label": "other"})"},
       {{"broken"}, "label: other"}});
  const json doc = eval_json(p.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("metric") == "mean_score");
  CHECK(row.at("outcomes") == "pff");
  CHECK(row.at("value").get<double>() == Approx(0.5));  // 1, 0.5 and 0
  CHECK(row.at("interval").is_null());
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("hello").at("score").get<double>() == Approx(0.5));
  CHECK(records.at("broken").at("score").get<double>() == Approx(0.0));
  CHECK(records.at("broken").at("reasons").size() == 2);
  CHECK(contains(records.at("broken").at("reasons")[0].get<std::string>(), "output is not JSON"));
}

TEST_CASE("an llm-rubric assertion asks the judge model, whose verdict is cached like an answer",
          "[e2e][eval]") {
  const std::string rubric_yes = R"({"pass": true, "score": 0.9, "reason": "it is polite"})";
  const std::string rubric_no = R"({"pass": false, "score": 0.1, "reason": "it is rude"})";
  AskProject p(
      "metric = \"mean_score\"\n"
      "assert = [ { type = \"llm-rubric\", value = \"The reply is polite.\" } ]\n",
      ask_case("polite", "greet politely") + ask_case("rude", "greet rudely"),
      {{{"Rubric:", "Good morning"}, rubric_yes},
       {{"Rubric:"}, rubric_no},
       {{"greet politely"}, "Good morning, dear customer."},
       {{"greet rudely"}, "Go away."}});
  const json doc = eval_json(p.path(), {"HEAD"});
  CHECK(p.server.requests() == 4);  // two answers, two verdicts
  CHECK(seen_with(p.server, "Rubric:\nThe reply is polite.\n\nOutput:\nGood morning, dear customer.") == 1);
  CHECK(seen_with(p.server, "Rubric:\nThe reply is polite.\n\nOutput:\nGo away.") == 1);
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.body.at("model") == "test-model");
    if (contains(LlmServer::prompt_text(request.body), "Rubric:")) {
      CHECK(request.body.at("messages").at(0).at("role") == "system");
      CHECK(request.body.at("temperature") == 0);
    }
  }
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pf");
  CHECK(row.at("value").get<double>() == Approx(0.5));  // 0.9 and 0.1
  CHECK(row.at("metrics").at("pass_rate").get<double>() == Approx(0.5));
  CHECK(records_by_id(row).at("rude").at("reasons") == json({"it is rude"}));

  p.server.reset_counters();
  CHECK(run_promptops(p.path(), {"eval", "HEAD"}).exit_code == 0);
  CHECK(p.server.requests() == 0);
  // A new version of the prompt asks the model again, but verdicts on the same answers are cached.
  p.repo.write("prompts/ask.toml",
               ask_toml("metric = \"mean_score\"\n"
                        "assert = [ { type = \"llm-rubric\", value = \"The reply is polite.\" } ]\n",
                        "Q:  {{q}}"));
  p.repo.commit("ask: two spaces");
  const json second = eval_json(p.path(), {"HEAD"});
  CHECK(p.server.requests() == 2);
  CHECK(seen_with(p.server, "Rubric:") == 0);
  CHECK(second.at("rows").at(0).at("outcomes") == "pf");
}

TEST_CASE("a similar assertion compares embeddings from the provider's embeddings endpoint", "[e2e][eval]") {
  AskProject p("assert = [ { type = \"similar\", value = \"{{expected}}\", threshold = 0.8 } ]\n",
               ask_case("cat", "describe the cat", "the cat sat on the mat") +
                   ask_case("dog", "describe the dog", "the dog runs in the park"),
               {{{"describe the cat"}, "The cat sat on the mat."},
                {{"describe the dog"}, "Stocks fell sharply today."}},
               "embedding_model = \"test-embed\"\n");
  const json doc = eval_json(p.path(), {"HEAD"});
  CHECK(seen_on_path(p.server, "/v1/chat/completions") == 2);
  CHECK(seen_on_path(p.server, "/v1/embeddings") == 2);
  CHECK(p.server.requests() == 4);
  for (const SeenRequest& request : p.server.seen()) {
    if (request.path == "/v1/embeddings") {
      CHECK(request.body.at("model") == "test-embed");
    }
  }
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pf");
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("cat").at("score").get<double>() == Approx(1.0));
  const std::string reason = records.at("dog").at("reasons")[0].get<std::string>();
  CHECK(reason.rfind("cosine similarity ", 0) == 0);
  CHECK(contains(reason, " < threshold 0.800"));

  p.server.reset_counters();
  CHECK(eval_json(p.path(), {"HEAD", "--no-cache"}).at("rows").at(0).at("outcomes") == "pf");
  CHECK(p.server.requests() == 4);
}

TEST_CASE("cost and latency assertions use the [prices] table and each call's time", "[e2e][eval]") {
  // $0.01 a token: "Q: short" and "ok" cost 0.03, "Q: long" and five words 0.07.
  AskProject p("assert = [ { type = \"cost\", max = 0.05 }, { type = \"latency\", max_ms = 300 } ]\n",
               ask_case("short", "short") + ask_case("long", "long") + ask_case("slow", "slow"),
               {{{"Q: short"}, "ok"}, {{"Q: long"}, "one two three four five"}, {{"Q: slow"}, "ok"}}, "",
               "\n[prices.\"test-model\"]\ninput = 10000.0\noutput = 10000.0\n");
  Fault slow;
  slow.kind = Fault::Kind::slow;
  slow.delay = std::chrono::milliseconds(600);
  p.server.inject_when("Q: slow", slow);
  const json doc = eval_json(p.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "pff");
  CHECK(row.at("metrics").at("cost").get<double>() == Approx(0.13));
  CHECK(row.at("metrics").at("tokens_in") == 6);
  CHECK(row.at("metrics").at("tokens_out") == 7);
  const std::map<std::string, json> records = records_by_id(row);
  CHECK(records.at("short").at("cost").get<double>() == Approx(0.03));
  CHECK(records.at("long").at("reasons") == json({"cost 0.07 exceeds max 0.05"}));
  REQUIRE(records.at("slow").at("reasons").size() == 1);
  CHECK(contains(records.at("slow").at("reasons")[0].get<std::string>(), " ms exceeds max 300 ms"));
  CHECK(records.at("slow").at("latency_ms").get<double>() >= 600);

  // The table's COST column is the evaluation's cost, also when it comes from the cache.
  const RunResult r = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(r.exit_code == 0);
  const std::string commit = short_sha(chomp_line(p.repo.git({"rev-parse", "HEAD"})));
  CHECK(r.out == eval_table({{commit, "ask", "v1", "pass_rate", "0.333", wilson_text(1, 3), "", "0",
                              "$0.1300", "ask"}}));
}

TEST_CASE("an exec assertion runs its command only when the user trusts the repository", "[e2e][eval]") {
  AskProject p("assert = [ { type = \"exec\", value = \"grep -q ok\" } ]\n",
               ask_case("yes", "say ok") + ask_case("no", "say no"),
               {{{"say ok"}, "ok"}, {{"say no"}, "nope"}});
  const RunResult untrusted = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(untrusted.exit_code == 2);
  CHECK(
      untrusted.err ==
      "git-promptops: error: prompts/ask.toml: an exec assertion of prompt 'ask' runs `grep -q ok` but this "
      "repository is not trusted to run commands\n"
      "hint: read the command, then run: git config promptops.trustExec true\n");
  CHECK(p.server.requests() == 0);  // refused before any model call
  CHECK(!has_notes_ref(p.repo));

  p.repo.git({"config", "promptops.trustExec", "true"});
  const json doc = eval_json(p.path(), {"HEAD"});
  CHECK(doc.at("rows").at(0).at("outcomes") == "pf");
  CHECK(doc.at("rows").at(0).at("value").get<double>() == Approx(0.5));
  CHECK(p.server.requests() == 2);
  CHECK(records_by_id(doc.at("rows").at(0)).at("no").at("reasons") == json({"exec scorer exited 1"}));
}

// --- cache -------------------------------------------------------------------------------------

TEST_CASE("cache stats counts what eval stored, and cache clear empties it so the model is asked again",
          "[e2e][eval]") {
  GreetProject p;
  REQUIRE(run_promptops(p.path(), {"eval", "HEAD"}).exit_code == 0);
  CHECK(p.server.requests() == 4);

  const RunResult stats = run_promptops(p.path(), {"cache", "stats", "--format", "json"});
  CHECK(stats.exit_code == 0);
  const json doc = json::parse(stats.out);
  CHECK(doc.at("schema_version") == 1);
  CHECK(doc.at("directory") == (p.path() / ".git" / "promptops" / "cache").string());
  CHECK(doc.at("kinds").at("eval").at("entries") == 1);
  CHECK(doc.at("kinds").at("response").at("entries") == 4);
  CHECK(doc.at("kinds").size() == 2);
  CHECK(doc.at("entries") == 5);
  CHECK(doc.at("results_files") == 1);
  CHECK(doc.at("bytes").get<std::size_t>() > 0);

  const RunResult table = run_promptops(p.path(), {"cache", "stats"});
  CHECK(table.exit_code == 0);
  const std::regex expected(
      "KIND +ENTRIES +SIZE\n"
      "eval +1 +[0-9.]+ (B|KiB)\n"
      "response +4 +[0-9.]+ (B|KiB)\n"
      "results +1 +[0-9.]+ (B|KiB)\n"
      "total +6 +[0-9.]+ (B|KiB)\n");
  CHECK(std::regex_match(table.out, expected));

  const RunResult clear = run_promptops(p.path(), {"cache", "clear"});
  CHECK(clear.exit_code == 0);
  CHECK(clear.out == "removed 5 cache entries and 1 result files\n");
  const json empty = json::parse(run_promptops(p.path(), {"cache", "stats", "--format", "json"}).out);
  CHECK(empty.at("entries") == 0);
  CHECK(empty.at("kinds") == json::object());
  CHECK(empty.at("results_files") == 0);
  CHECK(!std::filesystem::exists(p.path() / ".git" / "promptops" / "results"));

  // The notes of HEAD still hold the evaluation (as a teammate's fetched notes would): it is taken
  // from there and cached again, with no model call.
  p.server.reset_counters();
  const RunResult noted = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(noted.exit_code == 0);
  CHECK(p.server.requests() == 0);
  CHECK(noted.err == "1 evaluation (0 from the cache, 1 from notes), 0 model calls, 0 cached answers\n");
  CHECK(json::parse(run_promptops(p.path(), {"cache", "stats", "--format", "json"}).out).at("entries") == 1);

  // Without the cache and the notes, the model is asked again.
  CHECK(run_promptops(p.path(), {"cache", "clear"}).exit_code == 0);
  p.repo.git({"update-ref", "-d", "refs/notes/promptops"});
  const RunResult again = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(again.exit_code == 0);
  CHECK(p.server.requests() == 4);
  CHECK(again.err == "1 evaluation (0 from the cache), 4 model calls, 0 cached answers\n");

  CHECK(run_promptops(p.path(), {"cache"}).exit_code == 129);
}
