// SPDX-License-Identifier: MIT
// Unit tests for the steps of check: the prompts a change touches, and the base of a pushed ref.
#include <catch2/catch.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <promptops/workflows/check.hpp>
#include <promptops/git/git.hpp>
#include <promptops/prompt/registry.hpp>

#include "support/harness.hpp"
#include "workflows/check_phases.hpp"

using namespace promptops;
using promptops::test::TempRepo;

namespace {

std::string prompt_with_dataset(const std::string& dataset) {
  return "template = \"Hi {{name}}\"\n[vars]\nname = { required = true }\n[eval]\ndataset = \"" + dataset +
         "\"\n";
}

// a (evals/a.jsonl), b (evals/b.jsonl) and c (no [eval]) under prompts/.
void write_project(const TempRepo& repo) {
  repo.write(".promptops.toml", "prompts = [\"prompts\"]\n");
  repo.write("prompts/a.toml", prompt_with_dataset("evals/a.jsonl"));
  repo.write("prompts/b.toml", prompt_with_dataset("evals/b.jsonl"));
  repo.write("prompts/c.toml", "template = \"Hello\"\n");
  repo.write("evals/a.jsonl", "{\"id\": \"1\", \"vars\": {\"name\": \"Ann\"}}\n");
  repo.write("evals/b.jsonl", "{\"id\": \"1\", \"vars\": {\"name\": \"Bob\"}}\n");
  repo.write("README.md", "# demo\n");
}

std::string head_of(const TempRepo& repo) {
  std::string sha = repo.git({"rev-parse", "HEAD"});
  return sha.substr(0, sha.find('\n'));
}

}  // namespace

TEST_CASE("check touches a prompt by its file, its dataset, or every prompt by the config", "[workflows][check]") {
  TempRepo repo;
  write_project(repo);
  const std::unique_ptr<Snapshot> snapshot = worktree_snapshot(repo.path());
  const ParsedConfig parsed = load_config(*snapshot);
  REQUIRE(parsed.diagnostics.empty());
  const Config& config = parsed.config;
  const auto touched = [&](const std::vector<std::string>& changed) {
    return check_phases::touched_prompts(changed, *snapshot, config, std::nullopt);
  };
  CHECK(touched({"prompts/a.toml"}) == std::set<std::string>{"a"});
  CHECK(touched({"prompts/c.toml", "README.md"}) == std::set<std::string>{"c"});
  CHECK(touched({"evals/b.jsonl"}) == std::set<std::string>{"b"});
  CHECK(touched({"evals/other.jsonl"}).empty());
  CHECK(touched({"README.md"}).empty());
  CHECK(touched({".promptops.toml"}) == std::set<std::string>{"a", "b", "c"});
  CHECK(touched({}).empty());
  // A prompt file gone from the candidate is named by the baseline's roots.
  Config baseline = config;
  CHECK(check_phases::touched_prompts({"prompts/gone.toml"}, *snapshot, config, baseline) ==
        std::set<std::string>{"gone"});
}

TEST_CASE("pre-push compares a pushed ref with the remote's tip, else where it leaves the default branch",
          "[workflows][check]") {
  TempRepo repo;
  write_project(repo);
  repo.commit("one");
  const std::string one = head_of(repo);
  repo.write("README.md", "# demo\ntwo\n");
  repo.commit("two");
  const std::string two = head_of(repo);
  repo.write("README.md", "# demo\nthree\n");
  repo.commit("three");
  const std::string three = head_of(repo);
  const git::Repository git_repo = git::Repository::discover(repo.path());
  const git::Oid local = *git::Oid::parse(three);
  const git::Oid zero = *git::Oid::parse(std::string(40, '0'));

  SECTION("no remote-tracking refs and a new branch: no base") {
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/main", local, zero}) == std::nullopt);
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/main", local, std::nullopt}) == std::nullopt);
  }
  SECTION("the remote's tip, when this repository has it") {
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/main", local, git::Oid::parse(one)}) ==
          git::Oid::parse(one));
  }
  SECTION("a new branch, or a tip not fetched: the merge base with REMOTE/HEAD, main or master") {
    repo.git({"update-ref", "refs/remotes/origin/master", one});
    repo.git({"update-ref", "refs/remotes/origin/main", two});
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/topic", local, zero}) == git::Oid::parse(two));
    const std::optional<git::Oid> unknown = git::Oid::parse(std::string(40, 'a'));
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/topic", local, unknown}) == git::Oid::parse(two));
    CHECK(push_base(git_repo, "upstream", PushedRef{"refs/heads/topic", local, zero}) == std::nullopt);
    repo.git({"update-ref", "refs/remotes/origin/HEAD", one});
    CHECK(push_base(git_repo, "origin", PushedRef{"refs/heads/topic", local, zero}) == git::Oid::parse(one));
  }
}
