// SPDX-License-Identifier: MIT
// Unit tests for src/eval/runner.cpp: planning by content, one yardstick, repeats, errors, stops.
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/git/notes.hpp>

#include "support/eval_fixture.hpp"
#include "support/fake_provider.hpp"
#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::oid;
using nlohmann::json;

namespace {

const std::string k_config = test::fn_config("\n[prices.m]\ninput = 1000000\noutput = 2000000\n");

// A classifier whose system message is `system`.
std::string classify_toml(const std::string& system, const std::string& extra = "") {
  return "[vars]\nq = { required = true }\n[[messages]]\nrole = \"system\"\ncontent = \"" + system +
         "\"\n[[messages]]\nrole = \"user\"\ncontent = \"{{q}}\"\n[eval]\ndataset = \"evals/c.jsonl\"\nmetric = "
         "\"accuracy\"\n" +
         extra;
}

const char* k_dataset =
    "{\"vars\": {\"q\": \"card lost\"}, \"expected\": \"IN\"}\n"
    "{\"vars\": {\"q\": \"weather\"}, \"expected\": \"OUT\"}\n"
    "{\"vars\": {\"q\": \"card fee\"}, \"expected\": \"IN\"}\n"
    "{\"vars\": {\"q\": \"pizza\"}, \"expected\": \"OUT\"}\n";

// Answers IN for "card" questions only when the system message says "cards"; else OUT.
ChatResult classify(const ChatRequest& request) {
  const std::string& system = request.messages.at(0).content;
  const std::string& question = request.messages.at(1).content;
  ChatResponse response;
  response.text = system.find("cards") != std::string::npos && question.find("card") != std::string::npos ? "IN" : "OUT";
  response.tokens_in = 3;
  response.tokens_out = 1;
  response.latency_ms = 10;
  return ChatResult{response, CallError::none, "", 200, {}};
}

struct Fixture {
  test::TempRepo repo;
  std::string v1;
  std::string v2;
  std::string unrelated;
  std::string v3;

  Fixture() {
    repo.write(".promptops.toml", k_config);
    repo.write("evals/c.jsonl", k_dataset);
    repo.write("prompts/c.toml", classify_toml("Answer IN or OUT."));
    v1 = repo.commit("v1");
    repo.write("prompts/c.toml", classify_toml("Answer IN or OUT. Questions about cards are IN."));
    v2 = repo.commit("v2");
    repo.write("README", "hi\n");
    unrelated = repo.commit("readme");
    repo.write("prompts/c.toml", classify_toml("Answer IN or OUT. About cards: IN."));
    v3 = repo.commit("v3");
  }

  std::vector<EvalTarget> targets(const std::vector<std::string>& shas) const { return test::targets_at(shas); }
};

struct Run {
  std::size_t calls = 0;
  EvalReport report;
};

Run run(const Fixture& f, const std::vector<std::string>& shas, ResultCache& cache, EvalOptions options = {},
        FunctionProvider::Answer answer = classify, std::atomic<bool>* stop = nullptr) {
  const git::Repository repo = git::Repository::discover(f.repo.path());
  std::size_t calls = 0;
  EvalServices services = test::services_with(f.repo.path(), cache);
  services.stop = stop;
  services.make_provider = [&](const ProviderSpec& spec) {
    return std::make_unique<FunctionProvider>(spec, [&, answer](const ChatRequest& request) {
      ++calls;
      return answer(request);
    });
  };
  Run out;
  out.report = run_eval(repo, f.targets(shas), options, services);
  out.calls = calls;
  return out;
}

const EvalResult& result_of(const EvalReport& report, std::size_t row) {
  return report.results.at(report.rows.at(row).key);
}

}  // namespace

TEST_CASE("a range is evaluated once per distinct content and a rerun makes no call", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  const Run first = run(f, {f.v1, f.v2, f.unrelated, f.v3}, cache);
  CHECK(first.calls == 12);  // v1, v2, v3 x 4 cases; the unrelated commit reuses v2
  REQUIRE(first.report.rows.size() == 4);
  CHECK_FALSE(first.report.rows[1].duplicate);
  CHECK(first.report.rows[2].duplicate);
  CHECK(first.report.rows[2].key == first.report.rows[1].key);
  CHECK(first.report.real_calls == 12);
  CHECK(first.report.errors == 0);
  CHECK_FALSE(first.report.interrupted);

  const EvalResult& v1 = result_of(first.report, 0);
  CHECK(v1.metric == "accuracy");
  CHECK(v1.value == 0.5);  // OUT everywhere: the two OUT cases are right
  CHECK(v1.outcomes == "fpfp");
  CHECK(v1.case_ids == std::vector<std::string>{"1", "2", "3", "4"});
  REQUIRE(v1.interval);
  CHECK(v1.interval->low == Approx(0.1500).epsilon(1e-3));
  CHECK(v1.interval->high == Approx(0.8500).epsilon(1e-3));
  CHECK(v1.metrics.tokens_in == 12);
  CHECK(v1.metrics.cost == Approx(4 * (3 * 1.0 + 1 * 2.0)));
  REQUIRE(v1.metrics.labels);
  CHECK(v1.metrics.labels->confusion.labels == std::vector<std::string>{"IN", "OUT"});
  CHECK(v1.metrics.labels->confusion.counts == std::vector<std::vector<std::size_t>>{{0, 2}, {0, 2}});
  CHECK(result_of(first.report, 1).value == 1.0);
  CHECK(result_of(first.report, 3).value == 1.0);

  const Run second = run(f, {f.v1, f.v2, f.unrelated, f.v3}, cache);
  CHECK(second.calls == 0);
  CHECK(second.report.real_calls == 0);
  CHECK(result_of(second.report, 0).reused);
  CHECK(result_of(second.report, 0).value == 0.5);
  CHECK(result_of(second.report, 0).outcomes == "fpfp");

  SECTION("answers are cached apart from whole results") {
    // A new assertion changes the evaluation but not the requests: no call is needed.
    f.repo.write("prompts/c.toml", classify_toml("Answer IN or OUT. About cards: IN.",
                                                 "assert = [{ type = \"contains\", value = \"IN\" }]\n"));
    const std::string v4 = f.repo.commit("v4: assert contains");
    const Run third = run(f, {v4}, cache);
    CHECK(third.calls == 0);
    CHECK(third.report.cache_hits == 4);
    CHECK(result_of(third.report, 0).outcomes == "pfpf");  // only the "IN" answers contain "IN"
  }
  SECTION("a disabled cache asks again") {
    ResultCache disabled(f.repo.path() / ".git" / "promptops" / "cache", false);
    CHECK(run(f, {f.v3}, disabled).calls == 4);
  }
}

TEST_CASE("every version is judged by the newest suite unless suite-at each", "[eval][runner]") {
  Fixture f;
  f.repo.write("evals/c.jsonl", std::string(k_dataset) + "{\"vars\": {\"q\": \"card limit\"}, \"expected\": \"IN\"}\n");
  const std::string v4 = f.repo.commit("dataset: one more case");
  ResultCache cache(test::cache_dir(f.repo.path()));

  const Run newest = run(f, {f.v1, v4}, cache);
  CHECK(result_of(newest.report, 0).case_ids.size() == 5);
  CHECK(result_of(newest.report, 0).outcomes == "fpfpf");
  CHECK(newest.report.rows[0].suite_from == 1);

  EvalOptions each;
  each.suite_at = SuiteAt::each;
  const Run own = run(f, {f.v1, v4}, cache, each);
  CHECK(result_of(own.report, 0).case_ids.size() == 4);
  CHECK(own.report.rows[0].suite_from == 0);
  CHECK(own.calls == 0);  // v1's 4 answers were cached by the first run
}

TEST_CASE("repeats disagreeing on a case make it flaky", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  EvalOptions options;
  options.repeat = 3;
  int weather_calls = 0;
  const auto answer = [&weather_calls](const ChatRequest& request) {
    ChatResult result = classify(request);
    if (request.messages.at(1).content == "weather" && ++weather_calls == 2) {
      result.response->text = "IN";
    }
    return result;
  };
  const Run r = run(f, {f.v3}, cache, options, answer);
  CHECK(r.calls == 12);
  const EvalResult& result = result_of(r.report, 0);
  CHECK(result.outcomes == "pxpp");
  CHECK(result.flaky == std::vector<std::string>{"2"});
  CHECK(result.metrics.cases == 12);
  CHECK(result.metrics.passed == 11);
  CHECK(result.repeat == 3);
}

TEST_CASE("failed calls are errors that are retried on the next run", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  const auto flaky_server = [](const ChatRequest& request) {
    if (request.messages.at(1).content == "pizza") {
      return ChatResult{std::nullopt, CallError::server, "HTTP 500 from x: boom (after 4 retries)", 500, {}};
    }
    return classify(request);
  };
  const Run first = run(f, {f.v3}, cache, {}, flaky_server);
  CHECK(first.report.errors == 1);
  CHECK(result_of(first.report, 0).outcomes == "pppe");
  CHECK(result_of(first.report, 0).errors == 1);
  const Run second = run(f, {f.v3}, cache);
  CHECK(second.calls == 1);
  CHECK(result_of(second.report, 0).outcomes == "pppp");
}

TEST_CASE("an auth failure stops the run with a ProviderError", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  const auto denied = [](const ChatRequest&) {
    return ChatResult{std::nullopt, CallError::auth, "authentication failed for provider 'fn' (HTTP 401)", 401, {}};
  };
  std::size_t calls = 0;
  try {
    calls = run(f, {f.v1, f.v3}, cache, {}, denied).calls;
    FAIL("no exception");
  } catch (const ProviderError& e) {
    CHECK(std::string(e.what()) == "authentication failed for provider 'fn' (HTTP 401)");
  }
  CHECK(calls == 0);
}

TEST_CASE("a stop keeps the answers received and the next run resumes", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  std::atomic<bool> stop{false};
  int answered = 0;
  const auto stopping = [&](const ChatRequest& request) {
    if (++answered == 6) {
      stop = true;  // as SIGINT would, while the sixth answer is in flight
    }
    return classify(request);
  };
  const Run first = run(f, {f.v1, f.v3}, cache, {}, stopping, &stop);
  CHECK(first.report.interrupted);
  CHECK(first.report.real_calls == 6);
  CHECK(first.report.results.count(first.report.rows[0].key) == 1);  // v1 finished
  CHECK(first.report.results.count(first.report.rows[1].key) == 0);  // v3 did not
  stop = false;
  const Run second = run(f, {f.v1, f.v3}, cache);
  CHECK(second.calls == 2);
  CHECK_FALSE(second.report.interrupted);
  CHECK(result_of(second.report, 1).value == 1.0);
}

TEST_CASE("bad suites are configuration errors at file:line", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  SECTION("a bad dataset line") {
    f.repo.write("evals/c.jsonl", std::string(k_dataset) + "{\"vars\": \n");
    const std::string bad = f.repo.commit("bad dataset");
    CHECK_THROWS_WITH(run(f, {bad}, cache), Catch::StartsWith("evals/c.jsonl:5:"));
  }
  SECTION("an unknown assertion type") {
    f.repo.write("prompts/c.toml", classify_toml("x", "assert = [{ type = \"contians\", value = \"a\" }]\n"));
    const std::string bad = f.repo.commit("bad assert");
    try {
      run(f, {bad}, cache);
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "prompts/c.toml:9:1: unknown assertion type 'contians'");
      CHECK(e.hint() == "did you mean 'contains'?");
    }
  }
  SECTION("an exec assertion in an untrusted repository, before any call") {
    f.repo.write("prompts/c.toml", classify_toml("x", "assert = [{ type = \"exec\", value = \"./score.sh\" }]\n"));
    const std::string bad = f.repo.commit("exec scorer");
    try {
      run(f, {bad}, cache, {}, [](const ChatRequest&) -> ChatResult {
        FAIL("a model call was made");
        return {};
      });
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "prompts/c.toml: an exec assertion of prompt 'c' runs `./score.sh` but this repository is not trusted to "
            "run commands");
      CHECK(e.hint() == "read the command, then run: git config promptops.trustExec true");
    }
  }
  SECTION("an unknown metric") {
    std::string text = classify_toml("x");
    text.replace(text.find("\"accuracy\""), 10, "\"acuracy\"");
    f.repo.write("prompts/c.toml", text);
    const std::string bad = f.repo.commit("bad metric");
    try {
      run(f, {bad}, cache);
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "prompts/c.toml:9:1: unknown metric 'acuracy' in [eval] of prompt 'c'");
      CHECK(e.hint() == "did you mean 'accuracy'?");
    }
  }
}

TEST_CASE("evaluation results round-trip through JSON and notes", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  const Run r = run(f, {f.v2, f.unrelated}, cache);
  const EvalResult& result = result_of(r.report, 0);
  const EvalResult back = EvalResult::from_json(result.to_json());
  CHECK(back.to_json() == result.to_json());

  git::Repository repo = git::Repository::discover(f.repo.path());
  CHECK(record_eval_notes(repo, r.report) == 2);
  for (const std::string& sha : {f.v2, f.unrelated}) {
    const std::vector<json> entries = git::read_note(repo, oid(sha));
    REQUIRE(entries.size() == 1);
    CHECK(entries[0]["key"] == "eval:c:" + result.key);
    CHECK(entries[0]["outcomes"] == "pppp");
    const std::optional<EvalResult> latest = latest_eval_note(entries, "c");
    REQUIRE(latest);
    CHECK(latest->value == 1.0);
    CHECK_FALSE(latest_eval_note(entries, "other"));
  }
  CHECK(call_cost(Config{}, "m", 10, 10) == 0.0);
}

TEST_CASE("free-text answers and free-text datasets never grow the confusion matrix", "[eval][runner]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  SECTION("an answer outside the expected labels is (other)") {
    const auto rambling = [](const ChatRequest& request) {
      ChatResult result = classify(request);
      if (request.messages.at(1).content == "pizza") {
        result.response->text = "I would say it is probably out of scope";
      }
      return result;
    };
    const Run r = run(f, {f.v3}, cache, {}, rambling);
    const EvalResult& result = result_of(r.report, 0);
    REQUIRE(result.metrics.labels);
    CHECK(result.metrics.labels->confusion.labels == std::vector<std::string>{"(other)", "IN", "OUT"});
    CHECK(result.metrics.labels->accuracy == 0.75);
  }
  SECTION("more than 50 distinct expected values are not labels") {
    std::string dataset;
    for (int i = 0; i < 51; ++i) {
      dataset += "{\"vars\": {\"q\": \"q" + std::to_string(i) + "\"}, \"expected\": \"answer " + std::to_string(i) + "\"}\n";
    }
    f.repo.write("evals/c.jsonl", dataset);
    const std::string free_text = f.repo.commit("free-text dataset");
    const Run r = run(f, {free_text}, cache);
    const EvalResult& result = result_of(r.report, 0);
    CHECK_FALSE(result.metrics.labels);
    CHECK(result.metric == "accuracy");
    CHECK(result.value == 0.0);  // accuracy falls back to the pass rate
    CHECK(result.metrics.cases == 51);
  }
}

TEST_CASE("labels fold case as the equals assertion does, over Unicode", "[eval][runner][unicode]") {
  Fixture f;
  ResultCache cache(test::cache_dir(f.repo.path()));
  f.repo.write("evals/c.jsonl",
               "{\"vars\": {\"q\": \"summer\"}, \"expected\": \"\xC3\x89T\xC3\x89\"}\n"  // ÉTÉ
               "{\"vars\": {\"q\": \"winter\"}, \"expected\": \"HIVER\"}\n");
  f.repo.write("prompts/c.toml",
               classify_toml("Name the season.",
                             "assert = [{ type = \"equals\", value = \"{{expected}}\", trim = true, ignore_case = true }]\n"));
  const std::string seasons = f.repo.commit("seasons");
  const auto answer = [](const ChatRequest& request) {
    ChatResult result = classify(request);
    result.response->text = request.messages.at(1).content == "summer" ? "\xC3\xA9t\xC3\xA9\n" : "hiver";  // été
    return result;
  };
  const Run r = run(f, {seasons}, cache, {}, answer);
  const EvalResult& result = result_of(r.report, 0);
  CHECK(result.outcomes == "pp");
  REQUIRE(result.metrics.labels);
  CHECK(result.metrics.labels->confusion.labels == std::vector<std::string>{"HIVER", "\xC3\x89T\xC3\x89"});
  CHECK(result.metrics.labels->accuracy == 1.0);
}

TEST_CASE("a cost budget estimates one token per 4 bytes in and max_tokens out", "[eval][runner]") {
  ChatRequest request;
  request.messages = {{"system", "Be brief.", {}}, {"user", "Q: question refund-0", {}}};
  CHECK(estimated_tokens_in(request) == 3 + 5);  // 9 bytes round up to 3, 20 bytes are 5
  CHECK_FALSE(max_tokens_of(request));
  request.params = {{"max_tokens", "many"}};
  CHECK_FALSE(max_tokens_of(request));
  request.params = {{"max_completion_tokens", 64}};
  CHECK(max_tokens_of(request) == 64);
  request.params = {{"max_tokens", 256}, {"max_completion_tokens", 64}};
  CHECK(max_tokens_of(request) == 256);
  request.messages.clear();
  CHECK(estimated_tokens_in(request) == 0);
}
