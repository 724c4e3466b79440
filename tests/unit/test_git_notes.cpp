// SPDX-License-Identifier: MIT
// Unit tests for src/git notes: sorted JSON lines under refs/notes/promptops, fan-out, CAS writers.
#include <exception>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>
#include <promptops/git/notes.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::chomp;
using promptops::test::oid;
using nlohmann::json;

namespace {



std::string show_note(const test::TempRepo& repo, const std::string& sha) {
  return repo.git({"notes", "--ref=promptops", "show", sha});
}

int notes_commits(const test::TempRepo& repo) {
  return std::stoi(chomp(repo.git({"rev-list", "--count", "refs/notes/promptops"})));
}

std::vector<std::string> notes_paths(const test::TempRepo& repo) {
  std::vector<std::string> out;
  std::string text = repo.git({"ls-tree", "-r", "--name-only", "refs/notes/promptops"});
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    out.push_back(text.substr(at, end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

// Runs git with `input` on stdin and returns its trimmed stdout.
std::string git_with_input(const test::TempRepo& repo, const std::vector<std::string>& args,
                           const std::string& input) {
  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  const test::RunResult r = test::run(repo.path(), argv, {}, input);
  REQUIRE(r.exit_code == 0);
  return chomp(r.out);
}

// Points refs/notes/promptops at a notes tree with git's 2/38 fan-out, made with git mktree.
void write_fanout_notes(const test::TempRepo& repo, const std::map<std::string, std::string>& notes) {
  std::map<std::string, std::string> subtrees;  // "ab" -> mktree input
  for (const auto& [sha, text] : notes) {
    const std::string blob = git_with_input(repo, {"hash-object", "-w", "--stdin"}, text);
    subtrees[sha.substr(0, 2)] += "100644 blob " + blob + "\t" + sha.substr(2) + "\n";
  }
  std::string root;
  for (const auto& [prefix, listing] : subtrees) {
    root += "040000 tree " + git_with_input(repo, {"mktree"}, listing) + "\t" + prefix + "\n";
  }
  const std::string tree = git_with_input(repo, {"mktree"}, root);
  const std::string commit = chomp(repo.git({"commit-tree", tree, "-m", "Notes added by 'git notes add'"}));
  repo.git({"update-ref", "refs/notes/promptops", commit});
}

std::set<std::string> keys_of(const std::vector<json>& entries) {
  std::set<std::string> out;
  for (const json& entry : entries) {
    out.insert(entry.at("key").get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("merge_notes writes sorted JSON lines that git notes show prints", "[notes]") {
  test::TempRepo repo;
  repo.write("prompts/a.md", "v1\n");
  const std::string c1 = repo.commit("one");
  auto r = git::Repository::discover(repo.path());

  SECTION("no ref yet: nothing to read") {
    CHECK(git::read_notes(r).empty());
    CHECK(git::read_note(r, oid(c1)).empty());
  }

  SECTION("one call writes one notes commit with sorted lines") {
    git::merge_notes(r, {{oid(c1), {json{{"key", "b"}, {"score", 1}}, json{{"key", "a"}, {"pass", true}}}}},
                     "promptops: eval smoke");
    CHECK(show_note(repo, c1) == "{\"key\":\"a\",\"pass\":true}\n{\"key\":\"b\",\"score\":1}\n");
    CHECK(notes_commits(repo) == 1);
    CHECK(chomp(repo.git({"log", "-1", "--format=%s|%an|%cn", "refs/notes/promptops"})) ==
          "promptops: eval smoke|Ada Tester|Ada Tester");
    // Few notes: flat, as git writes them.
    CHECK(notes_paths(repo) == std::vector<std::string>{c1});

    const std::vector<json> entries = git::read_note(r, oid(c1));
    REQUIRE(entries.size() == 2);
    CHECK(entries[0] == json{{"key", "a"}, {"pass", true}});
    CHECK(entries[1] == json{{"key", "b"}, {"score", 1}});
    const auto all = git::read_notes(r);
    REQUIRE(all.size() == 1);
    CHECK(all.at(oid(c1)) == entries);
  }

  SECTION("an entry without a string key is refused and nothing is written") {
    CHECK_THROWS_AS(git::merge_notes(r, {{oid(c1), {json{{"key", 3}}}}}, "bad"), Error);
    CHECK_THROWS_AS(git::merge_notes(r, {{oid(c1), {json::array({1, 2})}}}, "bad"), Error);
    CHECK(git::read_notes(r).empty());
  }
}

TEST_CASE("merging replaces entries with the same key and keeps the others", "[notes]") {
  test::TempRepo repo;
  repo.write("prompts/a.md", "v1\n");
  const std::string c1 = repo.commit("one");
  repo.write("prompts/a.md", "v2\n");
  const std::string c2 = repo.commit("two");
  auto r = git::Repository::discover(repo.path());

  git::merge_notes(r,
                   {{oid(c1), {json{{"key", "a"}, {"score", 1}}, json{{"key", "b"}, {"score", 1}}}},
                    {oid(c2), {json{{"key", "x"}}}}},
                   "first");
  git::merge_notes(r, {{oid(c1), {json{{"key", "a"}, {"score", 2}}}}, {oid(c2), {json{{"key", "y"}}}}},
                   "second");

  CHECK(show_note(repo, c1) == "{\"key\":\"a\",\"score\":2}\n{\"key\":\"b\",\"score\":1}\n");
  CHECK(show_note(repo, c2) == "{\"key\":\"x\"}\n{\"key\":\"y\"}\n");
  CHECK(notes_commits(repo) == 2);

  SECTION("the same entries again change nothing and make no commit") {
    git::merge_notes(r, {{oid(c1), {json{{"key", "a"}, {"score", 2}}}}}, "again");
    CHECK(notes_commits(repo) == 2);
  }

  SECTION("git's cat_sort_uniq merges these notes with another writer's") {
    git::merge_notes(r, {{oid(c2), {json{{"key", "w"}}, json{{"key", "y"}}}}}, "elsewhere",
                     "refs/notes/other");
    repo.git({"notes", "--ref=promptops", "merge", "-s", "cat_sort_uniq", "refs/notes/other"});
    CHECK(show_note(repo, c1) == "{\"key\":\"a\",\"score\":2}\n{\"key\":\"b\",\"score\":1}\n");
    CHECK(show_note(repo, c2) == "{\"key\":\"w\"}\n{\"key\":\"x\"}\n{\"key\":\"y\"}\n");
    CHECK(keys_of(git::read_note(r, oid(c2))) == std::set<std::string>{"w", "x", "y"});
  }
}

TEST_CASE("lines that are not JSON objects are kept as they are", "[notes]") {
  test::TempRepo repo;
  repo.write("prompts/a.md", "v1\n");
  const std::string c1 = repo.commit("one");
  repo.git(
      {"notes", "--ref=promptops", "add", "-m", "zzz reviewed by hand", "-m", "[1,2]\n{\"no_key\":1}", c1});
  auto r = git::Repository::discover(repo.path());

  CHECK(git::read_note(r, oid(c1)) == std::vector<json>{json{{"no_key", 1}}});
  git::merge_notes(r, {{oid(c1), {json{{"key", "a"}}}}}, "eval");
  CHECK(show_note(repo, c1) == "[1,2]\nzzz reviewed by hand\n{\"key\":\"a\"}\n{\"no_key\":1}\n");
  CHECK(git::read_note(r, oid(c1)) == std::vector<json>{json{{"key", "a"}}, json{{"no_key", 1}}});
  CHECK(notes_commits(repo) == 2);
}

TEST_CASE("a fan-out notes tree written by git is read and updated in place", "[notes]") {
  test::TempRepo repo;
  std::vector<std::string> commits;
  for (int i = 0; i < 3; ++i) {
    repo.write("prompts/a.md", "v" + std::to_string(i) + "\n");
    commits.push_back(repo.commit("commit " + std::to_string(i)));
  }
  write_fanout_notes(repo, {{commits[0], "{\"key\":\"a\",\"score\":1}\n{\"key\":\"b\"}\n"},
                            {commits[1], "{\"key\":\"c\"}\n"}});
  REQUIRE(show_note(repo, commits[0]) == "{\"key\":\"a\",\"score\":1}\n{\"key\":\"b\"}\n");
  auto r = git::Repository::discover(repo.path());

  const auto all = git::read_notes(r);
  REQUIRE(all.size() == 2);
  CHECK(keys_of(all.at(oid(commits[0]))) == std::set<std::string>{"a", "b"});
  CHECK(keys_of(all.at(oid(commits[1]))) == std::set<std::string>{"c"});
  CHECK(keys_of(git::read_note(r, oid(commits[1]))) == std::set<std::string>{"c"});

  git::merge_notes(
      r, {{oid(commits[0]), {json{{"key", "a"}, {"score", 2}}}}, {oid(commits[2]), {json{{"key", "z"}}}}},
      "eval");
  CHECK(show_note(repo, commits[0]) == "{\"key\":\"a\",\"score\":2}\n{\"key\":\"b\"}\n");
  CHECK(show_note(repo, commits[1]) == "{\"key\":\"c\"}\n");
  CHECK(show_note(repo, commits[2]) == "{\"key\":\"z\"}\n");
  std::vector<std::string> expected;
  for (const std::string& sha : commits) {
    expected.push_back(sha.substr(0, 2) + "/" + sha.substr(2));
  }
  std::sort(expected.begin(), expected.end());
  CHECK(notes_paths(repo) == expected);
  CHECK(notes_commits(repo) == 2);
  repo.git({"fsck", "--strict"});
}

TEST_CASE("two concurrent writers lose none of each other's entries", "[notes]") {
  test::TempRepo repo;
  repo.write("prompts/a.md", "v1\n");
  const std::string c1 = repo.commit("one");
  repo.write("prompts/a.md", "v2\n");
  const std::string c2 = repo.commit("two");
  const git::Oid id1 = oid(c1);
  const git::Oid id2 = oid(c2);

  constexpr int k_calls = 50;
  std::vector<std::exception_ptr> failures(2);
  std::vector<std::thread> writers;
  for (int writer = 0; writer < 2; ++writer) {
    writers.emplace_back([&, writer] {
      try {
        // libgit2 objects are not shared across threads: each writer has its own repository.
        auto r = git::Repository::discover(repo.path());
        for (int i = 0; i < k_calls; ++i) {
          const std::string key = "w" + std::to_string(writer) + "-" + std::to_string(i);
          git::merge_notes(r, {{id1, {json{{"key", key}}}}, {id2, {json{{"key", key}, {"n", i}}}}},
                           "eval " + key);
        }
      } catch (...) {
        failures[static_cast<std::size_t>(writer)] = std::current_exception();
      }
    });
  }
  for (std::thread& writer : writers) {
    writer.join();
  }
  for (const std::exception_ptr& failure : failures) {
    if (failure) {
      std::rethrow_exception(failure);
    }
  }

  std::set<std::string> expected;
  for (int writer = 0; writer < 2; ++writer) {
    for (int i = 0; i < k_calls; ++i) {
      expected.insert("w" + std::to_string(writer) + "-" + std::to_string(i));
    }
  }
  auto r = git::Repository::discover(repo.path());
  const auto all = git::read_notes(r);
  REQUIRE(all.size() == 2);
  CHECK(all.at(id1).size() == 100);
  CHECK(keys_of(all.at(id1)) == expected);
  CHECK(keys_of(all.at(id2)) == expected);
  CHECK(notes_commits(repo) == 2 * k_calls);
}
