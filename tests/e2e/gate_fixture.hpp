// SPDX-License-Identifier: MIT
// Shared by the check, hook and review suites: a committed greet prompt that the loopback server
// answers right for "Hey NAME" (eight names) and only for Ann and Bob after "Yo NAME".
#pragma once

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

namespace promptops::test::gate {

using namespace promptops::test::eval;

inline const std::vector<std::string> k_names = {"Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"};

// "Hey NAME" is right for every name, "Yo NAME" only for Ann and Bob: from Hey to Yo, accuracy
// drops 1.000 -> 0.250 with 6 cases flipping pass -> fail (exact McNemar p = 2 / 2^6 = 0.03125).
inline std::vector<LlmServer::Rule> gate_rules() {
  std::vector<LlmServer::Rule> rules;
  for (const std::string& name : k_names) {
    rules.push_back({{"Hey " + name}, "ok"});
  }
  rules.push_back({{"Yo Ann"}, "ok"});
  rules.push_back({{"Yo Bob"}, "ok"});
  return rules;
}

// A committed greet prompt ("Hey {{who}}!", accuracy 1.0 on eight cases) with `gate` appended.
struct GateProject {
  LlmServer server;
  TempRepo repo;
  std::string gate;
  std::string base;

  explicit GateProject(std::string gate_toml = "") : gate(std::move(gate_toml)) {
    server.set_rules(gate_rules());
    repo.write(".promptops.toml", config_toml(server));
    repo.write("evals/greet.jsonl", greet_cases(k_names));
    repo.write("prompts/greet.toml", prompt("Hey {{who}}!"));
    repo.write("README.md", "# demo\n");
    base = repo.commit("add greet");
  }

  std::string prompt(const std::string& text) const { return greet_toml(text) + gate; }

  void stage(const std::string& text) const {
    repo.write("prompts/greet.toml", prompt(text));
    repo.git({"add", "prompts/greet.toml"});
  }

  RunResult check(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"check"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_promptops(repo.path(), argv);
  }

  std::string head_label() const { return "HEAD (" + short_sha(base) + ")"; }
};

// PATH with the built binary first, so that `git promptops` in a hook finds it.
inline std::map<std::string, std::string> hook_env() {
  const char* path = std::getenv("PATH");
  return {
      {"PATH", promptops_binary().parent_path().string() + ":" + (path != nullptr ? path : "/usr/bin:/bin")}};
}

}  // namespace promptops::test::gate
