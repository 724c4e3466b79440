// SPDX-License-Identifier: MIT
// End-to-end: `eval` when things go wrong: provider faults and retries, a rejected key, Ctrl-C,
// bad datasets, assertions, names and revisions, missing keys, and exec providers and trust.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
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

// Every file under `dir` whose bytes contain `needle`, as paths relative to `dir`.
std::vector<std::string> files_containing(const std::filesystem::path& dir, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && contains(read_text(it->path()), needle)) {
      found.push_back(std::filesystem::relative(it->path(), dir).string());
    }
  }
  return found;
}

Fault status_fault(int status, std::optional<std::string> retry_after = std::nullopt) {
  Fault fault;
  fault.kind = Fault::Kind::status;
  fault.status = status;
  fault.retry_after = std::move(retry_after);
  return fault;
}

Fault kind_fault(Fault::Kind kind) {
  Fault fault;
  fault.kind = kind;
  return fault;
}

std::size_t seen_with_status(const LlmServer& server, int status) {
  return count_seen(server, [&](const SeenRequest& request) { return request.status == status; });
}

}  // namespace

// --- retries -----------------------------------------------------------------------------------

TEST_CASE("eval retries a 429 with Retry-After 0, a 503 and a dropped connection, and the result is right",
          "[e2e][eval]") {
  GreetProject p;
  // The run succeeds with v3's result after `requests` requests, of which `faulted` got `status`
  // (0: dropped); a second run takes everything from the cache.
  const auto check = [&](std::size_t requests, int status, std::size_t faulted) {
    const json doc = eval_json(p.path(), {"HEAD"});
    const json& row = doc.at("rows").at(0);
    CHECK(row.at("value").get<double>() == Approx(0.75));
    CHECK(row.at("outcomes") == "pppf");
    CHECK(row.at("errors") == 0);
    CHECK(row.at("calls") == 4);
    CHECK(p.server.requests() == requests);
    CHECK(p.server.answered() == 4);
    CHECK(seen_with_status(p.server, status) == faulted);
    const json again = eval_json(p.path(), {"HEAD"});
    CHECK(p.server.requests() == requests);
    CHECK(again.at("rows").at(0).at("outcomes") == "pppf");
    CHECK(again.at("rows").at(0).at("reused") == true);
  };
  SECTION("429 with Retry-After: 0") {
    p.server.inject({status_fault(429, "0")});
    check(5, 429, 1);
  }
  SECTION("503 twice") {
    p.server.inject({status_fault(503), status_fault(503)});
    check(6, 503, 2);
  }
  SECTION("a dropped connection") {
    p.server.inject({kind_fault(Fault::Kind::drop)});
    check(5, 0, 1);
  }
}

// The per-case results file that an error's hint names (its path holds the eval key).
static std::string results_file(const std::string& err) {
  const std::size_t start = err.find("the per-case results are in ");
  const std::size_t end = err.find("; run the same command", start);
  if (start == std::string::npos || end == std::string::npos) {
    return "(no results file named)";
  }
  return err.substr(start + 28, end - start - 28);
}

TEST_CASE(
    "a 500 on every attempt is an error for that case after max_retries, and the table is still printed",
    "[e2e][eval]") {
  GreetProject p("max_retries = 2\n");
  p.server.inject_when("Hey Cid", status_fault(500));
  const RunResult r = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(r.exit_code == 2);
  CHECK(seen_with(p.server, "Hey Cid") == 3);  // the first attempt and 2 retries
  CHECK(p.server.requests() == 6);
  // The 95% CI cell says how many cases are missing instead.
  CHECK(r.out == eval_table({greet_row(short_sha(p.v3), "v3", "0.667", "1 without answer", "", "3",
                                       "greet: say hey")}));
  CHECK(r.err ==
        "1 evaluation (0 from the cache), 3 model calls, 0 cached answers\n"
        "git-promptops: error: 1 of 4 cases got no answer from provider 'local' (" + p.server.base_url() +
            "): HTTP 500: Injected fault: HTTP 500\n"
        "hint: the per-case results are in " + results_file(r.err) +
            "; run the same command again to retry them; answers already received are cached\n");
}

TEST_CASE("a malformed answer is an error for that case only, and a rerun asks again for that case alone",
          "[e2e][eval]") {
  GreetProject p;
  p.server.inject_when("Hey Cid", kind_fault(Fault::Kind::malformed));
  const RunResult r = run_promptops(p.path(), {"eval", "HEAD", "--format", "json"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "git-promptops: error: 1 of 4 cases got no answer from provider 'local' ("));
  CHECK(p.server.requests() == 4);  // a malformed answer is not retried
  const json doc = json::parse(r.out);
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("outcomes") == "ppef");
  CHECK(row.at("errors") == 1);
  CHECK(doc.at("summary").at("errors") == 1);
  // The per-case results say why.
  const std::string results = read_text(row.at("results_file").get<std::string>());
  bool found = false;
  for (std::size_t start = 0; start < results.size();) {
    const std::size_t end = results.find('\n', start);
    const json record = json::parse(results.substr(start, end - start));
    if (record.at("id") == "cid") {
      found = true;
      CHECK(record.at("pass") == false);
      CHECK(record.at("error").get<std::string>().rfind("malformed: ", 0) == 0);
    }
    start = end + 1;
  }
  CHECK(found);

  // The server behaves again: only Cid is asked.
  p.server.inject_when("Hey Cid", kind_fault(Fault::Kind::slow));
  p.server.reset_counters();
  const RunResult again = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(again.exit_code == 0);
  CHECK(p.server.requests() == 1);
  CHECK(seen_with(p.server, "Hey Cid") == 1);
  CHECK(again.out ==
        eval_table({greet_row(short_sha(p.v3), "v3", "0.750", "[0.30, 0.95]", "", "1", "greet: say hey")}));
  CHECK(again.err == "1 evaluation (0 from the cache), 1 model call, 3 cached answers\n");
  // The note of the run with an error is replaced by the complete result.
  const std::vector<json> lines = note_lines(p.repo, "HEAD");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].at("outcomes") == "pppf");
  CHECK(lines[0].at("errors") == 0);
  CHECK(lines[0].at("value").get<double>() == Approx(0.75));
}

// --- credentials -------------------------------------------------------------------------------

TEST_CASE("a rejected API key stops eval with exit 2, writes no notes, and the key appears nowhere",
          "[e2e][eval]") {
  GreetProject p("api_key_env = \"PROMPTOPS_TEST_KEY\"\n");
  const std::string right = "right-key-0123456789";
  const std::string wrong = "wrong-key-9876543210";
  p.server.set_key(right);
  const RunResult r = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"}, {{"PROMPTOPS_TEST_KEY", wrong}});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "git-promptops: error: authentication failed for provider 'local' (HTTP 401 from "));
  CHECK(contains(r.err, "check the key in $PROMPTOPS_TEST_KEY"));
  CHECK(!contains(r.err, wrong));
  CHECK(!contains(r.out, wrong));
  CHECK(p.server.answered() == 0);
  CHECK(p.server.requests() >= 1);
  CHECK(p.server.requests() <= 8);  // the run stops: no retries, nothing past the first requests
  CHECK(!has_notes_ref(p.repo));
  CHECK(files_containing(p.path() / ".git", wrong).empty());
  // Every request carried the key the environment named.
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.headers.at("authorization") == "Bearer " + wrong);
  }

  p.server.reset_counters();
  const RunResult ok = run_promptops(p.path(), {"eval", "HEAD~3..HEAD"}, {{"PROMPTOPS_TEST_KEY", right}});
  CHECK(ok.exit_code == 0);
  CHECK(p.server.requests() == 8);
  CHECK(p.server.answered() == 8);
  CHECK(files_containing(p.path() / ".git", right).empty());
}

// --- interrupt ---------------------------------------------------------------------------------

TEST_CASE("Ctrl-C stops eval with exit 130, keeps the answers received, and the same command resumes",
          "[e2e][eval]") {
  GreetProject p("max_concurrency = 2\n");
  p.repo.write("evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"}));
  const std::string head = p.repo.commit("greet: eight cases");
  p.server.set_latency(std::chrono::milliseconds(150));

  BackgroundRun run(p.path(), {"eval", "HEAD"});
  REQUIRE(wait_until([&] { return p.server.requests() >= 2; }));
  run.signal(SIGINT);
  const RunResult first = run.wait();
  const std::size_t requests_before = p.server.requests();
  const std::size_t answered_before = p.server.answered();
  INFO("stdout: " << first.out << "stderr: " << first.err);
  CHECK(first.exit_code == 130);
  CHECK(
      contains(first.err, "git-promptops: error: interrupted: " + std::to_string(answered_before) + " answer" +
                              (answered_before == 1 ? "" : "s") +
                              " received in this run kept in the cache; run the same command to resume\n"));
  CHECK(first.out == eval_table({{short_sha(head), "greet", "v3", "-", "unfinished", "", "", "", "",
                                  "greet: eight cases"}}));
  CHECK(requests_before < 8);
  CHECK(answered_before >= 1);
  // Requests in flight when Ctrl-C came were given time to finish.
  CHECK(answered_before == requests_before);
  CHECK(!has_notes_ref(p.repo));

  const RunResult stats = run_promptops(p.path(), {"cache", "stats", "--format", "json"});
  REQUIRE(stats.exit_code == 0);
  const json kinds = json::parse(stats.out).at("kinds");
  CHECK(kinds.at("response").at("entries") == answered_before);
  CHECK(!kinds.contains("eval"));

  p.server.set_latency(std::chrono::milliseconds(0));
  p.server.reset_counters();
  const RunResult second = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(second.exit_code == 0);
  const std::size_t requests_after = p.server.requests();
  CHECK(requests_after == 8 - answered_before);
  CHECK(requests_before + requests_after == 8 + (requests_before - answered_before));
  const std::string calls = std::to_string(8 - answered_before);
  CHECK(second.out == eval_table({greet_row(short_sha(head), "v3", "0.375", wilson_text(3, 8), "", calls,
                                            "greet: eight cases")}));
  CHECK(second.err == "1 evaluation (0 from the cache), " + calls + " model calls, " +
                          std::to_string(answered_before) + " cached answer" +
                          (answered_before == 1 ? "" : "s") + "\n");
}

TEST_CASE("Ctrl-C through git: the copy git forwards is the same Ctrl-C, the in-flight answers are kept",
          "[e2e][eval]") {
  // A terminal's Ctrl-C signals the whole foreground group, git and git-promptops alike, and git
  // forwards its copy to its child: two SIGINTs at once, which must not count as a second Ctrl-C.
  GreetProject p("max_concurrency = 4\n");
  std::vector<std::string> names;
  for (int i = 0; i < 16; ++i) {
    names.push_back("N" + std::to_string(i));
  }
  p.repo.write("evals/greet.jsonl", greet_cases(names));
  p.repo.commit("greet: sixteen cases");
  p.server.set_latency(std::chrono::milliseconds(300));

  BackgroundRun run(p.path(), {"eval", "HEAD"}, {}, BackgroundRun::Launch::through_git);
  REQUIRE(wait_until([&] { return p.server.requests() >= 4; }));
  run.signal_group(SIGINT);
  const RunResult first = run.wait();
  const std::size_t requests_before = p.server.requests();
  const std::size_t answered_before = p.server.answered();
  INFO("stdout: " << first.out << "stderr: " << first.err);
  CHECK(first.exit_code == 130);
  CHECK(contains(first.err, "git-promptops: error: interrupted: " + std::to_string(answered_before) +
                                " answers received in this run kept in the cache; run the same command to "
                                "resume\n"));
  CHECK(requests_before < 16);
  // The 4 requests in flight got their grace period: every request sent was answered.
  CHECK(answered_before >= 4);
  CHECK(answered_before == requests_before);

  p.server.set_latency(std::chrono::milliseconds(0));
  p.server.reset_counters();
  const RunResult second = run_promptops(p.path(), {"eval", "HEAD"});
  CHECK(second.exit_code == 0);
  CHECK(p.server.requests() == 16 - answered_before);
}

// --- errors in the user's files and arguments --------------------------------------------------

TEST_CASE("eval reports bad datasets, assertions, names, revisions and keys with exit 2 and no model call",
          "[e2e][eval]") {
  LlmServer server;
  TempRepo repo;
  repo.write(".promptops.toml", config_toml(server));
  repo.write("evals/greet.jsonl", greet_cases({"Ann", "Bob"}));
  repo.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
  repo.write("prompts/plain.toml", "template = \"Just {{who}}\"\n\n[vars]\nwho = { required = true }\n");

  SECTION("a dataset line that is not JSON") {
    repo.write("prompts/x.toml",
               "template = \"X {{who}}\"\n\n[vars]\nwho = { required = true }\n\n[eval]\ndataset = "
               "\"evals/x.jsonl\"\n");
    repo.write("evals/x.jsonl", greet_cases({"Ann", "Bob"}) + "{\"vars\": {\"who\": \"Cid\"}\n");
    repo.commit("x");
    const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "git-promptops: error: evals/x.jsonl:3:"));
    CHECK(r.out.empty());
  }
  SECTION("an unknown assertion type") {
    repo.write("prompts/greet.toml",
               greet_toml("Hey {{who}}!", "assert = [ { type = \"contians\", value = \"ok\" } ]\n"));
    repo.commit("typo");
    const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "prompts/greet.toml:"));
    CHECK(contains(r.err, "contians"));
    CHECK(contains(r.err, "hint: did you mean 'contains'?"));
  }
  SECTION("an unknown metric") {
    repo.write("prompts/greet.toml",
               greet_toml("Hey {{who}}!").replace(greet_toml("Hey {{who}}!").find("accuracy"), 8, "acuracy"));
    repo.commit("typo");
    const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err,
                   "unknown metric 'acuracy' in [eval] of prompt 'greet'\nhint: did you mean 'accuracy'?\n"));
  }
  SECTION("a prompt without [eval]: skipped unless named") {
    repo.commit("prompts");
    const json doc = eval_json(repo.path(), {"HEAD"});
    CHECK(doc.at("skipped") == json({"plain"}));
    CHECK(doc.at("rows").size() == 1);
    server.reset_counters();
    const std::string expected =
        "git-promptops: error: prompts/plain.toml: prompt 'plain' has no [eval] section\n"
        "hint: add [eval] with dataset = \"evals/plain.jsonl\" to prompts/plain.toml\n";
    const RunResult worktree = run_promptops(repo.path(), {"eval", "--", "plain"});
    CHECK(worktree.exit_code == 2);
    CHECK(worktree.err == expected);
    const RunResult at_head = run_promptops(repo.path(), {"eval", "HEAD", "--", "plain"});
    CHECK(at_head.exit_code == 2);
    CHECK(at_head.err == expected);
  }
  SECTION("an unknown prompt name") {
    repo.commit("prompts");
    const std::string expected =
        "git-promptops: error: no prompt named 'gret' at the evaluated commits\n"
        "hint: did you mean 'greet'?\n";
    const RunResult worktree = run_promptops(repo.path(), {"eval", "--", "gret"});
    CHECK(worktree.exit_code == 2);
    CHECK(worktree.err == expected);
    const RunResult at_head = run_promptops(repo.path(), {"eval", "HEAD", "--", "gret"});
    CHECK(at_head.exit_code == 2);
    CHECK(at_head.err == expected);
  }
  SECTION("an unknown revision") {
    repo.commit("prompts");
    const RunResult typo = run_promptops(repo.path(), {"eval", "HEAD~1..mian"});
    CHECK(typo.exit_code == 2);
    CHECK(typo.err == "git-promptops: error: unknown revision 'mian'\nhint: did you mean 'main'?\n");
    const RunResult name = run_promptops(repo.path(), {"eval", "greet"});
    CHECK(name.exit_code == 2);
    CHECK(contains(name.err, "git-promptops: error: unknown revision 'greet'\n"));
    CHECK(contains(name.err,
                   "hint: to evaluate a prompt by name, put it after --: git promptops eval -- greet\n"));
  }
  SECTION("a key variable that is not set") {
    repo.write(".promptops.toml", config_toml(server, "api_key_env = \"PROMPTOPS_TEST_KEY\"\n"));
    repo.commit("prompts");
    const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"}, {{"PROMPTOPS_TEST_KEY", ""}});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "provider 'local' reads its key from $PROMPTOPS_TEST_KEY, which is not set\n"));
    CHECK(contains(r.err, "hint: export PROMPTOPS_TEST_KEY=<your key>\n"));
  }
  SECTION("usage errors exit 129") {
    repo.commit("prompts");
    CHECK(run_promptops(repo.path(), {"eval", "HEAD~1", "HEAD"}).exit_code == 129);
    CHECK(run_promptops(repo.path(), {"eval", "HEAD", "--repeat", "0"}).exit_code == 129);
    CHECK(run_promptops(repo.path(), {"eval", "HEAD", "--suite-at", "oldest"}).exit_code == 129);
    CHECK(run_promptops(repo.path(), {"eval", "HEAD", "--format", "xml"}).exit_code == 129);
    CHECK(run_promptops(repo.path(), {"eval", "HEAD...HEAD~1"}).exit_code == 129);
  }
  CHECK(server.requests() == 0);
}

TEST_CASE("exec providers run only in repositories whose user trusts them", "[e2e][eval]") {
  TempRepo repo;
  repo.write(".promptops.toml",
             "[providers.script]\n"
             "kind = \"exec\"\n"
             "command = [\"/bin/sh\", \"model.sh\"]\n"
             "\n"
             "[defaults.model]\n"
             "provider = \"script\"\n"
             "name = \"script-model\"\n");
  // The request is JSON on stdin; the answer is stdout.
  repo.write("model.sh",
             "input=$(cat)\n"
             "case \"$input\" in\n"
             "  *'Hey Ann'*|*'Hey Bob'*) echo ok ;;\n"
             "  *) echo no ;;\n"
             "esac\n");
  repo.write("evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid", "Dee"}));
  repo.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
  repo.commit("exec project");

  const RunResult untrusted = run_promptops(repo.path(), {"eval", "HEAD"});
  CHECK(untrusted.exit_code == 2);
  CHECK(untrusted.out.empty());
  CHECK(untrusted.err ==
        "git-promptops: error: exec provider 'script' runs `/bin/sh model.sh` but this repository is not "
        "trusted "
        "to run commands\n"
        "hint: read the command in .promptops.toml, then run: git config promptops.trustExec true\n");

  repo.git({"config", "promptops.trustExec", "true"});
  const json doc = eval_json(repo.path(), {"HEAD"});
  const json& row = doc.at("rows").at(0);
  CHECK(row.at("model") == "script/script-model");
  CHECK(row.at("outcomes") == "ppff");
  CHECK(row.at("value").get<double>() == Approx(0.5));
  CHECK(row.at("calls") == 4);
}

TEST_CASE("a preset kind runs on its key variable, and a local server's preset sends no key", "[e2e][eval]") {
  GreetProject p;
  std::string config = p.repo.read(".promptops.toml");
  config.replace(config.find("kind = \"openai\""), 15, "kind = \"groq\"");  // base_url: the loopback server
  p.repo.write(".promptops.toml", config);
  const RunResult groq = run_promptops(p.path(), {"eval"}, {{"GROQ_API_KEY", "groq-key-0123456789"}});
  INFO(groq.err);
  CHECK(groq.exit_code == 0);
  REQUIRE(p.server.requests() == 4);
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.headers.at("authorization") == "Bearer groq-key-0123456789");
  }

  config.replace(config.find("kind = \"groq\""), 13, "kind = \"vllm\"");
  p.repo.write(".promptops.toml", config);
  p.server.reset_counters();
  const RunResult vllm = run_promptops(p.path(), {"eval", "--no-cache"}, {{"GROQ_API_KEY", "groq-key-0123456789"}});
  CHECK(vllm.exit_code == 0);
  REQUIRE(p.server.requests() == 4);
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.headers.count("authorization") == 0);
  }
}
