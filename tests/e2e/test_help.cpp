// SPDX-License-Identifier: MIT
// End-to-end tests of the built-in manual (`help`, -h, --help) and of the generated shell
// completion, run by bash itself through git's own completion in a real repository.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

const std::filesystem::path k_git_completion = "/usr/share/bash-completion/completions/git";

// COMPREPLY, one word per line, after bash completes `line` (the last word is the one completed;
// an empty last word completes a new one): `git ...` through git's completion, `git-promptops ...`
// through ours alone.
std::string complete(const std::filesystem::path& repo, const std::vector<std::string>& line) {
  std::string words;
  for (const std::string& word : line) {
    words += " '" + word + "'";
  }
  const std::string function = line.front() == "git" ? "__git_wrap__git_main" : "__git_promptops_program";
  const std::string script = "source " + k_git_completion.string() +
                             " && source <(git-promptops completion bash) && COMP_WORDS=(" + words +
                             ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && COMP_LINE=\"${COMP_WORDS[*]}\" && "
                             "COMP_POINT=${#COMP_LINE} && " + function +
                             " \"${COMP_WORDS[0]}\" \"${COMP_WORDS[COMP_CWORD]}\" && printf '%s\\n' \"${COMPREPLY[@]}\"";
  std::map<std::string, std::string> env = test_environment();
  env["PATH"] = promptops_binary().parent_path().string() + ":" + env.at("PATH");
  const RunResult r = run(repo, {"bash", "-c", script}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  return r.out;
}

}  // namespace

TEST_CASE("help, -h and --help print the man page's text, built in, anywhere", "[e2e][help]") {
  TempDir dir;  // not a repository, and nothing installed
  const RunResult help = run_promptops(dir.path(), {"help", "eval"});
  REQUIRE(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK(help.out.starts_with("GIT-PROMPTOPS-EVAL(1)        git-promptops manual        GIT-PROMPTOPS-EVAL(1)\n\n"
                             "NAME\n       git-promptops-eval - evaluate prompts per commit against their datasets\n"));
  CHECK(help.out.find("\n       --matrix\n              Make a matrix (see MATRIX): also run the columns") !=
        std::string::npos);
  CHECK(help.out.find('\x1b') == std::string::npos);  // no terminal escapes
  CHECK(help.out.find('\b') == std::string::npos);    // no overstrike
  CHECK(run_promptops(dir.path(), {"eval", "--help"}).out == help.out);
  CHECK(run_promptops(dir.path(), {"eval", "-h"}).out == help.out);

  const RunResult overview = run_promptops(dir.path(), {"help"});
  CHECK(overview.exit_code == 0);
  CHECK(overview.out.starts_with("GIT-PROMPTOPS(1)"));
  CHECK(run_promptops(dir.path(), {"--help"}).out == overview.out);
  CHECK(run_promptops(dir.path(), {"-h"}).out == overview.out);

  // A subcommand without a page of its own shows its command's.
  const RunResult alias = run_promptops(dir.path(), {"alias", "set", "--help"});
  CHECK(alias.exit_code == 0);
  CHECK(alias.out.starts_with("GIT-PROMPTOPS-ALIAS(1)"));
  CHECK(run_promptops(dir.path(), {"help", "alias", "set"}).out == alias.out);
  CHECK(run_promptops(dir.path(), {"help", "bisect-run"}).out.starts_with("GIT-PROMPTOPS-BISECT-RUN(1)"));

  const RunResult unknown = run_promptops(dir.path(), {"help", "evl"});
  CHECK(unknown.exit_code == 129);
  CHECK(unknown.out.empty());
  CHECK(unknown.err == "git-promptops: error: no manual for 'evl'\nhint: did you mean 'eval'?\n");
}

TEST_CASE("bash completes commands, flags, prompts, aliases and revisions, also as git promptops", "[e2e][help]") {
  if (!std::filesystem::exists(k_git_completion)) {
    WARN("skipped: git's bash completion is not installed at " + k_git_completion.string());
    return;
  }
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);
  repo.commit("add the prompts");
  repo.git({"branch", "feature"});
  REQUIRE(run_promptops(repo.path(), {"alias", "set", "support/classify", "production", "HEAD"}).exit_code == 0);

  CHECK(complete(repo.path(), {"git", "promptops", "ev"}) == "eval \n");
  CHECK(complete(repo.path(), {"git-promptops", "ev"}) == "eval\n");
  CHECK(complete(repo.path(), {"git", "promptops", "eval", "--ma"}) ==
        "--max-concurrency \n--max-cost \n--max-calls \n--matrix \n");  // in the command table's order
  CHECK(complete(repo.path(), {"git", "promptops", "alias", ""}) == "set \nlist \nrm \n");
  CHECK(complete(repo.path(), {"git-promptops", "alias", "set", "--"}) == "--help\n--message\n");
  CHECK(complete(repo.path(), {"git", "promptops", "show", "sup"}) ==
        "support/classify \nsupport/classify@production \n");
  // Revisions come from git's own list; the alias tags are not offered as refs.
  const std::string all = complete(repo.path(), {"git-promptops", "eval", ""});
  CHECK(all.find("summarize\n") != std::string::npos);
  CHECK(all.find("support/classify@production\n") != std::string::npos);
  CHECK(all.find("HEAD\n") != std::string::npos);
  CHECK(all.find("feature\n") != std::string::npos);
  CHECK(all.find("promptops/") == std::string::npos);
  // After --, prompt names only.
  CHECK(complete(repo.path(), {"git-promptops", "eval", "HEAD", "--", ""}) == "summarize\nsupport/classify\n");
  // A hidden command is not offered.
  CHECK(complete(repo.path(), {"git-promptops", "hoo"}) == "hooks\n");
  // Through a git alias for promptops.
  repo.git({"config", "alias.po", "promptops"});
  CHECK(complete(repo.path(), {"git", "po", "ev"}) == "eval \n");
}

TEST_CASE("completion offers a ref named like shell code as text and never runs it", "[e2e][help]") {
  if (!std::filesystem::exists(k_git_completion)) {
    WARN("skipped: git's bash completion is not installed at " + k_git_completion.string());
    return;
  }
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);
  repo.commit("add the prompts");
  const std::string hostile = "$(touch${IFS}PWNED)";
  repo.git({"branch", hostile});
  CHECK(complete(repo.path(), {"git-promptops", "eval", "$"}) == hostile + "\n");
  CHECK(complete(repo.path(), {"git", "promptops", "eval", "$"}) == hostile + " \n");
  CHECK_FALSE(std::filesystem::exists(repo.path() / "PWNED"));
}

TEST_CASE("completion: zsh's script has the same tables, and an unknown shell is a usage error", "[e2e][help]") {
  TempDir dir;
  const RunResult bash = run_promptops(dir.path(), {"completion", "bash"});
  const RunResult zsh = run_promptops(dir.path(), {"completion", "zsh"});
  REQUIRE(bash.exit_code == 0);
  REQUIRE(zsh.exit_code == 0);
  CHECK(zsh.out.starts_with("#compdef git-promptops\n"));
  const auto tables = [](const std::string& script) {
    return script.substr(script.find("__git_promptops_subcommands () {"),
                         script.find("__git_promptops_complete") - script.find("__git_promptops_subcommands () {"));
  };
  CHECK(zsh.out.find("_git-promptops \"$@\"\n") != std::string::npos);
  CHECK(zsh.out.find("\t\"eval\") echo \"-h --help --suite-at") != std::string::npos);
  CHECK(bash.out.find(tables(zsh.out).substr(0, 200)) != std::string::npos);
  if (run(dir.path(), {"sh", "-c", "command -v zsh"}).exit_code == 0) {
    const RunResult parsed = run(dir.path(), {"zsh", "-n", "-c", zsh.out});
    CHECK(parsed.exit_code == 0);
  }
  const RunResult fish = run_promptops(dir.path(), {"completion", "fish"});
  CHECK(fish.exit_code == 129);
  CHECK(fish.err.starts_with("git-promptops: error: shell: fish not in {bash,zsh}"));
}
