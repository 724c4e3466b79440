// SPDX-License-Identifier: MIT
// End-to-end tests of the launcher's no-op pre-commit hook: with nothing prompt-related staged it
// answers without loading the core, and anything it is unsure of goes to the core.
#include <filesystem>
#include <fstream>
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

const char* k_default_record =
    "git-promptops pre-commit filter 1\n"
    "config none .promptops.toml\n"
    "root prompts\n"
    "extension .jsonl\n"
    "extension .json\n"
    "extension .csv\n";

// The launcher copied alone into a directory of its own: it cannot load the core, so exit 0 with
// no output means the launcher answered, and the load error means the hook went to the core.
struct LoneLauncher {
  TempDir dir;
  fs::path binary = dir.path() / "git-promptops";
  LoneLauncher() { fs::copy_file(promptops_binary(), binary); }

  RunResult hook(const TempRepo& repo, const std::map<std::string, std::string>& env = {}) const {
    return run(repo.path(), {binary.string(), "hook", "pre-commit"}, env);
  }
};

bool went_to_core(const RunResult& r) {
  return r.exit_code == 2 && r.err.find("cannot load libgit-promptops-core.so") != std::string::npos;
}

// A repository with a committed prompt and a README, the core's hook run once on a staged README.
struct HookRepo {
  TempRepo repo;
  LoneLauncher launcher;
  HookRepo() {
    repo.write("prompts/greet.prompt", "Hello {{who}}!\n");
    repo.write("README.md", "# demo\n");
    repo.commit("first");
    repo.write("README.md", "# demo, edited\n");
    repo.git({"add", "README.md"});
    const RunResult core = run_promptops(repo.path(), {"hook", "pre-commit"});
    REQUIRE(core.exit_code == 0);
    REQUIRE(core.out.empty());
    REQUIRE(core.err.empty());
  }
  fs::path record() const { return repo.path() / ".git" / "promptops" / "pre-commit-filter"; }
};

}  // namespace

TEST_CASE("the core's pre-commit hook leaves the record the launcher reads", "[e2e][hooks][noop]") {
  HookRepo setup;
  CHECK(read_whole(setup.record()) == k_default_record);

  setup.repo.write(".promptops.toml", "prompts = [\"p/\", \"lib/prompts\"]\n");
  setup.repo.git({"add", ".promptops.toml"});
  REQUIRE(run_promptops(setup.repo.path(), {"hook", "pre-commit"}).exit_code == 0);
  const std::string blob = setup.repo.git({"rev-parse", ":.promptops.toml"});
  CHECK(read_whole(setup.record()) == "git-promptops pre-commit filter 1\n"
                                      "config 100644 " + blob.substr(0, 40) + " .promptops.toml\n"
                                      "root p\n"
                                      "root lib/prompts\n"
                                      "extension .jsonl\n"
                                      "extension .json\n"
                                      "extension .csv\n");
}

TEST_CASE("with nothing prompt-related staged the launcher passes the hook without the core",
          "[e2e][hooks][noop]") {
  HookRepo setup;
  const RunResult alone = setup.launcher.hook(setup.repo);
  CHECK(alone.exit_code == 0);
  CHECK(alone.out.empty());
  CHECK(alone.err.empty());

  // From a subdirectory, and with a file staged under a directory that only starts like the root.
  setup.repo.write("prompts-old/notes.txt", "x\n");
  setup.repo.git({"add", "prompts-old/notes.txt"});
  const RunResult elsewhere = run(setup.repo.path() / "prompts-old",
                                  {setup.launcher.binary.string(), "hook", "pre-commit"});
  CHECK(elsewhere.exit_code == 0);
  CHECK(elsewhere.err.empty());
}

TEST_CASE("a staged prompt, dataset or config goes to the core", "[e2e][hooks][noop]") {
  HookRepo setup;
  SECTION("a file under a prompt root") {
    setup.repo.write("prompts/greet.prompt", "Hi {{who}}!\n");
  }
  SECTION("a deleted file under a prompt root") {
    setup.repo.remove("prompts/greet.prompt");
  }
  SECTION("a dataset anywhere, whatever the case of its extension") {
    setup.repo.write("data/cases.JSONL", "{}\n");
  }
  SECTION("the config") {
    setup.repo.write(".promptops.toml", "prompts = [\"prompts\"]\n");
  }
  setup.repo.git({"add", "-A"});
  CHECK(went_to_core(setup.launcher.hook(setup.repo)));
}

TEST_CASE("the launcher goes to the core when the record may be stale or tracing is on",
          "[e2e][hooks][noop]") {
  HookRepo setup;
  SECTION("a config committed since the record was written") {
    setup.repo.write(".promptops.toml", "prompts = [\"elsewhere\"]\n");
    setup.repo.commit("move the roots");
    setup.repo.write("README.md", "# demo, again\n");
    setup.repo.git({"add", "README.md"});
  }
  SECTION("no record") {
    fs::remove(setup.record());
  }
  SECTION("a record of another format") {
    std::ofstream(setup.record(), std::ios::trunc) << "git-promptops pre-commit filter 2\n";
  }
  SECTION("tracing") {
    CHECK(went_to_core(setup.launcher.hook(setup.repo, {{"GIT_PROMPTOPS_TRACE", "1"}})));
    return;
  }
  CHECK(went_to_core(setup.launcher.hook(setup.repo)));
}

TEST_CASE("a broken config at HEAD removes the record so every hook reports it", "[e2e][hooks][noop]") {
  HookRepo setup;
  setup.repo.write(".promptops.toml", "prompts = 3\n");
  setup.repo.commit("break the config");
  setup.repo.write("README.md", "# demo, again\n");
  setup.repo.git({"add", "README.md"});
  const RunResult core = run_promptops(setup.repo.path(), {"hook", "pre-commit"});
  CHECK(core.exit_code == 1);
  CHECK((core.out + core.err).find(".promptops.toml:1:11: error: 'prompts' must be an array of strings, not an integer") != std::string::npos);
  CHECK_FALSE(fs::exists(setup.record()));
  CHECK(went_to_core(setup.launcher.hook(setup.repo)));
}

TEST_CASE("the installed shim commits a README change through the launcher alone", "[e2e][hooks][noop]") {
  HookRepo setup;
  REQUIRE(run_promptops(setup.repo.path(), {"hooks", "install"}).exit_code == 0);
  const std::map<std::string, std::string> env = {
      {"PATH", setup.launcher.dir.path().string() + ":" + test_environment().at("PATH")}};
  const RunResult commit = run(setup.repo.path(), {"git", "commit", "-q", "-m", "edit the README"}, env);
  CHECK(commit.exit_code == 0);
  CHECK(commit.err.empty());
  CHECK(setup.repo.git({"log", "-1", "--format=%s"}) == "edit the README\n");

  setup.repo.write("prompts/greet.prompt", "Hi {{who}}!\n");
  setup.repo.git({"add", "-A"});
  const RunResult refused = run(setup.repo.path(), {"git", "commit", "-q", "-m", "edit greet"}, env);
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("cannot load libgit-promptops-core.so") != std::string::npos);
}
