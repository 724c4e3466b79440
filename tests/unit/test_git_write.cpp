// SPDX-License-Identifier: MIT
// Unit tests for src/git write-back: one-file commits, branches, local changes and moving HEAD,
// checked against the real git CLI.
#include <filesystem>

#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::chomp;
using promptops::test::EnvOverride;
using promptops::test::oid;
using namespace std::string_literals;

namespace {

constexpr const char* k_prompt = "prompts/a.toml";

// A repository with a prompt, an executable script, a deeply nested file and another file.
std::string seed(test::TempRepo& repo) {
  repo.write(k_prompt, "v1\n");
  repo.write("run.sh", "#!/bin/sh\necho hi\n");
  std::filesystem::permissions(repo.path() / "run.sh", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  repo.write("deep/nested/dir/p.txt", "nested\n");
  repo.write("other.txt", "other\n");
  return repo.commit("seed");
}

std::string rev(const test::TempRepo& repo, const std::string& spec) {
  return chomp(repo.git({"rev-parse", spec}));
}

std::string status(const test::TempRepo& repo) { return repo.git({"status", "--porcelain"}); }

void fsck(const test::TempRepo& repo) { repo.git({"fsck", "--no-dangling", "--strict"}); }

}  // namespace

TEST_CASE("create_file_commit changes only that file and touches no ref, index or file", "[git_write]") {
  const EnvOverride author_date("GIT_AUTHOR_DATE", "1700000000 +0100");
  const EnvOverride committer_date("GIT_COMMITTER_DATE", "1700000100 -0500");
  test::TempRepo repo;
  const std::string base = seed(repo);
  auto r = git::Repository::discover(repo.path());
  const std::string refs_before = repo.git({"for-each-ref"});

  SECTION("a prompt, byte-exact, with git's author and committer") {
    const std::string content = "v2\r\nno trailing newline \0 binary"s;
    const git::Oid c = r.create_file_commit(oid(base), k_prompt, content, "Update a\n\nbody line\n");
    CHECK(repo.git({"diff-tree", "-r", "--no-commit-id", "--name-only", c.hex()}) == "prompts/a.toml\n");
    CHECK(repo.git({"cat-file", "-p", c.hex()}) ==
          "tree " + rev(repo, c.hex() + "^{tree}") + "\nparent " + base +
              "\nauthor Ada Tester <ada@example.com> 1700000000 +0100"
              "\ncommitter Ada Tester <ada@example.com> 1700000100 -0500\n\nUpdate a\n\nbody line\n");
    CHECK(repo.git({"cat-file", "blob", c.hex() + ":" + k_prompt}) == content);
    CHECK(repo.git({"ls-tree", c.hex(), k_prompt}).substr(0, 12) == "100644 blob ");
    CHECK(r.read_commit(c).parents == std::vector<git::Oid>{oid(base)});
  }
  SECTION("an executable keeps mode 100755") {
    const git::Oid c = r.create_file_commit(oid(base), "run.sh", "#!/bin/sh\necho bye\n", "Bye\n");
    CHECK(repo.git({"diff-tree", "-r", "--no-commit-id", "--name-only", c.hex()}) == "run.sh\n");
    CHECK(repo.git({"ls-tree", c.hex(), "run.sh"}).substr(0, 12) == "100755 blob ");
    CHECK(repo.git({"cat-file", "blob", c.hex() + ":run.sh"}) == "#!/bin/sh\necho bye\n");
  }
  SECTION("a nested path") {
    const git::Oid c = r.create_file_commit(oid(base), "deep/nested/dir/p.txt", "nested v2\n", "Nested\n");
    CHECK(repo.git({"diff-tree", "-r", "--no-commit-id", "--name-only", c.hex()}) ==
          "deep/nested/dir/p.txt\n");
    CHECK(repo.git({"cat-file", "blob", c.hex() + ":deep/nested/dir/p.txt"}) == "nested v2\n");
    CHECK(rev(repo, c.hex() + ":prompts") == rev(repo, base + ":prompts"));
  }
  SECTION("a missing file, a directory or an unknown parent is refused") {
    CHECK_THROWS_AS(r.create_file_commit(oid(base), "prompts/missing.toml", "x", "m\n"), GitError);
    CHECK_THROWS_AS(r.create_file_commit(oid(base), "deep/nested", "x", "m\n"), GitError);
    CHECK_THROWS_AS(r.create_file_commit(oid(base), "", "x", "m\n"), GitError);
    CHECK_THROWS_AS(r.create_file_commit(*git::Oid::parse(std::string(40, '1')), k_prompt, "x", "m\n"),
                    GitError);
  }

  CHECK(rev(repo, "HEAD") == base);
  CHECK(repo.git({"for-each-ref"}) == refs_before);
  CHECK(status(repo).empty());
  CHECK(repo.read(k_prompt) == "v1\n");
  fsck(repo);
}

TEST_CASE("create_branch makes a branch with git's reflog line and never moves one", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed(repo);
  auto r = git::Repository::discover(repo.path());
  const git::Oid c = r.create_file_commit(oid(base), k_prompt, "v2\n", "Update a\n");

  r.create_branch("promptops/try-1", c);
  CHECK(rev(repo, "promptops/try-1") == c.hex());
  CHECK(repo.git({"reflog", "show", "promptops/try-1", "-1", "--format=%gs"}) ==
        "branch: Created from " + c.hex() + "\n");
  CHECK(repo.git({"reflog", "show", "promptops/try-1", "-1", "--format=%gn <%ge>"}) ==
        "Ada Tester <ada@example.com>\n");

  SECTION("an existing name throws naming the branch and leaves it where it was") {
    try {
      r.create_branch("promptops/try-1", oid(base));
      FAIL("no exception");
    } catch (const GitError& e) {
      CHECK(std::string(e.what()) == "branch 'promptops/try-1' already exists");
    }
    CHECK(rev(repo, "promptops/try-1") == c.hex());
    CHECK_THROWS_AS(r.create_branch("main", c), GitError);
    CHECK(rev(repo, "main") == base);
  }
  SECTION("an invalid name throws naming it") {
    try {
      r.create_branch("bad..name", c);
      FAIL("no exception");
    } catch (const GitError& e) {
      CHECK(std::string(e.what()).find("'bad..name'") != std::string::npos);
    }
    CHECK_THROWS_AS(r.create_branch("HEAD", c), GitError);
    CHECK_THROWS_AS(r.create_branch("", c), GitError);
    CHECK_THROWS_AS(r.create_branch("-x", c), GitError);
  }
  SECTION("a name under an existing branch cannot be created") {
    CHECK_THROWS_AS(r.create_branch("promptops/try-1/sub", c), GitError);
  }

  CHECK(rev(repo, "HEAD") == base);
  CHECK(chomp(repo.git({"symbolic-ref", "HEAD"})) == "refs/heads/main");
  CHECK(status(repo).empty());
  fsck(repo);
}

TEST_CASE("has_local_changes sees staged and unstaged changes relative to HEAD", "[git_write]") {
  test::TempRepo repo;
  seed(repo);
  auto r = git::Repository::discover(repo.path());

  CHECK_FALSE(r.has_local_changes(k_prompt));
  CHECK_FALSE(r.has_local_changes("deep/nested/dir/p.txt"));
  CHECK_FALSE(r.has_local_changes("no/such/file"));

  SECTION("unstaged only") {
    repo.write(k_prompt, "edited\n");
    CHECK(status(repo) == " M prompts/a.toml\n");
    CHECK(r.has_local_changes(k_prompt));
    CHECK_FALSE(r.has_local_changes("other.txt"));
  }
  SECTION("staged only") {
    repo.write(k_prompt, "edited\n");
    repo.git({"add", k_prompt});
    CHECK(status(repo) == "M  prompts/a.toml\n");
    CHECK(r.has_local_changes(k_prompt));
  }
  SECTION("staged, then the working tree set back to HEAD's content") {
    repo.write(k_prompt, "edited\n");
    repo.git({"add", k_prompt});
    repo.write(k_prompt, "v1\n");
    CHECK(status(repo) == "MM prompts/a.toml\n");
    CHECK(r.has_local_changes(k_prompt));
  }
  SECTION("deleted") {
    repo.remove("deep/nested/dir/p.txt");
    CHECK(r.has_local_changes("deep/nested/dir/p.txt"));
  }
  SECTION("an untracked file is not a change") {
    repo.write("prompts/new.toml", "new\n");
    CHECK_FALSE(r.has_local_changes("prompts/new.toml"));
    CHECK_FALSE(r.has_local_changes(k_prompt));
  }
}

TEST_CASE("advance_head commits one file as git commit would", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed(repo);
  auto r = git::Repository::discover(repo.path());

  SECTION("on the checked-out branch, leaving other changes alone") {
    repo.write("other.txt", "staged edit\n");
    repo.git({"add", "other.txt"});
    repo.write("deep/nested/dir/p.txt", "unstaged edit\n");
    const std::string content = "v2\nline two\n";
    const git::Oid c = r.create_file_commit(oid(base), k_prompt, content, "Update a\n\nwhy\n");
    r.advance_head(c, oid(base), k_prompt);

    CHECK(rev(repo, "main") == c.hex());
    CHECK(chomp(repo.git({"symbolic-ref", "HEAD"})) == "refs/heads/main");
    CHECK(repo.read(k_prompt) == content);
    CHECK(status(repo) == " M deep/nested/dir/p.txt\nM  other.txt\n");
    CHECK(repo.read("other.txt") == "staged edit\n");
    CHECK(repo.read("deep/nested/dir/p.txt") == "unstaged edit\n");
    CHECK(repo.git({"reflog", "show", "main", "-1", "--format=%gs"}) == "commit: Update a\n");
    CHECK(repo.git({"reflog", "show", "HEAD", "-1", "--format=%gs"}) == "commit: Update a\n");
    CHECK(repo.git({"reflog", "show", "main", "-1", "--format=%gn <%ge>"}) ==
          "Ada Tester <ada@example.com>\n");
    CHECK_FALSE(r.has_local_changes(k_prompt));
  }
  SECTION("an executable stays executable and clean") {
    const git::Oid c = r.create_file_commit(oid(base), "run.sh", "#!/bin/sh\necho bye\n", "Bye\n");
    r.advance_head(c, oid(base), "run.sh");
    CHECK(rev(repo, "HEAD") == c.hex());
    CHECK(status(repo).empty());
    CHECK(repo.read("run.sh") == "#!/bin/sh\necho bye\n");
    const auto perms = std::filesystem::status(repo.path() / "run.sh").permissions();
    CHECK((perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
  }
  SECTION("a nested file") {
    const git::Oid c = r.create_file_commit(oid(base), "deep/nested/dir/p.txt", "nested v2\n", "Nested\n");
    r.advance_head(c, oid(base), "deep/nested/dir/p.txt");
    CHECK(rev(repo, "main") == c.hex());
    CHECK(status(repo).empty());
    CHECK(repo.read("deep/nested/dir/p.txt") == "nested v2\n");
  }
  SECTION("on a detached HEAD, leaving the branch") {
    repo.git({"checkout", "-q", "--detach"});
    const git::Oid c = r.create_file_commit(oid(base), k_prompt, "v2\n", "Detached\n");
    r.advance_head(c, oid(base), k_prompt);
    CHECK(rev(repo, "HEAD") == c.hex());
    CHECK(rev(repo, "main") == base);
    CHECK(r.head_ref() == "HEAD");
    CHECK(status(repo).empty());
    CHECK(repo.git({"reflog", "show", "HEAD", "-1", "--format=%gs"}) == "commit: Detached\n");
  }
  SECTION("twice in a row") {
    const git::Oid c1 = r.create_file_commit(oid(base), k_prompt, "v2\n", "Two\n");
    r.advance_head(c1, oid(base), k_prompt);
    const git::Oid c2 = r.create_file_commit(c1, k_prompt, "v3\n", "Three\n");
    r.advance_head(c2, c1, k_prompt);
    CHECK(rev(repo, "main") == c2.hex());
    CHECK(rev(repo, "main~1") == c1.hex());
    CHECK(status(repo).empty());
    CHECK(repo.read(k_prompt) == "v3\n");
  }
  fsck(repo);
}

TEST_CASE("advance_head refuses and changes nothing", "[git_write]") {
  test::TempRepo repo;
  const std::string base = seed(repo);
  auto r = git::Repository::discover(repo.path());
  const git::Oid c = r.create_file_commit(oid(base), k_prompt, "v2\n", "Update a\n");

  SECTION("an unstaged edit of the file") {
    const std::string edit = "user edit\r\n\0kept"s;
    repo.write(k_prompt, edit);
    CHECK_THROWS_AS(r.advance_head(c, oid(base), k_prompt), GitError);
    CHECK(repo.read(k_prompt) == edit);
    CHECK(status(repo) == " M prompts/a.toml\n");
    CHECK(rev(repo, "main") == base);
  }
  SECTION("a staged edit of the file") {
    repo.write(k_prompt, "staged\n");
    repo.git({"add", k_prompt});
    CHECK_THROWS_AS(r.advance_head(c, oid(base), k_prompt), GitError);
    CHECK(repo.read(k_prompt) == "staged\n");
    CHECK(status(repo) == "M  prompts/a.toml\n");
    CHECK(rev(repo, "main") == base);
  }
  SECTION("a stale expected commit") {
    repo.write("other.txt", "moved on\n");
    const std::string moved = repo.commit("someone else");
    try {
      r.advance_head(c, oid(base), k_prompt);
      FAIL("no exception");
    } catch (const GitError& e) {
      CHECK(std::string(e.what()).find("HEAD moved") != std::string::npos);
    }
    CHECK(rev(repo, "main") == moved);
    CHECK(repo.read(k_prompt) == "v1\n");
    CHECK(status(repo).empty());
  }
  SECTION("a commit that is not a child of expected") {
    const git::Oid grandchild = r.create_file_commit(c, k_prompt, "v3\n", "Again\n");
    CHECK_THROWS_AS(r.advance_head(grandchild, oid(base), k_prompt), GitError);
    CHECK(rev(repo, "main") == base);
    CHECK(repo.read(k_prompt) == "v1\n");
    CHECK(status(repo).empty());
  }
  SECTION("a branch that cannot be moved puts the file back") {
    repo.write(".git/refs/heads/main.lock", "");
    CHECK_THROWS_AS(r.advance_head(c, oid(base), k_prompt), GitError);
    std::filesystem::remove(repo.path() / ".git/refs/heads/main.lock");
    CHECK(rev(repo, "main") == base);
    CHECK(repo.read(k_prompt) == "v1\n");
    CHECK(status(repo).empty());
  }
  fsck(repo);
}

TEST_CASE("write-back in a bare repository", "[git_write]") {
  test::TempRepo work;
  const std::string base = seed(work);
  test::TempRepo bare(true);
  work.git({"push", "-q", bare.path().string(), "main"});
  auto r = git::Repository::discover(bare.path());
  REQUIRE(r.is_bare());

  const git::Oid c = r.create_file_commit(oid(base), k_prompt, "v2\n", "Bare\n");
  CHECK(bare.git({"diff-tree", "-r", "--no-commit-id", "--name-only", c.hex()}) == "prompts/a.toml\n");
  r.create_branch("try", c);
  CHECK(rev(bare, "try") == c.hex());
  CHECK_FALSE(r.has_local_changes(k_prompt));
  CHECK_THROWS_AS(r.advance_head(c, oid(base), k_prompt), GitError);
  CHECK(rev(bare, "main") == base);
  fsck(bare);
}
