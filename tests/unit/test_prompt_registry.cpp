// SPDX-License-Identifier: MIT
// Unit tests for the registry: snapshots, prompt discovery, references and versions.
#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "support/harness.hpp"

using namespace promptops;
using promptops::test::TempRepo;

namespace {

const char* const k_prompt = "template = \"Hi {{name}}\"\n[vars]\nname = { required = true }\n";

std::vector<std::string> names(const std::vector<PromptFile>& files) {
  std::vector<std::string> out;
  for (const auto& file : files) {
    out.push_back(file.name + "=" + file.path);
  }
  return out;
}

}  // namespace

TEST_CASE("prompts are found under the roots by pattern, in the working tree and at a commit", "[registry]") {
  TempRepo repo;
  repo.write("prompts/a.toml", k_prompt);
  repo.write("prompts/sub/b.prompt", "Hello {{name}}\n");
  repo.write("prompts/sub/notes.md", "not a prompt\n");
  repo.write("prompts/.hidden/c.toml", k_prompt);
  repo.write("other/d.toml", k_prompt);
  const std::string first = repo.commit("add");
  repo.write("prompts/e.toml", k_prompt);
  const auto git_repo = git::Repository::discover(repo.path());

  const auto worktree = worktree_snapshot(git_repo);
  CHECK(names(find_prompts(*worktree, Config{})) ==
        std::vector<std::string>{"a=prompts/a.toml", "e=prompts/e.toml", "sub/b=prompts/sub/b.prompt"});
  const auto committed = commit_snapshot(git_repo, *git::Oid::parse(first));
  CHECK(names(find_prompts(*committed, Config{})) ==
        std::vector<std::string>{"a=prompts/a.toml", "sub/b=prompts/sub/b.prompt"});
  CHECK(committed->read("prompts/a.toml").value() == k_prompt);
  CHECK_FALSE(committed->read("prompts/e.toml").has_value());
  CHECK_FALSE(worktree->read("../outside").has_value());
  CHECK(committed->label() == first.substr(0, 7));
  CHECK(worktree->label() == "working tree");

  SECTION("the config's roots and patterns decide, and the first pattern wins a name clash") {
    Config config;
    config.prompt_roots = {"other", "prompts"};
    config.patterns = {"*.prompt", "*.toml"};
    repo.write("prompts/a.prompt", "Text {{name}}\n");
    CHECK(names(find_prompts(*worktree, config)) ==
          std::vector<std::string>{"a=prompts/a.prompt", "d=other/d.toml", "e=prompts/e.toml",
                                   "sub/b=prompts/sub/b.prompt"});
  }
}

TEST_CASE("references split at the first @ and reject empty parts", "[registry]") {
  CHECK(Reference::parse("support/classify").rev.empty());
  CHECK(Reference::parse("a@v3").rev == "v3");
  CHECK(Reference::parse("a@HEAD@{1}").rev == "HEAD@{1}");
  CHECK(Reference::parse("a@HEAD@{1}").name == "a");
  CHECK(Reference::parse("a@main").format() == "a@main");
  CHECK_THROWS_AS(Reference::parse("@v1"), UsageError);
  CHECK_THROWS_AS(Reference::parse("a@"), UsageError);
}

TEST_CASE("versions number the changing commits from the oldest and list deletions", "[registry]") {
  TempRepo repo;
  repo.write("prompts/a.toml", k_prompt);
  const std::string v1 = repo.commit("v1");
  repo.write("README.md", "unrelated\n");
  repo.commit("unrelated");
  std::string two = k_prompt;  // appended in place: GCC 12 misreads operator+ here (-Warray-bounds)
  two += "description = \"two\"\n";
  repo.write("prompts/a.toml", two);
  const std::string v2 = repo.commit("v2");
  const auto git_repo = git::Repository::discover(repo.path());
  const git::Oid head = *git_repo.head();

  auto versions = prompt_versions(git_repo, head, "a");
  REQUIRE(versions.size() == 2);
  CHECK(versions[0].number == 2);
  CHECK(versions[0].commit.hex() == v2);
  CHECK(versions[1].number == 1);
  CHECK(versions[1].commit.hex() == v1);

  SECTION("references resolve versions, revisions and the working tree") {
    const auto by_version = resolve_reference(git_repo, Reference::parse("a@v1"));
    CHECK(by_version.commit->hex() == v1);
    CHECK(by_version.version == 1);
    CHECK(by_version.path == "prompts/a.toml");
    CHECK(resolve_reference(git_repo, Reference::parse("a@HEAD~2")).commit->hex() == v1);
    CHECK_FALSE(resolve_reference(git_repo, Reference::parse("a")).commit.has_value());
    CHECK_THROWS_WITH(resolve_reference(git_repo, Reference::parse("a@v3")), "prompt 'a' has no version v3");
    CHECK_THROWS_WITH(resolve_reference(git_repo, Reference::parse("b")), "no prompt named 'b' in the working tree");
    CHECK_THROWS_AS(resolve_reference(git_repo, Reference::parse("a@nope")), NotFoundError);
  }

  SECTION("a deleted prompt keeps its history, with the deletion first") {
    repo.git({"rm", "-q", "prompts/a.toml"});
    const std::string gone = repo.commit("delete");
    const auto reopened = git::Repository::discover(repo.path());
    std::string path;
    versions = prompt_versions(reopened, *reopened.head(), "a", &path);
    CHECK(path == "prompts/a.toml");
    REQUIRE(versions.size() == 3);
    CHECK(versions[0].deleted);
    CHECK(versions[0].number == 0);
    CHECK(versions[0].commit.hex() == gone);
    CHECK(versions[1].number == 2);
    CHECK_THROWS_AS(prompt_versions(reopened, *reopened.head(), "never"), NotFoundError);
  }
}
