// SPDX-License-Identifier: MIT
// End-to-end: the README's 60-second tour, run line by line through `git promptops` in a new
// repository, so that the first thing a newcomer types keeps working.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
namespace fs = std::filesystem;

namespace {

std::string read_whole(const fs::path& file) {
  std::ifstream stream(file, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

// The commands of the README's tour: the lines of the first ```sh block after its heading,
// without the comments that follow a command (a '#' after two spaces).
std::vector<std::string> tour_commands() {
  const std::string readme = read_whole(fs::path(PROMPTOPS_SOURCE_DIR) / "README.md");
  const std::size_t heading = readme.find("## A 60-second tour");
  REQUIRE(heading != std::string::npos);
  const std::size_t start = readme.find("```sh\n", heading);
  REQUIRE(start != std::string::npos);
  const std::size_t end = readme.find("```\n", start + 6);
  REQUIRE(end != std::string::npos);
  std::vector<std::string> commands;
  std::istringstream lines(readme.substr(start + 6, end - start - 6));
  for (std::string line; std::getline(lines, line);) {
    const std::size_t comment = line.find("  #");
    if (comment != std::string::npos) {
      line.erase(comment);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    if (!line.empty()) {
      commands.push_back(line);
    }
  }
  return commands;
}

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the README's tour runs from init to export through git promptops", "[e2e][cli]") {
  LlmServer server;
  server.set_rules({{{"lost my debit card"}, "IN_SCOPE"}, {{"iPay"}, "IN_SCOPE"}});
  TempRepo repo;
  std::map<std::string, std::string> env = {
      {"PATH", promptops_binary().parent_path().string() + ":" + test_environment().at("PATH")}};

  const std::vector<std::string> commands = tour_commands();
  REQUIRE(commands.size() >= 10);
  CHECK(commands.front() == "git promptops init");
  std::map<std::string, RunResult> seen;
  for (const std::string& command : commands) {
    INFO("tour step: " << command);
    if (command.rfind("export OPENAI_API_KEY=", 0) == 0) {
      // The reader's key; the test's model is the loopback server, which the committed config
      // must name (no test talks to a real API).
      env["OPENAI_API_KEY"] = "sk-tour-test";
      const std::string config = repo.read(".promptops.toml");
      const std::string openai = "base_url = \"https://api.openai.com/v1\"";
      const std::size_t at = config.find(openai);
      REQUIRE(at != std::string::npos);
      repo.write(".promptops.toml", config.substr(0, at) + "base_url = \"" + server.base_url() + "\"" +
                                        config.substr(at + openai.size()));
      continue;
    }
    const RunResult r = run(repo.path(), {"sh", "-c", command}, env);
    INFO("stdout: " << r.out << "stderr: " << r.err);
    CHECK(r.exit_code == 0);
    seen[command] = r;
  }

  // The steps that once failed: eval of the committed config, and a diff between two commits.
  CHECK(server.answered() > 0);
  CHECK(contains(seen["git promptops eval HEAD"].out, "support/classify"));
  const RunResult& diff = seen["git promptops diff HEAD~1 HEAD"];
  CHECK(contains(diff.out, "support/classify"));
  CHECK(contains(diff.out, "one word"));
  CHECK(fs::is_regular_file(repo.path() / "prompts.json"));
}

TEST_CASE("eval of a commit says when the working tree's .promptops.toml differs from the one it read",
          "[e2e][eval]") {
  LlmServer server;
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);
  const std::string head = repo.commit("Add the classifier");
  // The reader points the model at a local server but does not commit that yet.
  const std::string config = repo.read(".promptops.toml");
  const std::size_t at = config.find("provider = \"openai\"");
  REQUIRE(at != std::string::npos);
  repo.write(".promptops.toml", config.substr(0, at) + "provider = \"local\"" +
                                    config.substr(at + std::string("provider = \"openai\"").size()));

  const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"}, {{"OPENAI_API_KEY", ""}});  // unset
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: provider 'openai' reads its key from $OPENAI_API_KEY, which is not set\n"
        "hint: export OPENAI_API_KEY=<your key>; .promptops.toml in the working tree differs from " +
            short_sha(head) +
            "'s, and 'eval HEAD' reads the committed one: commit it (git commit .promptops.toml) or "
            "evaluate the working tree (git promptops eval)\n");
  CHECK(server.requests() == 0);

  SECTION("the same error with the config committed has no such hint") {
    repo.write(".promptops.toml", config);
    const RunResult same = run_promptops(repo.path(), {"eval", "HEAD"}, {{"OPENAI_API_KEY", ""}});  // unset
    CHECK(same.exit_code == 2);
    CHECK(same.err.find("differs") == std::string::npos);
  }
}
