// SPDX-License-Identifier: MIT
// Unit tests for the engine's steps (src/eval): suite loading, planning (eval keys, duplicates,
// cache hits), the call queue (judge calls queued like answers), the results file, and the
// compiled templates an evaluation renders its cases with.
#include <atomic>
#include <cctype>
#include <set>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/eval/cache.hpp>
#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/prompt/template.hpp>

#include "eval/answer_writer.hpp"
#include "eval/plan.hpp"
#include "eval/queue.hpp"
#include "eval/results_file.hpp"
#include "eval/services.hpp"
#include "eval/suite.hpp"
#include "support/eval_fixture.hpp"
#include "support/fake_provider.hpp"
#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::oid;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string k_config = test::fn_config();

std::string prompt_toml(const std::string& system, const std::string& eval_extra = "") {
  return "[[messages]]\nrole = \"system\"\ncontent = \"" + system +
         "\"\n[[messages]]\nrole = \"user\"\ncontent = \"{{q}}\"\n[eval]\ndataset = \"evals/c.jsonl\"\n" + eval_extra;
}

const char* k_dataset =
    "{\"id\": \"a\", \"vars\": {\"q\": \"one\"}, \"expected\": \"ONE\"}\n"
    "{\"id\": \"b\", \"vars\": {\"q\": \"two\"}, \"expected\": \"TWO\", \"assert\": [{\"type\": \"contains\", "
    "\"value\": \"W\"}]}\n"
    "{\"id\": \"c\", \"vars\": {\"q\": \"three\"}, \"expected\": \"THREE\"}\n";

// Upper-cases the user message; a judge request gets `judge_text`.
ChatResult upper(const ChatRequest& request, const std::string& judge_text = "{\"pass\": true, \"score\": 1}") {
  ChatResponse response;
  const std::string& last = request.messages.back().content;
  if (last.rfind("Rubric:", 0) == 0) {
    response.text = judge_text;
  } else {
    for (const char ch : last) {
      response.text += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
  }
  response.tokens_in = 2;
  response.tokens_out = 1;
  return ChatResult{response, CallError::none, "", 200, {}};
}

struct Repo {
  test::TempRepo repo;
  std::string v1;
  std::string v2;
  std::string same;

  explicit Repo(const std::string& eval_extra = "") {
    repo.write(".promptops.toml", k_config);
    repo.write("evals/c.jsonl", k_dataset);
    repo.write("prompts/c.toml", prompt_toml("Say it loud.", eval_extra));
    v1 = repo.commit("v1");
    repo.write("prompts/c.toml", prompt_toml("Say it louder.", eval_extra));
    v2 = repo.commit("v2");
    repo.write("README", "unrelated\n");
    same = repo.commit("readme");
  }
  fs::path cache_dir() const { return test::cache_dir(repo.path()); }
  fs::path results_dir() const { return test::results_dir(repo.path()); }
};

std::vector<EvalTarget> at(const std::vector<std::string>& shas) { return test::targets_at(shas); }

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("suite loading reads the dataset once, with each case's own assertions", "[eval][engine]") {
  Repo r;
  const git::Repository repo = git::Repository::discover(r.repo.path());
  const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, oid(r.v1));
  const ParsedConfig config = load_config(*snapshot);
  const std::vector<PromptFile> files = find_prompts(*snapshot, config.config);
  REQUIRE(files.size() == 1);
  const Prompt prompt = load_prompt(*snapshot, files.front());

  std::unique_ptr<Suite> suite = load_suite(*snapshot, prompt);
  CHECK(suite->dataset == "evals/c.jsonl");
  CHECK(suite->metric == "pass_rate");
  CHECK_FALSE(suite->parsed);
  CHECK(suite->cases.empty());
  CHECK(suite->text == k_dataset);

  parse_cases(*suite);
  CHECK(suite->parsed);
  CHECK(suite->text.empty());
  REQUIRE(suite->cases.size() == 3);
  CHECK(suite->cases[1].id == "b");
  CHECK(suite->cases[1].line == 2);
  CHECK(suite->cases[1].asserts.is_null());  // parsed into case_asserts, then dropped
  REQUIRE(suite->case_asserts.size() == 3);
  CHECK(suite->case_asserts[0].empty());
  REQUIRE(suite->case_asserts[1].size() == 1);
  CHECK(suite->case_asserts[1][0].type == AssertionType::contains);
  CHECK(suite->labels == std::set<std::string>{"ONE", "THREE", "TWO"});
  CHECK(calls_per_sample(*suite, 1) == 1);

  SECTION("a dataset without cases is an error at its path") {
    Suite empty;
    empty.prompt = "c";
    try {
      add_cases(empty, "evals/empty.jsonl", "");
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "evals/empty.jsonl: dataset of prompt 'c' has no cases");
    }
  }
  SECTION("a second dataset appends its cases") {
    add_cases(*suite, "evals/more.jsonl", "{\"id\": \"d\", \"vars\": {\"q\": \"four\"}}\n");
    REQUIRE(suite->cases.size() == 4);
    CHECK(suite->cases[3].id == "d");
    CHECK(suite->case_asserts.size() == 4);
  }
}

TEST_CASE("planning keys each evaluation by content, once, and reuses a cached result", "[eval][engine]") {
  Repo r;
  const git::Repository repo = git::Repository::discover(r.repo.path());
  ResultCache cache(r.cache_dir());
  EvalServices services;
  services.cache = &cache;
  const std::vector<EvalTarget> targets = at({r.v1, r.v2, r.same});
  const EvalOptions options;

  Planner planner(repo, targets, options, services);
  planner.load_targets();
  CHECK(planner.names() == std::vector<std::string>{"c"});
  EvalReport report;
  report.targets = targets;
  const std::vector<Job*> jobs = planner.plan(report);
  REQUIRE(report.rows.size() == 3);
  CHECK_FALSE(report.rows[0].duplicate);
  CHECK_FALSE(report.rows[1].duplicate);
  CHECK(report.rows[2].duplicate);  // the README commit has v2's content
  CHECK(report.rows[2].key == report.rows[1].key);
  CHECK(report.rows[0].key != report.rows[1].key);
  CHECK(report.rows[0].key.size() == 40);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0]->key == report.rows[0].key);
  CHECK(jobs[1]->key == report.rows[1].key);
  CHECK(jobs[0]->total == 3);
  CHECK(jobs[0]->tallies.size() == 3);
  CHECK(jobs[0]->identity == "openai http://127.0.0.1:1/v1");
  CHECK(jobs[0]->suite == jobs[1]->suite);  // the newest suite judges both versions
  CHECK(report.results.empty());

  SECTION("a cached result is reused, not planned") {
    EvalResult done;
    done.key = report.rows[0].key;
    done.prompt = "c";
    done.value = 0.25;
    cache.put("eval", done.key, done.to_json());
    Planner again(repo, targets, options, services);
    again.load_targets();
    EvalReport second;
    second.targets = targets;
    const std::vector<Job*> left = again.plan(second);
    REQUIRE(left.size() == 1);
    CHECK(left[0]->key == report.rows[1].key);
    REQUIRE(second.results.count(done.key) == 1);
    CHECK(second.results.at(done.key).reused);
    CHECK(second.results.at(done.key).value == 0.25);
  }
  SECTION("offline, an uncached key is missing") {
    EvalOptions offline;
    offline.offline = true;
    Planner again(repo, targets, offline, services);
    again.load_targets();
    EvalReport second;
    CHECK(again.plan(second).empty());
    CHECK(second.missing == std::vector<std::string>{report.rows[0].key, report.rows[1].key});
  }
}

TEST_CASE("the call queue scores every case through the fake provider, in order", "[eval][engine]") {
  Repo r;
  const git::Repository repo = git::Repository::discover(r.repo.path());
  ResultCache cache(r.cache_dir());
  EvalServices services = test::services_with(r.repo.path(), cache);
  const std::vector<EvalTarget> targets = at({r.v1});
  EvalOptions options;
  options.repeat = 2;
  Planner planner(repo, targets, options, services);
  planner.load_targets();
  EvalReport report;
  const std::vector<Job*> jobs = planner.plan(report);
  REQUIRE(jobs.size() == 1);

  std::vector<std::string> asked;
  services.make_provider = [&](const ProviderSpec&) {
    return std::make_unique<FunctionProvider>(*jobs[0]->provider, [&](const ChatRequest& request) {
      asked.push_back(request.messages.back().content);
      return upper(request);
    });
  };
  RunnerServices assertion_services(services, planner.providers_config(), options.provider_options);
  std::atomic<bool> stop{false};
  {
    AnswerWriter writer(cache);
    RunContext run{services, stop, report, planner.providers_config(), assertion_services, writer, 2, 6};
    EvalQueue queue({jobs[0]}, run);
    queue.run();
    writer.close();
    CHECK(run.done == 6);
  }
  // Each repeat has a key of its own: 3 cases x 2 repeats, case by case.
  CHECK(asked == std::vector<std::string>{"one", "one", "two", "two", "three", "three"});
  CHECK(report.real_calls == 6);
  REQUIRE(report.results.count(jobs[0]->key) == 1);
  const EvalResult& result = report.results.at(jobs[0]->key);
  CHECK(result.outcomes == "ppp");
  CHECK(result.case_ids == std::vector<std::string>{"a", "b", "c"});
  CHECK(result.value == 1.0);
  CHECK(result.results_file == (r.results_dir() / (jobs[0]->key + ".jsonl")).string());
  const std::vector<std::string> lines = lines_of(result.results_file);
  REQUIRE(lines.size() == 6);
  CHECK(json::parse(lines[0]).at("id") == "a");
  CHECK(json::parse(lines[0]).at("repeat") == 0);
  CHECK(json::parse(lines[1]).at("repeat") == 1);
  CHECK(json::parse(lines[5]).at("output") == "THREE");
}

TEST_CASE("a judge's call is queued like any other call and its answer is cached", "[eval][engine]") {
  Repo r("[[eval.assert]]\ntype = \"llm-rubric\"\nvalue = \"is {{expected}} shouted\"\n");
  ResultCache cache(r.cache_dir());
  std::vector<std::string> asked;
  std::vector<FunctionProvider*> made;
  std::string judge_text = "{\"pass\": true, \"score\": 0.75, \"reason\": \"loud\"}";
  const auto run_once = [&](EvalOptions options) {
    const git::Repository repo = git::Repository::discover(r.repo.path());
    EvalServices services = test::services_with(r.repo.path(), cache);
    services.make_provider = [&](const ProviderSpec& spec) {
      auto provider = std::make_unique<FunctionProvider>(spec, [&](const ChatRequest& request) {
        asked.push_back(request.messages.back().content.substr(0, 12));
        return upper(request, judge_text);
      });
      made.push_back(provider.get());
      return provider;
    };
    return run_eval(repo, at({r.v1}), options, services);
  };

  const EvalReport first = run_once({});
  // Each answer, then its judge: the judge's request comes from the queue, after the answer.
  CHECK(asked == std::vector<std::string>{"one", "Rubric:\nis O", "two", "Rubric:\nis T", "three",
                                          "Rubric:\nis T"});
  REQUIRE(made.size() == 1);
  CHECK(made[0]->max_depth() == 1);  // never a run() inside a completion callback
  CHECK(first.real_calls == 3);      // answers; judge calls are not model answers
  const EvalResult& result = first.results.at(first.rows.at(0).key);
  CHECK(result.outcomes == "ppp");
  CHECK(result.scores == std::vector<double>{0.75, 0.875, 0.75});  // b: the judge's 0.75 and contains W
  const std::vector<std::string> lines = lines_of(result.results_file);
  REQUIRE(lines.size() == 3);
  CHECK(json::parse(lines[0]).at("output") == "ONE");

  asked.clear();
  made.clear();
  fs::remove_all(r.cache_dir() / "eval");
  const EvalReport second = run_once({});
  CHECK(asked.empty());  // answers and the judge's verdicts come from the cache
  CHECK(second.cache_hits == 3);
  CHECK(second.results.at(second.rows.at(0).key).scores == result.scores);

  SECTION("a judge's answer that is no verdict fails the case") {
    asked.clear();
    fs::remove_all(r.cache_dir());
    judge_text = "no verdict here";
    const EvalReport third = run_once({});
    const EvalResult& failed = third.results.at(third.rows.at(0).key);
    CHECK(failed.outcomes == "fff");
    CHECK(asked.size() == 6);
  }
}

TEST_CASE("the results file keeps what was written when a run ends early", "[eval][engine]") {
  test::TempDir dir;
  const fs::path partial = dir.path() / "k.jsonl.partial";
  SECTION("destroyed unfinished: the .partial stays, with every line") {
    {
      ResultsFile file;
      CHECK_FALSE(file.is_open());
      file.append(dir.path(), "k", "{\"a\":1}");
      file.append(dir.path(), "k", "{\"a\":2}");
      CHECK(file.is_open());
    }
    CHECK(lines_of(partial) == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}"});
    CHECK_FALSE(fs::exists(dir.path() / "k.jsonl"));
  }
  SECTION("finished: renamed to .jsonl") {
    ResultsFile file;
    file.append(dir.path() / "sub", "k", "{}");
    CHECK(file.finish() == (dir.path() / "sub" / "k.jsonl").string());
    CHECK_FALSE(fs::exists(dir.path() / "sub" / "k.jsonl.partial"));
    CHECK(lines_of(dir.path() / "sub" / "k.jsonl") == std::vector<std::string>{"{}"});
  }
  SECTION("nothing written: nothing created") {
    ResultsFile file;
    CHECK(file.finish().empty());
    CHECK(fs::is_empty(dir.path()));
  }
}

TEST_CASE("an error mid-run leaves the finished cases in the .partial file", "[eval][engine]") {
  Repo r;
  const git::Repository repo = git::Repository::discover(r.repo.path());
  ResultCache cache(r.cache_dir());
  EvalServices services = test::services_with(r.repo.path(), cache);
  int answered = 0;
  services.make_provider = [&](const ProviderSpec& spec) {
    return std::make_unique<FunctionProvider>(spec, [&](const ChatRequest& request) {
      if (++answered == 3) {
        return ChatResult{std::nullopt, CallError::auth, "authentication failed (HTTP 401)", 401, {}};
      }
      return upper(request);
    });
  };
  CHECK_THROWS_AS(run_eval(repo, at({r.v1}), {}, services), ProviderError);
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(r.results_dir())) {
    files.push_back(entry.path());
  }
  REQUIRE(files.size() == 1);
  CHECK(files[0].extension() == ".partial");
  const std::vector<std::string> lines = lines_of(files[0]);
  REQUIRE(lines.size() == 2);
  CHECK(json::parse(lines[0]).at("id") == "a");
  CHECK(json::parse(lines[1]).at("id") == "b");
}

TEST_CASE("a compiled template renders like render_template, again after an error", "[eval][engine][template]") {
  const CompiledTemplate compiled("Hi {{name}}{{#items}} [{{.}}]{{/items}}");
  for (int i = 0; i < 3; ++i) {
    const json context = {{"name", "n" + std::to_string(i)}, {"items", {1, 2}}};
    CHECK(compiled.render(context) == render_template("Hi {{name}}{{#items}} [{{.}}]{{/items}}", context));
  }
  const std::string huge(k_max_rendered_bytes, 'x');
  CHECK_THROWS_AS(compiled.render({{"name", huge}}), ConfigError);
  CHECK(compiled.render({{"name", "again"}}) == "Hi again");

  const CompiledTemplate broken("{{#open}}");
  CHECK_THROWS_WITH(broken.render(json::object()), Catch::Contains("template syntax error at line 1"));
}
