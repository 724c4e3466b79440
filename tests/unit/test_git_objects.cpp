// SPDX-License-Identifier: MIT
// Unit tests for src/git reading: discovery, commits, trees, blobs, refs, shallow clones, worktrees.
#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::chomp;
using promptops::test::oid;

namespace {



std::vector<std::string> paths_of(const std::vector<git::TreeEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) {
    out.push_back(entry.path);
  }
  return out;
}

// Runs git in `cwd` and REQUIREs success; returns stdout.
std::string git_in(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  const test::RunResult r = test::run(cwd, argv, env);
  INFO("git " << args.front() << " failed: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("read_commit returns the fields git log shows", "[git]") {
  test::TempRepo repo;
  repo.write("a.txt", "one\n");
  const std::string first = repo.commit("first");
  repo.write("a.txt", "two\n");
  repo.git({"add", "-A"});
  git_in(repo.path(), {"commit", "-q", "-m", "add prompt\n\nlonger body\nsecond line"},
         {{"GIT_AUTHOR_NAME", "Ann Author"},
          {"GIT_AUTHOR_EMAIL", "ann@example.com"},
          {"GIT_AUTHOR_DATE", "1700000000 +0530"},
          {"GIT_COMMITTER_NAME", "Bob Committer"},
          {"GIT_COMMITTER_EMAIL", "bob@example.com"},
          {"GIT_COMMITTER_DATE", "1700003600 -0200"}});
  const std::string second = chomp(repo.git({"rev-parse", "HEAD"}));
  const auto r = git::Repository::discover(repo.path());

  const git::Commit commit = r.read_commit(oid(second));
  CHECK(commit.id.hex() == second);
  CHECK(commit.tree.hex() == chomp(repo.git({"log", "-1", "--format=%T"})));
  REQUIRE(commit.parents.size() == 1);
  CHECK(commit.parents[0].hex() == first);
  CHECK(commit.author.name == "Ann Author");
  CHECK(commit.author.email == "ann@example.com");
  CHECK(commit.author.time == 1700000000);
  CHECK(commit.author.offset_minutes == 330);
  CHECK(commit.committer.name == "Bob Committer");
  CHECK(commit.committer.email == "bob@example.com");
  CHECK(commit.committer.time == 1700003600);
  CHECK(commit.committer.offset_minutes == -120);
  CHECK(commit.message == "add prompt\n\nlonger body\nsecond line\n");
  CHECK(commit.message + "\n" == repo.git({"log", "-1", "--format=%B"}));
  CHECK(commit.subject() == "add prompt");
  CHECK(r.parents(oid(second)) == std::vector<git::Oid>{oid(first)});
  CHECK(r.parents(oid(first)).empty());
  CHECK(r.read_commit(oid(first)).parents.empty());

  SECTION("a missing commit or a non-commit throws GitError") {
    CHECK_THROWS_AS(r.read_commit(oid(std::string(40, 'e'))), GitError);
    CHECK_THROWS_AS(r.read_commit(oid(repo.git({"rev-parse", "HEAD:a.txt"}))), GitError);
  }
}

TEST_CASE("entry_at finds files and directories and nothing else", "[git]") {
  test::TempRepo repo;
  repo.write("prompts/support/classify.md", "Classify: {{input}}\n");
  repo.write("README.md", "readme\n");
  const std::string sha = repo.commit("add");
  const auto r = git::Repository::discover(repo.path());

  SECTION("a file") {
    const auto entry = r.entry_at(oid(sha), "prompts/support/classify.md");
    REQUIRE(entry.has_value());
    CHECK(entry->path == "prompts/support/classify.md");
    CHECK(entry->id.hex() == chomp(repo.git({"rev-parse", "HEAD:prompts/support/classify.md"})));
    CHECK(entry->mode == 0100644);
    CHECK(entry->is_blob());
  }
  SECTION("a directory, with or without a trailing slash") {
    const auto entry = r.entry_at(oid(sha), "prompts/support/");
    REQUIRE(entry.has_value());
    CHECK(entry->path == "prompts/support");
    CHECK(entry->id.hex() == chomp(repo.git({"rev-parse", "HEAD:prompts/support"})));
    CHECK(entry->mode == 040000);
    CHECK(entry->is_tree());
  }
  SECTION("a missing path") {
    CHECK_FALSE(r.entry_at(oid(sha), "prompts/missing.md").has_value());
    CHECK_FALSE(r.entry_at(oid(sha), "nope/classify.md").has_value());
    CHECK_FALSE(r.entry_at(oid(sha), "").has_value());
  }
  SECTION("a file used as a directory") {
    CHECK_FALSE(r.entry_at(oid(sha), "README.md/inner").has_value());
    CHECK_FALSE(r.entry_at(oid(sha), "prompts/support/classify.md/x").has_value());
  }
}

TEST_CASE("list_blobs lists regular files recursively, sorted by path", "[git]") {
  test::TempRepo repo;
  repo.write("prompts/z.md", "z\n");
  repo.write("prompts/a/b/deep.md", "deep\n");
  repo.write("prompts/a.md", "a\n");
  repo.write("prompts/a-b.md", "ab\n");
  repo.write("other.txt", "other\n");
  repo.write("tool.sh", "#!/bin/sh\n");
  std::filesystem::permissions(repo.path() / "tool.sh", std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);
  const std::string sha = repo.commit("files");
  const auto r = git::Repository::discover(repo.path());

  SECTION("a directory") {
    const auto blobs = r.list_blobs(oid(sha), "prompts");
    CHECK(paths_of(blobs) ==
          std::vector<std::string>{"prompts/a-b.md", "prompts/a.md", "prompts/a/b/deep.md", "prompts/z.md"});
    REQUIRE(blobs.size() == 4);
    CHECK(blobs[2].id.hex() == chomp(repo.git({"rev-parse", "HEAD:prompts/a/b/deep.md"})));
    CHECK(paths_of(r.list_blobs(oid(sha), "prompts/")) == paths_of(blobs));
  }
  SECTION("the whole tree, with file modes") {
    const auto blobs = r.list_blobs(oid(sha), "");
    CHECK(paths_of(blobs) == std::vector<std::string>{"other.txt", "prompts/a-b.md", "prompts/a.md",
                                                      "prompts/a/b/deep.md", "prompts/z.md", "tool.sh"});
    REQUIRE(blobs.size() == 6);
    CHECK(blobs[5].mode == 0100755);
    CHECK(blobs[0].mode == 0100644);
  }
  SECTION("a missing directory or a file is empty") {
    CHECK(r.list_blobs(oid(sha), "missing").empty());
    CHECK(r.list_blobs(oid(sha), "other.txt").empty());
  }
}

TEST_CASE("read_blob returns the exact bytes", "[git]") {
  test::TempRepo repo;
  const std::string unicode = "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n";
  repo.write("u.md", unicode);
  repo.write("bin.dat", std::string("a\0b\n", 4));
  repo.write("empty.md", "");
  const std::string sha = repo.commit("blobs");
  const auto r = git::Repository::discover(repo.path());

  CHECK(r.read_blob(r.entry_at(oid(sha), "u.md")->id) == unicode);
  const std::string binary = r.read_blob(r.entry_at(oid(sha), "bin.dat")->id);
  CHECK(binary == std::string("a\0b\n", 4));
  CHECK(binary.size() == 4);
  CHECK(r.read_blob(r.entry_at(oid(sha), "empty.md")->id).empty());

  SECTION("a missing blob or a commit id throws GitError") {
    CHECK_THROWS_AS(r.read_blob(oid(std::string(40, 'd'))), GitError);
    CHECK_THROWS_AS(r.read_blob(oid(sha)), GitError);
  }
}

TEST_CASE("read_blob in a partial clone says the blob is missing", "[git]") {
  test::TempRepo source;
  source.write("a.txt", "hello\n");
  source.commit("one");
  source.git({"config", "uploadpack.allowFilter", "true"});
  test::TempDir dir;
  git_in(dir.path(), {"clone", "-q", "--filter=blob:none", "--no-checkout",
                      "file://" + source.path().string(), "partial"});
  const auto r = git::Repository::discover(dir.path() / "partial");
  const auto head = r.head();
  REQUIRE(head.has_value());
  const auto entry = r.entry_at(*head, "a.txt");
  REQUIRE(entry.has_value());
  try {
    (void)r.read_blob(entry->id);
    FAIL("read_blob did not throw");
  } catch (const GitError& error) {
    CHECK(std::string(error.what()) == "blob " + entry->id.hex() + " is missing in this partial clone");
    CHECK(error.hint().find("git cat-file -e " + entry->id.hex()) != std::string::npos);
    CHECK(error.hint().find("git fetch") != std::string::npos);
    CHECK(error.exit_code() == ExitCode::git_fatal);
  }
}

TEST_CASE("head and head_ref follow HEAD", "[git]") {
  test::TempRepo repo;

  SECTION("an empty repository has no head") {
    const auto r = git::Repository::discover(repo.path());
    CHECK_FALSE(r.head().has_value());
    CHECK(r.head_ref() == "refs/heads/main");
    CHECK_FALSE(r.resolve("HEAD").has_value());
    CHECK(r.ref_names().empty());
  }
  SECTION("a branch and a detached HEAD") {
    const std::string first = repo.commit("first");
    const std::string second = repo.commit("second");
    {
      const auto r = git::Repository::discover(repo.path());
      CHECK(r.head() == oid(second));
      CHECK(r.head_ref() == "refs/heads/main");
    }
    repo.git({"checkout", "-q", "--detach", "HEAD~1"});
    const auto r = git::Repository::discover(repo.path());
    CHECK(r.head() == oid(first));
    CHECK(r.head_ref() == "HEAD");
  }
  SECTION("another branch") {
    repo.commit("first");
    repo.git({"checkout", "-q", "-b", "feature/x"});
    const std::string tip = repo.commit("on feature");
    const auto r = git::Repository::discover(repo.path());
    CHECK(r.head() == oid(tip));
    CHECK(r.head_ref() == "refs/heads/feature/x");
  }
}

TEST_CASE("resolve peels revisions to commits", "[git]") {
  test::TempRepo repo;
  repo.write("file.txt", "1\n");
  const std::string first = repo.commit("first");
  repo.write("file.txt", "2\n");
  const std::string second = repo.commit("second");
  repo.git({"branch", "old", first});
  repo.git({"tag", "-a", "-m", "release", "v1", first});
  repo.git({"tag", "light", second});
  const auto r = git::Repository::discover(repo.path());

  CHECK(r.resolve(second) == oid(second));
  CHECK(r.resolve(first.substr(0, 7)) == oid(first));
  CHECK(r.resolve("main") == oid(second));
  CHECK(r.resolve("old") == oid(first));
  CHECK(r.resolve("HEAD") == oid(second));
  CHECK(r.resolve("HEAD~1") == oid(first));
  CHECK(r.resolve("HEAD^") == oid(first));
  CHECK(r.resolve("v1") == oid(first));
  CHECK(r.resolve("refs/tags/v1") == oid(first));
  CHECK(r.resolve("light") == oid(second));
  CHECK(r.resolve(":/first") == oid(first));

  CHECK_FALSE(r.resolve("nope").has_value());
  CHECK_FALSE(r.resolve("HEAD~5").has_value());
  CHECK_FALSE(r.resolve("HEAD^2").has_value());
  CHECK_FALSE(r.resolve(std::string(40, 'a')).has_value());
  CHECK_FALSE(r.resolve("").has_value());
  CHECK_FALSE(r.resolve("HEAD:file.txt").has_value());  // a blob
  CHECK_FALSE(r.resolve("HEAD^{tree}").has_value());    // a tree
  CHECK_FALSE(r.resolve("main..old").has_value());      // a range is not one revision
}

TEST_CASE("ref_names lists branches, tags and remotes but not aliases", "[git]") {
  test::TempRepo repo;
  const std::string sha = repo.commit("first");
  repo.git({"branch", "feature"});
  repo.git({"tag", "v1"});
  repo.git({"tag", "promptops/support/classify/production"});
  repo.git({"update-ref", "refs/remotes/origin/main", sha});
  repo.git({"update-ref", "refs/notes/commits", sha});
  const auto r = git::Repository::discover(repo.path());
  CHECK(r.ref_names() == std::vector<std::string>{"feature", "main", "origin/main", "v1"});
}

TEST_CASE("a shallow clone stops history at its boundary", "[git]") {
  test::TempRepo source;
  std::vector<std::string> shas;
  for (int i = 1; i <= 4; ++i) {
    source.write("a.txt", std::to_string(i) + "\n");
    shas.push_back(source.commit("commit " + std::to_string(i)));
  }
  test::TempDir dir;
  git_in(dir.path(), {"clone", "-q", "--depth", "2", "file://" + source.path().string(), "shallow"});
  const auto r = git::Repository::discover(dir.path() / "shallow");

  CHECK(r.is_shallow());
  CHECK(r.shallow_roots() == std::vector<git::Oid>{oid(shas[2])});
  CHECK(r.head() == oid(shas[3]));
  CHECK(r.parents(oid(shas[3])) == std::vector<git::Oid>{oid(shas[2])});
  CHECK(r.parents(oid(shas[2])).empty());
  const git::Commit boundary = r.read_commit(oid(shas[2]));
  CHECK(boundary.parents.empty());
  CHECK(boundary.subject() == "commit 3");
  CHECK(r.resolve("HEAD") == oid(shas[3]));
  CHECK(r.resolve("HEAD~1") == oid(shas[2]));
  CHECK(r.resolve(shas[2]) == oid(shas[2]));
  CHECK_FALSE(r.resolve("HEAD~2").has_value());
  CHECK(r.read_blob(r.entry_at(oid(shas[2]), "a.txt")->id) == "3\n");
}

TEST_CASE("a linked worktree shares refs but has its own HEAD", "[git]") {
  test::TempRepo repo;
  const std::string base = repo.commit("base");
  test::TempDir dir;
  const auto worktree = dir.path() / "wt";
  repo.git({"worktree", "add", "-q", "-b", "side", worktree.string()});
  git_in(worktree, {"commit", "-q", "--allow-empty", "-m", "on side"});
  const std::string side = chomp(git_in(worktree, {"rev-parse", "HEAD"}));

  const auto main_repo = git::Repository::discover(repo.path());
  const auto linked = git::Repository::discover(worktree);
  const auto common = std::filesystem::canonical(repo.path() / ".git");
  CHECK(linked.workdir() == std::filesystem::canonical(worktree));
  CHECK(linked.common_dir() == common);
  CHECK(linked.git_dir() == common / "worktrees" / "wt");
  CHECK(linked.git_dir() != linked.common_dir());
  CHECK(main_repo.git_dir() == common);
  CHECK(main_repo.common_dir() == common);
  CHECK(linked.head() == oid(side));
  CHECK(linked.head_ref() == "refs/heads/side");
  CHECK(main_repo.head() == oid(base));
  CHECK(main_repo.head_ref() == "refs/heads/main");
  CHECK(main_repo.resolve("side") == oid(side));
  CHECK(linked.resolve("main") == oid(base));
}

TEST_CASE("a bare repository has no work tree and reads history", "[git]") {
  test::TempRepo source;
  source.write("prompts/a.md", "A\n");
  const std::string sha = source.commit("first");
  test::TempDir dir;
  git_in(dir.path(), {"clone", "-q", "--bare", source.path().string(), "bare.git"});
  const auto r = git::Repository::discover(dir.path() / "bare.git");
  CHECK(r.is_bare());
  CHECK(r.workdir().empty());
  CHECK(r.git_dir() == std::filesystem::canonical(dir.path() / "bare.git"));
  CHECK(r.head() == oid(sha));
  CHECK(paths_of(r.list_blobs(oid(sha), "")) == std::vector<std::string>{"prompts/a.md"});
  CHECK(r.read_blob(r.entry_at(oid(sha), "prompts/a.md")->id) == "A\n");
}

TEST_CASE("discover finds the repository from a subdirectory and fails outside one", "[git]") {
  test::TempRepo repo;
  repo.write("sub/dir/f.txt", "x\n");
  const auto r = git::Repository::discover(repo.path() / "sub" / "dir");
  CHECK(r.workdir() == std::filesystem::canonical(repo.path()));
  CHECK_FALSE(r.is_bare());
  CHECK_FALSE(r.is_shallow());

  test::TempDir outside;
  try {
    (void)git::Repository::discover(outside.path());
    FAIL("discover did not throw");
  } catch (const GitError& error) {
    CHECK(error.exit_code() == ExitCode::git_fatal);
    CHECK(static_cast<int>(error.exit_code()) == 128);
    CHECK(std::string(error.what()).find("not a git repository") != std::string::npos);
  }
}
