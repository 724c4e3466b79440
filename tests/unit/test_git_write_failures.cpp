// SPDX-License-Identifier: MIT
// advance_head when it fails after starting (a locked index, an operation in progress, a commit that
// changes more than the file), in linked worktrees, and its reflog subject.
#include <filesystem>
#include <functional>

#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::chomp;
using promptops::test::oid;

namespace {

constexpr const char* k_file = "prompts/a.toml";

std::string seed_repo(test::TempRepo& repo) {
  repo.write(k_file, "v1\n");
  repo.write("other.txt", "other\n");
  return repo.commit("seed");
}

std::string rev_of(const test::TempRepo& repo, const std::string& spec) {
  return chomp(repo.git({"rev-parse", spec}));
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const GitError& e) {
    return e.what();
  }
  return "no exception";
}

}  // namespace

TEST_CASE("advance_head leaves nothing behind when it fails after starting", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed_repo(repo);
  auto r = git::Repository::discover(repo.path());
  const git::Oid c = r.create_file_commit(oid(base), k_file, "v2\n", "Update a\n");

  SECTION("a locked index (libgit2 writes the file before it fails on the index)") {
    repo.write(".git/index.lock", "");
    CHECK(error_of([&] { r.advance_head(c, oid(base), k_file); }).find("index is locked") !=
          std::string::npos);
    std::filesystem::remove(repo.path() / ".git/index.lock");
  }
  SECTION("a merge in progress, as git refuses a partial commit then") {
    repo.write(".git/MERGE_HEAD", base + "\n");
    CHECK(error_of([&] { r.advance_head(c, oid(base), k_file); }) ==
          "cannot commit while a merge is in progress");
    std::filesystem::remove(repo.path() / ".git/MERGE_HEAD");
  }
  SECTION("a commit that changes another file too") {
    const std::string two =
        chomp(test::run(repo.path(),
                        {"sh", "-c",
                         "git read-tree HEAD && echo changed > other.txt && git update-index other.txt && "
                         "printf 'v2\\n' > " +
                             std::string(k_file) + " && git update-index " + k_file +
                             " && "
                             "t=$(git write-tree) && git read-tree HEAD && git checkout -- . && git "
                             "commit-tree $t -p HEAD -m two"})
                  .out);
    REQUIRE(repo.git({"status", "--porcelain"}).empty());
    CHECK(error_of([&] { r.advance_head(oid(two), oid(base), k_file); }) ==
          "commit " + two.substr(0, 7) + " changes more than 'prompts/a.toml'");
  }

  CHECK(rev_of(repo, "main") == base);
  CHECK(repo.read(k_file) == "v1\n");
  CHECK(repo.git({"status", "--porcelain"}).empty());
  CHECK_FALSE(r.has_local_changes(k_file));
  repo.git({"fsck", "--no-dangling"});
}

TEST_CASE("advance_head in a linked worktree moves that worktree's branch only", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed_repo(repo);
  const test::TempDir dir;
  const std::filesystem::path tree = dir.path() / "wt";
  repo.git({"worktree", "add", "-q", "-b", "side", tree.string()});
  auto r = git::Repository::discover(tree);
  REQUIRE(r.head_ref() == "refs/heads/side");

  const git::Oid c = r.create_file_commit(oid(base), k_file, "side v2\n", "Side update\n");
  r.advance_head(c, oid(base), k_file);

  const auto in_tree = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"git"};
    argv.insert(argv.end(), args.begin(), args.end());
    const test::RunResult result = test::run(tree, argv);
    REQUIRE(result.exit_code == 0);
    return result.out;
  };
  CHECK(rev_of(repo, "side") == c.hex());
  CHECK(rev_of(repo, "main") == base);
  CHECK(in_tree({"status", "--porcelain"}).empty());
  CHECK(repo.git({"status", "--porcelain"}).empty());
  CHECK(in_tree({"reflog", "show", "HEAD", "-1", "--format=%gs"}) == "commit: Side update\n");
  CHECK(in_tree({"reflog", "show", "side", "-1", "--format=%gs"}) == "commit: Side update\n");
  CHECK(repo.read(k_file) == "v1\n");

  SECTION("and a stale expected commit there changes nothing") {
    CHECK_THROWS_AS(r.advance_head(c, oid(base), k_file), GitError);
    CHECK(rev_of(repo, "side") == c.hex());
  }
  repo.git({"fsck", "--no-dangling"});
}

TEST_CASE("advance_head writes git's reflog subject for untidy messages", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed_repo(repo);
  auto r = git::Repository::discover(repo.path());
  const git::Oid c = r.create_file_commit(oid(base), k_file, "v2\n", "\n  \nSubject here  \nmore\n");
  r.advance_head(c, oid(base), k_file);
  CHECK(repo.git({"reflog", "show", "main", "-1", "--format=%gs"}) == "commit: Subject here\n");
}
