// SPDX-License-Identifier: MIT
// End-to-end tests of `hooks install|uninstall`, the shims under a real `git commit` and `git push`,
// and what `init` sets up for textconv.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace promptops::test;
namespace fs = std::filesystem;

namespace {

std::string read_whole(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

std::string shipped_shim(const std::string& name) {
  return read_whole(fs::path(PROMPTOPS_SOURCE_DIR) / "hooks" / name);
}

bool executable(const fs::path& path) {
  return (fs::status(path).permissions() & fs::perms::owner_exec) != fs::perms::none;
}

void write_executable(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

// `git config --get NAME` in the repository: the value, or "(unset)".
std::string config_value(const TempRepo& repo, const std::string& name) {
  const RunResult r = run(repo.path(), {"git", "config", "--get", name});
  return r.exit_code == 0 ? r.out : "(unset)";
}

const char* k_attributes_hint =
    "\n"
    "For readable prompt diffs, add to .gitattributes (with your prompt roots for prompts/):\n"
    "    prompts/**/*.toml   diff=promptops\n"
    "    prompts/**/*.prompt diff=promptops\n";

const char* k_config_set =
    "set git config diff.promptops.textconv = git promptops textconv\n"
    "set git config diff.promptops.cachetextconv = true\n";

const char* k_foreign = "#!/bin/sh\n# my own checks\nmake lint\n";

}  // namespace

TEST_CASE("hooks install writes both shims, executable, and the textconv config", "[e2e][hooks]") {
  TempRepo repo;
  const RunResult r = run_promptops(repo.path(), {"hooks", "install"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == std::string("installed .git/hooks/pre-commit\n"
                             "installed .git/hooks/pre-push\n") +
                     k_config_set + k_attributes_hint);
  for (const std::string name : {"pre-commit", "pre-push"}) {
    INFO(name);
    const fs::path hook = repo.path() / ".git" / "hooks" / name;
    CHECK(read_whole(hook) == shipped_shim(name));
    CHECK(executable(hook));
  }
  CHECK(config_value(repo, "diff.promptops.textconv") == "git promptops textconv\n");
  CHECK(config_value(repo, "diff.promptops.cachetextconv") == "true\n");

  SECTION("a second install is up to date and sets nothing") {
    repo.write(".gitattributes", "prompts/**/*.toml diff=promptops\n");
    const RunResult again = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(again.exit_code == 0);
    CHECK(again.out ==
          "up to date .git/hooks/pre-commit\n"
          "up to date .git/hooks/pre-push\n");
  }
  SECTION("a textconv driver of the user's own is left as it is") {
    repo.git({"config", "diff.promptops.textconv", "/opt/bin/git-promptops textconv"});
    repo.git({"config", "--unset", "diff.promptops.cachetextconv"});
    const RunResult again = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(again.exit_code == 0);
    CHECK(again.out == std::string("up to date .git/hooks/pre-commit\n"
                                   "up to date .git/hooks/pre-push\n"
                                   "set git config diff.promptops.cachetextconv = true\n") +
                           k_attributes_hint);
    CHECK(config_value(repo, "diff.promptops.textconv") == "/opt/bin/git-promptops textconv\n");
  }
  SECTION("a shim that lost its executable bit is rewritten") {
    fs::permissions(repo.path() / ".git/hooks/pre-push", fs::perms::owner_read | fs::perms::owner_write);
    const RunResult again = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(again.out.rfind("up to date .git/hooks/pre-commit\nupdated .git/hooks/pre-push\n", 0) == 0);
    CHECK(executable(repo.path() / ".git/hooks/pre-push"));
  }
}

TEST_CASE("hooks install upgrades an older shim of ours and keeps a newer one", "[e2e][hooks]") {
  TempRepo repo;
  repo.write(".gitattributes", "*.toml diff=promptops\n");
  repo.git({"config", "diff.promptops.textconv", "git promptops textconv"});
  repo.git({"config", "diff.promptops.cachetextconv", "true"});
  write_executable(
      repo.path() / ".git/hooks/pre-commit",
      "#!/bin/sh\n# git-promptops hook shim 0 (an old one)\nexec git promptops hook pre-commit\n");
  write_executable(
      repo.path() / ".git/hooks/pre-push",
      "#!/bin/sh\n# git-promptops hook shim 99 (from the future)\nexec git promptops hook pre-push \"$@\"\n");
  const RunResult r = run_promptops(repo.path(), {"hooks", "install"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "updated .git/hooks/pre-commit (shim 0 -> 1)\n"
        "kept .git/hooks/pre-push (shim 99 is newer than this git-promptops's 1)\n");
  CHECK(repo.read(".git/hooks/pre-commit") == shipped_shim("pre-commit"));
  CHECK(repo.read(".git/hooks/pre-push").find("shim 99") != std::string::npos);

  SECTION("--force installs ours over the newer shim, with no backup") {
    const RunResult forced = run_promptops(repo.path(), {"hooks", "install", "--force"});
    CHECK(forced.exit_code == 0);
    CHECK(forced.out == "up to date .git/hooks/pre-commit\nupdated .git/hooks/pre-push (shim 99 -> 1)\n");
    CHECK(repo.read(".git/hooks/pre-push") == shipped_shim("pre-push"));
    CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-push.before-promptops"));
  }
}

TEST_CASE("hooks install refuses a hook of the user's own and still installs the other", "[e2e][hooks]") {
  TempRepo repo;
  write_executable(repo.path() / ".git/hooks/pre-push", k_foreign);
  const RunResult r = run_promptops(repo.path(), {"hooks", "install"});
  CHECK(r.exit_code == 2);
  CHECK(r.out == std::string("installed .git/hooks/pre-commit\n") + k_config_set + k_attributes_hint);
  CHECK(
      r.err ==
      "git-promptops: error: hook '.git/hooks/pre-push' is not a git-promptops shim; left unchanged\n"
      "hint: rerun with --force to save yours as <hook>.before-promptops and install ours, or with --manual "
      "for the line to add to yours\n");
  CHECK(repo.read(".git/hooks/pre-push") == k_foreign);
  CHECK(executable(repo.path() / ".git/hooks/pre-push"));
  CHECK(repo.read(".git/hooks/pre-commit") == shipped_shim("pre-commit"));

  SECTION("two hooks of the user's own are named in one line") {
    write_executable(repo.path() / ".git/hooks/pre-commit", k_foreign);
    const RunResult both = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(both.exit_code == 2);
    CHECK(both.out == k_attributes_hint);
    CHECK(both.err.rfind(
              "git-promptops: error: hooks '.git/hooks/pre-commit' and '.git/hooks/pre-push' are not "
              "git-promptops shims; left unchanged\n",
              0) == 0);
  }
  SECTION("uninstall removes our shim and leaves the user's hook alone") {
    const RunResult u = run_promptops(repo.path(), {"hooks", "uninstall"});
    CHECK(u.exit_code == 0);
    CHECK(u.err.empty());
    CHECK(u.out ==
          "removed .git/hooks/pre-commit\n"
          "kept .git/hooks/pre-push (not a git-promptops shim)\n");
    CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-commit"));
    CHECK(repo.read(".git/hooks/pre-push") == k_foreign);

    const RunResult again = run_promptops(repo.path(), {"hooks", "uninstall"});
    CHECK(again.exit_code == 0);
    CHECK(again.out ==
          "skipped .git/hooks/pre-commit (not installed)\n"
          "kept .git/hooks/pre-push (not a git-promptops shim)\n");
  }
}

TEST_CASE("hooks install --force saves the user's hook and uninstall restores it", "[e2e][hooks]") {
  TempRepo repo;
  repo.write(".gitattributes", "prompts/** diff=promptops\n");
  write_executable(repo.path() / ".git/hooks/pre-push", k_foreign);
  const RunResult r = run_promptops(repo.path(), {"hooks", "install", "--force"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        std::string(
            "installed .git/hooks/pre-commit\n"
            "installed .git/hooks/pre-push (yours is saved as .git/hooks/pre-push.before-promptops)\n") +
            k_config_set);
  CHECK(repo.read(".git/hooks/pre-push") == shipped_shim("pre-push"));
  CHECK(repo.read(".git/hooks/pre-push.before-promptops") == k_foreign);

  SECTION("a second --force does not overwrite the backup") {
    write_executable(repo.path() / ".git/hooks/pre-push", "#!/bin/sh\necho another\n");
    const RunResult again = run_promptops(repo.path(), {"hooks", "install", "--force"});
    CHECK(again.exit_code == 2);
    CHECK(
        again.err ==
        "git-promptops: error: cannot save '.git/hooks/pre-push': a .before-promptops backup from an earlier "
        "--force is in the way; left unchanged\n"
        "hint: remove or rename the old backup, then rerun 'git promptops hooks install --force'\n");
    CHECK(repo.read(".git/hooks/pre-push") == "#!/bin/sh\necho another\n");
    CHECK(repo.read(".git/hooks/pre-push.before-promptops") == k_foreign);
  }
  SECTION("uninstall") {
    const RunResult u = run_promptops(repo.path(), {"hooks", "uninstall"});
    CHECK(u.exit_code == 0);
    CHECK(u.err.empty());
    CHECK(u.out ==
          "removed .git/hooks/pre-commit\n"
          "restored .git/hooks/pre-push (from .git/hooks/pre-push.before-promptops)\n");
    CHECK(repo.read(".git/hooks/pre-push") == k_foreign);
    CHECK(executable(repo.path() / ".git/hooks/pre-push"));
    CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-push.before-promptops"));
    CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-commit"));
  }
}

TEST_CASE("hooks install --manual prints the lines to add and changes nothing", "[e2e][hooks]") {
  TempRepo repo;
  write_executable(repo.path() / ".git/hooks/pre-commit", k_foreign);
  const RunResult r = run_promptops(repo.path(), {"hooks", "install", "--manual"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        std::string("Nothing was changed. To call git-promptops from hooks of your own:\n"
                    "\n"
                    ".git/hooks/pre-commit (a hook of your own): add this line (before any final 'exit 0'):\n"
                    "    git promptops hook pre-commit \"$@\" || exit $?\n"
                    "\n"
                    ".git/hooks/pre-push (absent): git writes the refs being pushed on its stdin, which our "
                    "line must get unread;\n"
                    "make this the hook's last line:\n"
                    "    exec git promptops hook pre-push \"$@\"\n"
                    "or, when the hook reads stdin itself, save it at the top and replay it:\n"
                    "    input=$(cat)\n"
                    "    printf '%s\\n' \"$input\" | git promptops hook pre-push \"$@\" || exit $?\n"
                    "\n"
                    "For readable prompt diffs, set the textconv driver:\n"
                    "    git config diff.promptops.textconv 'git promptops textconv'\n"
                    "    git config diff.promptops.cachetextconv 'true'\n") +
            k_attributes_hint);
  CHECK(repo.read(".git/hooks/pre-commit") == k_foreign);
  CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-push"));
  CHECK(config_value(repo, "diff.promptops.textconv") == "(unset)");

  SECTION("--manual and --force together are a usage error") {
    const RunResult both = run_promptops(repo.path(), {"hooks", "install", "--manual", "--force"});
    CHECK(both.exit_code == 129);
    CHECK(both.out.empty());
  }
}

TEST_CASE("hooks install --help lists every flag", "[e2e][hooks]") {
  TempRepo repo;
  const RunResult r = run_promptops(repo.path(), {"hooks", "install", "--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--force") != std::string::npos);
  CHECK(r.out.find("--manual") != std::string::npos);
  CHECK(run_promptops(repo.path(), {"hooks"}).exit_code == 129);
}

TEST_CASE("hooks install honours core.hooksPath", "[e2e][hooks]") {
  TempRepo repo;
  repo.write(".gitattributes", "prompts/** diff=promptops\n");
  repo.git({"config", "diff.promptops.textconv", "git promptops textconv"});
  repo.git({"config", "diff.promptops.cachetextconv", "true"});

  SECTION("relative to the work tree root, from a subdirectory") {
    repo.git({"config", "core.hooksPath", "tools/githooks"});
    fs::create_directories(repo.path() / "prompts");
    const RunResult r = run_promptops(repo.path() / "prompts", {"hooks", "install"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == "installed tools/githooks/pre-commit\ninstalled tools/githooks/pre-push\n");
    CHECK(repo.read("tools/githooks/pre-commit") == shipped_shim("pre-commit"));
    CHECK_FALSE(fs::exists(repo.path() / ".git/hooks/pre-commit"));
    CHECK(run_promptops(repo.path(), {"hooks", "uninstall"}).out ==
          "removed tools/githooks/pre-commit\nremoved tools/githooks/pre-push\n");
  }
  SECTION("absolute, outside the work tree") {
    TempDir elsewhere;
    const fs::path directory = fs::weakly_canonical(elsewhere.path()) / "hooks";
    repo.git({"config", "core.hooksPath", directory.string()});
    const RunResult r = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "installed " + (directory / "pre-commit").string() + "\ninstalled " +
                       (directory / "pre-push").string() + "\n");
    CHECK(read_whole(directory / "pre-push") == shipped_shim("pre-push"));
    CHECK(executable(directory / "pre-push"));
  }
  SECTION("~/ is the home directory") {
    repo.git({"config", "core.hooksPath", "~/githooks"});
    const RunResult r = run_promptops(repo.path(), {"hooks", "install"});
    CHECK(r.exit_code == 0);
    const fs::path home = test_environment().at("HOME");
    CHECK(read_whole(home / "githooks" / "pre-commit") == shipped_shim("pre-commit"));
    fs::remove_all(home / "githooks");
  }
}

TEST_CASE("the pre-commit shim runs git promptops hook pre-commit and blocks the commit on exit 1",
          "[e2e][hooks]") {
  TempRepo repo;
  repo.write("README.md", "# demo\n");
  const std::string before = repo.commit("first");
  REQUIRE(run_promptops(repo.path(), {"hooks", "install"}).exit_code == 0);

  // A stand-in git-promptops on PATH that records its arguments and says "block".
  TempDir bin;
  const fs::path calls = bin.path() / "calls";
  write_executable(bin.path() / "git-promptops",
                   "#!/bin/sh\necho \"$*\" >> '" + calls.string() + "'\nexit 1\n");
  const std::map<std::string, std::string> env = {
      {"PATH", bin.path().string() + ":" + test_environment().at("PATH")}};

  repo.write("prompts/greet.prompt", "Hello {{who}}!\n");
  repo.git({"add", "-A"});
  const RunResult refused = run(repo.path(), {"git", "commit", "-q", "-m", "add greet"}, env);
  CHECK(refused.exit_code != 0);
  CHECK(read_whole(calls) == "hook pre-commit\n");
  CHECK(repo.git({"rev-parse", "HEAD"}) == before + "\n");

  const RunResult bypassed = run(repo.path(), {"git", "commit", "-q", "--no-verify", "-m", "add greet"}, env);
  CHECK(bypassed.exit_code == 0);
  CHECK(read_whole(calls) == "hook pre-commit\n");
  CHECK(repo.git({"rev-parse", "HEAD"}) != before + "\n");
}

TEST_CASE("the pre-push shim passes git's arguments and stdin through untouched", "[e2e][hooks]") {
  TempRepo remote(true);
  TempRepo repo;
  repo.write("README.md", "# demo\n");
  const std::string head = repo.commit("first");
  repo.git({"remote", "add", "origin", remote.path().string()});
  REQUIRE(run_promptops(repo.path(), {"hooks", "install"}).exit_code == 0);

  TempDir bin;
  const fs::path calls = bin.path() / "calls";
  const fs::path input = bin.path() / "stdin";
  const fs::path verdict = bin.path() / "verdict";
  write_executable(bin.path() / "git-promptops", "#!/bin/sh\necho \"$*\" >> '" + calls.string() +
                                                     "'\ncat > '" + input.string() + "'\nexit $(cat '" +
                                                     verdict.string() + "')\n");
  const std::map<std::string, std::string> env = {
      {"PATH", bin.path().string() + ":" + test_environment().at("PATH")}};

  std::ofstream(verdict) << "1\n";
  const RunResult refused = run(repo.path(), {"git", "push", "-q", "origin", "main"}, env);
  CHECK(refused.exit_code != 0);
  CHECK(read_whole(calls) == "hook pre-push origin " + remote.path().string() + "\n");
  CHECK(read_whole(input) == "refs/heads/main " + head + " refs/heads/main " + std::string(40, '0') + "\n");
  CHECK(run(remote.path(), {"git", "rev-parse", "--verify", "-q", "refs/heads/main"}).exit_code != 0);

  std::ofstream(verdict) << "0\n";
  const RunResult pushed = run(repo.path(), {"git", "push", "-q", "origin", "main"}, env);
  CHECK(pushed.exit_code == 0);
  CHECK(remote.git({"rev-parse", "refs/heads/main"}) == head + "\n");
}

TEST_CASE("a shim without git-promptops on PATH fails with one line that says how to fix it",
          "[e2e][hooks]") {
  TempRepo repo;
  repo.write("README.md", "# demo\n");
  const std::string before = repo.commit("first");
  REQUIRE(run_promptops(repo.path(), {"hooks", "install"}).exit_code == 0);

  // PATH holds git alone.
  TempDir bin;
  const std::string git = run(repo.path(), {"sh", "-c", "command -v git"}).out;
  fs::create_symlink(git.substr(0, git.find('\n')), bin.path() / "git");
  repo.write("README.md", "# demo, changed\n");
  const RunResult r =
      run(bin.path(),
          {(bin.path() / "git").string(), "-C", repo.path().string(), "commit", "-q", "-am", "change"},
          {{"PATH", bin.path().string()}});
  CHECK(r.exit_code != 0);
  CHECK(r.err ==
        "git-promptops: error: this pre-commit hook needs 'git-promptops', which is not on PATH; install it, "
        "bypass with 'git commit --no-verify', or delete '.git/hooks/pre-commit'\n");
  CHECK(repo.git({"rev-parse", "HEAD"}) == before + "\n");
}

TEST_CASE("init scaffolds .gitattributes, sets the textconv driver and offers the hooks",
          "[e2e][init][hooks]") {
  TempRepo repo;
  const RunResult r = run_promptops(repo.path(), {"init"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("created  .gitattributes\n"
                   "set      git config diff.promptops.textconv = git promptops textconv\n"
                   "set      git config diff.promptops.cachetextconv = true\n"
                   "\n"
                   "Next: git promptops lint && git promptops list, then commit the files.\n"
                   "Hooks: git promptops hooks install (blocks commits that regress a prompt)\n") !=
        std::string::npos);
  CHECK(repo.read(".gitattributes") ==
        read_whole(fs::path(PROMPTOPS_SOURCE_DIR) / "templates" / "gitattributes"));
  CHECK(config_value(repo, "diff.promptops.textconv") == "git promptops textconv\n");
  CHECK(config_value(repo, "diff.promptops.cachetextconv") == "true\n");
  const std::string check_attr = repo.git({"check-attr", "diff", "--", "prompts/support/classify.toml",
                                           "prompts/summarize.prompt", "evals/classify.jsonl"});
  CHECK(check_attr ==
        "prompts/support/classify.toml: diff: promptops\n"
        "prompts/summarize.prompt: diff: promptops\n"
        "evals/classify.jsonl: diff: unspecified\n");

  SECTION("a second init keeps .gitattributes and, with the hooks installed, offers nothing") {
    REQUIRE(run_promptops(repo.path(), {"hooks", "install"}).exit_code == 0);
    const RunResult again = run_promptops(repo.path(), {"init"});
    CHECK(again.exit_code == 0);
    CHECK(again.out ==
          "kept     .promptops.toml (exists; --force overwrites)\n"
          "kept     prompts/support/classify.toml (exists; --force overwrites)\n"
          "kept     prompts/summarize.prompt (exists; --force overwrites)\n"
          "kept     evals/classify.jsonl (exists; --force overwrites)\n"
          "kept     .gitattributes (has the diff=promptops lines)\n");
  }
}

TEST_CASE("init appends the diff=promptops lines to an existing .gitattributes", "[e2e][init][hooks]") {
  TempRepo repo;
  repo.write(".gitattributes", "*.png binary\nprompts/**/*.toml   diff=promptops");
  const RunResult r = run_promptops(repo.path(), {"init", "--force"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("appended .gitattributes (the diff=promptops lines)\n") != std::string::npos);
  CHECK(repo.read(".gitattributes") ==
        "*.png binary\n"
        "prompts/**/*.toml   diff=promptops\n"
        "# Show prompt changes by meaning in git diff and git log -p (see git-promptops-textconv(1)).\n"
        "prompts/**/*.prompt diff=promptops\n");
}
