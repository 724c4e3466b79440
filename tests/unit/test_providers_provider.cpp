// SPDX-License-Identifier: MIT
// Unit tests for make_provider, redact(), the exec provider and FunctionProvider.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/providers/provider.hpp>

#include "support/calls.hpp"
#include "support/fake_provider.hpp"
#include "support/harness.hpp"

using namespace promptops;
using promptops::test::Calls;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;
using Millis = std::chrono::milliseconds;

ChatRequest ask(const std::string& user) {
  ChatRequest request;
  request.model = "tool-model";
  request.messages = {{"system", "Be exact.", {}}, {"user", user, {}}};
  request.params = {{"temperature", 0}};
  return request;
}

void write_script(const fs::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
}

ProviderSpec exec_spec(std::vector<std::string> command) {
  ProviderSpec spec;
  spec.name = "tool";
  spec.kind = "exec";
  spec.command = std::move(command);
  spec.timeout_seconds = 5;
  return spec;
}

ProviderOptions trusted_in(const fs::path& dir) {
  ProviderOptions options;
  options.exec_trusted = true;
  options.workdir = dir;
  return options;
}

double elapsed_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

TEST_CASE("redact removes the key, bearer tokens and sk- keys", "[providers]") {
  CHECK(redact("no secrets here") == "no secrets here");
  CHECK(redact("token=abc123xyz; again abc123xyz", "abc123xyz") == "token=[redacted]; again [redacted]");
  CHECK(redact("Authorization: Bearer abc.def-ghi/jkl=") == "Authorization: Bearer [redacted]");
  CHECK(redact("authorization: bearer  tok123, next") == "authorization: bearer  [redacted], next");
  CHECK(redact("Incorrect API key provided: sk-proj-AbC_12345678xyz.") ==
        "Incorrect API key provided: [redacted].");
  CHECK(redact("sk-test-SECRET-123456") == "[redacted]");
  CHECK(redact("sk-short and task-abcdefghijkl") == "sk-short and task-abcdefghijkl");
  CHECK(redact("abc", "") == "abc");
}

TEST_CASE("call errors have names", "[providers]") {
  CHECK(call_error_name(CallError::none) == "none");
  CHECK(call_error_name(CallError::auth) == "auth");
  CHECK(call_error_name(CallError::rate_limited) == "rate-limited");
  CHECK(call_error_name(CallError::server) == "server");
  CHECK(call_error_name(CallError::network) == "network");
  CHECK(call_error_name(CallError::timeout) == "timeout");
  CHECK(call_error_name(CallError::malformed) == "malformed");
  CHECK(call_error_name(CallError::rejected) == "rejected");
  CHECK(call_error_name(CallError::exec_failed) == "exec-failed");
  CHECK(call_error_name(CallError::cancelled) == "cancelled");
}

TEST_CASE("make_provider rejects specs it cannot use", "[providers]") {
  ProviderSpec spec;
  spec.name = "main";
  spec.kind = "openai";
  spec.base_url = "https://api.example.com/v1";
  spec.where = Location{".promptops.toml", 4, 1};
  ProviderOptions options;
  // The host is trusted with these variables, so the key itself is what these sections test.
  options.trusted_secrets = {"GOOD_KEY@api.example.com", "MISSING_KEY@api.example.com",
                             "EMPTY_KEY@api.example.com"};
  options.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "EMPTY_KEY") {
      return std::string();
    }
    if (name == "GOOD_KEY") {
      return std::string("sk-test-SECRET-123456");
    }
    return std::nullopt;
  };

  const auto error_of = [&](const ProviderSpec& candidate) -> std::pair<std::string, std::string> {
    try {
      make_provider(candidate, options);
    } catch (const ConfigError& error) {
      return {error.what(), error.hint()};
    }
    return {"no error", ""};
  };

  SECTION("unknown kind") {
    spec.kind = "bedrock";
    CHECK(error_of(spec) == std::pair<std::string, std::string>{
                                ".promptops.toml:4:1: provider 'main' has unknown kind 'bedrock'",
                                "kind is one of: openai, anthropic, azure, gemini, exec"});
  }

  SECTION("openai without base_url") {
    spec.base_url.clear();
    CHECK(error_of(spec).first == ".promptops.toml:4:1: openai provider 'main' has no base_url");
  }

  SECTION("a base_url that is not http") {
    spec.base_url = "ftp://example.com";
    CHECK(error_of(spec).first ==
          ".promptops.toml:4:1: provider 'main' has base_url 'ftp://example.com', which is not an http:// or "
          "https:// URL");
  }

  SECTION("a key variable that is not set") {
    spec.api_key_env = "MISSING_KEY";
    CHECK(error_of(spec) == std::pair<std::string, std::string>{
                                "provider 'main' reads its key from $MISSING_KEY, which is not set",
                                "export MISSING_KEY=<your key>"});
  }

  SECTION("a key variable that is empty") {
    spec.api_key_env = "EMPTY_KEY";
    CHECK(error_of(spec).first == "provider 'main' reads its key from $EMPTY_KEY, which is empty");
  }

  SECTION("a key that is set: identity never shows it nor the headers") {
    spec.api_key_env = "GOOD_KEY";
    spec.headers = {{"X-Secret-Header", "hidden-value"}};
    const auto provider = make_provider(spec, options);
    CHECK(provider->identity() == "openai:https://api.example.com/v1");
    CHECK(provider->spec().name == "main");
  }

  SECTION("exec in a repository that is not trusted") {
    spec.kind = "exec";
    spec.command = {"./judge.sh", "--strict"};
    CHECK(error_of(spec) ==
          std::pair<std::string, std::string>{
              "exec provider 'main' runs `./judge.sh --strict` but this repository is not "
              "trusted to run commands",
              "read the command in .promptops.toml, then run: git config promptops.trustExec true"});
    options.exec_trusted = true;
    CHECK(make_provider(spec, options)->identity() == "exec:./judge.sh --strict");
  }

  SECTION("exec without a command") {
    spec.kind = "exec";
    options.exec_trusted = true;
    CHECK(error_of(spec).first == ".promptops.toml:4:1: exec provider 'main' has no command");
  }
}

TEST_CASE("exec provider runs the command with the request on stdin", "[providers]") {
  const test::TempDir dir;

  SECTION("plain stdout is the answer, without its trailing newline") {
    write_script(dir.path() / "answer.sh", "cat > request.json\necho \"answer from exec\"\n");
    const auto provider = make_provider(exec_spec({"./answer.sh"}), trusted_in(dir.path()));
    const ChatResult result = provider->complete(ask("hello"));
    REQUIRE(result.ok());
    CHECK(result.response->text == "answer from exec");
    CHECK(result.response->tokens_in == 0);
    CHECK(result.response->attempts == 1);
    std::ifstream sent(dir.path() / "request.json");
    CHECK(json::parse(sent) ==
          json{{"model", "tool-model"},
               {"messages",
                {{{"role", "system"}, {"content", "Be exact."}}, {{"role", "user"}, {"content", "hello"}}}},
               {"params", {{"temperature", 0}}}});
  }

  SECTION("a JSON object with output and tokens") {
    write_script(dir.path() / "json.sh",
                 "cat >/dev/null\nprintf '%s\\n' '{\"output\": \"two\\nlines\", \"tokens_in\": 12, "
                 "\"tokens_out\": 3}'\n");
    const ChatResult result =
        make_provider(exec_spec({"./json.sh"}), trusted_in(dir.path()))->complete(ask("x"));
    REQUIRE(result.ok());
    CHECK(result.response->text == "two\nlines");
    CHECK(result.response->tokens_in == 12);
    CHECK(result.response->tokens_out == 3);
  }

  SECTION("JSON without output is the answer as printed") {
    const ChatResult result =
        make_provider(exec_spec({"cat"}), trusted_in(dir.path()))->complete(ask("echo me"));
    REQUIRE(result.ok());
    CHECK(json::parse(result.response->text).at("messages").at(1).at("content") == "echo me");
  }

  SECTION("many requests, a few processes at a time, answers by id") {
    ProviderSpec spec = exec_spec({"sh", "-c", "sed -n 's/.*\"content\":\"\\(case [0-9]*\\)\".*/\\1/p'"});
    spec.max_concurrency = 3;
    std::vector<ChatRequest> requests;
    for (int i = 0; i < 10; ++i) {
      requests.push_back(ask("case " + std::to_string(i)));
    }
    Calls calls(requests);
    const std::atomic<bool> stop{false};
    make_provider(spec, trusted_in(dir.path()))->run(calls, stop, Millis(100));
    REQUIRE(calls.results.size() == 10);
    for (const auto& [id, result] : calls.results) {
      REQUIRE(result.ok());
      CHECK(result.response->text == "case " + std::to_string(id));
    }
  }

  SECTION("a non-zero exit fails with the first line of stderr") {
    write_script(dir.path() / "fail.sh", "echo 'bad things happened' >&2\necho 'more detail' >&2\nexit 3\n");
    const ChatResult result =
        make_provider(exec_spec({"./fail.sh"}), trusted_in(dir.path()))->complete(ask("x"));
    CHECK(result.error == CallError::exec_failed);
    CHECK(result.message == "exec provider 'tool': `./fail.sh` exited with status 3: bad things happened");
  }

  SECTION("a command that does not exist") {
    const ChatResult result =
        make_provider(exec_spec({"./no-such-tool"}), trusted_in(dir.path()))->complete(ask("x"));
    CHECK(result.error == CallError::exec_failed);
    CHECK(result.message == "exec provider 'tool': could not run `./no-such-tool` in " + dir.path().string() +
                                ": No such file or directory");
  }

  SECTION("a command that outlives the timeout is killed with its children") {
    write_script(dir.path() / "slow.sh", "sleep 5\necho late\n");
    ProviderSpec spec = exec_spec({"./slow.sh"});
    spec.timeout_seconds = 0.2;
    const auto start = std::chrono::steady_clock::now();
    const ChatResult result = make_provider(spec, trusted_in(dir.path()))->complete(ask("x"));
    CHECK(elapsed_seconds(start) < 2.0);
    CHECK(result.error == CallError::exec_failed);
    CHECK(result.message == "exec provider 'tool': `./slow.sh` timed out after 0.2s");
  }

  SECTION("stop cancels running commands after the grace") {
    write_script(dir.path() / "slow.sh", "sleep 5\n");
    ProviderSpec spec = exec_spec({"./slow.sh"});
    spec.max_concurrency = 2;
    Calls calls(std::vector<ChatRequest>(5, ask("x")));
    std::atomic<bool> stop{false};
    std::thread stopper([&stop] {
      std::this_thread::sleep_for(Millis(100));
      stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    make_provider(spec, trusted_in(dir.path()))->run(calls, stop, Millis(50));
    stopper.join();
    CHECK(elapsed_seconds(start) < 2.0);
    CHECK(calls.sent() == 2);
    REQUIRE(calls.results.size() == 2);
    for (const auto& [id, result] : calls.results) {
      CHECK(result.error == CallError::cancelled);
    }
  }
}

TEST_CASE("FunctionProvider answers on the calling thread", "[providers]") {
  ProviderSpec spec;
  spec.name = "fake";
  FunctionProvider provider(spec, [](const ChatRequest& request) {
    ChatResult result;
    result.response = ChatResponse{"echo: " + request.messages.back().content, 1, 2, 0.0, 1};
    return result;
  });
  CHECK(provider.identity() == "function:fake");
  CHECK(provider.complete(ask("a")).response->text == "echo: a");

  Calls calls({ask("b"), ask("c")});
  const std::atomic<bool> stop{false};
  provider.run(calls, stop, Millis(0));
  REQUIRE(calls.results.size() == 2);
  CHECK(calls.results.at(1).response->text == "echo: c");
  CHECK(provider.calls() == 3);
  CHECK_THROWS_AS(provider.embed({"x"}, ""), ProviderError);
}
