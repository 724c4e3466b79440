// SPDX-License-Identifier: MIT
// End-to-end tests of notes as untrusted input: malformed lines are skipped with one warning per
// commit, a forged note shows as the source of its figures, and promptops.trustNotes=false and
// --verify-notes recompute what notes claim.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using namespace promptops::test::gate;
using json = nlohmann::json;

namespace {

// A JSON line nested `depth` arrays deep.
std::string deep_line(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// Replaces the note of `rev` with `text`.
void set_note(const TempRepo& repo, const std::string& rev, const std::string& text) {
  const RunResult r =
      run(repo.path(), {"git", "notes", "--ref=promptops", "add", "-f", "-F", "-", rev}, {}, text);
  INFO("git notes add: " << r.err);
  REQUIRE(r.exit_code == 0);
}

std::size_t lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t count = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    count += text.compare(at, prefix.size(), prefix) == 0 ? 1 : 0;
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return count;
}

// The greet gate project with "Nope {{who}}!" committed on top: the server echoes it back, so its
// true accuracy is 0.000 (the base's is 1.000). Its note is forged: the eval of HEAD is recorded
// while the server answers "ok" to everything, then the cache is cleared and the server is honest
// again, as in a fresh clone that fetched the notes of someone who ran another server.
struct ForgedRegression {
  GateProject project;
  std::string bad;

  ForgedRegression() {
    project.repo.write("prompts/greet.toml", project.prompt("Nope {{who}}!"));
    bad = project.repo.commit("greet: nope");
    project.server.set_responder([](const json&) { return std::string("ok"); });
    eval_json(project.repo.path(), {"HEAD"});
    REQUIRE(note_lines(project.repo, "HEAD").at(0).at("value") == 1.0);
    REQUIRE(run_promptops(project.repo.path(), {"cache", "clear"}).exit_code == 0);
    project.server.set_rules(gate_rules());
    project.server.reset_counters();
  }

  const TempRepo& repo() const { return project.repo; }
};

}  // namespace

TEST_CASE("malformed note lines are skipped with one warning naming the commit, and every command works",
          "[e2e][notes]") {
  GreetProject p;
  const json first = eval_json(p.path(), {"HEAD"});
  const std::string valid = p.repo.git({"notes", "--ref=promptops", "show", "HEAD"});
  const std::string key = first.at("rows").at(0).at("eval_key").get<std::string>();
  // Line 1: the bad type; 2: text; 3: an eval entry whose value is a string; 4: 100,000 levels
  // deep; 5: the real entry.
  const std::string wrong_type =
      json{{"key", "eval:greet:" + key}, {"type", "eval"}, {"eval_key", key}, {"prompt", "greet"}, {"value", "high"}}
          .dump();
  set_note(p.repo, "HEAD", "{\"type\": 5}\nnot json at all\n" + wrong_type + "\n" + deep_line(100000) + "\n" + valid);
  REQUIRE(run_promptops(p.path(), {"cache", "clear"}).exit_code == 0);
  p.server.reset_counters();
  const std::string warning = "git-promptops: warning: ignoring 4 malformed lines in the promptops note of " +
                              short_sha(p.v3) +
                              " (line 1: no string \"key\"; line 2: not JSON; line 4: nested deeper than 32 "
                              "levels; ...)\n";

  SECTION("eval takes the valid line and warns once") {
    const RunResult r = run_promptops(p.path(), {"eval", "HEAD"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err == warning + "1 evaluation (0 from the cache, 1 from notes), 0 model calls, 0 cached answers\n");
    CHECK(r.out == eval_table({greet_row(short_sha(p.v3), "v3", "0.750", "[0.30, 0.95]", "", "notes",
                                         "greet: say hey")}));
    CHECK(p.server.requests() == 0);
  }
  SECTION("log shows the valid line's metric and warns once") {
    const RunResult r = run_promptops(p.path(), {"log", "greet"});
    CHECK(r.exit_code == 0);
    CHECK(r.err == warning);
    CHECK(r.out.find("accuracy 0.750") != std::string::npos);
    const RunResult j = run_promptops(p.path(), {"log", "greet", "--format", "json"});
    CHECK(j.exit_code == 0);
    CHECK(json::parse(j.out).at("versions").at(0).at("eval").at("source") == "notes");
  }
  SECTION("check, which reads the note more than once, warns once") {
    p.repo.write("prompts/greet.toml", greet_toml("Hi {{who}}!"));
    const RunResult r = run_promptops(p.path(), {"check"});
    INFO("stdout: " << r.out);
    CHECK(r.exit_code == 0);  // 0.750 -> 0.500: one case flips, not significant
    CHECK(lines_starting(r.err, "git-promptops: warning:") == 1);
    CHECK(r.err.find(warning) != std::string::npos);
  }
  SECTION("compare warns once") {
    const RunResult r = run_promptops(p.path(), {"compare", "greet@v2", "greet@v3"});
    INFO("stdout: " << r.out);
    CHECK(r.exit_code == 0);
    CHECK(lines_starting(r.err, "git-promptops: warning:") == 1);
    CHECK(r.err.find(warning) != std::string::npos);
  }
}

TEST_CASE("a forged note passes a real regression unless notes are not trusted or verified", "[e2e][notes]") {
  ForgedRegression forged;
  const TempRepo& repo = forged.repo();
  const std::string header = "check: " + short_sha(forged.bad) + " against " + short_sha(forged.project.base) + "\n";

  SECTION("trusted: the gate passes and the report says the figure came from notes") {
    const RunResult r = run_promptops(repo.path(), {"check", "HEAD"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == header +
                       "ok     greet\n"
                       "    accuracy 1.000 → 1.000 (0.000; max_drop 0.000, p = 1.0000 by McNemar)\n"
                       "    candidate from notes (not recomputed)\n"
                       "gate passed: 1 changed prompt judged\n");
    const RunResult j = run_promptops(repo.path(), {"check", "HEAD", "--format", "json"});
    CHECK(j.exit_code == 0);
    const json doc = json::parse(j.out);
    CHECK(doc.at("prompts").at(0).at("candidate").at("source") == "notes");
    CHECK(doc.at("prompts").at(0).at("baseline").at("source") == "cache");
    const json eval = eval_json(repo.path(), {"HEAD"});
    CHECK(eval.at("rows").at(0).at("source") == "notes");
  }
  SECTION("promptops.trustNotes=false: evaluated for real, even after a trusting run cached the note") {
    REQUIRE(run_promptops(repo.path(), {"check", "HEAD"}).exit_code == 0);
    repo.git({"config", "promptops.trustNotes", "false"});
    const RunResult r = run_promptops(repo.path(), {"check", "HEAD"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out == header +
                       "FAIL   greet\n"
                       "  ✗ accuracy 1.000 → 0.000 (-1.000; drop > max_drop 0.000, p = 0.0078 by McNemar)\n"
                       "    newly failing (8): ann, bob, cid, dee, eve, fay, gus, hal\n"
                       "gate failed: 1 of 1 changed prompt regressed\n");
    // log shows no figure from notes either.
    const RunResult log = run_promptops(repo.path(), {"log", "greet"});
    CHECK(log.exit_code == 0);
    CHECK(log.out.find("METRIC") == std::string::npos);
  }
  SECTION("check --verify-notes: the gate fails on the recomputed figures and the note is named") {
    const RunResult r = run_promptops(repo.path(), {"check", "HEAD", "--verify-notes"});
    INFO("stdout: " << r.out);
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAIL   greet\n  ✗ accuracy 1.000 → 0.000") != std::string::npos);
    CHECK(r.err == "git-promptops: error: the note on " + short_sha(forged.bad) +
                       " claims accuracy 1.000 for prompt 'greet', recomputed 0.000\n");
    const RunResult j = run_promptops(repo.path(), {"check", "HEAD", "--verify-notes", "--format", "json"});
    CHECK(j.exit_code == 1);
  }
  SECTION("eval --verify-notes: exit 1 naming commit, prompt and metric; the recomputed row is printed") {
    const RunResult r = run_promptops(repo.path(), {"eval", "HEAD", "--verify-notes"});
    CHECK(r.exit_code == 1);
    CHECK(r.out == eval_table({greet_row(short_sha(forged.bad), "v2", "0.000", wilson_text(0, 8), "", "8",
                                         "greet: nope")}));
    CHECK(r.err == "1 evaluation (0 from the cache), 8 model calls, 0 cached answers\n"
                   "git-promptops: error: the note on " +
                       short_sha(forged.bad) + " claims accuracy 1.000 for prompt 'greet', recomputed 0.000\n");
    // The run recorded the true figure: the note now agrees.
    CHECK(note_lines(repo, "HEAD").at(0).at("value") == 0.0);
    const json doc = eval_json(repo.path(), {"HEAD", "--verify-notes"});
    CHECK(doc.at("note_mismatches").empty());
    CHECK(doc.at("rows").at(0).at("source") == "cache");
  }
}
