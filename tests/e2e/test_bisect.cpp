// SPDX-License-Identifier: MIT
// End-to-end tests of `bisect` and `bisect-run`: real histories (linear, with merges, with a
// broken commit), a loopback model server that counts every request, and git's own bisect.
//
// Every version of the prompt renders prompts no other version renders (a "#N" suffix), so an
// evaluation costs exactly one model request per case (8 cases) and the request count pins the
// number of evaluations. The expected search paths are worked out from probe(): with --verify the
// bad side first, then the good side (without it the ends are taken as given), then the version
// nearest the middle of the open interval (on a tie the lower index), preferring versions whose
// result is already known.
#include <cmath>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
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

constexpr std::size_t k_cases = 8;  // k_names: one request per case per evaluation

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// "Hey {{who}}! #N": right for the eight names (gate_rules); "Yo {{who}}! #N": right for Ann and Bob.
std::string hey(int n) { return greet_toml("Hey {{who}}! #" + std::to_string(n)); }
std::string yo(int n) { return greet_toml("Yo {{who}}! #" + std::to_string(n)); }

// The files of a first commit: the config at `server`, the eight cases, and greet `prompt`.
std::map<std::string, std::string> project_files(const LlmServer& server, const std::string& prompt) {
  return {{".promptops.toml", config_toml(server)},
          {"evals/greet.jsonl", greet_cases(k_names)},
          {"prompts/greet.toml", prompt},
          {"README.md", "# demo\n"}};
}

// The author date of import_commits()'s n-th commit (1-based), as bisect prints it.
std::string import_date(int n) {
  const std::time_t when = static_cast<std::time_t>(1700000000 + n * 3600);
  std::tm tm{};
  gmtime_r(&when, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return text;
}

// The metric cell of a version: the value and its 95% Wilson interval over the eight cases.
std::string value_cell(int passed) {
  char value[16];
  std::snprintf(value, sizeof value, "%.3f", passed / 8.0);
  return std::string(value) + " " + wilson_text(passed, 8);
}
const std::string k_all_right = value_cell(8);  // "1.000 [0.68, 1.00]"
const std::string k_yo = value_cell(2);         // "0.250 [0.07, 0.59]"

// The versions table: COMMIT, VERDICT, the metric (right-aligned), FROM, SUBJECT; columns two
// spaces apart and as wide as their widest cell, no trailing blanks.
std::string versions_table(const std::vector<std::vector<std::string>>& rows,
                           const std::string& metric = "accuracy") {
  return aligned_table({"COMMIT", "VERDICT", metric, "FROM", "SUBJECT"}, {false, false, true, false, false},
                       rows);
}

// The text of the six cases that flip from "Hey" to "Yo" (cid..hal), indented as bisect does.
std::string yo_flips(const std::string& suffix) {
  std::string out;
  for (std::size_t i = 2; i < k_names.size(); ++i) {
    std::string id = k_names[i];
    id[0] = static_cast<char>(id[0] - 'A' + 'a');
    out += "    pass → fail " + id + ": " + k_names[i] + " (expected ok)\n";
    out += "      before: ok\n";
    out += "      after:  Yo " + k_names[i] + "! " + suffix + "\n";
  }
  return out;
}

// How many prompts the server saw that end with `suffix` (the "#N" of a version).
std::size_t seen_ending(const LlmServer& server, const std::string& suffix) {
  return count_seen(server, [&suffix](const SeenRequest& request) {
    const std::string text = LlmServer::prompt_text(request.body);
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
  });
}

// `bisect ARGS --verify`: both ends evaluated before the search, the search paths below worked
// out for it. The default (ends taken as given, as git bisect takes them) has its own tests,
// which call bisect_given().
RunResult bisect(const TempRepo& repo, std::vector<std::string> args,
                 const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), "bisect");
  args.push_back("--verify");
  return run_promptops(repo.path(), args, env);
}

// `bisect ARGS`: the ends taken as given.
RunResult bisect_given(const TempRepo& repo, std::vector<std::string> args) {
  args.insert(args.begin(), "bisect");
  return run_promptops(repo.path(), args);
}

RunResult bisect_run(const TempRepo& repo, std::vector<std::string> args,
                     const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), "bisect-run");
  return run_promptops(repo.path(), args, env);
}

// `bisect --format json ARGS`; REQUIREs `exit_code` and parses stdout.
json bisect_json(const TempRepo& repo, std::vector<std::string> args, int exit_code = 1) {
  args.insert(args.end(), {"--format", "json"});
  const RunResult r = bisect(repo, args);
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  REQUIRE(r.exit_code == exit_code);
  const json doc = json::parse(r.out, nullptr, false);
  REQUIRE(!doc.is_discarded());
  return doc;
}

// `git add -A && git commit` at import_commits()'s n-th date; returns the sha.
std::string commit_at(const TempRepo& repo, const std::string& message, int n) {
  repo.git({"add", "-A"});
  const std::string date = std::to_string(1700000000 + n * 3600) + " +0000";
  const RunResult r = run(repo.path(), {"git", "commit", "-q", "-m", message},
                          {{"GIT_AUTHOR_DATE", date}, {"GIT_COMMITTER_DATE", date}});
  INFO("git commit: " << r.err);
  REQUIRE(r.exit_code == 0);
  return chomp_line(repo.git({"rev-parse", "HEAD"}));
}

// `git merge --no-ff BRANCH` into the current branch at the n-th date; returns the merge's sha.
std::string merge_at(const TempRepo& repo, const std::string& branch, int n) {
  const std::string date = std::to_string(1700000000 + n * 3600) + " +0000";
  const RunResult r =
      run(repo.path(), {"git", "merge", "--no-ff", "-q", "-m", "Merge branch '" + branch + "'", branch},
          {{"GIT_AUTHOR_DATE", date}, {"GIT_COMMITTER_DATE", date}});
  INFO("git merge: " << r.err);
  REQUIRE(r.exit_code == 0);
  return chomp_line(repo.git({"rev-parse", "HEAD"}));
}

void checkout(const TempRepo& repo, const std::string& rev) { repo.git({"checkout", "-q", "--detach", rev}); }

// The commits of each version in a report, oldest first.
std::vector<std::string> version_commits(const json& doc) {
  std::vector<std::string> out;
  for (const json& version : doc.at("versions")) {
    out.push_back(version.at("commit").get<std::string>());
  }
  return out;
}

std::vector<std::string> verdicts(const json& doc) {
  std::vector<std::string> out;
  for (const json& version : doc.at("versions")) {
    out.push_back(version.at("verdict").get<std::string>());
  }
  return out;
}

// The one "type": "bisect" line of a note.
json bisect_note(const TempRepo& repo, const std::string& sha) {
  std::vector<json> found;
  for (const json& line : note_lines(repo, sha)) {
    if (line.value("type", "") == "bisect") {
      found.push_back(line);
    }
  }
  REQUIRE(found.size() == 1);
  return found.front();
}

// Ten versions of greet on sixteen commits (import_commits(), so commit n is sha[n - 1]):
//   n  1 add greet    Hey #1   version 0 (the good side: the oldest version)
//   n  2 greet: #2    Hey #2   1
//   n  3 docs: a
//   n  4 greet: #3    Hey #3   2
//   n  5 greet: #4    Hey #4   3
//   n  6 docs: b
//   n  7 greet: #5    Hey #5   4
//   n  8 tools: c
//   n  9 greet: #6    Hey #6   5
//   n 10 greet: yo    Yo #6    6   <- the first bad commit
//   n 11 docs: d
//   n 12 greet: #8    Yo #8    7
//   n 13 greet: #9    Yo #9    8
//   n 14 docs: e
//   n 15 greet: #10   Yo #10   9 (the bad side's content)
//   n 16 docs: f               (HEAD, the bad side: same key as n 15, one version with it)
struct TenVersions {
  LlmServer server;
  TempRepo repo;
  std::vector<std::string> sha;

  TenVersions() {
    server.set_rules(gate_rules());
    sha = import_commits(repo, {{"add greet", project_files(server, hey(1))},
                                {"greet: #2", {{"prompts/greet.toml", hey(2)}}},
                                {"docs: a", {{"README.md", "# demo\na\n"}}},
                                {"greet: #3", {{"prompts/greet.toml", hey(3)}}},
                                {"greet: #4", {{"prompts/greet.toml", hey(4)}}},
                                {"docs: b", {{"README.md", "# demo\nb\n"}}},
                                {"greet: #5", {{"prompts/greet.toml", hey(5)}}},
                                {"tools: c", {{"scripts/c.sh", "echo c\n"}}},
                                {"greet: #6", {{"prompts/greet.toml", hey(6)}}},
                                {"greet: yo", {{"prompts/greet.toml", yo(6)}}},
                                {"docs: d", {{"README.md", "# demo\nd\n"}}},
                                {"greet: #8", {{"prompts/greet.toml", yo(8)}}},
                                {"greet: #9", {{"prompts/greet.toml", yo(9)}}},
                                {"docs: e", {{"README.md", "# demo\ne\n"}}},
                                {"greet: #10", {{"prompts/greet.toml", yo(10)}}},
                                {"docs: f", {{"README.md", "# demo\nf\n"}}}});
  }
  const std::string& at(int n) const { return sha.at(static_cast<std::size_t>(n - 1)); }
  std::string s(int n) const { return short_sha(at(n)); }
};

// The versions the server was asked about, in order: one evaluation (k_cases requests) per
// {greeting, suffix} pair, each request's text starting with the greeting and ending with the suffix.
void check_evaluation_order(const LlmServer& server, const std::vector<std::pair<std::string, std::string>>& order) {
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == order.size() * k_cases);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const std::string text = LlmServer::prompt_text(seen[i].body);
    const auto& [greeting, suffix] = order[i / k_cases];
    INFO("request " << i << ": " << text);
    CHECK(text.rfind(greeting + " ", 0) == 0);
    CHECK(text.substr(text.rfind(' ') + 1) == suffix);
  }
}

// The search over TenVersions (versions 0..9): bad (9), good (0), pick(0, 9): the middle is 4.5,
// 4 and 5 tie, 4 wins (good: lo = 4); pick(4, 9): 6.5, 6 wins over 7 (bad: hi = 6); pick(4, 6):
// 5 (good: lo = 5); nothing left between 5 and 6. Five evaluations: 0, 4, 5, 6 and 9.
constexpr std::size_t k_ten_evaluations = 5;

}  // namespace

// --- the search ------------------------------------------------------------------------------------

TEST_CASE("bisect finds the commit that broke a prompt among ten versions in five evaluations",
          "[e2e][bisect]") {
  TenVersions p;
  const RunResult r = bisect(p.repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  // Exactly the evaluations the search order gives, one request per case each.
  CHECK(p.server.requests() == k_ten_evaluations * k_cases);
  CHECK(k_ten_evaluations <= static_cast<std::size_t>(std::ceil(std::log2(10.0))) + 2);
  // Which versions were asked: "#1", "#5", "#6" (Hey and Yo) and "#10"; none of the others.
  CHECK(seen_ending(p.server, "! #1") == k_cases);
  CHECK(seen_ending(p.server, "! #5") == k_cases);
  CHECK(seen_ending(p.server, "! #6") == 2 * k_cases);
  CHECK(seen_ending(p.server, "! #10") == k_cases);
  for (const std::string skipped : {"! #2", "! #3", "! #4", "! #8", "! #9"}) {
    CHECK(seen_ending(p.server, skipped) == 0);
  }
  // In that order: the bad side, the good side, then 4 (#5), 6 (Yo #6) and 5 (Hey #6).
  check_evaluation_order(p.server, {{"Yo", "#10"}, {"Hey", "#1"}, {"Hey", "#5"}, {"Yo", "#6"}, {"Hey", "#6"}});
  CHECK(r.out == p.at(10) +
                     " is the first bad commit for greet\n"
                     "  subject:  greet: yo\n"
                     "  author:   Ada Tester <ada@example.com>\n"
                     "  date:     " +
                     import_date(10) +
                     "\n"
                     "  accuracy: " +
                     k_all_right + " at " + p.s(9) + " → " + k_yo +
                     " (-0.750)\n"
                     "  changed:  prompts/greet.toml\n"
                     "  flipped:  6 pass → fail, 0 fail → pass\n" +
                     yo_flips("#6") +
                     "  prompt diff:\n"
                     "    --- user ---\n"
                     "      [-Hey-]{+Yo+} {{who}}! #6\n"
                     "    chars: 15 → 14\n"
                     "    tokens: 3 → 3\n"
                     "\n"
                     "bad means accuracy below 0.500\n"
                     "\n" +
                     versions_table({{p.s(1), "good", k_all_right, "run", "add greet (good side)"},
                                     {p.s(7), "good", k_all_right, "run", "greet: #5"},
                                     {p.s(9), "good", k_all_right, "run", "greet: #6"},
                                     {p.s(10), "bad", k_yo, "run", "greet: yo"},
                                     {p.s(15), "bad", k_yo, "run", "greet: #10 (bad side)"}}));
  CHECK(r.err ==
        "searched 10 versions in 15 commits (9 touched its files): 5 evaluated, 0 from the cache, 0 from "
        "notes; 40 model calls\n"
        "binary search assumes the prompt stays bad once it goes bad: 5 versions were not evaluated and may "
        "hide other drops (--all evaluates every one)\n");

  // From scratch again (no cache, no notes), in JSON: the same search, counted the same.
  REQUIRE(run_promptops(p.repo.path(), {"cache", "clear"}).exit_code == 0);
  p.repo.git({"update-ref", "-d", "refs/notes/promptops"});
  p.server.reset_counters();
  const json doc = bisect_json(p.repo, {"greet", "--threshold", "0.5"});
  CHECK(p.server.requests() == k_ten_evaluations * k_cases);
  CHECK(doc["evaluations"] == k_ten_evaluations);
  CHECK(doc["real_calls"] == k_ten_evaluations * k_cases);
  CHECK(doc["cache_hits"] == 0);
  CHECK(doc["prompt"] == "greet");
  CHECK(doc["path"] == "prompts/greet.toml");
  CHECK(doc["metric"] == "accuracy");
  CHECK(doc["criterion"] == json({{"kind", "threshold"},
                                  {"text", "accuracy below 0.500"},
                                  {"min", {{"accuracy", 0.5}}},
                                  {"max_drop", json::object()},
                                  {"significant", false},
                                  {"confidence", 0.95}}));
  CHECK(doc["suite_at"] == "bad");
  CHECK(doc["good"] == p.at(1));
  CHECK(doc["bad"] == p.at(16));
  CHECK(doc["commits_walked"] == 15);
  CHECK(doc["candidates"] == 9);
  CHECK(doc["walk_seconds"].is_number());
  CHECK(doc["regression"] == true);
  CHECK(version_commits(doc) == std::vector<std::string>{p.at(1), p.at(2), p.at(4), p.at(5), p.at(7), p.at(9),
                                                         p.at(10), p.at(12), p.at(13), p.at(15)});
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "not evaluated", "not evaluated", "not evaluated",
                                                  "good", "good", "bad", "not evaluated", "not evaluated",
                                                  "bad"});
  const json& versions = doc["versions"];
  REQUIRE(versions.size() == 10);
  CHECK(versions[9]["commits"] == 2);  // greet: #10 and docs: f (HEAD)
  CHECK(versions[5]["commits"] == 1);
  for (const std::size_t i : std::initializer_list<std::size_t>{0, 4, 5, 6, 9}) {
    CHECK(versions[i]["source"] == "run");
    CHECK(versions[i]["key"].is_string());
    CHECK(versions[i]["interval"].size() == 2);
  }
  CHECK(versions[0]["value"] == 1.0);
  CHECK(versions[6]["value"] == 0.25);
  CHECK(versions[3]["source"].is_null());
  CHECK(versions[3]["value"].is_null());
  CHECK(versions[3]["key"].is_string());  // planned, not evaluated
  CHECK(doc["unevaluated"] == 5);
  REQUIRE(doc["drops"].size() == 1);
  const json& drop = doc["drops"][0];
  CHECK(drop["last_good"]["commit"] == p.at(9));
  CHECK(drop["last_good"]["index"] == 5);
  CHECK(drop["first_bad"]["commit"] == p.at(10));
  CHECK(drop["first_bad"]["index"] == 6);
  CHECK(drop["first_bad"]["subject"] == "greet: yo");
  CHECK(drop["first_bad"]["author"] == json({{"name", "Ada Tester"}, {"email", "ada@example.com"}}));
  CHECK(drop["first_bad"]["date"] == import_date(10));
  CHECK(drop["ambiguous"] == false);
  CHECK(drop["changed"] == json::array({"prompts/greet.toml"}));
  CHECK(drop["verdict"]["passed"] == false);
  CHECK(drop["pass_to_fail"] == 6);
  CHECK(drop["fail_to_pass"] == 0);
  REQUIRE(drop["flips"].size() == 6);
  CHECK(drop["flips"][0]["id"] == "cid");
  CHECK(drop["flips"][0]["flip"] == "pass_to_fail");
  CHECK(drop["flips"][0]["before"]["output"] == "ok");
  CHECK(drop["flips"][0]["after"]["output"] == "Yo Cid! #6");
  CHECK(drop["diff"] ==
        json::array({"--- user ---", "  [-Hey-]{+Yo+} {{who}}! #6", "chars: 15 → 14", "tokens: 3 → 3"}));
}

// --- the ends taken as given ------------------------------------------------------------------------

TEST_CASE("bisect takes the good and the bad side as given, as git bisect does: three evaluations of ten",
          "[e2e][bisect]") {
  TenVersions p;
  // No end evaluated: probe(0, 9) = 4 (good), probe(4, 9) = 6 (bad), probe(4, 6) = 5 (good).
  const RunResult r = bisect_given(p.repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(p.server.requests() == 3 * k_cases);
  // Never more than git bisect run: ceil(log2(10 - 1)) probes between two given ends.
  CHECK(3 <= static_cast<std::size_t>(std::ceil(std::log2(9.0))));
  CHECK(seen_ending(p.server, "! #1") == 0);
  CHECK(seen_ending(p.server, "! #10") == 0);
  check_evaluation_order(p.server, {{"Hey", "#5"}, {"Yo", "#6"}, {"Hey", "#6"}});
  CHECK(first_line(r.out) == p.at(10) + " is the first bad commit for greet");
  CHECK(contains(r.out, "  accuracy: " + k_all_right + " at " + p.s(9) + " → " + k_yo + " (-0.750)\n"));
  CHECK(contains(r.out, "\n\n" + versions_table({{p.s(1), "good", "-", "given", "add greet (good side)"},
                                                 {p.s(7), "good", k_all_right, "run", "greet: #5"},
                                                 {p.s(9), "good", k_all_right, "run", "greet: #6"},
                                                 {p.s(10), "bad", k_yo, "run", "greet: yo"},
                                                 {p.s(15), "bad", "-", "given", "greet: #10 (bad side)"}})));
  CHECK(r.err ==
        "searched 10 versions in 15 commits (9 touched its files): 3 evaluated, 0 from the cache, 0 from "
        "notes; 24 model calls\n"
        "binary search assumes the prompt stays bad once it goes bad: 5 versions were not evaluated and may "
        "hide other drops (--all evaluates every one)\n");

  // --verify (bisect_json passes it) evaluates the two ends only: the probes are cached.
  p.server.reset_counters();
  const json verified = bisect_json(p.repo, {"greet", "--threshold", "0.5"});
  CHECK(verified["evaluations"] == 2);
  CHECK(p.server.requests() == 2 * k_cases);
  // Now the ends are known: a default run takes them from the cache, at no cost.
  const RunResult again = run_promptops(p.repo.path(), {"bisect", "greet", "--threshold", "0.5", "--format", "json"});
  REQUIRE(again.exit_code == 1);
  const json given = json::parse(again.out);
  CHECK(given["evaluations"] == 0);
  CHECK(given["versions"][0]["source"] == "cache");  // the --verify run above evaluated it
  CHECK(given["versions"][9]["source"] == "cache");
  CHECK(given["drops"][0]["first_bad"]["commit"] == p.at(10));
  CHECK(given["unevaluated"] == 5);
  CHECK(p.server.requests() == 2 * k_cases);
}

TEST_CASE("bisect --max-drop evaluates the good side it measures from, and not the bad side", "[e2e][bisect]") {
  TenVersions p;
  // The good side (its value), then probe(0, 9) = 4 (good), 6 (bad), 5 (good): four evaluations.
  const json doc = [&] {
    const RunResult r = bisect_given(p.repo, {"greet", "--max-drop", "0.5", "--format", "json"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 1);
    return json::parse(r.out);
  }();
  CHECK(p.server.requests() == 4 * k_cases);
  CHECK(doc["evaluations"] == 4);
  CHECK(seen_ending(p.server, "! #1") == k_cases);
  CHECK(seen_ending(p.server, "! #10") == 0);
  CHECK(doc["versions"][0]["source"] == "run");
  CHECK(doc["versions"][9]["source"] == "given");
  CHECK(doc["versions"][9]["value"].is_null());
  CHECK(doc["versions"][9]["verdict"] == "bad");
  CHECK(doc["drops"][0]["first_bad"]["commit"] == p.at(10));
  CHECK(doc["drops"][0]["last_good"]["commit"] == p.at(9));
}

TEST_CASE("a first bad commit that is the bad side taken as given is named without a value", "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},
                            {"greet: yo", {{"prompts/greet.toml", yo(3)}}}});
  // Versions 0..2: probe(0, 2) = 1 (good); the boundary is the bad side, never evaluated.
  const RunResult r = bisect_given(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(server.requests() == k_cases);
  CHECK(first_line(r.out) == sha[2] + " is the first bad commit for greet");
  CHECK(contains(r.out, "  accuracy: " + k_all_right + " at " + short_sha(sha[1]) +
                            " → - (the bad side taken as given, not evaluated: --verify evaluates it)\n"));
  CHECK(contains(r.out, "  flipped:  0 pass → fail, 0 fail → pass\n"));
  const json note = bisect_note(repo, sha[2]);
  CHECK(note["before"] == 1.0);
  CHECK(note["after"].is_null());
  CHECK(note["after_interval"].is_null());
  // --verify evaluates the bad side: the same commit, now with its value.
  const RunResult verified = bisect(repo, {"greet", "--threshold", "0.5"});
  CHECK(verified.exit_code == 1);
  CHECK(contains(verified.out, " → " + k_yo + " (-0.750)\n"));
  CHECK(server.requests() == 3 * k_cases);
}

TEST_CASE("a second bisect is answered from the cache, and after cache clear from the notes",
          "[e2e][bisect]") {
  TenVersions p;
  const json fresh = bisect_json(p.repo, {"greet", "--threshold", "0.5"});
  CHECK(fresh["evaluations"] == k_ten_evaluations);
  CHECK(p.server.requests() == k_ten_evaluations * k_cases);

  // The same search through the known versions (pick() prefers them): no request at all.
  p.server.reset_counters();
  const json cached = bisect_json(p.repo, {"greet", "--threshold", "0.5"});
  CHECK(p.server.requests() == 0);
  CHECK(cached["evaluations"] == 0);
  CHECK(cached["real_calls"] == 0);
  REQUIRE(cached["drops"].size() == 1);
  CHECK(cached["drops"][0]["first_bad"]["commit"] == p.at(10));
  CHECK(cached["drops"][0]["last_good"]["commit"] == p.at(9));
  CHECK(verdicts(cached) == verdicts(fresh));
  for (const std::size_t i : std::initializer_list<std::size_t>{0, 4, 5, 6, 9}) {
    CHECK(cached["versions"][i]["source"] == "cache");
    CHECK(cached["versions"][i]["key"] == fresh["versions"][i]["key"]);
  }
  CHECK(cached["unevaluated"] == 5);

  // Without the cache, the notes that the first run wrote hold every result.
  REQUIRE(run_promptops(p.repo.path(), {"cache", "clear"}).exit_code == 0);
  p.server.reset_counters();
  const RunResult r = bisect(p.repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(p.server.requests() == 0);
  CHECK(first_line(r.out) == p.at(10) + " is the first bad commit for greet");
  // The per-case records went with the cache: the flips are listed without them.
  CHECK(contains(r.out,
                 "  flipped:  6 pass → fail, 0 fail → pass\n"
                 "    pass → fail cid\n"
                 "      before: (not recorded here)\n"
                 "      after:  (not recorded here)\n"));
  CHECK(contains(r.out, versions_table({{p.s(1), "good", k_all_right, "notes", "add greet (good side)"},
                                        {p.s(7), "good", k_all_right, "notes", "greet: #5"},
                                        {p.s(9), "good", k_all_right, "notes", "greet: #6"},
                                        {p.s(10), "bad", k_yo, "notes", "greet: yo"},
                                        {p.s(15), "bad", k_yo, "notes", "greet: #10 (bad side)"}})));
  CHECK(lines_of(r.err).front() ==
        "searched 10 versions in 15 commits (9 touched its files): 0 evaluated, 0 from the cache, 5 from "
        "notes; 0 model calls");
}

TEST_CASE("bisect follows the first parent: side branches are merges, and a breaking merge is named",
          "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  for (const auto& [path, content] : project_files(server, hey(1))) {
    repo.write(path, content);
  }
  const std::string c1 = commit_at(repo, "add greet", 1);
  repo.write("prompts/greet.toml", hey(2));
  const std::string c2 = commit_at(repo, "greet: #2", 2);
  // An unrelated side branch, merged with --no-ff after greet: #3.
  repo.git({"checkout", "-q", "-b", "docs"});
  repo.write("README.md", "# demo\nreadme\n");
  const std::string d1 = commit_at(repo, "docs: readme", 3);
  repo.write("docs/guide.md", "guide\n");
  const std::string d2 = commit_at(repo, "docs: guide", 4);
  repo.git({"checkout", "-q", "main"});
  repo.write("prompts/greet.toml", hey(3));
  const std::string c3 = commit_at(repo, "greet: #3", 5);
  const std::string m1 = merge_at(repo, "docs", 6);
  // The breaking change on a feature branch, merged while main moved on.
  repo.git({"checkout", "-q", "-b", "feature"});
  repo.write("prompts/greet.toml", yo(3));
  const std::string f1 = commit_at(repo, "greet: yo", 7);
  repo.write("feature.md", "notes\n");
  const std::string f2 = commit_at(repo, "feature: notes", 8);
  repo.git({"checkout", "-q", "main"});
  repo.write("scripts/x.sh", "echo x\n");
  const std::string c4 = commit_at(repo, "tools: script", 9);
  const std::string m2 = merge_at(repo, "feature", 10);
  repo.git({"checkout", "-q", "-b", "docs2"});
  repo.write("README.md", "# demo\nagain\n");
  const std::string e1 = commit_at(repo, "docs: again", 11);
  repo.git({"checkout", "-q", "main"});
  const std::string m3 = merge_at(repo, "docs2", 12);
  repo.write("prompts/greet.toml", yo(5));
  const std::string c5 = commit_at(repo, "greet: #5", 13);

  // First parents from c5: c5 m3 m2 c4 m1 c3 c2 (7 commits); c2, c3, m2 and c5 change greet
  // (m2 against its first parent c4). Versions c1 c2 c3 m2 c5 (0..4): bad (4), good (0), pick(0,
  // 4) = 2 (c3, good), pick(2, 4) = 3 (m2, bad). Four evaluations.
  const RunResult r = bisect(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(first_line(r.out) == m2 + " is the first bad commit for greet");
  CHECK(lines_of(r.out).at(1) == "  subject:  Merge branch 'feature'");
  CHECK(server.requests() == 4 * k_cases);

  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5"});
  CHECK(server.requests() == 4 * k_cases);
  CHECK(doc["commits_walked"] == 7);
  CHECK(doc["candidates"] == 4);
  CHECK(version_commits(doc) == std::vector<std::string>{c1, c2, c3, m2, c5});
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "not evaluated", "good", "bad", "bad"});
  REQUIRE(doc["drops"].size() == 1);
  const json& drop = doc["drops"][0];
  CHECK(drop["first_bad"]["commit"] == m2);
  CHECK(drop["last_good"]["commit"] == c3);
  CHECK(drop["changed"] == json::array({"prompts/greet.toml"}));
  CHECK(drop["pass_to_fail"] == 6);
  CHECK(drop["diff"] ==
        json::array({"--- user ---", "  [-Hey-]{+Yo+} {{who}}! #3", "chars: 15 → 14", "tokens: 3 → 3"}));
  for (const std::string& side : {d1, d2, f1, f2, e1, m1, m3, c4}) {
    CHECK(!contains(r.out, short_sha(side) + "  "));
  }

  // A good side off the first-parent path (it came in with m2) cannot bound the search.
  const RunResult off_path = bisect(repo, {"greet", "--threshold", "0.5", "--good", f1});
  CHECK(off_path.exit_code == 2);
  CHECK(first_line(off_path.err) ==
        "git-promptops: error: the good side " + short_sha(f1) +
            " \"greet: yo\" is not on the first-parent history of the bad side (it came "
            "in through a merge)");
}

TEST_CASE("bisect finds a regression that came with a model change in .promptops.toml", "[e2e][bisect]") {
  LlmServer server;
  // test-model is right for every name; cheap-model only for Ann and Bob.
  server.set_responder([](const json& body) -> std::string {
    const std::string text = LlmServer::prompt_text(body);
    if (body.value("model", "") != "cheap-model") {
      return "ok";
    }
    return contains(text, "Ann") || contains(text, "Bob") ? "ok" : "sorry?";
  });
  const std::string config = config_toml(server);
  std::string cheap = "# shared settings\n" + config;
  const std::string model_line = "name = \"test-model\"";
  REQUIRE(contains(cheap, model_line));
  cheap.replace(cheap.find(model_line), model_line.size(), "name = \"cheap-model\"");
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},                                // 1
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},                             // 2
                            {"config: comment", {{".promptops.toml", "# shared settings\n" + config}}},  // 3
                            {"greet: #3", {{"prompts/greet.toml", hey(3)}}},                             // 4
                            {"config: cheaper model", {{".promptops.toml", cheap}}},                     // 5
                            {"docs", {{"README.md", "# demo\nmore\n"}}},                                 // 6
                            {"greet: #4", {{"prompts/greet.toml", hey(4)}}}});                           // 7

  // Candidates 2 3 4 5 7; 3 changes nothing the evaluation sees, so it joins 2's version.
  // Versions 1 2(+3) 4 5 7 (0..4): bad (4), good (0), pick(0, 4) = 2 (commit 4, good), pick(2, 4)
  // = 3 (commit 5, bad). Four evaluations.
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5", "--good", "v1"});
  CHECK(server.requests() == 4 * k_cases);
  CHECK(doc["evaluations"] == 4);
  CHECK(doc["good"] == sha[0]);
  CHECK(doc["candidates"] == 5);
  CHECK(version_commits(doc) == std::vector<std::string>{sha[0], sha[1], sha[3], sha[4], sha[6]});
  CHECK(doc["versions"][1]["commits"] == 2);
  REQUIRE(doc["drops"].size() == 1);
  const json& drop = doc["drops"][0];
  CHECK(drop["first_bad"]["commit"] == sha[4]);
  CHECK(drop["first_bad"]["subject"] == "config: cheaper model");
  CHECK(drop["last_good"]["commit"] == sha[3]);
  CHECK(drop["changed"] == json::array({".promptops.toml"}));
  CHECK(drop["first_bad"]["value"] == 0.25);
  CHECK(drop["last_good"]["value"] == 1.0);
  CHECK(drop["pass_to_fail"] == 6);
  // The model is what the server saw change.
  CHECK(count_seen(server, [](const SeenRequest& request) {
          return request.body.value("model", "") == "cheap-model";
        }) == 2 * k_cases);

  // An alias names the good side as well. From v2: versions 2(+3) 4 5 7, of which only the good
  // side (Hey #2) is new: one more evaluation.
  REQUIRE(run_promptops(repo.path(), {"alias", "set", "greet", "stable", "v2"}).exit_code == 0);
  const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--good", "stable"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(first_line(r.out) == sha[4] + " is the first bad commit for greet");
  CHECK(contains(r.out, "\n  changed:  .promptops.toml\n"));
  CHECK(contains(
      r.out,
      "\n\n" + versions_table({{short_sha(sha[1]), "good", k_all_right, "run", "greet: #2 (good side)"},
                               {short_sha(sha[3]), "good", k_all_right, "cache", "greet: #3"},
                               {short_sha(sha[4]), "bad", k_yo, "cache", "config: cheaper model"},
                               {short_sha(sha[6]), "bad", k_yo, "cache", "greet: #4 (bad side)"}})));
  CHECK(server.requests() == 5 * k_cases);
  CHECK(r.err ==
        "searched 4 versions in 5 commits (4 touched its files): 1 evaluated, 3 from the cache, 0 from "
        "notes; 8 model calls\n");
}

TEST_CASE(
    "bisect --suite-at each finds a dataset change; with the bad side's dataset the range cannot be searched",
    "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  // Eight names that no rule answers: every case is wrong.
  const std::vector<std::string> strangers = {"Ivy", "Jon", "Kim", "Lou", "Max", "Ned", "Oli", "Pam"};
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},                           // 1
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},                        // 2
                            {"docs", {{"README.md", "# demo\nmore\n"}}},                            // 3
                            {"evals: new cases", {{"evals/greet.jsonl", greet_cases(strangers)}}},  // 4
                            {"greet: #3", {{"prompts/greet.toml", hey(3)}}}});                      // 5

  // Each version on its own dataset: versions 1 2 4 5 (0..3); bad (3), good (0), pick(0, 3) = 1
  // (commit 2, good), pick(1, 3) = 2 (commit 4: 0.000, bad). Four evaluations.
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5", "--suite-at", "each"});
  CHECK(server.requests() == 4 * k_cases);
  CHECK(doc["evaluations"] == 4);
  CHECK(doc["suite_at"] == "each");
  CHECK(doc["candidates"] == 3);
  CHECK(version_commits(doc) == std::vector<std::string>{sha[0], sha[1], sha[3], sha[4]});
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == sha[3]);
  CHECK(doc["drops"][0]["last_good"]["commit"] == sha[1]);
  CHECK(doc["drops"][0]["changed"] == json::array({"evals/greet.jsonl"}));
  CHECK(doc["drops"][0]["first_bad"]["value"] == 0.0);

  {
    const RunResult each = bisect(repo, {"greet", "--threshold", "0.5", "--suite-at", "each"});
    INFO("stderr: " << each.err);
    CHECK(each.exit_code == 1);
    CHECK(first_line(each.out) == sha[3] + " is the first bad commit for greet");
  }

  // The bad side's dataset judges every version: the good side is already bad by it.
  server.reset_counters();
  {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(first_line(r.err) == "git-promptops: error: the good side " + short_sha(sha[0]) +
                                   " \"add greet\" is already bad: accuracy 0.000 (accuracy below 0.500)");
    // The hint names the way out: judge each version by its own dataset.
    CHECK(contains(r.err, "--suite-at each"));
    CHECK(server.requests() == k_cases);  // the good side on the new cases; the bad side is cached
  }

  // A range where only the dataset changed: nothing the bad side's dataset can tell apart.
  {
    const RunResult only = bisect(repo, {"greet", "--threshold", "0.5", "--good", sha[1], "--bad", sha[3]});
    INFO("stderr: " << only.err);
    CHECK(only.exit_code == 2);
    CHECK(first_line(only.err) ==
          "git-promptops: error: nothing changed prompt 'greet' between the good side " + short_sha(sha[1]) +
              " \"greet: #2\" and the bad side " + short_sha(sha[3]) +
              " \"evals: new cases\" (.promptops.toml, prompts/greet.toml untouched in 2 "
              "commits)");
    CHECK(contains(only.err, "--suite-at each"));
  }
}

// --- git bisect run ------------------------------------------------------------------------------

TEST_CASE(
    "git bisect run with bisect-run names the same commit; broken and absent prompts are skipped with 125",
    "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::string broken = "template = \"Hey {{who}}!\"\n[vars\nwho = { required = true }\n";
  const std::vector<std::string> sha =
      import_commits(repo, {{"add config",
                             {{".promptops.toml", config_toml(server)},
                              {"evals/greet.jsonl", greet_cases(k_names)},
                              {"README.md", "# demo\n"}}},                                // 1
                            {"add greet", {{"prompts/greet.toml", hey(1)}}},              // 2
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},              // 3
                            {"docs: a", {{"README.md", "# demo\na\n"}}},                  // 4
                            {"greet: break the file", {{"prompts/greet.toml", broken}}},  // 5
                            {"greet: fix the file", {{"prompts/greet.toml", hey(3)}}},    // 6
                            {"greet: #4", {{"prompts/greet.toml", hey(4)}}},              // 7
                            {"docs: b", {{"README.md", "# demo\nb\n"}}},                  // 8
                            {"greet: yo", {{"prompts/greet.toml", yo(4)}}},               // 9
                            {"greet: #5", {{"prompts/greet.toml", yo(5)}}},               // 10
                            {"docs: c", {{"README.md", "# demo\nc\n"}}}});                // 11
  const auto at = [&](int n) { return sha.at(static_cast<std::size_t>(n - 1)); };
  const auto s = [&](int n) { return short_sha(at(n)); };

  // bisect itself: good = the oldest version (2). Versions 2 3 5 6 7 9 10(+11) (0..6), 5 untestable.
  // bad (6), good (0), pick(0, 6) = 3 (commit 6, good), pick(3, 6) = 4 (commit 7, good), pick(4, 6)
  // = 5 (commit 9, bad). Five evaluations; the broken version lies outside the boundary.
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5"});
  CHECK(server.requests() == 5 * k_cases);
  CHECK(doc["good"] == at(2));
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == at(9));
  CHECK(doc["drops"][0]["ambiguous"] == false);
  REQUIRE(doc["versions"].size() == 7);
  CHECK(doc["versions"][2]["commit"] == at(5));
  CHECK(doc["versions"][2]["verdict"] == "untestable");
  CHECK(doc["versions"][2]["key"].is_null());
  CHECK(doc["versions"][2]["problem"].get<std::string>().rfind("prompts/greet.toml:", 0) == 0);

  // git's own bisect over every commit, bisect-run judging each.
  const std::map<std::string, std::string> env = hook_env();
  CHECK(run(repo.path(), {"git", "bisect", "start", at(11), at(2)}, env).exit_code == 0);
  const RunResult git_run =
      run(repo.path(),
          {"git", "bisect", "run", "git", "promptops", "bisect-run", "greet", "--threshold", "0.5"}, env);
  INFO("git bisect run: " << git_run.out << git_run.err);
  CHECK(git_run.exit_code == 0);
  CHECK(contains(git_run.out, at(9) + " is the first bad commit"));
  repo.git({"bisect", "reset"});

  // The same with --max-drop against the good side.
  CHECK(run(repo.path(), {"git", "bisect", "start", at(11), at(2)}, env).exit_code == 0);
  const RunResult drop_run = run(repo.path(),
                                 {"git", "bisect", "run", "git", "promptops", "bisect-run", "greet",
                                  "--max-drop", "0.1", "--good", at(2)},
                                 env);
  INFO("git bisect run --max-drop: " << drop_run.out << drop_run.err);
  CHECK(drop_run.exit_code == 0);
  CHECK(contains(drop_run.out, at(9) + " is the first bad commit"));
  repo.git({"bisect", "reset"});

  // bisect-run on single commits.
  checkout(repo, at(5));
  const RunResult untestable = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << untestable.err);
  CHECK(untestable.exit_code == 125);
  CHECK(untestable.out.rfind("untestable: " + s(5) + ": prompts/greet.toml:", 0) == 0);
  CHECK(lines_of(untestable.out).size() == 1);

  checkout(repo, at(1));
  const RunResult absent = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << absent.err);
  CHECK(absent.exit_code == 125);
  CHECK(absent.out == "untestable: " + s(1) + ": no prompt 'greet' at " + s(1) + "\n");

  checkout(repo, at(7));
  const RunResult good = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << good.err);
  CHECK(good.exit_code == 0);
  CHECK(good.out ==
        "good: greet at " + s(7) + ": accuracy " + k_all_right + "; bad means accuracy below 0.500\n");
  const RunResult good_drop = bisect_run(repo, {"greet", "--max-drop", "0.1", "--good", at(2)});
  INFO("stderr: " << good_drop.err);
  CHECK(good_drop.exit_code == 0);
  CHECK(good_drop.out == "good: greet at " + s(7) + ": accuracy " + k_all_right + " (good side " + s(2) +
                             ": 1.000); bad means accuracy down by more than 0.100 from the good side\n");

  checkout(repo, at(9));
  const RunResult bad = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << bad.err);
  CHECK(bad.exit_code == 1);
  CHECK(bad.out == "bad: greet at " + s(9) + ": accuracy " + k_yo + "; bad means accuracy below 0.500\n");
  const RunResult bad_drop = bisect_run(repo, {"greet", "--max-drop", "0.1", "--good", at(2)});
  INFO("stderr: " << bad_drop.err);
  CHECK(bad_drop.exit_code == 1);
  CHECK(bad_drop.out == "bad: greet at " + s(9) + ": accuracy " + k_yo + " (good side " + s(2) +
                            ": 1.000); bad means accuracy down by more than 0.100 from the good side\n");

  // Usage errors: 129.
  const RunResult both = bisect_run(repo, {"greet", "--threshold", "0.5", "--max-drop", "0.1"});
  CHECK(both.exit_code == 129);
  CHECK(first_line(both.err) == "git-promptops: error: --threshold excludes --max-drop");
  const RunResult no_good = bisect_run(repo, {"greet", "--max-drop", "0.1"});
  CHECK(no_good.exit_code == 129);
  CHECK(first_line(no_good.err) ==
        "git-promptops: error: --max-drop needs the good side to measure the drop from: --good REV");
  const RunResult neither = bisect_run(repo, {"greet"});
  CHECK(neither.exit_code == 129);
  CHECK(
      first_line(neither.err) ==
      "git-promptops: error: bisect-run needs one criterion: --threshold X, or --max-drop D with --good REV");

  // A provider that rejects the request stops git bisect run: 128, not "bad".
  server.set_key("sk-test-key-0123456789");
  server.reset_counters();
  const RunResult rejected = bisect_run(repo, {"greet", "--threshold", "0.5", "--no-cache"});
  INFO("stderr: " << rejected.err);
  CHECK(rejected.exit_code == 128);
  CHECK(rejected.out.empty());
  CHECK(first_line(rejected.err)
            .rfind("git-promptops: error: authentication failed for provider 'local' (HTTP 401 from ", 0) ==
        0);
  CHECK(server.requests() >= 1);
}

TEST_CASE("bisect-run exits 128 when the model server is gone", "[e2e][bisect]") {
  auto server = std::make_unique<LlmServer>();
  TempRepo repo;
  const std::vector<std::string> sha = import_commits(repo, {{"add greet", project_files(*server, hey(1))}});
  server.reset();  // nothing listens at the configured address any more
  const RunResult r = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 128);
  CHECK(r.out.empty());
  CHECK(first_line(r.err) ==
        "git-promptops: error: 8 cases got no answer, so " + short_sha(sha[0]) + " cannot be judged");
}

// --- --all -----------------------------------------------------------------------------------------

TEST_CASE("bisect --all lists every drop of a prompt that went bad twice; binary search says what it skipped",
          "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},            // 1: good
                            {"docs: a", {{"README.md", "# demo\na\n"}}},             // 2
                            {"greet: yo", {{"prompts/greet.toml", yo(2)}}},          // 3: bad
                            {"greet: hey again", {{"prompts/greet.toml", hey(3)}}},  // 4: good
                            {"docs: b", {{"README.md", "# demo\nb\n"}}},             // 5
                            {"greet: yo again", {{"prompts/greet.toml", yo(4)}}}});  // 6: bad
  // Versions 1 3 4 6 (0..3). Binary search: bad (3), good (0), pick(0, 3) = 1 (commit 3, bad):
  // done after three evaluations, version 2 never evaluated.
  const RunResult r = bisect(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(server.requests() == 3 * k_cases);
  CHECK(first_line(r.out) == sha[2] + " is the first bad commit for greet");
  CHECK(
      r.err ==
      "searched 4 versions in 5 commits (3 touched its files): 3 evaluated, 0 from the cache, 0 from notes; "
      "24 model calls\n"
      "binary search assumes the prompt stays bad once it goes bad: 1 version was not evaluated and may hide "
      "other drops (--all evaluates every one)\n");

  // --all evaluates the one left and finds both drops, oldest first.
  server.reset_counters();
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5", "--all"});
  CHECK(server.requests() == k_cases);
  CHECK(doc["evaluations"] == 1);
  CHECK(doc["unevaluated"] == 0);
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "bad", "good", "bad"});
  REQUIRE(doc["drops"].size() == 2);
  CHECK(doc["drops"][0]["last_good"]["commit"] == sha[0]);
  CHECK(doc["drops"][0]["last_good"]["index"] == 0);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == sha[2]);
  CHECK(doc["drops"][0]["first_bad"]["index"] == 1);
  CHECK(doc["drops"][1]["last_good"]["commit"] == sha[3]);
  CHECK(doc["drops"][1]["last_good"]["index"] == 2);
  CHECK(doc["drops"][1]["first_bad"]["commit"] == sha[5]);
  CHECK(doc["drops"][1]["first_bad"]["index"] == 3);
  CHECK(doc["drops"][1]["diff"] == json::array({"--- user ---", "  [-Hey-]{+Yo+} {{who}}! [-#3-]{+#4+}",
                                                "chars: 15 → 14", "tokens: 3 → 3"}));
  // Both first bad commits carry the finding.
  CHECK(bisect_note(repo, sha[2])["all"] == true);
  CHECK(bisect_note(repo, sha[5])["all"] == true);
  CHECK(bisect_note(repo, sha[5])["last_good"] == sha[3]);

  const RunResult all = bisect(repo, {"greet", "--threshold", "0.5", "--all"});
  INFO("stderr: " << all.err);
  CHECK(all.exit_code == 1);
  CHECK(first_line(all.out) == "greet: 2 drops between " + short_sha(sha[0]) + " and " + short_sha(sha[5]));
  CHECK(count_of(all.out, " is the first bad commit for greet\n") == 2);
  CHECK(
      all.err ==
      "searched 4 versions in 5 commits (3 touched its files): 0 evaluated, 4 from the cache, 0 from notes; "
      "0 model calls\n");

  // A good side that is already bad.
  const RunResult already = bisect(repo, {"greet", "--threshold", "0.5", "--good", sha[2]});
  CHECK(already.exit_code == 2);
  CHECK(already.err == "git-promptops: error: the good side " + short_sha(sha[2]) +
                           " \"greet: yo\" is already bad: accuracy 0.250 (accuracy below 0.500)\n"
                           "hint: name an older good revision with --good, or a lower threshold\n");
}

// 0.70 -> 0.85 -> 1.00 -> 0.85 over twenty cases: "Try {{who}}! #K vN" is answered right for the
// first K names (n01..n20), so version N scores K / 20.
TEST_CASE("bisect --all judges each version against the one before it and finds 1.00 -> 0.85 after 0.70",
          "[e2e][bisect]") {
  LlmServer server;
  server.set_responder([](const json& body) {
    const std::string text = LlmServer::prompt_text(body);
    const std::size_t hash = text.find('#');
    const std::size_t name = text.find("Try N");
    if (hash == std::string::npos || name == std::string::npos) {
      return std::string("?");
    }
    const int right = std::stoi(text.substr(hash + 1));
    const int index = std::stoi(text.substr(name + 5, 2));
    return std::string(index <= right ? "ok" : "no");
  });
  std::vector<std::string> names;
  for (int i = 1; i <= 20; ++i) {
    names.push_back(std::string(i < 10 ? "N0" : "N") + std::to_string(i));
  }
  const auto level = [](int right, int n) {
    return greet_toml("Try {{who}}! #" + std::to_string(right) + " v" + std::to_string(n));
  };
  TempRepo repo;
  const std::vector<std::string> sha = import_commits(
      repo, {{"add greet",
              {{".promptops.toml", config_toml(server)},
               {"evals/greet.jsonl", greet_cases(names)},
               {"prompts/greet.toml", level(14, 1)}}},                        // 0.70
             {"greet: better", {{"prompts/greet.toml", level(17, 2)}}},      // 0.85
             {"greet: best", {{"prompts/greet.toml", level(20, 3)}}},        // 1.00
             {"greet: worse again", {{"prompts/greet.toml", level(17, 4)}}}});  // 0.85

  // Against the good side (0.70) the bad side (0.85) is no drop; against its predecessor it is.
  const json doc = bisect_json(repo, {"greet", "--max-drop", "0.1", "--all"});
  CHECK(server.requests() == 4 * 20);
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "good", "good", "bad"});
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["last_good"]["commit"] == sha[2]);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == sha[3]);
  CHECK(bisect_note(repo, sha[3])["last_good"] == sha[2]);

  const RunResult text = bisect(repo, {"greet", "--max-drop", "0.1", "--all"});
  INFO("stderr: " << text.err);
  CHECK(text.exit_code == 1);
  CHECK(first_line(text.out) == "greet: 1 drop between " + short_sha(sha[0]) + " and " + short_sha(sha[3]));
  CHECK(contains(text.out, sha[3] + " is the first bad commit for greet\n"));
  CHECK(contains(text.out, "\nbad means accuracy down by more than 0.100 from the version before\n"));

  // A rise, then a fall that stays within max_drop of its predecessor: no drop, status 0.
  const RunResult none = bisect(repo, {"greet", "--max-drop", "0.2", "--all"});
  CHECK(none.exit_code == 0);
  CHECK(first_line(none.out).rfind("greet is not bad at " + short_sha(sha[3]) + ": accuracy 0.850", 0) == 0);

  // Binary search still judges against the good side: 0.85 is not below 0.70.
  const RunResult search = bisect(repo, {"greet", "--max-drop", "0.1"});
  CHECK(search.exit_code == 0);
}

// --- bad input ---------------------------------------------------------------------------------------

TEST_CASE("bisect rejects bad ranges and options with exit 2 or 129, and a bad side that is not bad exits 0",
          "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add config",
                             {{".promptops.toml", config_toml(server)},
                              {"evals/greet.jsonl", greet_cases(k_names)},
                              {"README.md", "# demo\n"}}},                    // 1 (HEAD~5)
                            {"add greet", {{"prompts/greet.toml", hey(1)}}},  // 2 (HEAD~4)
                            {"docs: a", {{"README.md", "# demo\na\n"}}},      // 3
                            {"docs: b", {{"README.md", "# demo\nb\n"}}},      // 4 (HEAD~2)
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},  // 5
                            {"docs: c", {{"README.md", "# demo\nc\n"}}}});    // 6 (HEAD)
  repo.git({"checkout", "-q", "-b", "side", sha[1]});
  repo.write("prompts/greet.toml", hey(9));
  const std::string side = commit_at(repo, "greet: side", 20);
  repo.git({"checkout", "-q", "main"});

  SECTION("good not an ancestor of bad") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--good", "side"});
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err) == "git-promptops: error: the good side " + short_sha(side) +
                                   " \"greet: side\" is not an ancestor of the bad side " +
                                   short_sha(sha[5]) + " \"docs: c\"");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("the prompt absent at the good side") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--good", "HEAD~5"});
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err) ==
          "git-promptops: error: prompt 'greet' does not exist at " + short_sha(sha[0]) + " (HEAD~5)");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("the prompt absent at the bad side") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--bad", "HEAD~5"});
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err) ==
          "git-promptops: error: prompt 'greet' does not exist at " + short_sha(sha[0]) + " (HEAD~5)");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("an unknown metric") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--metric", "acuracy"});
    CHECK(r.exit_code == 129);
    CHECK(r.err == "git-promptops: error: unknown metric 'acuracy'\nhint: did you mean 'accuracy'?\n");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("a range that does not touch the prompt") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--good", "HEAD~4", "--bad", "HEAD~2"});
    CHECK(r.exit_code == 2);
    CHECK(first_line(r.err) ==
          "git-promptops: error: nothing changed prompt 'greet' between the good side " + short_sha(sha[1]) +
              " \"add greet\" and the bad side " + short_sha(sha[3]) +
              " \"docs: b\" (.promptops.toml, prompts/greet.toml untouched in 2 commits)");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("--threshold with --max-drop") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--max-drop", "0.1"});
    CHECK(r.exit_code == 129);
    CHECK(first_line(r.err) == "git-promptops: error: --threshold excludes --max-drop");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("--significant without --max-drop") {
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5", "--significant"});
    CHECK(r.exit_code == 129);
    CHECK(first_line(r.err) == "git-promptops: error: --significant goes with --max-drop");
    CHECK(server.requests() == 0);  // before any evaluation
  }
  SECTION("the bad side is not bad") {
    // Versions 2 and 5: two evaluations.
    const RunResult r = bisect(repo, {"greet", "--threshold", "0.5"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greet is not bad at " + short_sha(sha[5]) + ": accuracy " + k_all_right +
                       " (bad means accuracy below 0.500)\n");
    CHECK(r.err ==
          "searched 2 versions in 4 commits (1 touched its files): 2 evaluated, 0 from the cache, 0 from "
          "notes; "
          "16 model calls\n");
    CHECK(server.requests() == 2 * k_cases);
    // The evaluations are recorded (on 2 and on HEAD); no finding is.
    CHECK(count_of(repo.git({"notes", "--ref=promptops", "list"}), "\n") == 2);
    for (const std::string& commit : {sha[1], sha[5]}) {
      for (const json& line : note_lines(repo, commit)) {
        CHECK(line["type"] == "eval");
      }
    }
    const json doc = bisect_json(repo, {"greet", "--threshold", "0.5"}, 0);
    CHECK(doc["regression"] == false);
    CHECK(doc["drops"] == json::array());
    CHECK(server.requests() == 2 * k_cases);
  }
}

// --- notes and markdown ------------------------------------------------------------------------------

TEST_CASE(
    "bisect by the prompt's gate writes its finding to the first bad commit's note and reports in Markdown",
    "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},      // 1
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},   // 2
                            {"docs", {{"README.md", "# demo\nmore\n"}}},       // 3
                            {"greet: yo", {{"prompts/greet.toml", yo(2)}}},    // 4
                            {"greet: #3", {{"prompts/greet.toml", yo(3)}}}});  // 5
  // No criterion: the default gate, a significant drop of accuracy against the good side (6
  // flips, exact McNemar p = 0.03125). Versions 1 2 4 5 (0..3): bad (3), good (0), pick(0, 3) = 1
  // (good), pick(1, 3) = 2 (bad). Four evaluations, every version.
  const RunResult r = bisect(repo, {"greet", "--format", "markdown"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(server.requests() == 4 * k_cases);
  std::string flips;
  for (std::size_t i = 2; i < k_names.size(); ++i) {
    std::string id = k_names[i];
    id[0] = static_cast<char>(id[0] - 'A' + 'a');
    flips += "| `" + id + "` | pass → fail | " + k_names[i] + " | ok | ok | Yo " + k_names[i] + "! #2 |\n";
  }
  CHECK(r.out ==
        "## Bisect: `greet` (accuracy)\n"
        "\n"
        "**First bad commit:** `" +
            short_sha(sha[3]) + "` greet: yo — Ada Tester, " + import_date(4) +
            "\n"
            "\n"
            "| | commit | accuracy |\n"
            "|---|---|---:|\n"
            "| last good | `" +
            short_sha(sha[1]) + "` | " + k_all_right +
            " |\n"
            "| first bad | `" +
            short_sha(sha[3]) + "` | " + k_yo +
            " |\n"
            "\n"
            "Changed: prompts/greet.toml\n"
            "\n"
            "Flipped cases: 6 pass → fail, 0 fail → pass\n"
            "\n"
            "| case | flip | input | expected | before | after |\n"
            "|---|---|---|---|---|---|\n" +
            flips +
            "\n"
            "<details><summary>Prompt diff</summary>\n"
            "\n"
            "```\n"
            "--- user ---\n"
            "  [-Hey-]{+Yo+} {{who}}! #2\n"
            "chars: 15 → 14\n"
            "tokens: 3 → 3\n"
            "```\n"
            "\n"
            "</details>\n"
            "\n"
            "Bad means the prompt's gate: accuracy below the good side's, significant at 95%. searched 4 "
            "versions in 4 commits (3 touched its files): 4 evaluated, 0 from the cache, 0 from notes; 32 "
            "model calls.\n");
  CHECK(r.err.empty());

  const json doc = bisect_json(repo, {"greet"});
  CHECK(server.requests() == 4 * k_cases);
  CHECK(doc["criterion"] ==
        json({{"kind", "gate"},
              {"text", "the prompt's gate: accuracy below the good side's, significant at 95%"},
              {"min", json::object()},
              {"max_drop", {{"accuracy", 0.0}}},
              {"significant", true},
              {"confidence", 0.95}}));
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["verdict"]["checks"][0]["p_value"].get<double>() == Approx(0.03125));
  const std::string eval_key = doc["versions"][2]["key"].get<std::string>();

  // The note of the first bad commit: its evaluation, and the finding.
  const json note = bisect_note(repo, sha[3]);
  CHECK(note["key"] == "bisect:greet:accuracy:" + sha[0] + ".." + sha[4]);
  CHECK(note["type"] == "bisect");
  CHECK(note["prompt"] == "greet");
  CHECK(note["path"] == "prompts/greet.toml");
  CHECK(note["metric"] == "accuracy");
  CHECK(note["criterion"] == "the prompt's gate: accuracy below the good side's, significant at 95%");
  CHECK(note["good"] == sha[0]);
  CHECK(note["bad"] == sha[4]);
  CHECK(note["first_bad"] == sha[3]);
  CHECK(note["last_good"] == sha[1]);
  CHECK(note["before"] == 1.0);
  CHECK(note["after"] == 0.25);
  REQUIRE(note["before_interval"].size() == 2);
  CHECK(note["before_interval"][1] == 1.0);
  REQUIRE(note["after_interval"].size() == 2);
  CHECK(note["after_interval"][0].get<double>() == Approx(0.0715).margin(0.005));
  CHECK(note["ambiguous"] == false);
  CHECK(note["all"] == false);
  CHECK(note["eval_key"] == eval_key);
  CHECK(note["found_at"].is_number_integer());
  // The same history by --max-drop, from the cache: bad when down by more than 0.5 (significant
  // or not: p = 0.03125), not bad when the limit is 0.8.
  const json drop = bisect_json(repo, {"greet", "--max-drop", "0.5"});
  CHECK(drop["criterion"]["kind"] == "max_drop");
  CHECK(drop["criterion"]["text"] == "accuracy down by more than 0.500 from the good side");
  CHECK(drop["criterion"]["significant"] == false);
  CHECK(drop["drops"][0]["first_bad"]["commit"] == sha[3]);
  const json significant = bisect_json(repo, {"greet", "--max-drop", "0.5", "--significant"});
  CHECK(significant["criterion"]["text"] ==
        "accuracy down by more than 0.500 from the good side, significant at 95%");
  CHECK(significant["drops"][0]["first_bad"]["commit"] == sha[3]);
  const RunResult within = bisect(repo, {"greet", "--max-drop", "0.8"});
  INFO("stderr: " << within.err);
  CHECK(within.exit_code == 0);
  CHECK(within.out == "greet is not bad at " + short_sha(sha[4]) + ": accuracy " + k_yo +
                          " (bad means accuracy down by more than 0.800 from the good side)\n");
  CHECK(server.requests() == 4 * k_cases);

  std::size_t evals = 0;
  for (const json& line : note_lines(repo, sha[3])) {
    if (line.value("type", "") == "eval") {
      ++evals;
      CHECK(line["eval_key"] == eval_key);
      CHECK(line["value"] == 0.25);
    }
  }
  CHECK(evals == 1);
  // Evaluations are recorded where they were made; the finding only on the first bad commit.
  for (const int n : {1, 2, 5}) {
    for (const json& line : note_lines(repo, sha[static_cast<std::size_t>(n - 1)])) {
      CHECK(line["type"] == "eval");
    }
  }
}

TEST_CASE("a commit with a broken .promptops.toml is untestable: skipped by bisect, 125 from bisect-run",
          "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::string config = config_toml(server);
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},                    // 1
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},                 // 2
                            {"config: break", {{".promptops.toml", "[providers.local\n"}}},  // 3
                            {"config: fix", {{".promptops.toml", config}}},                  // 4
                            {"greet: yo", {{"prompts/greet.toml", yo(2)}}},                  // 5
                            {"greet: #3", {{"prompts/greet.toml", yo(3)}}}});                // 6
  // Versions 1 2 3 4 5 6 (0..5): 3 cannot be planned (untestable); 4 has 2's content again but is
  // a version of its own (the untestable one lies between). bad (5), good (0), pick(0, 5): the
  // middle is 2.5, 2 is skipped, 3 is nearer than 1 (commit 4, good), pick(3, 5) = 4 (commit 5,
  // bad). Four evaluations. Version 1 has version 3's content, so its result is known too (the
  // same evaluation, from the cache) and judged.
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5"});
  CHECK(server.requests() == 4 * k_cases);
  CHECK(doc["evaluations"] == 4);
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "good", "untestable", "good", "bad", "bad"});
  CHECK(doc["versions"][1]["source"] == "cache");
  CHECK(doc["versions"][3]["source"] == "run");
  CHECK(doc["unevaluated"] == 0);
  REQUIRE(doc["versions"].size() == 6);
  CHECK(doc["versions"][2]["commit"] == sha[2]);
  CHECK(doc["versions"][2]["verdict"] == "untestable");
  CHECK(contains(doc["versions"][2]["problem"].get<std::string>(), ".promptops.toml"));
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == sha[4]);
  CHECK(doc["drops"][0]["ambiguous"] == false);

  checkout(repo, sha[2]);
  const RunResult r = bisect_run(repo, {"greet", "--threshold", "0.5"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 125);
  CHECK(r.out.rfind("untestable: " + short_sha(sha[2]) + ": .promptops.toml:", 0) == 0);
  CHECK(lines_of(r.out).size() == 1);
}

namespace promptops::test::bisect_extra {

using namespace promptops::test::eval;
using namespace promptops::test::gate;
using json = nlohmann::json;

TEST_CASE("a revert is one evaluation: --all counts it once and takes it from the cache", "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1))},
                            {"greet: #2", {{"prompts/greet.toml", hey(2)}}},
                            {"greet: back to #1", {{"prompts/greet.toml", hey(1)}}},
                            {"greet: yo", {{"prompts/greet.toml", yo(2)}}}});
  // bad (yo), good (#1, which version 2 shares), then --all runs only #2: three evaluations.
  const json doc = bisect_json(repo, {"greet", "--threshold", "0.5", "--all"});
  CHECK(server.requests() == 3 * k_cases);
  CHECK(doc["evaluations"] == 3);
  CHECK(verdicts(doc) == std::vector<std::string>{"good", "good", "good", "bad"});
  std::vector<std::string> sources;
  for (const json& version : doc["versions"]) {
    sources.push_back(version["source"].get<std::string>());
  }
  CHECK(sources == std::vector<std::string>{"run", "run", "cache", "run"});
  REQUIRE(doc["drops"].size() == 1);
  CHECK(doc["drops"][0]["first_bad"]["commit"] == sha[3]);
}

TEST_CASE("bisect --max-drop --significant tests at the prompt's gate confidence", "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::string gate = "\n[gate]\nconfidence = 0.99\n";
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, hey(1) + gate)},
                            {"greet: yo", {{"prompts/greet.toml", yo(2) + gate}}}});
  // Six cases flip pass -> fail: exact McNemar p = 2 / 2^6 = 0.03125, not below 1 - 0.99.
  const RunResult significant = bisect(repo, {"greet", "--max-drop", "0.05", "--significant"});
  INFO("stderr: " << significant.err);
  CHECK(significant.exit_code == 0);
  CHECK(significant.out == "greet is not bad at " + short_sha(sha[1]) + ": accuracy " + k_yo +
                               " (bad means accuracy down by more than 0.050 from the good side, significant "
                               "at 99%)\n");
  // Without --significant the drop alone decides.
  const RunResult plain = bisect(repo, {"greet", "--max-drop", "0.05"});
  CHECK(plain.exit_code == 1);
  CHECK(first_line(plain.out) == sha[1] + " is the first bad commit for greet");
  CHECK(server.requests() == 2 * k_cases);
}

TEST_CASE(
    "bisect-run: a good side that cannot render HEAD's dataset skips HEAD; a broken one stops the bisect",
    "[e2e][bisect]") {
  LlmServer server;
  server.set_rules(gate_rules());
  TempRepo repo;
  const std::string by_name =
      "template = \"Hey {{name}}!\"\n\n[vars]\nname = { required = true }\n\n[eval]\n"
      "dataset = \"evals/greet.jsonl\"\nmetric = \"accuracy\"\n";
  const std::vector<std::string> sha =
      import_commits(repo, {{"add greet", project_files(server, by_name)},
                            {"greet: broken", {{"prompts/greet.toml", "template = \n"}}},
                            {"greet: who", {{"prompts/greet.toml", hey(1)}}}});
  const RunResult skip = bisect_run(repo, {"greet", "--max-drop", "0.05", "--good", sha[0]});
  INFO("stderr: " << skip.err);
  CHECK(skip.exit_code == 125);
  CHECK(skip.out.rfind("untestable: " + short_sha(sha[2]) +
                           ": the good side cannot be judged by this commit's dataset: ",
                       0) == 0);
  const RunResult stop = bisect_run(repo, {"greet", "--max-drop", "0.05", "--good", sha[1]});
  INFO("stderr: " << stop.err);
  CHECK(stop.exit_code == 128);
  CHECK(stop.out.empty());
  CHECK(first_line(stop.err).rfind("git-promptops: error: ", 0) == 0);
  CHECK(contains(stop.err, "prompts/greet.toml"));
}

}  // namespace promptops::test::bisect_extra
