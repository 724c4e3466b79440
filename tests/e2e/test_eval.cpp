// SPDX-License-Identifier: MIT
// End-to-end: `eval` over ranges, revisions and the working tree against a loopback model server:
// the table, content-addressed reuse, one yardstick, repeats, notes and the output formats.
#include <algorithm>
#include <atomic>
#include <memory>
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

// --- the table and reuse -----------------------------------------------------------------------

TEST_CASE(
    "eval A..B prints a row per commit and reuses the evaluation of a commit that did not change the prompt",
    "[e2e][eval]") {
  GreetProject p;
  // HEAD~3..HEAD is, as in git, the commits after v1: v2, the unrelated commit and v3.
  // clang-format off
  const std::string table =
      "COMMIT   PROMPT  VERSION  METRIC    VALUE  95% CI         DELTA  CALLS  COST  SUBJECT\n" +
      short_sha(p.v2) +        "  greet   v2       accuracy  0.500  [0.15, 0.85]              4     -  greet: say hi\n" +
      short_sha(p.unrelated) + "  greet   v2       accuracy  0.500  [0.15, 0.85]           same     -  add readme\n" +
      short_sha(p.v3) +        "  greet   v3       accuracy  0.750  [0.30, 0.95]  +0.250      4     -  greet: say hey\n";
  // clang-format on
  const RunResult first = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"});
  CHECK(first.exit_code == 0);
  CHECK(first.out == table);
  CHECK(first.err == "2 evaluations (0 from the cache), 8 model calls, 0 cached answers\n");
  // Two distinct versions x four cases; v1 is outside the range.
  CHECK(p.server.requests() == 8);
  CHECK(p.server.answered() == 8);
  CHECK(seen_with(p.server, "Hello") == 0);
  CHECK(seen_with(p.server, "Hi ") == 4);
  CHECK(seen_with(p.server, "Hey ") == 4);
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.path == "/v1/chat/completions");
    CHECK(request.body.at("model") == "test-model");
  }

  SECTION("a second run makes no model call and prints the same values") {
    p.server.reset_counters();
    const RunResult second = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"});
    CHECK(second.exit_code == 0);
    CHECK(p.server.requests() == 0);
    CHECK(second.out ==
          eval_table(
              {greet_row(short_sha(p.v2), "v2", "0.500", "[0.15, 0.85]", "", "0", "greet: say hi"),
               greet_row(short_sha(p.unrelated), "v2", "0.500", "[0.15, 0.85]", "", "same", "add readme"),
               greet_row(short_sha(p.v3), "v3", "0.750", "[0.30, 0.95]", "+0.250", "0", "greet: say hey")}));
    CHECK(second.err == "2 evaluations (2 from the cache), 0 model calls, 0 cached answers\n");
  }
  SECTION("--no-cache asks the model again") {
    p.server.reset_counters();
    const RunResult again = run_promptops(p.path(), {"eval", "HEAD~3..HEAD", "--no-cache"});
    CHECK(again.exit_code == 0);
    CHECK(p.server.requests() == 8);
    CHECK(again.out == table);
    CHECK(again.err == "2 evaluations (0 from the cache), 8 model calls, 0 cached answers\n");
  }
  SECTION("a range that also holds v1 reuses the cached answers of the other versions") {
    p.server.reset_counters();
    // v1 is the root commit, which no A..B holds: it is evaluated as one revision.
    const RunResult one = run_promptops(p.path(), {"eval", p.v1});
    CHECK(one.exit_code == 0);
    CHECK(one.out ==
          eval_table({greet_row(short_sha(p.v1), "v1", "0.250", "[0.05, 0.70]", "", "4", "add greet")}));
    CHECK(p.server.requests() == 4);
    const RunResult range = run_promptops(p.path(), {"eval", "HEAD~2.."});
    CHECK(range.exit_code == 0);
    CHECK(range.out ==
          eval_table(
              {greet_row(short_sha(p.unrelated), "v2", "0.500", "[0.15, 0.85]", "", "0", "add readme"),
               greet_row(short_sha(p.v3), "v3", "0.750", "[0.30, 0.95]", "+0.250", "0", "greet: say hey")}));
    CHECK(p.server.requests() == 4);
  }
}

TEST_CASE("eval over 20 commits with 3 distinct prompt contents makes 3 evaluations' worth of calls",
          "[e2e][eval]") {
  LlmServer server;
  server.set_rules(greet_rules());
  TempRepo repo;
  // The prompt appears at commit 1 ("Hello"), changes at 6 ("Hi") and 11 ("Hey"), and goes back to
  // "Hello" at 16; the other commits touch notes.txt only.
  std::vector<CommitSpec> commits = {{"config and cases",
                                      {{".promptops.toml", config_toml(server)},
                                       {"evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid"})}}}};
  for (int i = 1; i <= 20; ++i) {
    CommitSpec commit{"commit " + std::to_string(i), {}};
    if (i == 1 || i == 16) {
      commit.files["prompts/greet.toml"] = greet_toml("Hello {{who}}!");
    } else if (i == 6) {
      commit.files["prompts/greet.toml"] = greet_toml("Hi {{who}}!");
    } else if (i == 11) {
      commit.files["prompts/greet.toml"] = greet_toml("Hey {{who}}!");
    } else {
      commit.files["notes.txt"] = std::to_string(i) + "\n";
    }
    commits.push_back(commit);
  }
  std::vector<std::string> shas = import_commits(repo, commits);
  shas.erase(shas.begin());
  const json doc = eval_json(repo.path(), {"HEAD~20..HEAD"});
  CHECK(server.requests() == 9);  // 3 contents x 3 cases
  CHECK(
      doc.at("summary") ==
      json(
          {{"evaluations", 3}, {"real_calls", 9}, {"cache_hits", 0}, {"errors", 0}, {"interrupted", false}}));
  const json& rows = doc.at("rows");
  REQUIRE(rows.size() == 20);
  std::vector<std::size_t> computed;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i);
    CHECK(rows[i].at("commit") == shas[i]);
    const double expected = i < 5 || i >= 15 ? 1.0 / 3 : i < 10 ? 2.0 / 3 : 1.0;
    CHECK(rows[i].at("value").get<double>() == Approx(expected));
    if (!rows[i].at("duplicate").get<bool>()) {
      computed.push_back(i);
      CHECK(rows[i].at("calls") == 3);
    } else {
      CHECK(rows[i].at("calls") == 0);
      CHECK(rows[i].at("reused") == true);
    }
  }
  CHECK(computed == std::vector<std::size_t>{0, 5, 10});
  // Going back to an earlier content is a new version whose evaluation is the old one's.
  CHECK(rows[15].at("version") == "v4");
  CHECK(rows[15].at("eval_key") == rows[0].at("eval_key"));

  server.reset_counters();
  const RunResult again = run_promptops(repo.path(), {"eval", "HEAD~20..HEAD"});
  CHECK(again.exit_code == 0);
  CHECK(server.requests() == 0);
  CHECK(again.err == "3 evaluations (3 from the cache), 0 model calls, 0 cached answers\n");
}

TEST_CASE(
    "a commit that brings back an earlier prompt content reuses its evaluation and shows the change in DELTA",
    "[e2e][eval]") {
  GreetProject p;
  p.repo.write("prompts/greet.toml", greet_toml("Hi {{who}}!"));
  const std::string back = p.repo.commit("greet: back to hi");
  const json doc = eval_json(p.path(), {"HEAD~4..HEAD"});
  const json& rows = doc.at("rows");
  REQUIRE(rows.size() == 4);
  CHECK(p.server.requests() == 8);
  // The commit before v4 holds v2's file; v4 did not exist yet.
  CHECK(rows[1].at("version") == "v2");
  CHECK(rows[3].at("version") == "v4");
  CHECK(rows[3].at("duplicate") == true);
  CHECK(rows[3].at("delta").is_number());
  if (rows[3].at("delta").is_number()) {
    CHECK(rows[3].at("delta").get<double>() == Approx(-0.25));
  }

  const RunResult r = run_promptops(p.path(), {"eval", "HEAD~4..HEAD"});
  CHECK(r.exit_code == 0);
  // Now from the cache. The last row is v2's evaluation again ("same"), 0.250 below the row before.
  CHECK(
      r.out ==
      eval_table({greet_row(short_sha(p.v2), "v2", "0.500", "[0.15, 0.85]", "", "0", "greet: say hi"),
                  greet_row(short_sha(p.unrelated), "v2", "0.500", "[0.15, 0.85]", "", "same", "add readme"),
                  greet_row(short_sha(p.v3), "v3", "0.750", "[0.30, 0.95]", "+0.250", "0", "greet: say hey"),
                  greet_row(short_sha(back), "v4", "0.500", "[0.15, 0.85]", "-0.250", "same",
                            "greet: back to hi")}));
}

TEST_CASE("eval judges every version with the newest dataset unless --suite-at each", "[e2e][eval]") {
  LlmServer server;
  server.set_rules(greet_rules());
  TempRepo repo;
  const std::vector<std::string> shas = import_commits(
      repo, {{"config", {{".promptops.toml", config_toml(server)}}},
             {"add greet",
              {{"evals/greet.jsonl", greet_cases({"Ann", "Bob"})},
               {"prompts/greet.toml", greet_toml("Hello {{who}}!")}}},
             {"greet: say hey", {{"prompts/greet.toml", greet_toml("Hey {{who}}!")}}},
             {"greet: new cases", {{"evals/greet.jsonl", greet_cases({"Cid", "Dee", "Eve"})}}}});
  const std::string& v1 = shas[1];
  const std::string& cases = shas[3];
  // The dataset's identity is the SHA-1 of its bytes (not git's blob id).
  const std::string new_sha = run(repo.path(), {"sha1sum", "evals/greet.jsonl"}).out.substr(0, 40);

  SECTION("newest: one yardstick, HEAD's cases for every version") {
    const json doc = eval_json(repo.path(), {"HEAD~3..HEAD"});
    const json& rows = doc.at("rows");
    REQUIRE(rows.size() == 3);
    CHECK(server.requests() == 6);  // 2 versions x 3 cases of HEAD's dataset
    CHECK(seen_with(server, "Ann") == 0);
    CHECK(seen_with(server, "Bob") == 0);
    CHECK(seen_with(server, "Hello Cid") == 1);
    CHECK(seen_with(server, "Hey Eve") == 1);
    CHECK(rows[0].at("commit") == v1);
    CHECK(rows[0].at("value").get<double>() == Approx(0.0));
    CHECK(rows[1].at("value").get<double>() == Approx(1.0 / 3));
    CHECK(rows[1].at("delta").get<double>() == Approx(1.0 / 3));
    CHECK(rows[2].at("commit") == cases);
    CHECK(rows[2].at("duplicate") == true);  // same prompt, same yardstick
    for (const json& row : rows) {
      CHECK(row.at("case_ids") == json({"cid", "dee", "eve"}));
      CHECK(row.at("dataset") == "evals/greet.jsonl");
    }
    // The notes say which dataset judged each version: HEAD's, by the SHA-1 of its bytes.
    CHECK(note_lines(repo, v1).at(0).at("dataset_sha") == new_sha);
    CHECK(note_lines(repo, shas[2]).at(0).at("dataset_sha") == new_sha);
  }
  SECTION("each: every commit's own dataset") {
    const json doc = eval_json(repo.path(), {"HEAD~3..HEAD", "--suite-at", "each"});
    const json& rows = doc.at("rows");
    REQUIRE(rows.size() == 3);
    CHECK(server.requests() == 7);  // v1 and v2 on Ann and Bob, v2 on Cid, Dee and Eve
    CHECK(seen_with(server, "Hello Ann") == 1);
    CHECK(seen_with(server, "Hey Bob") == 1);
    CHECK(seen_with(server, "Hey Dee") == 1);
    CHECK(seen_with(server, "Hello Cid") == 0);
    CHECK(rows[0].at("value").get<double>() == Approx(0.5));
    CHECK(rows[0].at("case_ids") == json({"ann", "bob"}));
    CHECK(rows[1].at("value").get<double>() == Approx(1.0));
    CHECK(rows[1].at("calls") == 2);
    CHECK(rows[2].at("duplicate") == false);
    CHECK(rows[2].at("calls") == 3);
    CHECK(rows[2].at("value").get<double>() == Approx(1.0 / 3));
    CHECK(rows[2].at("case_ids") == json({"cid", "dee", "eve"}));
    CHECK(note_lines(repo, v1).at(0).at("dataset_sha") != new_sha);
    CHECK(note_lines(repo, cases).at(0).at("dataset_sha") == new_sha);
  }
}

TEST_CASE("eval --repeat samples every case K times and reports the cases whose outcomes differ as flaky",
          "[e2e][eval]") {
  GreetProject p;
  // Bob's answers alternate right, wrong, right...; Ann is always right, Cid and Dee always wrong.
  auto bob_calls = std::make_shared<std::atomic<int>>(0);
  p.server.set_responder([bob_calls](const json& body) -> std::string {
    const std::string prompt = LlmServer::prompt_text(body);
    if (prompt.find("Bob") != std::string::npos) {
      return bob_calls->fetch_add(1) % 2 == 0 ? "ok" : "no";
    }
    return prompt.find("Ann") != std::string::npos ? "ok" : "no";
  });
  const json doc = eval_json(p.path(), {"HEAD", "--repeat", "3"});
  CHECK(p.server.requests() == 12);  // 4 cases x 3
  CHECK(bob_calls->load() == 3);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("repeat") == 3);
  CHECK(row.at("outcomes") == "pxff");
  CHECK(row.at("flaky") == json({"bob"}));
  CHECK(row.at("calls") == 12);
  // Accuracy over every sample: Ann 3 of 3 and Bob 2 of 3 out of 12.
  CHECK(row.at("value").get<double>() == Approx(5.0 / 12));

  p.server.reset_counters();
  const RunResult table = run_promptops(p.path(), {"eval", "HEAD", "--repeat", "3"});
  CHECK(table.exit_code == 0);
  CHECK(p.server.requests() == 0);
  CHECK(table.err ==
        "git-promptops: warning: prompt 'greet': 1 flaky case (outcomes differ across repeats): bob\n"
        "1 evaluation (1 from the cache), 0 model calls, 0 cached answers\n");
  // One sample is the first of three: its answers are all cached.
  const json once = eval_json(p.path(), {"HEAD"});
  CHECK(p.server.requests() == 0);
  CHECK(once.at("rows").at(0).at("repeat") == 1);
  CHECK(once.at("summary").at("cache_hits") == 4);
}

TEST_CASE("eval A..B -- NAME evaluates only the named prompts", "[e2e][eval]") {
  GreetProject p;
  p.repo.write("prompts/bye.toml",
               "template = \"Bye {{who}}!\"\n\n[vars]\nwho = { required = true }\n\n[eval]\ndataset = "
               "\"evals/greet.jsonl\"\n");
  const std::string bye = p.repo.commit("add bye");
  const json all = eval_json(p.path(), {"HEAD~1..HEAD"});
  REQUIRE(all.at("rows").size() == 2);
  CHECK(all.at("rows")[0].at("prompt") == "bye");
  CHECK(all.at("rows")[0].at("metric") == "pass_rate");
  CHECK(all.at("rows")[0].at("value").get<double>() == Approx(0.0));
  CHECK(all.at("rows")[1].at("prompt") == "greet");
  CHECK(p.server.requests() == 8);

  p.server.reset_counters();
  const json named = eval_json(p.path(), {"HEAD~4..HEAD", "--", "greet"});
  const json& rows = named.at("rows");
  REQUIRE(rows.size() == 4);
  for (const json& row : rows) {
    CHECK(row.at("prompt") == "greet");
  }
  CHECK(rows[0].at("commit") == p.v2);
  CHECK(rows[3].at("commit") == bye);
  CHECK(p.server.requests() == 4);  // v2; v3 is cached
  CHECK(seen_with(p.server, "Bye") == 0);
}

// --- notes and log -----------------------------------------------------------------------------

TEST_CASE("eval records each commit's results in git notes, and log shows them in a METRIC column",
          "[e2e][eval]") {
  GreetProject p;
  const json doc = eval_json(p.path(), {"HEAD"});
  const std::string key = doc.at("rows").at(0).at("eval_key").get<std::string>();
  CHECK(notes_commits(p.repo) == 1);
  std::vector<json> lines = note_lines(p.repo, "HEAD");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("key") == "eval:greet:" + key);
  CHECK(lines[0].at("type") == "eval");
  CHECK(lines[0].at("eval_key") == key);
  CHECK(lines[0].at("prompt") == "greet");
  CHECK(lines[0].at("path") == "prompts/greet.toml");
  CHECK(lines[0].at("metric") == "accuracy");
  CHECK(lines[0].at("value").get<double>() == Approx(0.75));
  CHECK(lines[0].at("outcomes") == "pppf");
  CHECK(lines[0].at("case_ids") == json({"ann", "bob", "cid", "dee"}));
  CHECK(lines[0].at("model") == "local/test-model");
  CHECK(lines[0].at("metrics").at("cases") == 4);
  // No secrets, no absolute paths of this machine.
  CHECK(lines[0].dump().find(p.path().string()) == std::string::npos);

  // A run that adds results for two more commits writes one more notes commit.
  const RunResult range = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"});
  CHECK(range.exit_code == 0);
  CHECK(notes_commits(p.repo) == 2);
  CHECK(note_lines(p.repo, "HEAD") == lines);  // v3's result came from the cache, unchanged
  const std::vector<json> v2_lines = note_lines(p.repo, p.v2);
  REQUIRE(v2_lines.size() == 1);
  CHECK(v2_lines[0].at("value").get<double>() == Approx(0.5));
  CHECK(note_lines(p.repo, p.unrelated) == v2_lines);
  CHECK(run(p.path(), {"git", "notes", "--ref=promptops", "show", p.v1}).exit_code != 0);
  const std::string message = repo_git_subject(p.repo, "refs/notes/promptops");
  CHECK(message == "git promptops eval: 3 results");

  // A fully cached rerun changes no note, so it writes no notes commit.
  const RunResult again = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"});
  CHECK(again.exit_code == 0);
  CHECK(notes_commits(p.repo) == 2);

  const RunResult log = run_promptops(p.path(), {"log", "greet"});
  CHECK(log.exit_code == 0);
  const auto log_row = [](const std::string& version, const std::string& sha, const std::string& date,
                          const std::string& metric, const std::string& subject) {
    return pad_left(version, 7) + "  " + short_sha(sha) + "  " + date + "  Ada Tester  " +
           pad_right(metric, 14) + "  " + pad_right("", 7) + "  " + subject + "\n";
  };
  CHECK(log.out == "VERSION  COMMIT   DATE              AUTHOR      " + pad_right("METRIC", 14) +
                       "  ALIASES  SUBJECT\n" +
                       log_row("v3", p.v3, "2023-11-15 02:13", "accuracy 0.750", "greet: say hey") +
                       log_row("v2", p.v2, "2023-11-15 00:13", "accuracy 0.500", "greet: say hi") +
                       log_row("v1", p.v1, "2023-11-14 23:13", "", "add greet"));
  const RunResult log_json = run_promptops(p.path(), {"log", "greet", "--format", "json"});
  REQUIRE(log_json.exit_code == 0);
  const json versions = json::parse(log_json.out).at("versions");
  CHECK(versions[0].at("eval").at("metric") == "accuracy");
  CHECK(versions[0].at("eval").at("value").get<double>() == Approx(0.75));
  CHECK(versions[0].at("eval").at("cases") == 4);
  CHECK(versions[0].at("eval").at("eval_key") == key);
  CHECK(versions[2].at("eval").is_null());
}

// --- the working tree --------------------------------------------------------------------------

TEST_CASE("eval without a revision evaluates the working tree, and committing it reuses the result",
          "[e2e][eval]") {
  GreetProject p;
  p.repo.write("prompts/greet.toml", greet_toml("Hello {{who}}!"));  // uncommitted: v1's text again
  const std::string header =
      "COMMIT    PROMPT  VERSION   METRIC    VALUE  95% CI        DELTA  CALLS  COST  SUBJECT\n";
  const RunResult r = run_promptops(p.path(), {"eval"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == header + "worktree  greet   worktree  accuracy  0.250  [0.05, 0.70]" + "  " + "     " +
                     "  " + "    4" + "  " + "   -" + "  (working tree)\n");
  CHECK(r.err == "1 evaluation (0 from the cache), 4 model calls, 0 cached answers\n");
  CHECK(seen_with(p.server, "Hello Ann") == 1);
  CHECK(!has_notes_ref(p.repo));  // the working tree has no commit to annotate

  SECTION("a name after -- without a revision is the working tree too") {
    const json doc = eval_json(p.path(), {"--", "greet"});
    CHECK(doc.at("rows").at(0).at("commit").is_null());
    CHECK(doc.at("rows").at(0).at("version") == "worktree");
    CHECK(doc.at("rows").at(0).at("reused") == true);
    CHECK(p.server.requests() == 4);
  }
  SECTION("the commit of the same content is not evaluated again") {
    const std::string v4 = p.repo.commit("greet: back to hello");
    const json doc = eval_json(p.path(), {"HEAD"});
    CHECK(p.server.requests() == 4);
    CHECK(doc.at("rows").at(0).at("commit") == v4);
    CHECK(doc.at("rows").at(0).at("version") == "v4");
    CHECK(doc.at("rows").at(0).at("reused") == true);
    CHECK(doc.at("rows").at(0).at("value").get<double>() == Approx(0.25));
  }
}

// --- formats -----------------------------------------------------------------------------------

TEST_CASE("eval --format json, junit, markdown and csv", "[e2e][eval]") {
  GreetProject p;
  SECTION("json") {
    const RunResult r = run_promptops(p.path(), {"eval", "HEAD~1..HEAD", "--format", "json"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind("{\n  \"schema_version\": 1,\n", 0) == 0);
    const json doc = json::parse(r.out);
    CHECK(doc.at("schema_version") == 1);
    CHECK(doc.at("skipped") == json::array());
    CHECK(doc.at("summary") == json({{"evaluations", 1},
                                     {"real_calls", 4},
                                     {"cache_hits", 0},
                                     {"errors", 0},
                                     {"interrupted", false}}));
    REQUIRE(doc.at("rows").size() == 1);
    const json& row = doc.at("rows")[0];
    CHECK(row.at("commit") == p.v3);
    CHECK(row.at("subject") == "greet: say hey");
    CHECK(row.at("prompt") == "greet");
    CHECK(row.at("path") == "prompts/greet.toml");
    CHECK(row.at("version") == "v3");
    CHECK(row.at("eval_key").get<std::string>().size() == 40);
    CHECK(row.at("duplicate") == false);
    CHECK(row.at("finished") == true);
    CHECK(row.at("metric") == "accuracy");
    CHECK(row.at("value").get<double>() == Approx(0.75));
    REQUIRE(row.at("interval").size() == 2);
    CHECK(row.at("interval")[0].get<double>() == Approx(0.3006).epsilon(0.001));
    CHECK(row.at("interval")[1].get<double>() == Approx(0.9544).epsilon(0.001));
    CHECK(row.at("delta").is_null());
    CHECK(row.at("reused") == false);
    CHECK(row.at("calls") == 4);
    CHECK(row.at("model") == "local/test-model");
    CHECK(row.at("dataset") == "evals/greet.jsonl");
    CHECK(row.at("repeat") == 1);
    CHECK(row.at("outcomes") == "pppf");
    CHECK(row.at("case_ids") == json({"ann", "bob", "cid", "dee"}));
    CHECK(row.at("flaky") == json::array());
    CHECK(row.at("errors") == 0);
    CHECK(row.at("metrics").at("cases") == 4);
    CHECK(row.at("metrics").at("passed") == 3);
    CHECK(row.at("metrics").at("real_calls") == 4);
    CHECK(row.at("metrics").at("tokens_in") == 8);   // "Hey Ann!" is 2 words, 4 times
    CHECK(row.at("metrics").at("tokens_out") == 5);  // "ok" x 3 and "Hey Dee!"
    const std::string results = row.at("results_file").get<std::string>();
    CHECK(results ==
          (p.path() / ".git" / "promptops" / "results" / (row.at("eval_key").get<std::string>() + ".jsonl"))
              .string());
    const std::string text = read_text(results);
    CHECK(std::count(text.begin(), text.end(), '\n') == 4);
    CHECK(text.find("\"output\":\"Hey Dee!\"") != std::string::npos);
    // A cached evaluation points at the same per-case results.
    const json cached = eval_json(p.path(), {"HEAD~1..HEAD"});
    CHECK(cached.at("rows").at(0).at("reused") == true);
    CHECK(cached.at("rows").at(0).at("results_file") == results);
  }
  SECTION("junit has a testsuite per row and a failure per failed case with the assertion's reason") {
    const RunResult r = run_promptops(p.path(), {"eval", "HEAD~1..HEAD", "--format", "junit"});
    CHECK(r.exit_code == 0);
    // clang-format off
    CHECK(r.out ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<testsuites name=\"git-promptops eval\">\n"
          "  <testsuite name=\"greet@" + short_sha(p.v3) + "\" tests=\"4\" failures=\"1\" errors=\"0\">\n"
          "    <properties><property name=\"accuracy\" value=\"0.7500\"/></properties>\n"
          "    <testcase classname=\"greet\" name=\"ann\"/>\n"
          "    <testcase classname=\"greet\" name=\"bob\"/>\n"
          "    <testcase classname=\"greet\" name=\"cid\"/>\n"
          "    <testcase classname=\"greet\" name=\"dee\">\n"
          "      <failure message=\"expected &quot;ok&quot;, got &quot;Hey Dee!&quot;\"/>\n"
          "    </testcase>\n"
          "  </testsuite>\n"
          "</testsuites>\n");
    // clang-format on
    // The same report when the evaluation comes from the cache.
    const RunResult cached = run_promptops(p.path(), {"eval", "HEAD~1..HEAD", "--format", "junit"});
    CHECK(cached.exit_code == 0);
    CHECK(cached.out == r.out);
    const RunResult three = run_promptops(p.path(), {"eval", "HEAD~3..HEAD", "--format", "junit"});
    CHECK(three.exit_code == 0);
    CHECK(count_of(three.out, "<testsuite ") == 3);
    CHECK(count_of(three.out, "<testsuite name=\"greet@" + short_sha(p.unrelated) +
                                  "\" tests=\"4\" failures=\"2\"") == 1);
  }
  SECTION("markdown") {
    const RunResult r = run_promptops(p.path(), {"eval", "HEAD~2..HEAD", "--format", "markdown"});
    CHECK(r.exit_code == 0);
    // clang-format off
    CHECK(r.out ==
          "| COMMIT | PROMPT | VERSION | METRIC | VALUE | 95% CI | DELTA | CALLS | COST | SUBJECT |\n"
          "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
          "| `" + short_sha(p.unrelated) + "` | greet | v2 | accuracy | 0.500 | [0.15, 0.85] |  | 4 | - | add readme |\n"
          "| `" + short_sha(p.v3) + "` | greet | v3 | accuracy | 0.750 | [0.30, 0.95] | +0.250 | 4 | - | greet: say hey |\n");
    // clang-format on
  }
  SECTION("csv") {
    const RunResult r = run_promptops(p.path(), {"eval", "HEAD~2..HEAD", "--format", "csv"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "COMMIT,PROMPT,VERSION,METRIC,VALUE,95% CI,DELTA,CALLS,COST,SUBJECT\n" +
                       short_sha(p.unrelated) +
                       ",greet,v2,accuracy,0.500,\"[0.15, 0.85]\",,4,-,add readme\n" + short_sha(p.v3) +
                       ",greet,v3,accuracy,0.750,\"[0.30, 0.95]\",+0.250,4,-,greet: say hey\n");
  }
}
