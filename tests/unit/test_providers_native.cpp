// SPDX-License-Identifier: MIT
// Unit tests for the azure and gemini providers against the loopback model server: the wire
// format both ways, errors, retries, and where their keys may go.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/providers/provider.hpp>
#include <promptops/util/error.hpp>

#include "support/llm_server.hpp"

using namespace promptops;
using nlohmann::json;
using promptops::test::Fault;
using promptops::test::LlmServer;
using promptops::test::SeenRequest;

namespace {

const std::string k_native_key = "native-key-0123456789";

ProviderOptions native_options(const std::string& key = k_native_key) {
  ProviderOptions options;
  options.getenv = [key](const std::string& name) -> std::optional<std::string> {
    if (name == "TEST_KEY" || name == "TEST_TOKEN") {
      return key;
    }
    return std::nullopt;
  };
  return options;
}

// The server's root: azure's base_url is the resource, gemini's the API version's root.
ProviderSpec native_spec(const LlmServer& server, const std::string& kind) {
  ProviderSpec spec;
  spec.name = "native";
  spec.kind = kind;
  const std::string root = "http://127.0.0.1:" + std::to_string(server.port());
  spec.base_url = kind == "gemini" ? root + "/v1beta" : root;
  spec.api_key_env = "TEST_KEY";
  spec.api_version = kind == "azure" ? "2024-10-21" : "";
  spec.max_retries = 2;
  spec.retry_delay_seconds = 0.01;
  spec.timeout_seconds = 5;
  return spec;
}

ChatRequest native_request(json params = json::object()) {
  ChatRequest request;
  request.model = "gpt-4o-prod";
  request.messages = {{"system", "Be brief.", {}},
                      {"user", "What is the capital of France?", {}},
                      {"assistant", "Paris.", {}},
                      {"user", "And of Spain?", {}}};
  request.params = std::move(params);
  return request;
}

Fault native_fault(Fault::Kind kind, int status = 500) {
  Fault fault;
  fault.kind = kind;
  fault.status = status;
  return fault;
}

double seconds_since(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

TEST_CASE("azure sends the OpenAI body to the deployment's URL with the api-version and api-key",
          "[providers][providers-native]") {
  LlmServer server;
  server.set_key(k_native_key);
  server.set_rules({{{"Spain"}, "Madrid"}});
  ProviderSpec spec = native_spec(server, "azure");
  spec.base_url += "/";

  SECTION("the model's name is the deployment") {
    auto provider = make_provider(spec, native_options());
    const ChatResult result = provider->complete(native_request({{"temperature", 0}, {"stream", true}}));
    REQUIRE(result.ok());
    CHECK(result.response->text == "Madrid");
    CHECK(result.response->tokens_in == 12);
    CHECK(result.response->tokens_out == 1);
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/openai/deployments/gpt-4o-prod/chat/completions");
    CHECK(seen[0].query == "api-version=2024-10-21");
    CHECK(seen[0].headers.at("api-key") == k_native_key);
    CHECK(seen[0].headers.count("authorization") == 0);
    CHECK(seen[0].body == json{{"model", "gpt-4o-prod"},
                               {"temperature", 0},
                               {"messages",
                                {{{"role", "system"}, {"content", "Be brief."}},
                                 {{"role", "user"}, {"content", "What is the capital of France?"}},
                                 {{"role", "assistant"}, {"content", "Paris."}},
                                 {{"role", "user"}, {"content", "And of Spain?"}}}}});
    CHECK(provider->identity() ==
          "azure:" + native_spec(server, "azure").base_url + "/openai/deployments/?api-version=2024-10-21");
  }

  SECTION("a deployment key and api_version win over the model's name and the default") {
    spec.deployment = "prod-east";
    spec.api_version = "2025-01-01-preview";
    REQUIRE(make_provider(spec, native_options())->complete(native_request()).ok());
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/openai/deployments/prod-east/chat/completions");
    CHECK(seen[0].query == "api-version=2025-01-01-preview");
  }

  SECTION("a model name cannot add a path or a query") {
    ChatRequest request = native_request();
    request.model = "../x?api-version=1#y";
    const ChatResult result = make_provider(spec, native_options())->complete(request);
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/openai/deployments/..%2Fx%3Fapi-version%3D1%23y/chat/completions");
    CHECK(seen[0].query == "api-version=2024-10-21");
    CHECK(result.ok());
  }

  SECTION("an Entra ID token goes as a bearer, never as api-key") {
    spec.api_key_env.clear();
    spec.token_env = "TEST_TOKEN";
    REQUIRE(make_provider(spec, native_options())->complete(native_request()).ok());
    const std::vector<SeenRequest> seen = server.seen();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].headers.at("authorization") == "Bearer " + k_native_key);
    CHECK(seen[0].headers.count("api-key") == 0);
  }

  SECTION("a wrong key is an auth error with Azure's words and the variable, not the key") {
    const ChatResult result =
        make_provider(spec, native_options("wrong-key-987654321"))->complete(native_request());
    CHECK(result.error == CallError::auth);
    CHECK(
        result.message ==
        "authentication failed for provider 'native' (HTTP 401 from " +
            native_spec(server, "azure").base_url +
            "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21): Access denied due to "
            "invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active "
            "subscription and use a correct regional API endpoint for your resource.; check the key in "
            "$TEST_KEY");
  }
}

TEST_CASE("azure honours retry-after-ms, and a filtered answer or prompt is a rejected call",
          "[providers][providers-native]") {
  LlmServer server;
  server.set_rules({{{"Spain"}, "Madrid"}});
  ProviderSpec spec = native_spec(server, "azure");
  spec.retry_delay_seconds = 5;  // a backoff would be seen
  auto provider = make_provider(spec, native_options());

  SECTION("429 with retry-after-ms 50 and Retry-After 30: the milliseconds win") {
    Fault fault = native_fault(Fault::Kind::status, 429);
    fault.retry_after = "30";
    fault.retry_after_ms = "50";
    server.inject({fault});
    const auto start = std::chrono::steady_clock::now();
    const ChatResult result = provider->complete(native_request());
    REQUIRE(result.ok());
    CHECK(result.response->attempts == 2);
    CHECK(seconds_since(start) < 2.0);
  }
  SECTION("the content filter on the answer") {
    server.inject({native_fault(Fault::Kind::safety)});
    const ChatResult result = provider->complete(native_request());
    CHECK(result.error == CallError::rejected);
    CHECK(result.message ==
          "answer withheld by " + spec.base_url +
              "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21: the "
              "content filter withheld the answer (finish_reason content_filter)");
  }
  SECTION("the content filter on the prompt") {
    server.inject({native_fault(Fault::Kind::blocked)});
    const ChatResult result = provider->complete(native_request());
    CHECK(result.error == CallError::rejected);
    CHECK(
        result.cause ==
        "HTTP 400: The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy.");
  }
}

TEST_CASE("gemini maps messages and parameters into generateContent and reads the candidate",
          "[providers][providers-native]") {
  LlmServer server;
  server.set_key(k_native_key);
  server.set_rules({{{"Spain"}, "Madrid it is"}});
  const ProviderSpec spec = native_spec(server, "gemini");
  auto provider = make_provider(spec, native_options());

  const json safety =
      json::array({{{"category", "HARM_CATEGORY_HARASSMENT"}, {"threshold", "BLOCK_ONLY_HIGH"}}});
  const ChatResult result = provider->complete(native_request({{"temperature", 0.2},
                                                               {"max_tokens", 64},
                                                               {"top_p", 0.9},
                                                               {"top_k", 40},
                                                               {"stop", "END"},
                                                               {"seed", 7},
                                                               {"response_format", {{"type", "json_object"}}},
                                                               {"safety_settings", safety},
                                                               {"thinkingConfig", {{"thinkingBudget", 0}}},
                                                               {"user", "u-1"},
                                                               {"stream", true}}));
  REQUIRE(result.ok());
  CHECK(result.response->text == "Madrid it is");
  CHECK(result.response->tokens_in == 12);
  CHECK(result.response->tokens_out == 3);
  const std::vector<SeenRequest> seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/v1beta/models/gpt-4o-prod:generateContent");
  CHECK(seen[0].query.empty());
  CHECK(seen[0].headers.at("x-goog-api-key") == k_native_key);
  CHECK(seen[0].headers.count("authorization") == 0);
  CHECK(seen[0].body == json{{"systemInstruction", {{"parts", {{{"text", "Be brief."}}}}}},
                             {"contents",
                              {{{"role", "user"}, {"parts", {{{"text", "What is the capital of France?"}}}}},
                               {{"role", "model"}, {"parts", {{{"text", "Paris."}}}}},
                               {{"role", "user"}, {"parts", {{{"text", "And of Spain?"}}}}}}},
                             {"generationConfig",
                              {{"temperature", 0.2},
                               {"maxOutputTokens", 64},
                               {"topP", 0.9},
                               {"topK", 40},
                               {"stopSequences", {"END"}},
                               {"seed", 7},
                               {"responseMimeType", "application/json"},
                               {"thinkingConfig", {{"thinkingBudget", 0}}}}},
                             {"safetySettings", safety}});
}

TEST_CASE("gemini's refusals, errors and retries", "[providers][providers-native]") {
  LlmServer server;
  server.set_key(k_native_key);
  ProviderSpec spec = native_spec(server, "gemini");
  const std::string url = spec.base_url + "/models/gpt-4o-prod:generateContent";

  SECTION("finishReason SAFETY names the blocked category") {
    server.inject({native_fault(Fault::Kind::safety)});
    const ChatResult result = make_provider(spec, native_options())->complete(native_request());
    CHECK(result.error == CallError::rejected);
    CHECK(result.message == "answer withheld by " + url +
                                ": the safety filters withheld the answer (finishReason SAFETY: "
                                "HARM_CATEGORY_HARASSMENT)");
  }
  SECTION("a blocked prompt") {
    server.inject({native_fault(Fault::Kind::blocked)});
    const ChatResult result = make_provider(spec, native_options())->complete(native_request());
    CHECK(result.error == CallError::rejected);
    CHECK(result.cause ==
          "answer withheld: the prompt was blocked (promptFeedback.blockReason SAFETY: "
          "HARM_CATEGORY_HARASSMENT)");
  }
  SECTION("JSON without candidates is malformed") {
    server.inject({native_fault(Fault::Kind::truncated)});
    const ChatResult result = make_provider(spec, native_options())->complete(native_request());
    CHECK(result.error == CallError::malformed);
    CHECK(result.message == "malformed answer from " + url + ": no candidates");
  }
  SECTION("a 429 whose body holds RetryInfo waits that long, not the backoff") {
    spec.retry_delay_seconds = 5;
    Fault fault = native_fault(Fault::Kind::status, 429);
    fault.retry_delay = "0.05s";
    server.inject({fault});
    const auto start = std::chrono::steady_clock::now();
    const ChatResult result = make_provider(spec, native_options())->complete(native_request());
    REQUIRE(result.ok());
    CHECK(result.response->attempts == 2);
    CHECK(seconds_since(start) < 2.0);
  }
  SECTION("503 on every attempt quotes Gemini's message") {
    server.inject({native_fault(Fault::Kind::status, 503), native_fault(Fault::Kind::status, 503),
                   native_fault(Fault::Kind::status, 503)});
    const ChatResult result = make_provider(spec, native_options())->complete(native_request());
    CHECK(result.error == CallError::server);
    CHECK(result.message == "HTTP 503 from " + url + ": Injected fault: HTTP 503 (after 2 retries)");
  }
  SECTION("a key Google does not know (400 API_KEY_INVALID) is an auth error") {
    const ChatResult result =
        make_provider(spec, native_options("wrong-key-987654321"))->complete(native_request());
    CHECK(result.error == CallError::auth);
    CHECK(result.message ==
          "authentication failed for provider 'native' (HTTP 400 from " + url +
              "): API key not valid. Please pass a valid API key.; check the key in $TEST_KEY");
    CHECK(server.requests() == 1);
  }
  SECTION("no key at all (403 PERMISSION_DENIED) is an auth error") {
    spec.api_key_env.clear();
    const ChatResult result = make_provider(spec, ProviderOptions{})->complete(native_request());
    CHECK(result.error == CallError::auth);
    CHECK(result.message.find("(HTTP 403 from " + url + "): Method doesn't allow unregistered callers") !=
          std::string::npos);
  }
}

TEST_CASE("azure and gemini keys go to their own hosts only", "[providers][providers-native][secrets]") {
  const auto allowed = [](const std::string& variable, const std::string& url) {
    return judge_secret(variable, url, {}).allowed;
  };
  CHECK(allowed("GEMINI_API_KEY", "https://generativelanguage.googleapis.com/v1beta"));
  CHECK(!allowed("GEMINI_API_KEY", "http://generativelanguage.googleapis.com/v1beta"));
  CHECK(!allowed("GEMINI_API_KEY", "https://evil.test/v1beta"));
  for (const char* variable : {"AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"}) {
    INFO(variable);
    CHECK(allowed(variable, "https://my-res.openai.azure.com"));
    CHECK(allowed(variable, "https://MY-RES.OpenAI.Azure.com:443/"));
    CHECK(allowed(variable, "https://my-res.cognitiveservices.azure.com"));
    CHECK(!allowed(variable, "http://my-res.openai.azure.com"));
    CHECK(!allowed(variable, "https://openai.azure.com"));
    CHECK(!allowed(variable, "https://my-res.openai.azure.com.evil.test"));
    CHECK(!allowed(variable, "https://my-res.openai.azure.com@evil.test"));
    CHECK(!allowed(variable, "https://evilopenai.azure.com"));
    CHECK(!allowed(variable, "https://my-res.openai.azure.com./"));
  }
  CHECK(!allowed("GITHUB_TOKEN", "https://my-res.openai.azure.com"));
  CHECK(!allowed("OPENAI_API_KEY", "https://my-res.openai.azure.com"));
  CHECK(!allowed("AZURE_OPENAI_API_KEY", "https://api.openai.com/v1"));
  CHECK(judge_secret("AZURE_OPENAI_AD_TOKEN", "https://evil.test", {"AZURE_OPENAI_AD_TOKEN@evil.test"})
            .allowed);

  ProviderSpec spec;
  spec.name = "az";
  spec.kind = "azure";
  spec.base_url = "https://evil.test";
  spec.token_env = "AZURE_OPENAI_AD_TOKEN";
  spec.api_version = "2024-10-21";
  try {
    make_provider(spec, ProviderOptions{});
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) ==
          "provider 'az' would send $AZURE_OPENAI_AD_TOKEN to evil.test, which you have not trusted with it");
    CHECK(error.hint() ==
          "if evil.test may have it, run: git config --add promptops.trustSecret "
          "AZURE_OPENAI_AD_TOKEN@evil.test");
  }
}

TEST_CASE("the config reads azure's and gemini's keys with their defaults", "[config][providers-native]") {
  SECTION("defaults") {
    const ParsedConfig parsed = parse_config(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"https://r.openai.azure.com\"\n"
        "[providers.g]\nkind = \"gemini\"\n",
        "c.toml");
    CHECK(parsed.diagnostics.empty());
    const ProviderSpec& az = parsed.config.providers.at("az");
    CHECK(az.kind == "azure");
    CHECK(az.api_key_env == "AZURE_OPENAI_API_KEY");
    CHECK(az.token_env.empty());
    CHECK(az.secret_env() == "AZURE_OPENAI_API_KEY");
    CHECK(az.api_version == "2024-10-21");
    CHECK(az.deployment.empty());
    const ProviderSpec& g = parsed.config.providers.at("g");
    CHECK(g.kind == "gemini");
    CHECK(g.base_url == "https://generativelanguage.googleapis.com/v1beta");
    CHECK(g.api_key_env == "GEMINI_API_KEY");
  }
  SECTION("a token instead of the key, a deployment and a version") {
    const ParsedConfig parsed = parse_config(
        "[providers.az]\nkind = \"azure\"\nbase_url = \"https://r.openai.azure.com\"\n"
        "token_env = \"AZURE_OPENAI_AD_TOKEN\"\ndeployment = \"prod-4o\"\napi_version = "
        "\"2025-01-01-preview\"\n",
        "c.toml");
    CHECK(parsed.diagnostics.empty());
    const ProviderSpec& az = parsed.config.providers.at("az");
    CHECK(az.api_key_env.empty());
    CHECK(az.secret_env() == "AZURE_OPENAI_AD_TOKEN");
    CHECK(az.deployment == "prod-4o");
    CHECK(az.api_version == "2025-01-01-preview");
  }
  SECTION("mistakes") {
    const ParsedConfig parsed = parse_config(
        "[providers.az]\nkind = \"azure\"\napi_key_env = \"K\"\ntoken_env = \"T\"\ndeployment = \"a/b\"\n"
        "[providers.o]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1/v1\"\ndeployment = \"d\"\n",
        "c.toml");
    std::vector<std::string> messages;
    for (const Diagnostic& diagnostic : parsed.diagnostics) {
      messages.push_back(diagnostic.message);
    }
    CHECK(messages ==
          std::vector<std::string>{
              "azure provider 'az' has no base_url",
              "azure provider 'az' sets both api_key_env and token_env",
              "'providers.az.deployment' must be a deployment name of letters, digits, '.', '_' and "
              "'-'",
              "'providers.o.deployment' is only for kind = \"azure\""});
  }
}
