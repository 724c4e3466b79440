// SPDX-License-Identifier: MIT
// Unit tests for where a key from the environment may be sent (judge_secret) and make_provider's refusal.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/providers/provider.hpp>

using namespace promptops;

namespace {

bool allowed(const std::string& variable, const std::string& url, const std::vector<std::string>& trusted = {}) {
  return judge_secret(variable, url, trusted).allowed;
}

}  // namespace

TEST_CASE("a kind's usual key goes only to its own host, over https", "[providers][secrets]") {
  CHECK(allowed("OPENAI_API_KEY", "https://api.openai.com/v1"));
  CHECK(allowed("ANTHROPIC_API_KEY", "https://api.anthropic.com/v1"));
  CHECK(allowed("OPENAI_API_KEY", "https://API.OpenAI.COM/v1"));
  CHECK(allowed("OPENAI_API_KEY", "HTTPS://api.openai.com:443/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "http://api.openai.com/v1"));
  CHECK(!allowed("ANTHROPIC_API_KEY", "https://api.openai.com/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "https://api.anthropic.com/v1"));
  CHECK(!allowed("GITHUB_TOKEN", "https://api.openai.com/v1"));
  CHECK(!allowed("openai_api_key", "https://api.openai.com/v1"));
}

TEST_CASE("look-alike URLs are judged by the host libcurl would connect to", "[providers][secrets]") {
  CHECK(!allowed("OPENAI_API_KEY", "https://api.openai.com@evil.test/v1"));
  CHECK(judge_secret("OPENAI_API_KEY", "https://api.openai.com@evil.test/v1", {}).host == "evil.test");
  CHECK(!allowed("OPENAI_API_KEY", "https://api.openai.com:x@evil.test/"));
  CHECK(!allowed("OPENAI_API_KEY", "https://api.openai.com.evil.test/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "https://evil.test/api.openai.com/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "https://evil.test?api.openai.com"));
  CHECK(!allowed("OPENAI_API_KEY", "https://evil.test#@api.openai.com"));
  CHECK(!allowed("OPENAI_API_KEY", "https://xapi.openai.com/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "https://api.openai.com./v1"));
  CHECK(!allowed("OPENAI_API_KEY", "api.openai.com/v1"));
  CHECK(!allowed("OPENAI_API_KEY", "ftp://api.openai.com/v1"));
  CHECK(!allowed("OPENAI_API_KEY", ""));
  CHECK(judge_secret("OPENAI_API_KEY", "not a url", {}).host.empty());
}

TEST_CASE("any key may go to loopback, over http or https", "[providers][secrets]") {
  for (const char* url :
       {"http://127.0.0.1:8080/v1", "https://127.0.0.1/v1", "http://127.255.0.9/v1", "http://localhost:11434/v1",
        "http://LOCALHOST/v1", "http://[::1]:8000/v1", "http://[0:0:0:0:0:0:0:1]/v1"}) {
    INFO(url);
    CHECK(allowed("GITHUB_TOKEN", url));
  }
  for (const char* url : {"http://128.0.0.1/v1", "http://126.255.255.255/v1", "http://10.0.0.1/v1",
                                 "http://[::2]/v1", "http://localhost.evil.test/v1", "http://127.0.0.1.evil.test/v1",
                                 "http://evil.localhost.test/v1", "http://0.0.0.0/v1"}) {
    INFO(url);
    CHECK(!allowed("GITHUB_TOKEN", url));
  }
  CHECK(is_loopback_host("[::1]"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(!is_loopback_host("::1x"));
  CHECK(!is_loopback_host("example.com"));
}

TEST_CASE("promptops.trustSecret values trust one variable to one host", "[providers][secrets]") {
  const std::vector<std::string> trusted{"GITHUB_TOKEN@models.example.com", "LAN_KEY@http://gpu.lan",
                                         "AZURE_KEY@https://My.Azure.example/"};
  CHECK(allowed("GITHUB_TOKEN", "https://models.example.com/inference", trusted));
  CHECK(allowed("GITHUB_TOKEN", "https://MODELS.example.com:8443/inference", trusted));
  CHECK(!allowed("GITHUB_TOKEN", "http://models.example.com/inference", trusted));  // https only
  CHECK(!allowed("GITHUB_TOKEN", "https://evil.test/", trusted));
  CHECK(!allowed("GITHUB_TOKEN", "https://models.example.com.evil.test/", trusted));
  CHECK(!allowed("GITHUB_TOKEN", "https://models.example.com@evil.test/", trusted));
  CHECK(!allowed("OTHER_TOKEN", "https://models.example.com/", trusted));
  CHECK(allowed("LAN_KEY", "http://gpu.lan:8000/v1", trusted));
  CHECK(allowed("LAN_KEY", "https://gpu.lan/v1", trusted));
  CHECK(allowed("AZURE_KEY", "https://my.azure.example/openai", trusted));
  CHECK(!allowed("OPENAI_API_KEY", "http://api.openai.com/v1", trusted));
  CHECK(allowed("OPENAI_API_KEY", "http://api.openai.com/v1", {"OPENAI_API_KEY@http://api.openai.com"}));
  CHECK(!allowed("GITHUB_TOKEN", "https://models.example.com/", {"GITHUB_TOKEN", "@models.example.com",
                                                                  "GITHUB_TOKEN@", "*@models.example.com"}));
}

TEST_CASE("a refusal names the host and the value that would trust it", "[providers][secrets]") {
  const SecretVerdict https = judge_secret("GITHUB_TOKEN", "https://user@Attacker.Invalid:444/v1", {});
  CHECK(!https.allowed);
  CHECK(https.host == "attacker.invalid");
  CHECK(!https.plain_http);
  CHECK(https.trust == "GITHUB_TOKEN@attacker.invalid");
  const SecretVerdict http = judge_secret("GITHUB_TOKEN", "http://attacker.invalid/v1", {});
  CHECK(http.plain_http);
  CHECK(http.trust == "GITHUB_TOKEN@http://attacker.invalid");
}

TEST_CASE("make_provider refuses to send a key where the user has not trusted it", "[providers][secrets]") {
  ProviderSpec spec;
  spec.name = "models";
  spec.kind = "openai";
  spec.base_url = "https://attacker.invalid/v1";
  spec.api_key_env = "GITHUB_TOKEN";
  spec.where = Location{".promptops.toml", 1, 1};
  ProviderOptions options;
  bool read = false;
  options.getenv = [&read](const std::string&) -> std::optional<std::string> {
    read = true;
    return std::string("secret-xyz");
  };
  const auto error_of = [&]() -> std::pair<std::string, std::string> {
    try {
      make_provider(spec, options);
    } catch (const ConfigError& error) {
      return {error.what(), error.hint()};
    }
    return {"no error", ""};
  };

  SECTION("an untrusted host: refused before the variable is read") {
    CHECK(error_of() ==
          std::pair<std::string, std::string>{
              ".promptops.toml:1:1: provider 'models' would send $GITHUB_TOKEN to attacker.invalid, which you "
              "have not trusted with it",
              "if attacker.invalid may have it, run: git config --add promptops.trustSecret "
              "GITHUB_TOKEN@attacker.invalid"});
    CHECK(!read);
  }
  SECTION("plain http to a well-known host") {
    spec.base_url = "http://api.openai.com/v1";
    spec.api_key_env = "OPENAI_API_KEY";
    CHECK(error_of().first ==
          ".promptops.toml:1:1: provider 'models' would send $OPENAI_API_KEY to api.openai.com over plain "
          "http, which you have not trusted with it");
  }
  SECTION("anthropic's default URL gets its own key") {
    spec.kind = "anthropic";
    spec.base_url.clear();
    spec.api_key_env = "ANTHROPIC_API_KEY";
    CHECK(make_provider(spec, options)->identity() == "anthropic:https://api.anthropic.com/v1");
    spec.api_key_env = "OPENAI_API_KEY";
    CHECK(error_of().first.find("would send $OPENAI_API_KEY to api.anthropic.com") != std::string::npos);
  }
  SECTION("trusted by the user") {
    options.trusted_secrets = {"GITHUB_TOKEN@attacker.invalid"};
    CHECK(make_provider(spec, options)->identity() == "openai:https://attacker.invalid/v1");
    CHECK(read);
  }
  SECTION("no key, no question") {
    spec.api_key_env.clear();
    CHECK(make_provider(spec, options)->identity() == "openai:https://attacker.invalid/v1");
  }
}

TEST_CASE("a preset's documented key goes to the preset's own host, over https, and nowhere else",
          "[providers][secrets]") {
  CHECK(allowed("GROQ_API_KEY", "https://api.groq.com/openai/v1"));
  CHECK(allowed("MISTRAL_API_KEY", "https://api.mistral.ai/v1"));
  CHECK(allowed("GEMINI_API_KEY", "https://generativelanguage.googleapis.com/v1beta/openai"));
  CHECK(!allowed("GROQ_API_KEY", "http://api.groq.com/openai/v1"));
  CHECK(!allowed("GROQ_API_KEY", "https://api.mistral.ai/v1"));
  CHECK(!allowed("MISTRAL_API_KEY", "https://api.groq.com/openai/v1"));
  CHECK(!allowed("GROQ_API_KEY", "https://evil.test/v1"));
}
