// SPDX-License-Identifier: MIT
// Unit tests for note lines as untrusted input: bounded parsing, entry checks, eval entry checks.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/git/notes.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::oid;
using nlohmann::json;

namespace {

json eval_entry(const std::string& key, double value, const std::string& outcomes) {
  EvalResult result;
  result.key = key;
  result.prompt = "greet";
  result.metric = "accuracy";
  result.value = value;
  result.outcomes = outcomes;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    result.case_ids.push_back("c" + std::to_string(i));
    result.scores.push_back(outcomes[i] == 'p' ? 1.0 : 0.0);
  }
  json entry = result.to_json();
  entry["key"] = "eval:greet:" + key;
  entry["type"] = "eval";
  entry["eval_key"] = key;
  return entry;
}

}  // namespace

TEST_CASE("note lines are checked: bounded JSON, an object with a string key and type", "[notes]") {
  test::TempRepo repo;
  repo.write("prompts/a.md", "v1\n");
  const std::string c1 = repo.commit("one");
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  const std::string ok_deep = "{\"key\":\"d\",\"x\":" + std::string(30, '[') + std::string(30, ']') + "}";
  const test::RunResult added =
      test::run(repo.path(), {"git", "notes", "--ref=promptops", "add", "-F", "-", c1}, {},
                "{\"type\": 5}\nnot json\n[1,2]\n{\"key\":\"a\",\"type\":5}\n" + deep + "\n{\"key\":\"b\"}\n" +
                    ok_deep + "\n{\"key\":7}\n");
  REQUIRE(added.exit_code == 0);
  auto r = git::Repository::discover(repo.path());

  const git::NoteLines lines = git::read_note_lines(r, oid(c1));
  CHECK(lines.problems == std::vector<std::string>{"line 1: no string \"key\"", "line 2: not JSON",
                                                   "line 3: not a JSON object", "line 4: \"type\" is not a string",
                                                   "line 5: nested deeper than 32 levels",
                                                   "line 8: no string \"key\""});
  REQUIRE(lines.entries.size() == 2);
  CHECK(lines.entries[0] == json{{"key", "b"}});
  CHECK(lines.entries[1].at("key") == "d");
  CHECK(lines.entry_lines == std::vector<std::size_t>{6, 7});
  // read_all_note_lines sees the same.
  const auto all = git::read_all_note_lines(r);
  REQUIRE(all.count(oid(c1)) == 1);
  CHECK(all.at(oid(c1)).problems == lines.problems);
  // The unchecked readers still return every bounded JSON object, as before.
  CHECK(git::read_note(r, oid(c1)).size() == 5);
  // Merging keeps the lines it cannot read, as they are.
  git::merge_notes(r, {{oid(c1), {json{{"key", "c"}}}}}, "eval");
  CHECK(repo.git({"notes", "--ref=promptops", "show", c1}).find(deep + "\n") != std::string::npos);
}

TEST_CASE("eval entries with mistyped fields or lists of other lengths are problems", "[notes]") {
  git::NoteLines lines;
  json mistyped = eval_entry("k1", 0.5, "pf");
  mistyped["value"] = "high";
  json short_lists = eval_entry("k2", 0.5, "pf");
  short_lists["scores"] = json::array({1.0});
  json no_prompt = eval_entry("k3", 0.5, "pf");
  no_prompt.erase("prompt");
  lines.entries = {eval_entry("k0", 1.0, "pp"), mistyped, short_lists, no_prompt, json{{"key", "x"}, {"type", "bisect"}}};
  lines.entry_lines = {1, 2, 3, 4, 5};
  lines.problems = {"line 6: not JSON"};
  const EvalNotes notes = eval_notes(lines);
  REQUIRE(notes.results.size() == 1);
  CHECK(notes.results[0].key == "k0");
  CHECK(notes.results[0].prompt == "greet");
  CHECK(notes.problems == std::vector<std::string>{"line 6: not JSON",
                                                   "line 2: an eval entry with missing or mistyped fields",
                                                   "line 3: an eval entry whose per-case lists disagree",
                                                   "line 4: an eval entry without a string \"eval_key\" and \"prompt\""});
  // latest_eval_note never throws on what it cannot read.
  CHECK_FALSE(latest_eval_note(std::vector<json>{json{{"type", 5}}, mistyped}, "greet"));
  CHECK(latest_eval_note(std::vector<json>{json{{"type", 5}}, eval_entry("k0", 1.0, "pp")}, "greet")->value == 1.0);
}

TEST_CASE("compare_with_notes names a note whose value or outcomes differ", "[notes]") {
  git::NoteLines lines;
  lines.entries = {eval_entry("k", 1.0, "pp")};
  lines.entry_lines = {1};
  const EvalNotes notes = eval_notes(lines);
  EvalResult computed = EvalResult::from_json(eval_entry("k", 0.0, "ff"));
  computed.key = "k";
  const git::Oid commit = *git::Oid::parse("1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
  const std::vector<NoteMismatch> mismatches = compare_with_notes(commit, computed, notes);
  REQUIRE(mismatches.size() == 1);
  CHECK(describe_mismatch(mismatches[0]) == "the note on 1a2b3c4 claims accuracy 1.000 for prompt 'greet', recomputed 0.000");
  CHECK(mismatches[0].outcomes_differ);
  EvalResult same = EvalResult::from_json(eval_entry("k", 1.0, "pp"));
  same.key = "k";
  CHECK(compare_with_notes(commit, same, notes).empty());
  CHECK(compare_with_notes(commit, EvalResult::from_json(eval_entry("z", 0.0, "ff")), notes).empty());
}
