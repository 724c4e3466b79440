// SPDX-License-Identifier: MIT
// End-to-end: `eval` on the native azure and gemini providers against the loopback model server:
// exact scores, the wire format each service expects, retries on their rate limits, their error
// bodies in the one-line error, missing keys, Entra ID tokens, and keys that go nowhere else.
#include <filesystem>
#include <map>
#include <optional>
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

const std::string k_azure_key = "azure-key-0123456789abcdef";
const std::string k_gemini_key = "AIzaGeminiKey0123456789";

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Every file under `dir` whose bytes contain `needle`, relative to `dir`.
std::vector<std::string> native_files_with(const std::filesystem::path& dir, const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && has(read_text(it->path()), needle)) {
      found.push_back(std::filesystem::relative(it->path(), dir).string());
    }
  }
  return found;
}

Fault native_status(int status) {
  Fault fault;
  fault.kind = Fault::Kind::status;
  fault.status = status;
  return fault;
}

// prompts/greet.toml: a system message and "Hey {{who}}!", on the four greet cases (Ann, Bob and
// Cid right, Dee wrong: 0.75 by greet_rules()).
std::string native_greet_prompt() {
  return "[[messages]]\n"
         "role = \"system\"\n"
         "content = \"Answer in one word.\"\n"
         "[[messages]]\n"
         "role = \"user\"\n"
         "content = \"Hey {{who}}!\"\n"
         "[vars]\n"
         "who = { required = true }\n"
         "[eval]\n"
         "dataset = \"evals/greet.jsonl\"\n"
         "metric = \"accuracy\"\n";
}

// The greet prompt and its cases; configure() commits a .promptops.toml whose default model is
// MODEL on provider NAME. The server answers by greet_rules().
struct NativeProject {
  LlmServer server;
  TempRepo repo;

  NativeProject() {
    server.set_rules(greet_rules());
    repo.write("evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid", "Dee"}));
    repo.write("prompts/greet.toml", native_greet_prompt());
  }

  // [providers.NAME] with `table` (fast retries added), then [defaults.model] MODEL and `params`.
  void configure(const std::string& name, const std::string& table, const std::string& model,
                 const std::string& params = "") {
    repo.write(".promptops.toml", "[providers." + name + "]\n" + table + "retry_delay = 0.01\n" +
                                      "\n[defaults.model]\nprovider = \"" + name + "\"\nname = \"" + model +
                                      "\"\n" + params);
    repo.commit("configure " + name);
  }

  const std::filesystem::path& path() const { return repo.path(); }
  std::string root() const { return "http://127.0.0.1:" + std::to_string(server.port()); }

  // The key is nowhere in what the run printed or left in .git (cache, notes, per-case results).
  void check_key_kept(const RunResult& r, const std::string& key) const {
    CHECK(!has(r.out, key));
    CHECK(!has(r.err, key));
    CHECK(native_files_with(path() / ".git", key).empty());
  }
};

std::string azure_table(const std::string& root, const std::string& extra = "") {
  return "kind = \"azure\"\nbase_url = \"" + root + "\"\n" + extra;
}

std::string gemini_table(const std::string& root, const std::string& extra = "") {
  return "kind = \"gemini\"\nbase_url = \"" + root + "/v1beta\"\n" + extra;
}

const std::string k_native_params = "temperature = 0\nmax_tokens = 16\n";

}  // namespace

// --- azure ------------------------------------------------------------------------------------

TEST_CASE("azure: eval scores exactly, on the deployment's URL with api-version and the api-key header",
          "[e2e][providers-native]") {
  NativeProject p;
  p.configure("az", azure_table(p.root()), "gpt-4o-prod", k_native_params);
  p.server.set_key(k_azure_key);

  const std::map<std::string, std::string> env{{"AZURE_OPENAI_API_KEY", k_azure_key}};
  const RunResult r = run_promptops(p.path(), {"eval", "--format", "json"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json row = json::parse(r.out).at("rows").at(0);
  CHECK(row.at("value").get<double>() == Approx(0.75));
  CHECK(row.at("outcomes") == "pppf");
  CHECK(row.at("model") == "az/gpt-4o-prod");
  const std::vector<SeenRequest> seen = p.server.seen();
  REQUIRE(seen.size() == 4);
  for (const SeenRequest& request : seen) {
    CHECK(request.path == "/openai/deployments/gpt-4o-prod/chat/completions");
    CHECK(request.query == "api-version=2024-10-21");
    CHECK(request.headers.at("api-key") == k_azure_key);
    CHECK(request.headers.count("authorization") == 0);
    CHECK(request.body.at("messages").at(0) == json{{"role", "system"}, {"content", "Answer in one word."}});
    CHECK(request.body.at("temperature") == 0);
    CHECK(request.body.at("max_tokens") == 16);
  }
  p.check_key_kept(r, k_azure_key);

  // A rerun takes every answer from the cache and asks for no key.
  p.server.reset_counters();
  const RunResult again = run_promptops(p.path(), {"eval"}, {{"AZURE_OPENAI_API_KEY", ""}});
  CHECK(again.exit_code == 0);
  CHECK(p.server.requests() == 0);
}

TEST_CASE(
    "azure: deployment and api_version keys, an Entra ID token, a rate limit, a wrong and a missing key",
    "[e2e][providers-native]") {
  NativeProject p;
  const auto configure = [&](const std::string& extra) {
    p.configure("az", azure_table(p.root(), extra), "gpt-4o");
  };

  SECTION("deployment and api_version, and a 429 with retry-after-ms retried") {
    configure("deployment = \"prod-east\"\napi_version = \"2025-01-01-preview\"\n");
    Fault fault = native_status(429);
    fault.retry_after = "30";  // the milliseconds win: a 30 s wait would be seen
    fault.retry_after_ms = "20";
    p.server.inject({fault});
    const RunResult r =
        run_promptops(p.path(), {"eval", "--format", "json"}, {{"AZURE_OPENAI_API_KEY", k_azure_key}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out).at("rows").at(0).at("outcomes") == "pppf");
    CHECK(p.server.requests() == 5);
    CHECK(count_seen(p.server, [](const SeenRequest& s) { return s.status == 429; }) == 1);
    for (const SeenRequest& request : p.server.seen()) {
      CHECK(request.path == "/openai/deployments/prod-east/chat/completions");
      CHECK(request.query == "api-version=2025-01-01-preview");
    }
  }
  SECTION("a 429 with Retry-After only") {
    configure("");
    Fault fault = native_status(429);
    fault.retry_after = "0";
    p.server.inject({fault, fault});
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"AZURE_OPENAI_API_KEY", k_azure_key}});
    CHECK(r.exit_code == 0);
    CHECK(p.server.requests() == 6);
  }
  SECTION("an Entra ID token goes as a bearer") {
    const std::string token = "eyJ0eXAiOiJKV1QiLCJhbGciOi.entra-token";
    configure("token_env = \"AZURE_OPENAI_AD_TOKEN\"\n");
    p.server.set_key(token);
    const RunResult r = run_promptops(
        p.path(), {"eval"}, {{"AZURE_OPENAI_AD_TOKEN", token}, {"AZURE_OPENAI_API_KEY", k_azure_key}});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    REQUIRE(p.server.requests() == 4);
    for (const SeenRequest& request : p.server.seen()) {
      CHECK(request.headers.at("authorization") == "Bearer " + token);
      CHECK(request.headers.count("api-key") == 0);
    }
    p.check_key_kept(r, token);
  }
  SECTION("a missing token names its variable") {
    configure("token_env = \"AZURE_OPENAI_AD_TOKEN\"\n");
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"AZURE_OPENAI_AD_TOKEN", ""}});
    CHECK(r.exit_code == 2);
    CHECK(
        r.err ==
        "git-promptops: error: provider 'az' reads its token from $AZURE_OPENAI_AD_TOKEN, which is not set\n"
        "hint: export AZURE_OPENAI_AD_TOKEN=<your token>\n");
    CHECK(p.server.requests() == 0);
  }
  SECTION("a missing key names the default variable") {
    configure("");
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"AZURE_OPENAI_API_KEY", ""}});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "git-promptops: error: provider 'az' reads its key from $AZURE_OPENAI_API_KEY, which is not set\n"
          "hint: export AZURE_OPENAI_API_KEY=<your key>\n");
    CHECK(p.server.requests() == 0);
  }
  SECTION("a wrong key stops the run with Azure's message, not the key") {
    configure("");
    p.server.set_key(k_azure_key);
    const std::string wrong = "azure-wrong-key-987654321";
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"AZURE_OPENAI_API_KEY", wrong}});
    CHECK(r.exit_code == 2);
    CHECK(has(r.err,
              "git-promptops: error: authentication failed for provider 'az' (HTTP 401 from " + p.root() +
                  "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21): Access denied due "
                  "to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for "
                  "an active subscription and use a correct regional API endpoint for your resource.; check "
                  "the key in $AZURE_OPENAI_API_KEY\n"));
    p.check_key_kept(r, wrong);
    CHECK(!has_notes_ref(p.repo));
  }
}

TEST_CASE("azure: a key goes to another resource host only when git config trusts it",
          "[e2e][providers-native]") {
  NativeProject p;
  // An http host that is not loopback: the requests reach it through the server as a proxy.
  p.configure("az", azure_table("http://res.openai.azure.com", "max_retries = 0\n"), "gpt-4o");
  const std::string proxy = p.root();
  const std::map<std::string, std::string> env{
      {"AZURE_OPENAI_API_KEY", k_azure_key}, {"http_proxy", proxy}, {"no_proxy", "127.0.0.1,localhost"}};

  const RunResult refused = run_promptops(p.path(), {"eval"}, env);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err ==
        "git-promptops: error: .promptops.toml:1:1: provider 'az' would send $AZURE_OPENAI_API_KEY to "
        "res.openai.azure.com over plain http, which you have not trusted with it\n"
        "hint: if res.openai.azure.com may have it, run: git config --add promptops.trustSecret "
        "AZURE_OPENAI_API_KEY@http://res.openai.azure.com\n");
  CHECK(p.server.requests() == 0);

  // Another resource's look-alike over https is refused too, before any connection.
  p.configure("az", azure_table("https://res.openai.azure.com.evil.test"), "gpt-4o");
  const RunResult lookalike = run_promptops(p.path(), {"eval"}, env);
  CHECK(lookalike.exit_code == 2);
  CHECK(has(lookalike.err,
            "would send $AZURE_OPENAI_API_KEY to res.openai.azure.com.evil.test, which you have "
            "not trusted with it\n"));
  p.repo.git({"reset", "--hard", "HEAD~1"});

  p.repo.git(
      {"config", "--add", "promptops.trustSecret", "AZURE_OPENAI_API_KEY@http://res.openai.azure.com"});
  const RunResult trusted = run_promptops(p.path(), {"eval"}, env);
  INFO(trusted.err);
  CHECK(trusted.exit_code == 0);
  REQUIRE(p.server.requests() == 4);
  for (const SeenRequest& request : p.server.seen()) {
    CHECK(request.headers.at("host") == "res.openai.azure.com");
    CHECK(request.path == "/openai/deployments/gpt-4o/chat/completions");
    CHECK(request.headers.at("api-key") == k_azure_key);
  }
}

// --- gemini -----------------------------------------------------------------------------------

TEST_CASE(
    "gemini: eval scores exactly; systemInstruction, generationConfig, safetySettings, and the key "
    "only in x-goog-api-key",
    "[e2e][providers-native]") {
  NativeProject p;
  p.configure(
      "gem", gemini_table(p.root()), "gemini-2.5-flash",
      k_native_params +
          "top_k = 20\nstop = [\"END\"]\n"
          "safety_settings = [{ category = \"HARM_CATEGORY_HATE_SPEECH\", threshold = \"BLOCK_NONE\" }]\n");
  p.server.set_key(k_gemini_key);

  const RunResult r =
      run_promptops(p.path(), {"eval", "--format", "json"}, {{"GEMINI_API_KEY", k_gemini_key}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json row = json::parse(r.out).at("rows").at(0);
  CHECK(row.at("value").get<double>() == Approx(0.75));
  CHECK(row.at("outcomes") == "pppf");
  const std::vector<SeenRequest> seen = p.server.seen();
  REQUIRE(seen.size() == 4);
  for (const SeenRequest& request : seen) {
    CHECK(request.path == "/v1beta/models/gemini-2.5-flash:generateContent");
    CHECK(request.query.empty());  // the key is never in the URL
    CHECK(request.headers.at("x-goog-api-key") == k_gemini_key);
    CHECK(request.body.at("systemInstruction") == json{{"parts", {{{"text", "Answer in one word."}}}}});
    CHECK(request.body.at("contents").size() == 1);
    CHECK(request.body.at("contents").at(0).at("role") == "user");
    CHECK(request.body.at("generationConfig") ==
          json{{"temperature", 0}, {"maxOutputTokens", 16}, {"topK", 20}, {"stopSequences", {"END"}}});
    CHECK(request.body.at("safetySettings") ==
          json::array({{{"category", "HARM_CATEGORY_HATE_SPEECH"}, {"threshold", "BLOCK_NONE"}}}));
  }
  p.check_key_kept(r, k_gemini_key);
}

TEST_CASE(
    "gemini: retries on 429 and 503, its error message in the one-line error, a blocked answer per case, "
    "missing and untrusted keys",
    "[e2e][providers-native]") {
  NativeProject p;
  const auto configure = [&](const std::string& table) { p.configure("gem", table, "gemini-2.5-flash"); };
  const std::map<std::string, std::string> env{{"GEMINI_API_KEY", k_gemini_key}};

  SECTION("429 with Retry-After, 429 with RetryInfo and a 503 are retried") {
    configure(gemini_table(p.root()));
    Fault after = native_status(429);
    after.retry_after = "0";
    Fault info = native_status(429);
    info.retry_delay = "0.02s";
    p.server.inject({after, info, native_status(503)});
    const RunResult r = run_promptops(p.path(), {"eval", "--format", "json"}, env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(json::parse(r.out).at("rows").at(0).at("outcomes") == "pppf");
    CHECK(p.server.requests() == 7);
  }
  SECTION("a 429 on every attempt quotes Gemini's message") {
    configure(gemini_table(p.root(), "max_retries = 1\n"));
    p.server.inject_when("Hey Cid", native_status(429));
    const RunResult r = run_promptops(p.path(), {"eval"}, env);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err, "git-promptops: error: 1 of 4 cases got no answer from provider 'gem' (" + p.root() +
                         "/v1beta): HTTP 429: Injected fault: HTTP 429\n"));
  }
  SECTION("the safety filter withholds one answer: an error for that case, named") {
    configure(gemini_table(p.root()));
    Fault safety;
    safety.kind = Fault::Kind::safety;
    p.server.inject_when("Hey Bob", safety);
    const RunResult r = run_promptops(p.path(), {"eval", "--format", "json"}, env);
    CHECK(r.exit_code == 2);
    CHECK(has(r.err,
              "git-promptops: error: 1 of 4 cases got no answer from provider 'gem' (" + p.root() +
                  "/v1beta): answer withheld: the safety filters withheld the answer (finishReason SAFETY: "
                  "HARM_CATEGORY_HARASSMENT)\n"));
    const json row = json::parse(r.out).at("rows").at(0);
    CHECK(row.at("outcomes") == "pepf");
    CHECK(records_by_id(row).at("bob").at("error").get<std::string>().rfind("rejected: answer withheld by ",
                                                                            0) == 0);
    CHECK(p.server.requests() == 4);  // not retried
  }
  SECTION("a key Gemini does not know stops the run with Gemini's message") {
    configure(gemini_table(p.root()));
    p.server.set_key(k_gemini_key);
    const std::string wrong = "AIzaWrongKey987654321";
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"GEMINI_API_KEY", wrong}});
    CHECK(r.exit_code == 2);
    CHECK(has(r.err,
              "git-promptops: error: authentication failed for provider 'gem' (HTTP 400 from " + p.root() +
                  "/v1beta/models/gemini-2.5-flash:generateContent): API key not valid. Please pass a valid "
                  "API key.; check the key in $GEMINI_API_KEY\n"));
    CHECK(p.server.requests() <= 8);
    p.check_key_kept(r, wrong);
  }
  SECTION("a missing key names the default variable") {
    configure(gemini_table(p.root()));
    const RunResult r = run_promptops(p.path(), {"eval"}, {{"GEMINI_API_KEY", ""}});
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "git-promptops: error: provider 'gem' reads its key from $GEMINI_API_KEY, which is not set\n"
          "hint: export GEMINI_API_KEY=<your key>\n");
  }
  SECTION("GEMINI_API_KEY to another host is refused before any request") {
    configure(
        "kind = \"gemini\"\nbase_url = \"https://generativelanguage.googleapis.com.evil.test/v1beta\"\n");
    const RunResult r = run_promptops(p.path(), {"eval"}, env);
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "git-promptops: error: .promptops.toml:1:1: provider 'gem' would send $GEMINI_API_KEY to "
          "generativelanguage.googleapis.com.evil.test, which you have not trusted with it\n"
          "hint: if generativelanguage.googleapis.com.evil.test may have it, run: git config --add "
          "promptops.trustSecret GEMINI_API_KEY@generativelanguage.googleapis.com.evil.test\n");
    CHECK(p.server.requests() == 0);
  }
}
