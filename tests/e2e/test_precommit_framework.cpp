// SPDX-License-Identifier: MIT
// End-to-end: the hook that .pre-commit-hooks.yaml offers the pre-commit framework, run the way
// the framework runs a `language: system` hook with `pass_filenames: false`: its entry split into
// words (no shell), at the top of the work tree, with PRE_COMMIT=1 in the environment.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"

using namespace promptops::test;
using namespace promptops::test::gate;

namespace {

// The value of `key:` in the one hook that .pre-commit-hooks.yaml declares ("" when absent).
std::string hook_field(const std::string& yaml, const std::string& key) {
  const std::regex line("\\n  " + key + ": ([^\\n]*)");
  std::smatch match;
  return std::regex_search(yaml, match, line) ? match[1].str() : "";
}

std::vector<std::string> words_of(const std::string& entry) {
  std::istringstream stream(entry);
  std::vector<std::string> words;
  std::string word;
  while (stream >> word) {
    words.push_back(word);
  }
  return words;
}

}  // namespace

TEST_CASE("the pre-commit framework's hook refuses a staged regression and lets the rest through",
          "[e2e][hooks]") {
  std::ifstream in(std::filesystem::path(PROMPTOPS_SOURCE_DIR) / ".pre-commit-hooks.yaml");
  const std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(yaml.find("\n- id: promptops-check\n") != std::string::npos);
  CHECK(hook_field(yaml, "language") == "system");
  CHECK(hook_field(yaml, "pass_filenames") == "false");
  CHECK(hook_field(yaml, "always_run") == "true");
  CHECK(hook_field(yaml, "stages") == "[pre-commit]");
  const std::vector<std::string> entry = words_of(hook_field(yaml, "entry"));
  REQUIRE(entry == std::vector<std::string>{"git", "promptops", "check", "--staged"});

  GateProject p;
  std::map<std::string, std::string> env = hook_env();
  env["PRE_COMMIT"] = "1";

  p.repo.write("README.md", "# demo, reworded\n");
  p.repo.git({"add", "README.md"});
  const RunResult unrelated = run(p.repo.path(), entry, env);
  INFO(unrelated.err);
  CHECK(unrelated.exit_code == 0);
  CHECK(p.server.requests() == 0);

  p.stage("Yo {{who}}!");
  const RunResult regression = run(p.repo.path(), entry, env);
  CHECK(regression.exit_code == 1);
  CHECK(regression.out.find("greet") != std::string::npos);
  CHECK(regression.out.find("accuracy 1.000 → 0.250") != std::string::npos);
  CHECK(p.server.requests() == 16);
}
