// SPDX-License-Identifier: MIT
// Unit tests for the openai and anthropic providers against the loopback model server.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/providers/provider.hpp>

#include "providers/http.hpp"
#include "support/calls.hpp"
#include "support/llm_server.hpp"

using namespace promptops;
using promptops::test::Calls;
using nlohmann::json;
using promptops::test::Fault;
using promptops::test::LlmServer;
using promptops::test::SeenRequest;

namespace {

using Millis = std::chrono::milliseconds;

const std::string k_key = "sk-test-SECRET-123456";

ProviderOptions options_with_key(const std::string& key) {
  ProviderOptions options;
  options.getenv = [key](const std::string& name) -> std::optional<std::string> {
    if (name == "TEST_KEY") {
      return key;
    }
    return std::nullopt;
  };
  return options;
}

ProviderSpec spec_for(const LlmServer& server, const std::string& kind = "openai") {
  ProviderSpec spec;
  spec.name = "local";
  spec.kind = kind;
  spec.base_url = server.base_url();
  spec.api_key_env = "TEST_KEY";
  spec.max_retries = 2;
  spec.retry_delay_seconds = 0.01;
  spec.timeout_seconds = 5;
  return spec;
}

std::unique_ptr<Provider> provider_for(const ProviderSpec& spec, const std::string& key = k_key) {
  return make_provider(spec, options_with_key(key));
}

ChatRequest ask(const std::string& user, json params = json::object()) {
  ChatRequest request;
  request.model = "test-model";
  request.messages.push_back(Message{"user", user, {}});
  request.params = std::move(params);
  return request;
}

double elapsed_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

TEST_CASE("openai provider sends the chat request and reads answer and tokens", "[providers]") {
  LlmServer server;
  server.set_rules({{{"capital"}, "Paris is the capital"}});
  ProviderSpec spec = spec_for(server);
  spec.base_url += "/";  // a trailing slash is not doubled
  spec.headers = {{"X-Team", "evals"}, {"OpenAI-Organization", "org-1"}};

  ChatRequest request;
  request.model = "gpt-test";
  request.messages = {{"system", "Be brief.", {}}, {"user", "What is the capital of France?", {}}};
  request.params = {
      {"temperature", 0.25}, {"max_tokens", 50}, {"seed", 7}, {"response_format", {{"type", "text"}}}};

  SECTION("with the key in Authorization") {
    server.set_key(k_key);
    auto provider = provider_for(spec);
    const ChatResult result = provider->complete(request);
    REQUIRE(result.ok());
    CHECK(result.error == CallError::none);
    CHECK(result.http_status == 200);
    CHECK(result.response->text == "Paris is the capital");
    CHECK(result.response->tokens_in == 8);
    CHECK(result.response->tokens_out == 4);
    CHECK(result.response->attempts == 1);
    CHECK(result.response->latency_ms >= 0.0);

    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].path == "/v1/chat/completions");
    CHECK(seen[0].headers.at("authorization") == "Bearer " + k_key);
    CHECK(seen[0].headers.at("content-type") == "application/json");
    CHECK(seen[0].headers.at("x-team") == "evals");
    CHECK(seen[0].headers.at("openai-organization") == "org-1");
    CHECK(seen[0].headers.at("user-agent").rfind("git-promptops/", 0) == 0);
    CHECK(seen[0].body == json{{"model", "gpt-test"},
                               {"messages",
                                {{{"role", "system"}, {"content", "Be brief."}},
                                 {{"role", "user"}, {"content", "What is the capital of France?"}}}},
                               {"temperature", 0.25},
                               {"max_tokens", 50},
                               {"seed", 7},
                               {"response_format", {{"type", "text"}}}});
    CHECK(provider->identity() == "openai:" + server.base_url());
  }

  SECTION("with the key in a header of the user's choice") {
    spec.api_key_header = "api-key";
    auto provider = provider_for(spec);
    REQUIRE(provider->complete(request).ok());
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].headers.at("api-key") == k_key);
    CHECK(seen[0].headers.count("authorization") == 0);
  }

  SECTION("without a key when api_key_env is empty") {
    spec.api_key_env.clear();
    auto provider = make_provider(spec, ProviderOptions{});
    REQUIRE(provider->complete(request).ok());
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].headers.count("authorization") == 0);
  }
}

TEST_CASE("anthropic provider moves system messages and maps parameters", "[providers]") {
  LlmServer server;
  server.set_key(k_key);
  server.set_responder([](const json&) { return "Bonjour"; });
  auto provider = provider_for(spec_for(server, "anthropic"));

  ChatRequest request;
  request.model = "claude-test";
  request.messages = {{"system", "You translate.", {}},
                      {"user", "Say hello", {}},
                      {"assistant", "Hello", {}},
                      {"system", "Answer in French.", {}},
                      {"user", "Again", {}}};

  SECTION("parameters pass through, OpenAI-only ones are dropped, max_tokens defaults to 1024") {
    request.params = {{"temperature", 0.5},
                      {"top_p", 0.9},
                      {"stop", "END"},
                      {"seed", 3},
                      {"response_format", {{"type", "json_object"}}}};
    const ChatResult result = provider->complete(request);
    REQUIRE(result.ok());
    CHECK(result.response->text == "Bonjour");
    CHECK(result.response->tokens_in == 9);
    CHECK(result.response->tokens_out == 1);

    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/v1/messages");
    CHECK(seen[0].headers.at("x-api-key") == k_key);
    CHECK(seen[0].headers.at("anthropic-version") == "2023-06-01");
    CHECK(seen[0].headers.count("authorization") == 0);
    CHECK(seen[0].body == json{{"model", "claude-test"},
                               {"max_tokens", 1024},
                               {"system", "You translate.\n\nAnswer in French."},
                               {"messages",
                                {{{"role", "user"}, {"content", "Say hello"}},
                                 {{"role", "assistant"}, {"content", "Hello"}},
                                 {{"role", "user"}, {"content", "Again"}}}},
                               {"temperature", 0.5},
                               {"top_p", 0.9},
                               {"stop_sequences", {"END"}}});
  }

  SECTION("max_tokens and stop lists as written") {
    request.params = {{"max_tokens", 64}, {"stop", {"a", "b"}}, {"top_k", 5}};
    REQUIRE(provider->complete(request).ok());
    const json body = server.seen().at(0).body;
    CHECK(body.at("max_tokens") == 64);
    CHECK(body.at("stop_sequences") == json{"a", "b"});
    CHECK(body.at("top_k") == 5);
  }

  SECTION("the base URL defaults to Anthropic's") {
    ProviderSpec spec = spec_for(server, "anthropic");
    spec.base_url.clear();
    spec.api_key_env.clear();  // TEST_KEY is not trusted to go to api.anthropic.com
    CHECK(provider_for(spec)->identity() == "anthropic:https://api.anthropic.com/v1");
  }
}

TEST_CASE("many requests share max_concurrency connections", "[providers]") {
  LlmServer server;
  server.set_latency(Millis(20));
  ProviderSpec spec = spec_for(server);
  spec.max_concurrency = 8;
  auto provider = provider_for(spec);

  std::vector<ChatRequest> requests;
  for (int i = 0; i < 100; ++i) {
    requests.push_back(ask("case " + std::to_string(i)));
  }
  Calls calls(requests);
  const std::atomic<bool> stop{false};
  provider->run(calls, stop);

  REQUIRE(calls.results.size() == 100);
  for (const auto& [id, result] : calls.results) {
    REQUIRE(result.ok());
    CHECK(result.response->text == "case " + std::to_string(id));
  }
  CHECK(server.requests() == 100);
  CHECK(server.max_in_flight() <= 8);
  CHECK(server.max_in_flight() >= 6);
  CHECK(server.connections() <= 8);

  SECTION("a later run reuses the open connections") {
    const std::size_t before = server.connections();
    REQUIRE(provider->complete(ask("again")).ok());
    CHECK(server.connections() == before);
  }
}

TEST_CASE("retryable failures are retried with backoff", "[providers]") {
  LlmServer server;
  ProviderSpec spec = spec_for(server);
  const std::string url = server.base_url() + "/chat/completions";

  SECTION("429 with Retry-After, then success") {
    Fault limited{Fault::Kind::status, 429, "0", Millis(0)};
    server.inject({limited, limited});
    spec.retry_delay_seconds = 30;  // Retry-After wins over the backoff
    const auto start = std::chrono::steady_clock::now();
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    REQUIRE(result.ok());
    CHECK(result.response->attempts == 3);
    CHECK(result.response->text == "hi");
    CHECK(server.requests() == 3);
    CHECK(elapsed_seconds(start) < 5.0);
  }

  SECTION("500, then success") {
    server.inject({Fault{Fault::Kind::status, 500, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    REQUIRE(result.ok());
    CHECK(result.response->attempts == 2);
    CHECK(server.requests() == 2);
  }

  SECTION("a dropped connection, then success") {
    server.inject({Fault{Fault::Kind::drop, 0, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    REQUIRE(result.ok());
    CHECK(result.response->attempts == 2);
    CHECK(server.requests() == 2);
  }

  SECTION("retries exhausted") {
    const Fault unavailable{Fault::Kind::status, 503, std::nullopt, Millis(0)};
    server.inject({unavailable, unavailable, unavailable, unavailable});
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error == CallError::server);
    CHECK(result.http_status == 503);
    CHECK(result.message == "HTTP 503 from " + url + ": Injected fault: HTTP 503 (after 2 retries)");
    CHECK(server.requests() == 3);
  }

  SECTION("rate limited after every retry") {
    const Fault limited{Fault::Kind::status, 429, "0", Millis(0)};
    server.inject({limited, limited});
    spec.max_retries = 1;
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    CHECK(result.error == CallError::rate_limited);
    CHECK(result.message == "HTTP 429 from " + url + ": Injected fault: HTTP 429 (after 1 retry)");
    CHECK(server.requests() == 2);
  }

  SECTION("a refused connection") {
    ProviderSpec closed = spec;
    {
      const LlmServer gone;
      closed.base_url = gone.base_url();
    }
    closed.max_retries = 1;
    const ChatResult result = provider_for(closed)->complete(ask("hi"));
    CHECK(result.error == CallError::network);
    CHECK(result.http_status == 0);
    CHECK(result.message.rfind("network error from " + closed.base_url + "/chat/completions: ", 0) == 0);
    CHECK(result.message.size() > std::string(" (after 1 retry)").size());
    CHECK(result.message.substr(result.message.size() - 16) == " (after 1 retry)");
  }

  SECTION("a timeout") {
    server.inject({Fault{Fault::Kind::slow, 0, std::nullopt, Millis(3000)}});
    spec.timeout_seconds = 0.2;
    spec.max_retries = 0;
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    CHECK(result.error == CallError::timeout);
    CHECK(result.message == "timed out after 0.2s waiting for " + url);
    CHECK(server.requests() == 1);
  }
}

TEST_CASE("answers that cannot succeed are not retried", "[providers]") {
  LlmServer server;
  const std::string url = server.base_url() + "/chat/completions";

  SECTION("a body that is not JSON is malformed") {
    server.inject({Fault{Fault::Kind::malformed, 0, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec_for(server))->complete(ask("hi"));
    CHECK(result.error == CallError::malformed);
    CHECK(result.http_status == 200);
    CHECK(result.message == "malformed answer from " + url + ": the body is not JSON: {\"choices\": [");
    CHECK(server.requests() == 1);
  }

  SECTION("JSON without the answer is malformed") {
    server.inject({Fault{Fault::Kind::truncated, 0, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec_for(server))->complete(ask("hi"));
    CHECK(result.error == CallError::malformed);
    CHECK(result.message == "malformed answer from " + url + ": no choices[0].message.content string");
    CHECK(server.requests() == 1);
  }

  SECTION("anthropic JSON without content is malformed") {
    server.inject({Fault{Fault::Kind::truncated, 0, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec_for(server, "anthropic"))->complete(ask("hi"));
    CHECK(result.error == CallError::malformed);
    CHECK(result.message == "malformed answer from " + server.base_url() + "/messages: no content array");
  }

  SECTION("another 4xx is rejected") {
    server.inject({Fault{Fault::Kind::status, 400, std::nullopt, Millis(0)}});
    const ChatResult result = provider_for(spec_for(server))->complete(ask("hi"));
    CHECK(result.error == CallError::rejected);
    CHECK(result.http_status == 400);
    CHECK(result.message == "HTTP 400 from " + url + ": Injected fault: HTTP 400");
    CHECK(server.requests() == 1);
  }

  SECTION("a wrong key fails authentication at once and is never shown") {
    server.set_key("sk-server-OTHER-999999");
    const ChatResult result = provider_for(spec_for(server))->complete(ask("hi"));
    CHECK(result.error == CallError::auth);
    CHECK(result.http_status == 401);
    CHECK(result.message == "authentication failed for provider 'local' (HTTP 401 from " + url +
                                "): Incorrect API key provided: sk-te****; check the key in $TEST_KEY");
    CHECK(result.message.find(k_key) == std::string::npos);
    CHECK(result.message.find("SECRET") == std::string::npos);
    CHECK(server.requests() == 1);
  }

  SECTION("a server that quotes the key back has it redacted") {
    // The server quotes unknown URLs in its 404 body; this one holds the key.
    ProviderSpec spec = spec_for(server);
    spec.base_url = server.base_url() + "/" + k_key;
    const ChatResult result = provider_for(spec)->complete(ask("hi"));
    CHECK(result.error == CallError::rejected);
    CHECK(result.http_status == 404);
    CHECK(result.message ==
          "HTTP 404 from " + server.base_url() +
              "/[redacted]/chat/completions: Unknown request URL: POST /v1/[redacted]/chat/completions");
  }
}

TEST_CASE("stop ends a run quickly with cancelled results", "[providers]") {
  LlmServer server;
  ProviderSpec spec = spec_for(server);
  spec.max_concurrency = 4;
  std::vector<ChatRequest> requests(20, ask("slow"));
  std::atomic<bool> stop{false};

  SECTION("in-flight requests past the grace are cancelled") {
    server.set_latency(Millis(5000));
    auto provider = provider_for(spec);
    Calls calls(requests);
    std::thread stopper([&stop] {
      std::this_thread::sleep_for(Millis(100));
      stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    provider->run(calls, stop, Millis(100));
    stopper.join();
    CHECK(elapsed_seconds(start) < 1.5);
    CHECK(calls.sent() == 4);
    REQUIRE(calls.results.size() == 4);
    for (const auto& [id, result] : calls.results) {
      CHECK(result.error == CallError::cancelled);
      CHECK(result.message ==
            "cancelled before an answer arrived from " + server.base_url() + "/chat/completions");
    }
  }

  SECTION("in-flight requests within the grace finish") {
    server.set_latency(Millis(150));
    auto provider = provider_for(spec);
    Calls calls(requests);
    std::thread stopper([&stop] {
      std::this_thread::sleep_for(Millis(50));
      stop = true;
    });
    provider->run(calls, stop, Millis(2000));
    stopper.join();
    CHECK(calls.sent() == 4);
    REQUIRE(calls.results.size() == 4);
    for (const auto& [id, result] : calls.results) {
      CHECK(result.ok());
    }
  }

  SECTION("a request waiting for its retry is cancelled") {
    server.inject({Fault{Fault::Kind::status, 503, "30", Millis(0)}});
    auto provider = provider_for(spec);
    Calls calls({ask("one")});
    std::thread stopper([&stop] {
      std::this_thread::sleep_for(Millis(100));
      stop = true;
    });
    const auto start = std::chrono::steady_clock::now();
    provider->run(calls, stop, Millis(2000));
    stopper.join();
    CHECK(elapsed_seconds(start) < 1.5);
    REQUIRE(calls.results.size() == 1);
    CHECK(calls.results.at(0).error == CallError::cancelled);
    CHECK(calls.results.at(0).message == "cancelled before retrying: HTTP 503 from " + server.base_url() +
                                             "/chat/completions: Injected fault: HTTP 503");
    CHECK(server.requests() == 1);
  }
}

TEST_CASE("openai embeddings come back in input order", "[providers]") {
  LlmServer server;
  server.set_key(k_key);
  ProviderSpec spec = spec_for(server);

  SECTION("the default model, one request") {
    auto provider = provider_for(spec);
    const auto vectors = provider->embed({"red apple", "green apple", "Red apple!"}, "");
    REQUIRE(vectors.size() == 3);
    CHECK(vectors[0].size() == 64);
    CHECK(vectors[0] == vectors[2]);
    CHECK(vectors[0] != vectors[1]);
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/v1/embeddings");
    CHECK(seen[0].headers.at("authorization") == "Bearer " + k_key);
    CHECK(seen[0].body ==
          json{{"model", "text-embedding-3-small"}, {"input", {"red apple", "green apple", "Red apple!"}}});
    CHECK(provider->embed({}, "").empty());
  }

  SECTION("the spec's model, many inputs in batches") {
    spec.embedding_model = "embed-small";
    std::vector<std::string> inputs;
    for (int i = 0; i < 600; ++i) {
      inputs.push_back("word" + std::to_string(i % 7));
    }
    const auto vectors = provider_for(spec)->embed(inputs, "");
    REQUIRE(vectors.size() == 600);
    for (std::size_t i = 7; i < vectors.size(); ++i) {
      REQUIRE(vectors[i] == vectors[i % 7]);
    }
    CHECK(vectors[0] != vectors[1]);
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].body.at("model") == "embed-small");
  }

  SECTION("a failure throws without the key") {
    server.set_key("sk-server-OTHER-999999");
    try {
      provider_for(spec)->embed({"x"}, "model-x");
      FAIL("embed did not throw");
    } catch (const ProviderError& error) {
      const std::string message = error.what();
      CHECK(message.rfind("embeddings failed for provider 'local': authentication failed", 0) == 0);
      CHECK(message.find(k_key) == std::string::npos);
    }
  }

  SECTION("anthropic has no embeddings") {
    CHECK_THROWS_AS(provider_for(spec_for(server, "anthropic"))->embed({"x"}, ""), ProviderError);
  }
}

TEST_CASE("openai moderations give the verdict, the categories and their scores", "[providers]") {
  LlmServer server;
  server.set_key(k_key);
  ProviderSpec spec = spec_for(server);

  SECTION("a flagged input, the endpoint's default model") {
    const Moderation moderation = provider_for(spec)->moderate("I will kill the process", "");
    CHECK(moderation.flagged);
    CHECK(moderation.categories.size() == 5);
    CHECK(moderation.categories.at("violence"));
    CHECK_FALSE(moderation.categories.at("hate"));
    CHECK(moderation.scores.at("violence") == 0.9);
    CHECK(moderation.scores.at("harassment") == 0.01);
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/v1/moderations");
    CHECK(seen[0].headers.at("authorization") == "Bearer " + k_key);
    CHECK(seen[0].body == json{{"input", "I will kill the process"}});
  }

  SECTION("a clean input, a named model") {
    const Moderation moderation = provider_for(spec)->moderate("Good morning", "omni-moderation-latest");
    CHECK_FALSE(moderation.flagged);
    CHECK(server.seen().at(0).body.at("model") == "omni-moderation-latest");
  }

  SECTION("a body without results is malformed, and a failure never shows the key") {
    server.inject({Fault{Fault::Kind::truncated, 0, std::nullopt, Millis(0)}});
    try {
      provider_for(spec)->moderate("x", "");
      FAIL("moderate did not throw");
    } catch (const ProviderError& error) {
      CHECK(std::string(error.what()) ==
            "moderation failed for provider 'local': malformed moderation from " + server.base_url() +
                "/moderations: no \"results\" array with an object in it");
    }
    server.set_key("sk-server-OTHER-999999");
    try {
      provider_for(spec)->moderate("x", "");
      FAIL("moderate did not throw");
    } catch (const ProviderError& error) {
      const std::string message = error.what();
      CHECK(message.rfind("moderation failed for provider 'local': authentication failed", 0) == 0);
      CHECK(message.find(k_key) == std::string::npos);
    }
  }

  SECTION("anthropic has no moderations") {
    try {
      provider_for(spec_for(server, "anthropic"))->moderate("x", "");
      FAIL("moderate did not throw");
    } catch (const ProviderError& error) {
      CHECK(std::string(error.what()) == "provider 'local' (anthropic) has no moderations endpoint");
    }
  }
}

TEST_CASE("Retry-After is read as seconds or an HTTP date, capped at 300 s", "[providers]") {
  using providers::parse_retry_after;
  CHECK(parse_retry_after("0") == Millis(0));
  CHECK(parse_retry_after(" 2 ") == Millis(2000));
  CHECK(parse_retry_after("1.5") == Millis(1500));
  CHECK(parse_retry_after("86400") == Millis(300000));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == Millis(0));
  CHECK(parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT") == Millis(300000));
  CHECK_FALSE(parse_retry_after("").has_value());
  CHECK_FALSE(parse_retry_after("soon").has_value());
}
