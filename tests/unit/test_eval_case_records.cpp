// SPDX-License-Identifier: MIT
// Unit tests for src/eval/case_records.cpp: the per-case JSONL records read back by id.
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/eval/cache.hpp>
#include <promptops/eval/case_records.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/providers/provider.hpp>

#include "support/eval_fixture.hpp"
#include "support/fake_provider.hpp"
#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A record as the runner writes it for an answered case.
json answered(std::size_t index, const std::string& id, int repeat, const std::string& output, bool pass) {
  return {{"index", index},
          {"id", id},
          {"line", index + 1},
          {"repeat", repeat},
          {"vars", {{"q", "question " + id}}},
          {"expected", "IN"},
          {"output", output},
          {"pass", pass},
          {"score", pass ? 1.0 : 0.0},
          {"reasons", pass ? json::array() : json::array({"expected \"IN\", got \"" + output + "\""})},
          {"tokens_in", 3},
          {"tokens_out", 1},
          {"latency_ms", 12.5},
          {"cost", 0.25},
          {"cached", false}};
}

}  // namespace

TEST_CASE("read_case_records reads every field the runner writes, by id", "[eval][case_records]") {
  test::TempDir dir;
  const fs::path file = dir.path() / "key.jsonl";
  // Out of order, as answers arrive; one case got no answer.
  const json error = {{"index", 2},           {"id", "c"},           {"line", 3},           {"repeat", 0},
                      {"vars", {{"q", "x"}}}, {"expected", nullptr}, {"error", "HTTP 500"}, {"pass", false},
                      {"score", 0.0}};
  write_file(file, answered(1, "b", 0, "OUT", false).dump() + "\n" + error.dump() + "\n" +
                       answered(0, "a", 0, "IN", true).dump() + "\n");
  const std::map<std::string, CaseRecord> records = read_case_records(file);
  REQUIRE(records.size() == 3);

  const CaseRecord& a = records.at("a");
  CHECK(a.id == "a");
  CHECK(a.index == 0);
  CHECK(a.vars == json({{"q", "question a"}}));
  CHECK(a.expected == "IN");
  CHECK(a.output == "IN");
  CHECK(a.pass);
  CHECK(a.score == 1.0);
  CHECK(a.reasons.empty());
  CHECK(a.error.empty());
  REQUIRE(a.latency_ms);
  CHECK(*a.latency_ms == 12.5);
  CHECK(a.cost == 0.25);

  const CaseRecord& b = records.at("b");
  CHECK(b.index == 1);
  CHECK_FALSE(b.pass);
  CHECK(b.reasons == std::vector<std::string>{"expected \"IN\", got \"OUT\""});

  const CaseRecord& c = records.at("c");
  CHECK(c.index == 2);
  CHECK(c.expected.is_null());
  CHECK(c.output.empty());
  CHECK(c.error == "HTTP 500");
  CHECK_FALSE(c.latency_ms);
  CHECK(c.cost == 0.0);
}

TEST_CASE("read_case_records keeps the first sample of a repeated case", "[eval][case_records]") {
  test::TempDir dir;
  const fs::path file = dir.path() / "key.jsonl";
  SECTION("the lowest repeat index wins, whatever the order in the file") {
    write_file(file, answered(0, "a", 2, "two", false).dump() + "\n" +
                         answered(0, "a", 0, "zero", true).dump() + "\n" +
                         answered(0, "a", 1, "one", false).dump() + "\n");
    const auto records = read_case_records(file);
    REQUIRE(records.size() == 1);
    CHECK(records.at("a").output == "zero");
    CHECK(records.at("a").pass);
  }
  SECTION("without repeat indexes, the first line wins") {
    json first = answered(0, "a", 0, "first", true);
    json second = answered(0, "a", 0, "second", true);
    first.erase("repeat");
    second.erase("repeat");
    write_file(file, first.dump() + "\n" + second.dump() + "\n");
    CHECK(read_case_records(file).at("a").output == "first");
  }
}

TEST_CASE("read_case_records gives nothing for a missing file and skips bad lines", "[eval][case_records]") {
  test::TempDir dir;
  CHECK(read_case_records(dir.path() / "absent.jsonl").empty());
  CHECK(read_case_records(fs::path()).empty());
  CHECK(read_case_records(dir.path()).empty());  // a directory cannot be read as lines
  EvalResult result;
  CHECK(read_case_records(result).empty());  // no results_file (taken from notes)

  const fs::path file = dir.path() / "key.jsonl";
  json wrong_types = answered(1, "b", 0, "OUT", false);
  wrong_types["output"] = 42;
  wrong_types["pass"] = "yes";
  wrong_types["latency_ms"] = "slow";
  wrong_types["reasons"] = json::array({"kept", 7});
  write_file(file, "not json\n[1, 2]\n{\"id\": 3}\n\n" + answered(0, "a", 0, "IN", true).dump() + "\n" +
                       wrong_types.dump() + "\n{\"id\": \"trunc");
  const auto records = read_case_records(file);
  REQUIRE(records.size() == 2);
  CHECK(records.at("a").output == "IN");
  const CaseRecord& b = records.at("b");
  CHECK(b.output.empty());
  CHECK_FALSE(b.pass);
  CHECK_FALSE(b.latency_ms);
  CHECK(b.reasons == std::vector<std::string>{"kept"});

  result.results_file = file.string();
  CHECK(read_case_records(result).size() == 2);
}

TEST_CASE("read_case_records reads what run_eval wrote", "[eval][case_records]") {
  test::isolate_process_environment();
  test::TempRepo repo;
  repo.write(".promptops.toml", test::fn_config());
  repo.write("evals/c.jsonl",
             "{\"id\": \"lost\", \"vars\": {\"q\": \"card lost\"}, \"expected\": \"IN\"}\n"
             "{\"id\": \"pizza\", \"vars\": {\"q\": \"pizza\"}, \"expected\": \"IN\"}\n");
  repo.write("prompts/c.toml",
             "template = \"{{q}}\"\n[vars]\nq = { required = true }\n[eval]\ndataset = \"evals/c.jsonl\"\n");
  const git::Repository git_repo = git::Repository::discover(repo.path());
  ResultCache cache(repo.path() / ".git" / "promptops" / "cache", true);
  EvalServices services;
  services.cache = &cache;
  services.results_dir = repo.path() / ".git" / "promptops" / "results";
  services.make_provider = [](const ProviderSpec& spec) {
    return std::make_unique<FunctionProvider>(spec, [](const ChatRequest& request) {
      ChatResponse response;
      response.text = request.messages.at(0).content == "card lost" ? "IN" : "Pizza\nis food";
      response.tokens_in = 2;
      response.tokens_out = 1;
      response.latency_ms = 7;
      return ChatResult{response, CallError::none, "", 200, {}};
    });
  };
  const EvalReport report = run_eval(git_repo, {EvalTarget::worktree()}, EvalOptions{}, services);
  REQUIRE(report.results.size() == 1);
  const EvalResult& result = report.results.begin()->second;
  REQUIRE_FALSE(result.results_file.empty());
  const auto records = read_case_records(result);
  REQUIRE(records.size() == 2);
  CHECK(records.at("lost").pass);
  CHECK(records.at("lost").vars == json({{"q", "card lost"}}));
  CHECK(records.at("lost").expected == "IN");
  CHECK(records.at("lost").latency_ms == 7.0);
  const CaseRecord& pizza = records.at("pizza");
  CHECK(pizza.index == 1);
  CHECK_FALSE(pizza.pass);
  CHECK(pizza.output == "Pizza\nis food");
  CHECK(pizza.score == 0.0);
  REQUIRE(pizza.reasons.size() == 1);
  CHECK_FALSE(pizza.reasons[0].empty());
}

TEST_CASE("one_line_excerpt flattens whitespace and cuts long text by characters", "[eval][case_records]") {
  CHECK(one_line_excerpt("  two\nlines\t\tand  spaces \n") == "two lines and spaces");
  CHECK(one_line_excerpt("") == "");
  CHECK(one_line_excerpt(std::string(80, 'a')) == std::string(80, 'a'));
  CHECK(one_line_excerpt(std::string(81, 'a')) == std::string(79, 'a') + "…");
  CHECK(one_line_excerpt("abcdef", 4) == "abc…");
  CHECK(one_line_excerpt("ab cdef", 4) == "ab…");  // no blank before the ellipsis
  // Code points, not bytes: "é" is two bytes and is never split.
  CHECK(one_line_excerpt("ééééé", 4) == "ééé…");
  CHECK(one_line_excerpt("éééé", 4) == "éééé");
}
