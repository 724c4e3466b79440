// SPDX-License-Identifier: MIT
// End-to-end: unusual repositories (detached HEAD, linked worktree, bare, shallow, subdirectory,
// configured prompt roots), `export`, and `git promptops` through git's extension dispatch.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::string greet_toml(const std::string& text) {
  return "description = \"Greets a user\"\n"
         "template = \"" + text + "\"\n"
         "\n"
         "[vars]\n"
         "who = { required = true }\n";
}

// greet in three versions (v3 at HEAD) with an unrelated commit between v2 and v3.
struct GreetRepo : GreetHistory {
  GreetRepo() : GreetHistory(greet_toml) {}
};

const char* const k_list_tsv = "NAME\tMODEL\tVARIABLES\tDESCRIPTION\ngreet\t\twho\tGreets a user\n";

// Runs git in `cwd` (outside a TempRepo) and requires success.
std::string git_in(const std::filesystem::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(cwd, argv);
  INFO("git " << args.front() << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// The commits of `log NAME --format json` run in `cwd`, newest first.
std::vector<std::string> version_commits(const std::filesystem::path& cwd, const std::string& name) {
  const RunResult r = run_promptops(cwd, {"log", name, "--format", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  std::vector<std::string> out;
  for (const auto& version : doc.at("versions")) {
    out.push_back(version.at("commit").get<std::string>());
  }
  return out;
}

std::string render_greet(const std::filesystem::path& cwd, const std::string& reference) {
  const RunResult r = run_promptops(cwd, {"render", reference, "--var", "who=Ada"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  return r.out;
}

std::vector<std::string> keys_of(const nlohmann::json& object) {
  std::vector<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) {
    out.push_back(it.key());
  }
  return out;
}

}  // namespace

// --- unusual repositories -------------------------------------------------------------------------

TEST_CASE("a detached HEAD: list, show and log read from the checked-out commit", "[e2e][edge]") {
  GreetRepo g;
  g.repo.git({"checkout", "-q", "--detach", g.v2});

  const RunResult list = run_promptops(g.repo.path(), {"list", "--format", "tsv"});
  CHECK(list.exit_code == 0);
  CHECK(list.out == k_list_tsv);
  CHECK(render_greet(g.repo.path(), "greet") == "Hi Ada!\n");
  CHECK(render_greet(g.repo.path(), "greet@HEAD") == "Hi Ada!\n");
  CHECK(render_greet(g.repo.path(), "greet@v1") == "Hello Ada!\n");
  CHECK(render_greet(g.repo.path(), "greet@main") == "Hey Ada!\n");
  CHECK(version_commits(g.repo.path(), "greet") == std::vector<std::string>{g.v2, g.v1});

  const RunResult log = run_promptops(g.repo.path(), {"log", "greet", "--format", "json"});
  CHECK(nlohmann::json::parse(log.out).at("tip") == g.v2);

  SECTION("versions are counted along the detached HEAD's history") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@v3"});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "git-promptops: error: prompt 'greet' has no version v3\n"
          "hint: its versions are v1..v2 (see 'git promptops log greet')\n");
  }
}

TEST_CASE("a linked worktree reads its own files and shares aliases with the main one", "[e2e][edge]") {
  GreetRepo g;
  TempDir parent;
  const std::filesystem::path wt = parent.path() / "wt";
  g.repo.git({"worktree", "add", "-q", "-b", "feature", wt.string()});
  std::filesystem::create_directories(wt / "prompts");
  {
    std::ofstream file(wt / "prompts" / "greet.toml", std::ios::trunc);
    file << greet_toml("Howdy {{who}}!");
  }

  CHECK(render_greet(wt, "greet") == "Howdy Ada!\n");
  CHECK(render_greet(g.repo.path(), "greet") == "Hey Ada!\n");
  CHECK(render_greet(wt, "greet@v2") == "Hi Ada!\n");
  CHECK(version_commits(wt, "greet") == std::vector<std::string>{g.v3, g.v2, g.v1});

  const RunResult list = run_promptops(wt, {"list", "--format", "tsv"});
  CHECK(list.exit_code == 0);
  CHECK(list.out == k_list_tsv);

  const RunResult set = run_promptops(wt, {"alias", "set", "greet", "production", "v2"});
  CHECK(set.exit_code == 0);
  CHECK(set.out == "greet@production -> " + short_sha(g.v2) + " (v2)\n");
  CHECK(g.repo.git({"tag", "-l", "promptops/*"}) == "promptops/greet/production\n");
  CHECK(render_greet(g.repo.path(), "greet@production") == "Hi Ada!\n");

  g.repo.git({"worktree", "remove", "--force", wt.string()});
}

TEST_CASE("a bare clone reads HEAD", "[e2e][edge]") {
  GreetRepo g;
  TempDir dir;
  git_in(dir.path(), {"clone", "-q", "--bare", g.repo.path().string(), "bare.git"});
  const std::filesystem::path bare = dir.path() / "bare.git";

  SECTION("list") {
    const RunResult tsv = run_promptops(bare, {"list", "--format", "tsv"});
    CHECK(tsv.exit_code == 0);
    CHECK(tsv.err.empty());
    CHECK(tsv.out == k_list_tsv);
    const RunResult json = run_promptops(bare, {"list", "--json"});
    CHECK(json.exit_code == 0);
    CHECK(nlohmann::json::parse(json.out).at("commit") == g.v3);
  }
  SECTION("show NAME without a revision") {
    const RunResult r = run_promptops(bare, {"show", "greet"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "prompt       greet\n"
          "path         prompts/greet.toml\n"
          "at           HEAD (" + short_sha(g.v3) + ")\n"
          "description  Greets a user\n"
          "var          who (required)\n"
          "\n"
          "--- user\n"
          "Hey {{who}}!\n");
    const RunResult raw = run_promptops(bare, {"show", "--raw", "greet"});
    CHECK(raw.exit_code == 0);
    CHECK(raw.out == greet_toml("Hey {{who}}!"));
  }
  SECTION("render, versions and log") {
    CHECK(render_greet(bare, "greet") == "Hey Ada!\n");
    CHECK(render_greet(bare, "greet@v1") == "Hello Ada!\n");
    CHECK(version_commits(bare, "greet") == std::vector<std::string>{g.v3, g.v2, g.v1});
  }
  SECTION("lint reads HEAD") {
    const RunResult r = run_promptops(bare, {"lint"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
  }
  SECTION("init refuses") {
    const RunResult r = run_promptops(bare, {"init"});
    CHECK(r.exit_code == 128);
    CHECK(r.err ==
          "git-promptops: error: cannot initialize a bare repository\n"
          "hint: run init in a clone with a working tree\n");
  }
}

TEST_CASE("a shallow clone: log shows the one version it has", "[e2e][edge]") {
  GreetRepo g;
  TempDir dir;
  git_in(dir.path(), {"clone", "-q", "--depth", "1", "file://" + g.repo.path().string(), "shallow"});
  const std::filesystem::path shallow = dir.path() / "shallow";
  REQUIRE(trimmed(git_in(shallow, {"rev-parse", "--is-shallow-repository"})) == "true");

  const RunResult r = run_promptops(shallow, {"log", "greet", "--format", "json"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc.at("versions").size() == 1);
  CHECK(doc.at("versions")[0].at("commit") == g.v3);
  CHECK(doc.at("versions")[0].at("deleted") == false);

  const RunResult table = run_promptops(shallow, {"log", "greet"});
  CHECK(table.exit_code == 0);
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 2);

  CHECK(render_greet(shallow, "greet@HEAD") == "Hey Ada!\n");
  const RunResult list = run_promptops(shallow, {"list", "--format", "tsv"});
  CHECK(list.exit_code == 0);
  CHECK(list.out == k_list_tsv);
}

TEST_CASE("commands work from a subdirectory of the work tree", "[e2e][edge]") {
  GreetRepo g;
  g.repo.write("prompts/deep/values.json", "{\"who\": \"Sub\"}\n");
  const std::filesystem::path sub = g.repo.path() / "prompts" / "deep";

  const RunResult list = run_promptops(sub, {"list", "--format", "tsv"});
  CHECK(list.exit_code == 0);
  CHECK(list.out == k_list_tsv);
  CHECK(render_greet(sub, "greet@v2") == "Hi Ada!\n");
  CHECK(version_commits(sub, "greet") == std::vector<std::string>{g.v3, g.v2, g.v1});

  const RunResult vars = run_promptops(sub, {"render", "greet", "--vars", "values.json"});
  CHECK(vars.exit_code == 0);
  CHECK(vars.out == "Hey Sub!\n");

  const RunResult show = run_promptops(sub, {"show", "greet"});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("path         prompts/greet.toml\n") != std::string::npos);

  const RunResult lint = run_promptops(sub, {"lint"});
  CHECK(lint.exit_code == 0);
  CHECK(lint.out.empty());
}

TEST_CASE("a .promptops.toml that moves the prompt roots", "[e2e][edge][config]") {
  TempRepo repo;
  repo.write("prompts/greet.toml", greet_toml("Hello {{who}}!"));
  const std::string before = repo.commit("add greet under prompts/");
  std::filesystem::create_directories(repo.path() / "llm");
  repo.git({"mv", "prompts/greet.toml", "llm/greet.toml"});
  repo.write("prompts/legacy.toml", greet_toml("Old {{who}}"));
  repo.write("shared/faq.txt", "+++\ndescription = \"FAQ\"\n[vars]\nq = { required = true }\n+++\nAnswer: {{q}}\n");
  repo.write(".promptops.toml", "prompts = [\"llm\", \"shared\"]\npatterns = [\"*.toml\", \"*.txt\"]\n");
  const std::string moved = repo.commit("move prompts to llm/ and shared/");

  SECTION("list reads the configured roots only") {
    const RunResult r = run_promptops(repo.path(), {"list", "--json"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto prompts = nlohmann::json::parse(r.out).at("prompts");
    REQUIRE(prompts.size() == 2);
    CHECK(prompts[0].at("name") == "faq");
    CHECK(prompts[0].at("path") == "shared/faq.txt");
    CHECK(prompts[0].at("format") == "text");
    CHECK(prompts[1].at("name") == "greet");
    CHECK(prompts[1].at("path") == "llm/greet.toml");
  }
  SECTION("an older revision is read with its own (default) config") {
    const RunResult r = run_promptops(repo.path(), {"list", "--at", "HEAD~1", "--format", "tsv"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == k_list_tsv);
    const RunResult show = run_promptops(repo.path(), {"show", "greet@HEAD~1", "--json"});
    CHECK(show.exit_code == 0);
    CHECK(nlohmann::json::parse(show.out).at("path") == "prompts/greet.toml");
  }
  SECTION("show, render and log follow the new roots") {
    const RunResult show = run_promptops(repo.path(), {"show", "greet", "--json"});
    CHECK(show.exit_code == 0);
    CHECK(nlohmann::json::parse(show.out).at("path") == "llm/greet.toml");
    const RunResult faq = run_promptops(repo.path(), {"render", "faq", "--var", "q=why?"});
    CHECK(faq.exit_code == 0);
    CHECK(faq.out == "Answer: why?\n");
    const RunResult legacy = run_promptops(repo.path(), {"show", "legacy"});
    CHECK(legacy.exit_code == 2);
    CHECK(legacy.err.rfind("git-promptops: error: no prompt named 'legacy' in the working tree\n", 0) == 0);
    const RunResult log = run_promptops(repo.path(), {"log", "greet", "--json"});
    CHECK(log.exit_code == 0);
    const auto doc = nlohmann::json::parse(log.out);
    CHECK(doc.at("path") == "llm/greet.toml");
    REQUIRE(doc.at("versions").size() == 1);
    CHECK(doc.at("versions")[0].at("commit") == moved);
    CHECK(before != moved);
  }
}

// --- export ---------------------------------------------------------------------------------------

TEST_CASE("export writes every prompt at a revision as one JSON bundle", "[e2e][export]") {
  GreetRepo g;
  g.repo.write("prompts/farewell.prompt", "+++\n[vars]\nwho = { required = true }\n+++\nBye {{who}}\n");
  const std::string head = g.repo.commit("add farewell");
  REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "production"}).exit_code == 0);

  SECTION("HEAD to stdout") {
    const RunResult r = run_promptops(g.repo.path(), {"export"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind("{\n  \"schema_version\": 1,\n  \"commit\": \"" + head + "\",\n  \"revision\": \"HEAD\",\n", 0) ==
          0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(keys_of(doc.at("prompts")) == std::vector<std::string>{"farewell", "greet"});
    const auto& greet = doc.at("prompts").at("greet");
    CHECK(greet.at("name") == "greet");
    CHECK(greet.at("path") == "prompts/greet.toml");
    CHECK(greet.at("blob") == trimmed(g.repo.git({"rev-parse", "HEAD:prompts/greet.toml"})));
    CHECK(greet.at("aliases") == nlohmann::json::array({"production"}));
    CHECK(greet.at("messages") == nlohmann::json::array({{{"role", "user"}, {"content", "Hey {{who}}!"}}}));
    CHECK(greet.at("model") == nlohmann::json({{"provider", ""}, {"name", ""}, {"params", nlohmann::json::object()}}));
    const auto& farewell = doc.at("prompts").at("farewell");
    CHECK(farewell.at("format") == "text");
    CHECK(farewell.at("messages")[0].at("content") == "Bye {{who}}");
    CHECK(farewell.at("aliases") == nlohmann::json::array());
  }
  SECTION("-o FILE writes the file and nothing to stdout") {
    const RunResult to_stdout = run_promptops(g.repo.path(), {"export"});
    const RunResult r = run_promptops(g.repo.path(), {"export", "-o", "bundle.json"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    CHECK(g.repo.read("bundle.json") == to_stdout.out);
  }
  SECTION("a revision before a prompt existed omits it") {
    const RunResult r = run_promptops(g.repo.path(), {"export", "HEAD~1"});
    CHECK(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("commit") == g.v3);
    CHECK(doc.at("revision") == "HEAD~1");
    CHECK(keys_of(doc.at("prompts")) == std::vector<std::string>{"greet"});
    CHECK(doc.at("prompts").at("greet").at("aliases") == nlohmann::json::array());
  }
  SECTION("an old version's text") {
    const RunResult r = run_promptops(g.repo.path(), {"export", g.v1});
    CHECK(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("commit") == g.v1);
    CHECK(doc.at("prompts").at("greet").at("messages")[0].at("content") == "Hello {{who}}!");
  }
  SECTION("--worktree includes uncommitted prompts") {
    g.repo.write("prompts/draft.prompt", "+++\n[vars]\nx = { required = true }\n+++\nDraft {{x}}\n");
    const RunResult r = run_promptops(g.repo.path(), {"export", "--worktree"});
    CHECK(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("commit").is_null());
    CHECK(doc.at("revision") == "working tree");
    CHECK(keys_of(doc.at("prompts")) == std::vector<std::string>{"draft", "farewell", "greet"});
  }
  SECTION("an unknown revision exits 2 and writes nothing") {
    const RunResult r = run_promptops(g.repo.path(), {"export", "nope", "-o", "bundle.json"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "git-promptops: error: unknown revision 'nope'\n");
    CHECK_FALSE(std::filesystem::exists(g.repo.path() / "bundle.json"));
  }
}

// --- git's extension dispatch ---------------------------------------------------------------------

TEST_CASE("git promptops runs the binary found on PATH", "[e2e][cli]") {
  GreetRepo g;
  const std::map<std::string, std::string> env = {
      {"PATH", std::string(PROMPTOPS_BUILD_BIN) + ":" + test_environment().at("PATH")}};

  const RunResult via_git = run(g.repo.path(), {"git", "promptops", "list", "--format", "tsv"}, env);
  CHECK(via_git.exit_code == 0);
  CHECK(via_git.err.empty());
  CHECK(via_git.out == k_list_tsv);

  const RunResult list = run(g.repo.path(), {"git", "promptops", "list"}, env);
  CHECK(list.exit_code == 0);
  CHECK(list.out == run_promptops(g.repo.path(), {"list"}).out);

  const RunResult version = run(g.repo.path(), {"git", "promptops", "--version"}, env);
  CHECK(version.exit_code == 0);
  CHECK(version.out == "git-promptops version " PROMPTOPS_TEST_VERSION "\n");

  const RunResult error = run(g.repo.path(), {"git", "promptops", "show", "greet@v9"}, env);
  CHECK(error.exit_code == 2);
  CHECK(error.err ==
        "git-promptops: error: prompt 'greet' has no version v9\n"
        "hint: its versions are v1..v3 (see 'git promptops log greet')\n");
}
