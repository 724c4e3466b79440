// SPDX-License-Identifier: MIT
// Unit tests for src/git aliases (annotated tags under refs/tags/promptops) and signatures.
#include <ctime>
#include <optional>

#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "support/harness.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::chomp;
using promptops::test::EnvOverride;
using promptops::test::oid;

namespace {

std::vector<std::string> names_of(const std::vector<git::Alias>& aliases) {
  std::vector<std::string> out;
  for (const auto& alias : aliases) {
    out.push_back(alias.prompt + "@" + alias.name);
  }
  return out;
}

}  // namespace

TEST_CASE("set_alias creates an annotated tag that records the move", "[git]") {
  const EnvOverride date("GIT_COMMITTER_DATE", "1700000000 +0000");
  test::TempRepo repo;
  const std::string first = repo.commit("first");
  const std::string second = repo.commit("second");
  auto r = git::Repository::discover(repo.path());

  const git::Alias created = r.set_alias("p", "a", oid(first), "first release");
  CHECK(created.prompt == "p");
  CHECK(created.name == "a");
  CHECK(created.commit == oid(first));
  CHECK(created.tag.hex() == chomp(repo.git({"rev-parse", "refs/tags/promptops/p/a"})));
  CHECK(created.message == "promptops: alias a of p -> " + first +
                               "\n\nprevious: none\nmoved-by: Ada Tester <ada@example.com>\n"
                               "moved-at: 2023-11-14T22:13:20Z\nreason: first release\n");
  CHECK(created.tagger.name == "Ada Tester");
  CHECK(created.tagger.email == "ada@example.com");
  CHECK(created.tagger.time == 1700000000);
  CHECK(repo.git({"cat-file", "-t", "refs/tags/promptops/p/a"}) == "tag\n");
  CHECK(chomp(repo.git({"rev-parse", "refs/tags/promptops/p/a^{commit}"})) == first);
  const std::string tag_text = repo.git({"cat-file", "tag", "refs/tags/promptops/p/a"});
  CHECK(tag_text == "object " + first + "\ntype commit\ntag promptops/p/a\n" +
                        "tagger Ada Tester <ada@example.com> 1700000000 +0000\n\n" + created.message);
  repo.git({"fsck", "--no-dangling", "--strict"});

  const auto found = r.find_alias("p", "a");
  REQUIRE(found.has_value());
  CHECK(found->commit == oid(first));
  CHECK(found->tag == created.tag);
  CHECK(found->message == created.message);
  CHECK(found->tagger.name == "Ada Tester");
  CHECK(found->tagger.time == 1700000000);

  SECTION("moving records the previous target and drops an empty reason") {
    const git::Alias moved = r.set_alias("p", "a", oid(second), "");
    CHECK(moved.commit == oid(second));
    CHECK(moved.tag != created.tag);
    CHECK(moved.message == "promptops: alias a of p -> " + second + "\n\nprevious: " + first +
                               "\nmoved-by: Ada Tester <ada@example.com>\n"
                               "moved-at: 2023-11-14T22:13:20Z\n");
    CHECK(chomp(repo.git({"rev-parse", "refs/tags/promptops/p/a^{commit}"})) == second);
    CHECK(chomp(repo.git({"rev-parse", "refs/tags/promptops/p/a"})) == moved.tag.hex());
    CHECK(r.find_alias("p", "a")->message == moved.message);
  }
  SECTION("a multi-line reason stays on one line") {
    const git::Alias moved = r.set_alias("p", "a", oid(second), "line one\nline two");
    CHECK(moved.message.find("\nreason: line one line two\n") != std::string::npos);
  }
  SECTION("a lightweight alias is moved and replaced by an annotated one") {
    repo.git({"tag", "promptops/p/light", first});
    const git::Alias moved = r.set_alias("p", "light", oid(second), "");
    CHECK(moved.message.find("\nprevious: " + first + "\n") != std::string::npos);
    CHECK(repo.git({"cat-file", "-t", "refs/tags/promptops/p/light"}) == "tag\n");
  }
}

TEST_CASE("aliases are listed sorted, filtered by prompt, found and removed", "[git]") {
  test::TempRepo repo;
  const std::string first = repo.commit("first");
  const std::string second = repo.commit("second");
  auto r = git::Repository::discover(repo.path());
  CHECK(r.aliases().empty());

  r.set_alias("support/classify", "production", oid(first), "");
  r.set_alias("support/classify", "canary", oid(second), "");
  r.set_alias("support", "staging", oid(second), "");
  r.set_alias("zeta", "a", oid(first), "");
  r.set_alias("alpha", "b", oid(second), "");
  repo.git({"tag", "promptops/alpha/light", first});
  repo.git({"tag", "v1.0", first});
  repo.git({"tag", "promptops/stray", first});  // no alias component: ignored

  const auto all = r.aliases();
  CHECK(names_of(all) == std::vector<std::string>{"alpha@b", "alpha@light", "support@staging",
                                                  "support/classify@canary", "support/classify@production",
                                                  "zeta@a"});
  REQUIRE(all.size() == 6);
  CHECK(all[1].tag.is_zero());
  CHECK(all[1].message.empty());
  CHECK(all[1].commit == oid(first));
  CHECK(all[4].commit == oid(first));
  CHECK_FALSE(all[4].tag.is_zero());

  CHECK(names_of(r.aliases("support/classify")) ==
        std::vector<std::string>{"support/classify@canary", "support/classify@production"});
  CHECK(names_of(r.aliases("support")) == std::vector<std::string>{"support@staging"});
  CHECK(r.aliases("missing").empty());

  const auto found = r.find_alias("support/classify", "canary");
  REQUIRE(found.has_value());
  CHECK(found->prompt == "support/classify");
  CHECK(found->name == "canary");
  CHECK(found->commit == oid(second));
  CHECK_FALSE(r.find_alias("support/classify", "missing").has_value());
  CHECK_FALSE(r.find_alias("support", "classify").has_value());
  CHECK_FALSE(r.find_alias("p", "bad..name").has_value());

  CHECK(r.remove_alias("support/classify", "canary"));
  CHECK_FALSE(r.remove_alias("support/classify", "canary"));
  CHECK_FALSE(r.find_alias("support/classify", "canary").has_value());
  const auto verify = test::run(
      repo.path(), {"git", "rev-parse", "--verify", "-q", "refs/tags/promptops/support/classify/canary"});
  CHECK(verify.exit_code == 1);
  CHECK(names_of(r.aliases("support/classify")) == std::vector<std::string>{"support/classify@production"});

  SECTION("packed aliases are listed, moved and removed too") {
    repo.git({"pack-refs", "--all"});
    const auto reopened = git::Repository::discover(repo.path());
    CHECK(names_of(reopened.aliases()).size() == 5);
    r.set_alias("zeta", "a", oid(second), "");
    CHECK(chomp(repo.git({"rev-parse", "refs/tags/promptops/zeta/a^{commit}"})) == second);
    CHECK(r.remove_alias("alpha", "light"));
    CHECK(names_of(r.aliases("alpha")) == std::vector<std::string>{"alpha@b"});
  }
}

TEST_CASE("invalid alias and prompt names are usage errors", "[git]") {
  test::TempRepo repo;
  const std::string sha = repo.commit("first");
  auto r = git::Repository::discover(repo.path());

  CHECK_THROWS_AS(r.set_alias("p", "bad..name", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("p", "a/b", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("p", "", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("p", "x.lock", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("p", "has space", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("bad..prompt", "a", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("", "a", oid(sha), ""), UsageError);
  CHECK_THROWS_AS(r.set_alias("/abs", "a", oid(sha), ""), UsageError);
  try {
    r.set_alias("p", "bad..name", oid(sha), "");
    FAIL("set_alias did not throw");
  } catch (const UsageError& error) {
    CHECK(std::string(error.what()) == "invalid alias name 'bad..name'");
    CHECK(error.exit_code() == ExitCode::usage);
  }
  CHECK(r.aliases().empty());
  CHECK_FALSE(r.remove_alias("p", "bad..name"));

  SECTION("a commit that does not exist is a git error") {
    CHECK_THROWS_AS(r.set_alias("p", "a", oid(std::string(40, 'b')), ""), GitError);
    CHECK(r.aliases().empty());
  }
}

TEST_CASE("an alias may not clash with the refs of a nested prompt", "[git]") {
  test::TempRepo repo;
  const std::string sha = repo.commit("first");
  auto r = git::Repository::discover(repo.path());
  r.set_alias("support/classify", "production", oid(sha), "");
  r.set_alias("a", "b", oid(sha), "");

  try {
    r.set_alias("support", "classify", oid(sha), "");
    FAIL("set_alias did not throw");
  } catch (const GitError& error) {
    CHECK(std::string(error.what()) ==
          "cannot create alias 'support@classify': "
          "'refs/tags/promptops/support/classify/production' exists");
  }
  try {
    r.set_alias("a/b", "c", oid(sha), "");
    FAIL("set_alias did not throw");
  } catch (const GitError& error) {
    CHECK(std::string(error.what()) == "cannot create alias 'a/b@c': 'refs/tags/promptops/a/b' exists");
  }
  CHECK(names_of(r.aliases()) == std::vector<std::string>{"a@b", "support/classify@production"});
}

TEST_CASE("is_valid_ref_component decides as git does", "[git]") {
  CHECK(git::is_valid_ref_component("production"));
  CHECK(git::is_valid_ref_component("support/classify"));
  CHECK(git::is_valid_ref_component("v1.2-rc_3"));
  CHECK_FALSE(git::is_valid_ref_component(""));
  CHECK_FALSE(git::is_valid_ref_component("bad..name"));
  CHECK_FALSE(git::is_valid_ref_component("has space"));
  CHECK_FALSE(git::is_valid_ref_component("x.lock"));
  CHECK_FALSE(git::is_valid_ref_component(".hidden"));
  CHECK_FALSE(git::is_valid_ref_component("trailing/"));
  CHECK_FALSE(git::is_valid_ref_component("/leading"));
  CHECK_FALSE(git::is_valid_ref_component("a//b"));
  CHECK_FALSE(git::is_valid_ref_component("q?"));
  CHECK_FALSE(git::is_valid_ref_component("a@{1}"));
  CHECK_FALSE(git::is_valid_ref_component("tilde~1"));
}

TEST_CASE("signature follows git's precedence", "[git]") {
  test::TempRepo repo;
  repo.git({"config", "user.name", "Config Name"});
  repo.git({"config", "user.email", "config@example.com"});
  const auto r = git::Repository::discover(repo.path());

  SECTION("the environment beats config") {
    const git::Person author = r.signature(false);
    CHECK(author.name == "Ada Tester");
    CHECK(author.email == "ada@example.com");
    const EnvOverride name("GIT_COMMITTER_NAME", "Cy Committer");
    const EnvOverride email("GIT_COMMITTER_EMAIL", "cy@example.com");
    const git::Person committer = r.signature(true);
    CHECK(committer.name == "Cy Committer");
    CHECK(committer.email == "cy@example.com");
    CHECK(r.signature(false).name == "Ada Tester");
  }
  SECTION("config is used when the environment is unset") {
    const EnvOverride name("GIT_AUTHOR_NAME", std::nullopt);
    const EnvOverride email("GIT_AUTHOR_EMAIL", std::nullopt);
    const EnvOverride fallback("EMAIL", "fallback@example.com");
    const git::Person author = r.signature(false);
    CHECK(author.name == "Config Name");
    CHECK(author.email == "config@example.com");
    CHECK(r.signature(true).name == "Ada Tester");
  }
  SECTION("the time is now unless GIT_*_DATE parses") {
    const std::int64_t before = static_cast<std::int64_t>(std::time(nullptr));
    const git::Person now = r.signature(false);
    CHECK(now.time >= before);
    CHECK(now.time <= before + 5);
    {
      const EnvOverride date("GIT_AUTHOR_DATE", "1700000000 +0200");
      CHECK(r.signature(false).time == 1700000000);
      CHECK(r.signature(false).offset_minutes == 120);
      CHECK(r.signature(true).time != 1700000000);
    }
    {
      const EnvOverride date("GIT_AUTHOR_DATE", "@1700000000 -0130");
      CHECK(r.signature(false).time == 1700000000);
      CHECK(r.signature(false).offset_minutes == -90);
    }
    {
      const EnvOverride date("GIT_AUTHOR_DATE", "2023-11-14T22:13:20Z");
      CHECK(r.signature(false).time == 1700000000);
      CHECK(r.signature(false).offset_minutes == 0);
    }
    {
      const EnvOverride date("GIT_COMMITTER_DATE", "2023-11-15 00:13:20 +02:00");
      CHECK(r.signature(true).time == 1700000000);
      CHECK(r.signature(true).offset_minutes == 120);
    }
    {
      const EnvOverride date("GIT_AUTHOR_DATE", "Tue, 14 Nov 2023 17:13:20 -0500");
      CHECK(r.signature(false).time == 1700000000);
      CHECK(r.signature(false).offset_minutes == -300);
    }
    {
      const EnvOverride date("GIT_AUTHOR_DATE", "not a date");
      CHECK(r.signature(false).time >= before);
    }
  }
}

TEST_CASE("signature falls back to EMAIL and fails without an identity", "[git]") {
  test::TempRepo repo;
  const EnvOverride name("GIT_AUTHOR_NAME", std::nullopt);
  const EnvOverride email("GIT_AUTHOR_EMAIL", std::nullopt);
  const EnvOverride fallback("EMAIL", std::nullopt);

  SECTION("EMAIL supplies the address") {
    repo.git({"config", "user.name", "Config Name"});
    const EnvOverride mail("EMAIL", "fallback@example.com");
    const auto r = git::Repository::discover(repo.path());
    const git::Person author = r.signature(false);
    CHECK(author.name == "Config Name");
    CHECK(author.email == "fallback@example.com");
  }
  SECTION("author.* config beats user.*") {
    repo.git({"config", "user.name", "User Name"});
    repo.git({"config", "user.email", "user@example.com"});
    repo.git({"config", "author.name", "Author Name"});
    const auto r = git::Repository::discover(repo.path());
    CHECK(r.signature(false).name == "Author Name");
    CHECK(r.signature(false).email == "user@example.com");
  }
  SECTION("no identity at all") {
    const auto r = git::Repository::discover(repo.path());
    try {
      (void)r.signature(false);
      FAIL("signature did not throw");
    } catch (const GitError& error) {
      CHECK(std::string(error.what()) == "author identity unknown");
      CHECK(error.hint().find("git config --global user.email \"you@example.com\"") != std::string::npos);
      CHECK(error.exit_code() == ExitCode::git_fatal);
    }
  }
  SECTION("set_alias needs the committer identity") {
    const std::string sha = repo.commit("first");
    const EnvOverride committer_name("GIT_COMMITTER_NAME", std::nullopt);
    const EnvOverride committer_email("GIT_COMMITTER_EMAIL", std::nullopt);
    auto r = git::Repository::discover(repo.path());
    CHECK_THROWS_AS(r.set_alias("p", "a", oid(sha), ""), GitError);
    CHECK(r.aliases().empty());
  }
}
