// SPDX-License-Identifier: MIT
// End-to-end: `log` (versions along first-parent history) and `alias set|list|rm` (git tags).
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

// Tagger dates of alias moves, so that tables and tag objects are reproducible.
const std::map<std::string, std::string> k_alias_clock = {{"GIT_COMMITTER_DATE", "1700100000 +0000"}};

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::string prompt_toml(const std::string& text) {
  return "template = \"" + text + "\"\n\n[vars]\nwho = { required = true }\n";
}

// One row of the log table for a commit made by TempRepo::commit (author Ada Tester).
// `label` is "v3" or "deleted"; `aliases` pads to the ALIASES column width `aliases_width`.
std::string log_row(const std::string& label, const std::string& sha, const std::string& date,
                    const std::string& aliases, std::size_t aliases_width, const std::string& subject) {
  return std::string(7 - label.size(), ' ') + label + "  " + short_sha(sha) + "  " + date + "  Ada Tester  " +
         aliases + std::string(aliases_width - aliases.size(), ' ') + "  " + subject + "\n";
}

std::string log_header(std::size_t aliases_width) {
  return "VERSION  COMMIT   DATE              AUTHOR      ALIASES" + std::string(aliases_width - 7, ' ') +
         "  SUBJECT\n";
}

// greet in three versions with an unrelated commit between v2 and v3. Commit dates are
// 2023-11-14 23:13, 2023-11-15 00:13, 01:13 and 02:13 UTC.
struct GreetRepo : GreetHistory {
  GreetRepo() : GreetHistory(prompt_toml) {}
};

nlohmann::json log_json(const std::filesystem::path& cwd, std::vector<std::string> args) {
  args.insert(args.begin(), "log");
  args.push_back("--format");
  args.push_back("json");
  const RunResult r = run_promptops(cwd, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::vector<std::string> commits_of(const nlohmann::json& log) {
  std::vector<std::string> out;
  for (const auto& version : log.at("versions")) {
    out.push_back(version.at("commit").get<std::string>());
  }
  return out;
}

}  // namespace

// --- log ------------------------------------------------------------------------------------------

TEST_CASE("log lists versions newest first and skips commits that did not touch the prompt", "[e2e][log]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"log", "greet"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == log_header(7) +
                     log_row("v3", g.v3, "2023-11-15 02:13", "", 7, "greet: say hey") +
                     log_row("v2", g.v2, "2023-11-15 00:13", "", 7, "greet: say hi") +
                     log_row("v1", g.v1, "2023-11-14 23:13", "", 7, "add greet"));
}

TEST_CASE("log --format json has one entry per version with its commit, blob, date and author", "[e2e][log]") {
  GreetRepo g;
  const auto doc = log_json(g.repo.path(), {"greet"});
  CHECK(doc.at("schema_version") == 1);
  CHECK(doc.at("prompt") == "greet");
  CHECK(doc.at("path") == "prompts/greet.toml");
  CHECK(doc.at("tip") == g.v3);
  const auto& versions = doc.at("versions");
  REQUIRE(versions.size() == 3);
  const std::string blob_v3 = trimmed(g.repo.git({"rev-parse", g.v3 + ":prompts/greet.toml"}));
  CHECK(versions[0] == nlohmann::json({{"version", 3},
                                       {"deleted", false},
                                       {"commit", g.v3},
                                       {"blob", blob_v3},
                                       {"date", "2023-11-15T02:13:20+00:00"},
                                       {"author", {{"name", "Ada Tester"}, {"email", "ada@example.com"}}},
                                       {"subject", "greet: say hey"},
                                       {"aliases", nlohmann::json::array()},
                                       {"eval", nullptr}}));
  CHECK(versions[1].at("version") == 2);
  CHECK(versions[1].at("commit") == g.v2);
  CHECK(versions[1].at("blob") == trimmed(g.repo.git({"rev-parse", g.v2 + ":prompts/greet.toml"})));
  CHECK(versions[1].at("subject") == "greet: say hi");
  CHECK(versions[2].at("version") == 1);
  CHECK(versions[2].at("commit") == g.v1);
  CHECK(versions[2].at("date") == "2023-11-14T23:13:20+00:00");
  CHECK(versions[2].at("subject") == "add greet");
}

TEST_CASE("log -n and --rev limit the versions", "[e2e][log]") {
  GreetRepo g;
  SECTION("-n 2 keeps the two newest") {
    CHECK(commits_of(log_json(g.repo.path(), {"greet", "-n", "2"})) == std::vector<std::string>{g.v3, g.v2});
  }
  SECTION("--max-count 1") {
    CHECK(commits_of(log_json(g.repo.path(), {"greet", "--max-count", "1"})) == std::vector<std::string>{g.v3});
  }
  SECTION("--rev walks from another commit") {
    const auto doc = log_json(g.repo.path(), {"greet", "--rev", "HEAD~1"});
    CHECK(doc.at("tip") == g.unrelated);
    CHECK(commits_of(doc) == std::vector<std::string>{g.v2, g.v1});
    CHECK(doc.at("versions")[0].at("version") == 2);
  }
  SECTION("--rev with a branch name") {
    g.repo.git({"branch", "early", g.v1});
    CHECK(commits_of(log_json(g.repo.path(), {"greet", "--rev", "early"})) == std::vector<std::string>{g.v1});
  }
  SECTION("--rev of an unknown revision exits 2 with did-you-mean") {
    const RunResult r = run_promptops(g.repo.path(), {"log", "greet", "--rev", "mian"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: unknown revision 'mian'\n"
          "hint: did you mean 'main'?\n");
  }
}

TEST_CASE("log --format tsv", "[e2e][log]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"log", "greet", "-n", "1", "--format", "tsv"});
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "VERSION\tCOMMIT\tDATE\tAUTHOR\tALIASES\tSUBJECT\n"
        "v3\t" + short_sha(g.v3) + "\t2023-11-15 02:13\tAda Tester\t\tgreet: say hey\n");
}

TEST_CASE("a merge that brings a prompt change counts once, at the merge commit", "[e2e][log]") {
  TempRepo repo;
  repo.write("prompts/greet.toml", prompt_toml("Hello {{who}}!"));
  const std::string v1 = repo.commit("add greet");
  repo.git({"checkout", "-q", "-b", "side"});
  repo.write("prompts/greet.toml", prompt_toml("Hi {{who}}!"));
  const std::string side_change = repo.commit("side: say hi");
  repo.write("prompts/greet.toml", prompt_toml("Hi there {{who}}!"));
  const std::string side_change2 = repo.commit("side: say hi there");
  repo.git({"checkout", "-q", "main"});
  repo.write("README.md", "main work\n");
  repo.commit("main: readme");
  repo.git({"merge", "-q", "--no-ff", "--no-commit", "side"});
  const std::string merge = repo.commit("merge side");
  REQUIRE(trimmed(repo.git({"rev-list", "--parents", "-n", "1", "HEAD"})).size() == 3 * 40 + 2);

  const auto doc = log_json(repo.path(), {"greet"});
  CHECK(commits_of(doc) == std::vector<std::string>{merge, v1});
  CHECK(doc.at("versions")[0].at("version") == 2);
  CHECK(doc.at("versions")[0].at("subject") == "merge side");
  CHECK(doc.at("versions")[0].at("blob") == trimmed(repo.git({"rev-parse", side_change2 + ":prompts/greet.toml"})));

  SECTION("the side branch's own commits are versions of the side branch") {
    CHECK(commits_of(log_json(repo.path(), {"greet", "--rev", "side"})) ==
          std::vector<std::string>{side_change2, side_change, v1});
  }
  SECTION("NAME@v2 is the merge") {
    const RunResult r = run_promptops(repo.path(), {"render", "greet@v2", "--var", "who=Ada"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hi there Ada!\n");
  }
}

TEST_CASE("a renamed prompt starts a new history and the old name resolves through history", "[e2e][log]") {
  TempRepo repo;
  repo.write("prompts/old.toml", prompt_toml("Hello {{who}}!"));
  const std::string c1 = repo.commit("add old");
  repo.write("prompts/old.toml", prompt_toml("Hi {{who}}!"));
  const std::string c2 = repo.commit("old: say hi");
  repo.git({"mv", "prompts/old.toml", "prompts/new.toml"});
  const std::string renamed = repo.commit("rename old to new");
  repo.write("prompts/new.toml", prompt_toml("Hey {{who}}!"));
  const std::string c4 = repo.commit("new: say hey");

  SECTION("the new name's log starts at the rename") {
    const auto doc = log_json(repo.path(), {"new"});
    CHECK(doc.at("path") == "prompts/new.toml");
    CHECK(commits_of(doc) == std::vector<std::string>{c4, renamed});
    CHECK(doc.at("versions")[1].at("version") == 1);
  }
  SECTION("the old name's log lists the rename as its deletion") {
    const RunResult r = run_promptops(repo.path(), {"log", "old"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == log_header(7) +
                       log_row("deleted", renamed, "2023-11-15 01:13", "", 7, "rename old to new") +
                       log_row("v2", c2, "2023-11-15 00:13", "", 7, "old: say hi") +
                       log_row("v1", c1, "2023-11-14 23:13", "", 7, "add old"));
    const auto doc = log_json(repo.path(), {"old"});
    CHECK(doc.at("path") == "prompts/old.toml");
    CHECK(doc.at("versions")[0].at("version").is_null());
    CHECK(doc.at("versions")[0].at("deleted") == true);
    CHECK(doc.at("versions")[0].at("blob").is_null());
    CHECK(doc.at("versions")[0].at("commit") == renamed);
    CHECK(doc.at("versions")[1].at("deleted") == false);
  }
  SECTION("old@v1 and old@HEAD~2 still resolve") {
    const RunResult v1 = run_promptops(repo.path(), {"render", "old@v1", "--var", "who=Ada"});
    CHECK(v1.exit_code == 0);
    CHECK(v1.out == "Hello Ada!\n");
    const RunResult rev = run_promptops(repo.path(), {"render", "old@HEAD~2", "--var", "who=Ada"});
    CHECK(rev.exit_code == 0);
    CHECK(rev.out == "Hi Ada!\n");
  }
  SECTION("old@HEAD does not exist") {
    const RunResult r = run_promptops(repo.path(), {"show", "old@HEAD"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: prompt 'old' does not exist at " + short_sha(c4) + " (HEAD)\n"
          "hint: see 'git promptops log old' for its versions\n");
  }
}

TEST_CASE("a deleted prompt keeps its versions and drops out of list", "[e2e][log]") {
  TempRepo repo;
  repo.write("prompts/greet.toml", prompt_toml("Hello {{who}}!"));
  repo.write("prompts/keep.toml", prompt_toml("Keep {{who}}"));
  const std::string v1 = repo.commit("add prompts");
  repo.remove("prompts/greet.toml");
  const std::string gone = repo.commit("drop greet");

  const auto doc = log_json(repo.path(), {"greet"});
  CHECK(commits_of(doc) == std::vector<std::string>{gone, v1});
  CHECK(doc.at("versions")[0].at("deleted") == true);
  CHECK(doc.at("versions")[0].at("subject") == "drop greet");
  CHECK(doc.at("versions")[1].at("version") == 1);

  const RunResult list = run_promptops(repo.path(), {"list", "--format", "tsv"});
  CHECK(list.exit_code == 0);
  CHECK(list.out == "NAME\tMODEL\tVARIABLES\tDESCRIPTION\nkeep\t\twho\t\n");

  const RunResult old = run_promptops(repo.path(), {"render", "greet@v1", "--var", "who=Ada"});
  CHECK(old.exit_code == 0);
  CHECK(old.out == "Hello Ada!\n");

  SECTION("adding it back continues the numbering") {
    repo.write("prompts/greet.toml", prompt_toml("Back {{who}}!"));
    const std::string back = repo.commit("restore greet");
    const auto again = log_json(repo.path(), {"greet"});
    CHECK(commits_of(again) == std::vector<std::string>{back, gone, v1});
    CHECK(again.at("versions")[0].at("version") == 2);
    CHECK(again.at("versions")[1].at("version").is_null());
    const RunResult v2 = run_promptops(repo.path(), {"render", "greet@v2", "--var", "who=Ada"});
    CHECK(v2.exit_code == 0);
    CHECK(v2.out == "Back Ada!\n");
  }
}

TEST_CASE("log of a name that never existed exits 2 with did-you-mean", "[e2e][log]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"log", "gret"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: no prompt named 'gret' at " + short_sha(g.v3) + " or in its history\n"
        "hint: did you mean 'greet'?\n");
}

TEST_CASE("log in a repository without commits exits 128", "[e2e][log]") {
  TempRepo repo;
  repo.write("prompts/greet.toml", prompt_toml("Hello {{who}}!"));
  const RunResult r = run_promptops(repo.path(), {"log", "greet"});
  CHECK(r.exit_code == 128);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: the repository has no commits yet\n"
        "hint: commit a prompt first (git add prompts && git commit)\n");
}

// --- alias ----------------------------------------------------------------------------------------

TEST_CASE("alias set points a tag at a version and moving it records the previous target", "[e2e][alias]") {
  GreetRepo g;
  const RunResult set = run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v1"}, k_alias_clock);
  CHECK(set.exit_code == 0);
  CHECK(set.err.empty());
  CHECK(set.out == "greet@production -> " + short_sha(g.v1) + " (v1)\n");
  CHECK(g.repo.git({"tag", "-l", "promptops/*"}) == "promptops/greet/production\n");
  CHECK(trimmed(g.repo.git({"rev-parse", "promptops/greet/production^{commit}"})) == g.v1);
  CHECK(g.repo.git({"cat-file", "-t", "refs/tags/promptops/greet/production"}) == "tag\n");
  CHECK(g.repo.git({"cat-file", "-p", "refs/tags/promptops/greet/production"}) ==
        "object " + g.v1 + "\n"
        "type commit\n"
        "tag promptops/greet/production\n"
        "tagger Ada Tester <ada@example.com> 1700100000 +0000\n"
        "\n"
        "promptops: alias production of greet -> " + g.v1 + "\n"
        "\n"
        "previous: none\n"
        "moved-by: Ada Tester <ada@example.com>\n"
        "moved-at: 2023-11-16T02:00:00Z\n");

  const RunResult moved = run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v3", "-m", "ship it"},
                                        k_alias_clock);
  CHECK(moved.exit_code == 0);
  CHECK(moved.out == "greet@production -> " + short_sha(g.v3) + " (v3), was " + short_sha(g.v1) + "\n");
  const std::string tag = g.repo.git({"cat-file", "-p", "refs/tags/promptops/greet/production"});
  CHECK(tag.find("object " + g.v3 + "\n") == 0);
  CHECK(tag.find("\nprevious: " + g.v1 + "\n") != std::string::npos);
  CHECK(tag.find("\nreason: ship it\n") != std::string::npos);

  const RunResult again = run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v3"}, k_alias_clock);
  CHECK(again.exit_code == 0);
  CHECK(again.out == "greet@production -> " + short_sha(g.v3) + " (v3), unchanged\n");
}

TEST_CASE("alias set takes HEAD, a revision or another alias as its target", "[e2e][alias]") {
  GreetRepo g;
  SECTION("default HEAD") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "latest"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greet@latest -> " + short_sha(g.v3) + " (v3)\n");
  }
  SECTION("a commit that did not change the prompt is labelled with the version it holds") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "staging", "HEAD~1"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greet@staging -> " + short_sha(g.unrelated) + " (v2)\n");
    const auto doc = log_json(g.repo.path(), {"greet"});
    CHECK(doc.at("versions")[1].at("aliases") == nlohmann::json::array({"staging"}));
    CHECK(trimmed(g.repo.git({"rev-parse", "promptops/greet/staging^{commit}"})) == g.unrelated);
  }
  SECTION("another alias") {
    REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v2"}).exit_code == 0);
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "canary", "production"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "greet@canary -> " + short_sha(g.v2) + " (v2)\n");
  }
}

TEST_CASE("alias list prints a table and JSON", "[e2e][alias]") {
  GreetRepo g;
  g.repo.write("prompts/other.toml", prompt_toml("Other {{who}}"));
  g.repo.commit("add other");
  REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v2"}, k_alias_clock).exit_code == 0);
  REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "canary", "v3"}, k_alias_clock).exit_code == 0);
  REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "other", "production"}, k_alias_clock).exit_code == 0);
  const std::string other = trimmed(g.repo.git({"rev-parse", "HEAD"}));

  SECTION("all aliases, sorted by prompt then alias") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "list"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "PROMPT  ALIAS       COMMIT   SET BY      DATE\n"
          "greet   canary      " + short_sha(g.v3) + "  Ada Tester  2023-11-16 02:00\n"
          "greet   production  " + short_sha(g.v2) + "  Ada Tester  2023-11-16 02:00\n"
          "other   production  " + short_sha(other) + "  Ada Tester  2023-11-16 02:00\n");
  }
  SECTION("one prompt's aliases as JSON") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "list", "other", "--format", "json"});
    CHECK(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("schema_version") == 1);
    REQUIRE(doc.at("aliases").size() == 1);
    const auto& alias = doc.at("aliases")[0];
    CHECK(alias.at("prompt") == "other");
    CHECK(alias.at("alias") == "production");
    CHECK(alias.at("commit") == other);
    CHECK(alias.at("tag") == trimmed(g.repo.git({"rev-parse", "refs/tags/promptops/other/production"})));
    CHECK(alias.at("tagger") == nlohmann::json({{"name", "Ada Tester"}, {"email", "ada@example.com"}}));
    CHECK(alias.at("date") == "2023-11-16T02:00:00+00:00");
  }
  SECTION("log shows the aliases on their versions") {
    const RunResult r = run_promptops(g.repo.path(), {"log", "greet"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == log_header(10) +
                       log_row("v3", g.v3, "2023-11-15 02:13", "canary", 10, "greet: say hey") +
                       log_row("v2", g.v2, "2023-11-15 00:13", "production", 10, "greet: say hi") +
                       log_row("v1", g.v1, "2023-11-14 23:13", "", 10, "add greet"));
    const auto doc = log_json(g.repo.path(), {"greet"});
    CHECK(doc.at("versions")[0].at("aliases") == nlohmann::json::array({"canary"}));
    CHECK(doc.at("versions")[1].at("aliases") == nlohmann::json::array({"production"}));
    CHECK(doc.at("versions")[2].at("aliases") == nlohmann::json::array());
  }
}

TEST_CASE("alias rm removes the tag; an unknown alias exits 2 with did-you-mean", "[e2e][alias]") {
  GreetRepo g;
  REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v1"}).exit_code == 0);

  const RunResult typo = run_promptops(g.repo.path(), {"alias", "rm", "greet", "prodution"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err ==
        "git-promptops: error: prompt 'greet' has no alias 'prodution'\n"
        "hint: did you mean 'production'?\n");

  const RunResult rm = run_promptops(g.repo.path(), {"alias", "rm", "greet", "production"});
  CHECK(rm.exit_code == 0);
  CHECK(rm.err.empty());
  CHECK(rm.out == "removed greet@production\n");
  CHECK(g.repo.git({"tag", "-l", "promptops/*"}).empty());

  const RunResult listed = run_promptops(g.repo.path(), {"alias", "list"});
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.empty());

  const RunResult gone = run_promptops(g.repo.path(), {"alias", "rm", "greet", "production"});
  CHECK(gone.exit_code == 2);
  CHECK(gone.err ==
        "git-promptops: error: prompt 'greet' has no alias 'production'\n"
        "hint: 'git promptops alias list greet' shows its aliases\n");

  const RunResult show = run_promptops(g.repo.path(), {"show", "greet@production"});
  CHECK(show.exit_code == 2);
}

TEST_CASE("invalid alias names are usage errors", "[e2e][alias]") {
  GreetRepo g;
  SECTION("a space") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "bad name"});
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: invalid alias name 'bad name'\n"
          "hint: use letters, digits, '-', '_' or '.', for example: production\n");
  }
  SECTION("a slash") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "a/b"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.rfind("git-promptops: error: invalid alias name 'a/b'\n", 0) == 0);
  }
  SECTION("a version-like name") {
    const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "v2"});
    CHECK(r.exit_code == 129);
    CHECK(r.err ==
          "git-promptops: error: alias 'v2' would hide version v2\n"
          "hint: choose another name\n");
  }
  CHECK(g.repo.git({"tag", "-l"}).empty());
}

TEST_CASE("alias set of an unknown version exits 2", "[e2e][alias]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v7"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: prompt 'greet' has no version v7\n"
        "hint: its versions are v1..v3 (see 'git promptops log greet')\n");
  CHECK(g.repo.git({"tag", "-l"}).empty());
}

TEST_CASE("an alias of a prompt in a subdirectory is the tag promptops/<dir>/<name>/<alias>", "[e2e][alias]") {
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);
  const std::string head = repo.commit("scaffold");

  const RunResult set = run_promptops(repo.path(), {"alias", "set", "support/classify", "production"}, k_alias_clock);
  CHECK(set.exit_code == 0);
  CHECK(set.out == "support/classify@production -> " + short_sha(head) + " (v1)\n");
  CHECK(repo.git({"tag", "-l"}) == "promptops/support/classify/production\n");

  const RunResult list = run_promptops(repo.path(), {"alias", "list", "support/classify"});
  CHECK(list.exit_code == 0);
  CHECK(list.out ==
        "PROMPT            ALIAS       COMMIT   SET BY      DATE\n"
        "support/classify  production  " + short_sha(head) + "  Ada Tester  2023-11-16 02:00\n");

  const RunResult other = run_promptops(repo.path(), {"alias", "list", "summarize"});
  CHECK(other.exit_code == 0);
  CHECK(other.out.empty());

  const RunResult show = run_promptops(repo.path(), {"show", "support/classify@production", "--json"});
  CHECK(show.exit_code == 0);
  CHECK(nlohmann::json::parse(show.out).at("reference").at("how") == "alias production");

  const auto log = log_json(repo.path(), {"support/classify"});
  CHECK(log.at("versions")[0].at("aliases") == nlohmann::json::array({"production"}));
}

TEST_CASE("log names authors as .mailmap does", "[e2e][log]") {
  GreetRepo g;
  g.repo.write(".mailmap", "Ada Lovelace <ada@lovelace.org> Ada Tester <ada@example.com>\n");
  g.repo.commit("add a mailmap");
  const RunResult json = run_promptops(g.repo.path(), {"log", "greet", "--format", "json"});
  REQUIRE(json.exit_code == 0);
  const auto versions = nlohmann::json::parse(json.out).at("versions");
  REQUIRE(versions.size() == 3);
  for (const auto& version : versions) {
    CHECK(version.at("author") == nlohmann::json({{"name", "Ada Lovelace"}, {"email", "ada@lovelace.org"}}));
  }
  const RunResult table = run_promptops(g.repo.path(), {"log", "greet", "-n", "1"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("  Ada Lovelace  ") != std::string::npos);
  CHECK(table.out.find("Ada Tester") == std::string::npos);
}
