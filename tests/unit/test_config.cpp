// SPDX-License-Identifier: MIT
// Unit tests for .promptops.toml parsing, diagnostics, globs and "did you mean".
#include <catch2/catch.hpp>

#include <promptops/config/config.hpp>
#include <promptops/config/diagnostic.hpp>

#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;

TEST_CASE("locations and diagnostics format as file:line:col", "[config]") {
  CHECK(Location{"a.toml", 3, 7}.format() == "a.toml:3:7");
  CHECK(Location{"a.toml", 3, 0}.format() == "a.toml:3");
  CHECK(Location{"a.toml", 0, 5}.format() == "a.toml");
  CHECK(Location{}.format().empty());

  Diagnostic d;
  d.where = Location{"a.toml", 2, 1};
  d.message = "unknown key 'x'";
  d.hint = "not shown";
  CHECK(d.format() == "a.toml:2:1: error: unknown key 'x'");
  d.severity = Severity::warning;
  CHECK(d.format() == "a.toml:2:1: warning: unknown key 'x'");
  d.where = Location{};
  CHECK(d.format() == "warning: unknown key 'x'");

  CHECK_FALSE(has_errors({}));
  CHECK_FALSE(has_errors({d}));
  Diagnostic e;
  CHECK(has_errors({d, e}));
}

TEST_CASE("did_you_mean picks the closest candidate that is close enough", "[config]") {
  const std::vector<std::string> keys{"prompts", "patterns", "providers", "defaults", "prices"};
  CHECK(did_you_mean("promtps", keys) == "prompts");
  CHECK(did_you_mean("provider", keys) == "providers");
  CHECK(did_you_mean("zzzzzz", keys).empty());
  CHECK(did_you_mean("prompts", keys) == "prompts");
  // Ties go to the first candidate.
  CHECK(did_you_mean("ab", {"ax", "ay"}) == "ax");
  // Short words allow 2 edits, long ones len/3.
  CHECK(did_you_mean("xy", {"ab"}) == "ab");
  CHECK(did_you_mean("max_concurrenxyz", {"max_concurrency"}) == "max_concurrency");
  CHECK(did_you_mean("abcdef", {"uvwxef"}).empty());
  CHECK(did_you_mean("x", {}).empty());
}

TEST_CASE("glob_match handles *, ? and character classes", "[config]") {
  CHECK(glob_match("*.toml", "classify.toml"));
  CHECK(glob_match("*.toml", ".toml"));
  CHECK_FALSE(glob_match("*.toml", "classify.toml.bak"));
  CHECK_FALSE(glob_match("*.toml", "classify.prompt"));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("[abc]*.md", "b-notes.md"));
  CHECK_FALSE(glob_match("[abc]*.md", "d-notes.md"));
  CHECK(glob_match("v[0-9].txt", "v7.txt"));
  CHECK(glob_match("[!a]x", "bx"));
  CHECK_FALSE(glob_match("[!a]x", "ax"));
  CHECK(glob_match("*a*b*", "xxaxxbxx"));
  CHECK_FALSE(glob_match("*a*b*", "xxbxxaxx"));
  CHECK(glob_match("exact", "exact"));
  CHECK_FALSE(glob_match("exact", "exactly"));
  CHECK(glob_match("[x", "[x"));
  CHECK(glob_match("", ""));
}

TEST_CASE("an empty config keeps every default", "[config]") {
  const ParsedConfig parsed = parse_config("", ".promptops.toml");
  CHECK(parsed.diagnostics.empty());
  const Config& c = parsed.config;
  CHECK(c.found);
  CHECK(c.path == ".promptops.toml");
  CHECK(c.prompt_roots == std::vector<std::string>{"prompts"});
  CHECK(c.patterns == std::vector<std::string>{"*.toml", "*.prompt"});
  CHECK(c.providers.empty());
  CHECK(c.default_model.empty());
  CHECK(c.default_gate.empty());
  CHECK(c.default_gate.confidence == 0.95);
}

TEST_CASE("every config key is read", "[config]") {
  const char* text = R"(prompts = ["prompts", "./more/", "."]
patterns = ["*.toml", "*.md"]

[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"
max_concurrency = 32
timeout = 12.5
max_retries = 0
headers = { "OpenAI-Organization" = "org-1" }
api_key_header = "api-key"
retry_delay = 0.01
embedding_model = "text-embedding-3-large"

[providers.tool]
kind = "exec"
command = ["python3", "judge.py"]
timeout = 3

[providers.claude]
kind = "anthropic"

[defaults.model]
provider = "openai"
name = "gpt-4o-mini"
temperature = 0
stop = ["\n"]

[defaults.gate]
min = { accuracy = 0.9, f1 = 1 }
max_drop = { accuracy = 0.02 }
confidence = 0.99

[prices]
"gpt-4o-mini" = { input = 0.15, output = 0.6 }
)";
  const ParsedConfig parsed = parse_config(text, ".promptops.toml");
  INFO(listing(parsed.diagnostics));
  CHECK(parsed.diagnostics.empty());
  const Config& c = parsed.config;
  CHECK(c.prompt_roots == std::vector<std::string>{"prompts", "more", "."});
  CHECK(c.patterns == std::vector<std::string>{"*.toml", "*.md"});
  REQUIRE(c.providers.size() == 3);

  const ProviderSpec& openai = c.providers.at("openai");
  CHECK(openai.name == "openai");
  CHECK(openai.kind == "openai");
  CHECK(openai.base_url == "https://api.openai.com/v1");
  CHECK(openai.api_key_env == "OPENAI_API_KEY");
  CHECK(openai.max_concurrency == 32);
  CHECK(openai.timeout_seconds == 12.5);
  CHECK(openai.max_retries == 0);
  CHECK(openai.headers == std::map<std::string, std::string>{{"OpenAI-Organization", "org-1"}});
  CHECK(openai.where.format() == ".promptops.toml:4:1");
  CHECK(openai.api_key_header == "api-key");
  CHECK(openai.retry_delay_seconds == 0.01);
  CHECK(openai.embedding_model == "text-embedding-3-large");

  const ProviderSpec& tool = c.providers.at("tool");
  CHECK(tool.kind == "exec");
  CHECK(tool.command == std::vector<std::string>{"python3", "judge.py"});
  CHECK(tool.timeout_seconds == 3);
  CHECK(tool.max_concurrency == 8);
  CHECK(tool.max_retries == 4);

  const ProviderSpec& claude = c.providers.at("claude");
  CHECK(claude.kind == "anthropic");
  CHECK(claude.timeout_seconds == 60);
  CHECK(claude.retry_delay_seconds == 0.5);
  CHECK(claude.api_key_header.empty());

  REQUIRE(c.prices.size() == 1);
  CHECK(c.prices.at("gpt-4o-mini").input == 0.15);
  CHECK(c.prices.at("gpt-4o-mini").output == 0.6);

  CHECK(c.default_model.provider == "openai");
  CHECK(c.default_model.name == "gpt-4o-mini");
  CHECK(c.default_model.params == nlohmann::json{{"temperature", 0}, {"stop", {"\n"}}});

  CHECK(c.default_gate.min == std::map<std::string, double>{{"accuracy", 0.9}, {"f1", 1.0}});
  CHECK(c.default_gate.max_drop == std::map<std::string, double>{{"accuracy", 0.02}});
  CHECK(c.default_gate.confidence == 0.99);
}

TEST_CASE("unknown config keys are reported with did-you-mean at their position", "[config]") {
  SECTION("top level") {
    const ParsedConfig parsed = parse_config("promtps = [\"p\"]\n", ".promptops.toml");
    REQUIRE(parsed.diagnostics.size() == 1);
    const Diagnostic& d = parsed.diagnostics[0];
    CHECK(d.code == "unknown-key");
    CHECK(d.severity == Severity::error);
    CHECK(d.message == "unknown key 'promtps'");
    CHECK(d.hint == "did you mean 'prompts'?");
    CHECK(d.where.format() == ".promptops.toml:1:1");
    CHECK(d.format() == ".promptops.toml:1:1: error: unknown key 'promtps'");
    // The bad key leaves the default in place.
    CHECK(parsed.config.prompt_roots == std::vector<std::string>{"prompts"});
  }
  SECTION("prices") {
    const ParsedConfig parsed =
        parse_config("[prices]\nm = { input = 1, ouput = 2 }\nn = 3\no = { input = -1 }\n", ".promptops.toml");
    REQUIRE(parsed.diagnostics.size() == 3);
    CHECK(parsed.diagnostics[0].format() == ".promptops.toml:2:18: error: unknown key 'ouput' in [prices.m]");
    CHECK(parsed.diagnostics[0].hint == "did you mean 'output'?");
    CHECK(parsed.diagnostics[1].where.format() == ".promptops.toml:3:5");
    CHECK(parsed.diagnostics[2].where.format() == ".promptops.toml:4:15");
    CHECK(parsed.config.prices.at("m").input == 1);
    CHECK(parsed.config.prices.count("n") == 0);
  }
  SECTION("nested, several at once, and nothing close") {
    const ParsedConfig parsed = parse_config(
        "[providers.openai]\nkind = \"openai\"\n  max_concurency = 3\n\n[defaults]\nmodle = {}\n"
        "[defaults.gate]\nminimum = {}\n\n[zzz]\n",
        "cfg.toml");
    CHECK(listing(parsed.diagnostics) ==
          "cfg.toml:3:3: error: unknown key 'max_concurency' in [providers.openai] [unknown-key] "
          "(did you mean 'max_concurrency'?)\n"
          "cfg.toml:6:1: error: unknown key 'modle' in [defaults] [unknown-key] (did you mean 'model'?)\n"
          "cfg.toml:8:1: error: unknown key 'minimum' in [defaults.gate] [unknown-key] "
          "(expected one of: min, max_drop, confidence)\n"
          "cfg.toml:10:2: error: unknown key 'zzz' [unknown-key] "
          "(expected one of: prompts, patterns, providers, defaults, prices, eval)\n");
  }
}

TEST_CASE("a config syntax error is one diagnostic at the error's position", "[config]") {
  const ParsedConfig parsed = parse_config("prompts = [\"a\"]\n[providers.x\nkind = 1\n", "c.toml");
  REQUIRE(parsed.diagnostics.size() == 1);
  const Diagnostic& d = parsed.diagnostics[0];
  CHECK(d.code == "syntax-error");
  CHECK(d.format() == "c.toml:2:13: error: invalid table header: expected ']', saw '\\n'");
  CHECK(parsed.config.prompt_roots == std::vector<std::string>{"prompts"});
}

TEST_CASE("wrong config values name what was expected", "[config]") {
  const char* text = R"(prompts = "prompts"
patterns = ["sub/*.toml"]
[providers.a]
kind = "opneai"
max_concurrency = 0
timeout = "10"
max_retries = -1
api_key_env = "sk-abc123"
base_url = "api.example.com"
headers = { X = 1 }
[providers.b]
kind = "exec"
[providers.c]
base_url = "http://localhost"
[providers.d]
kind = "exec"
command = []
[defaults.model]
provider = "opnai"
name = 4
[defaults.gate]
min = 0.9
max_drop = { accuracy = -0.1, f1 = "x" }
confidence = 1
)";
  const ParsedConfig parsed = parse_config(text, "c.toml");
  CHECK(listing(parsed.diagnostics) ==
        "c.toml:1:11: error: 'prompts' must be an array of strings, not a string [invalid-value]\n"
        "c.toml:2:12: error: 'patterns' must be an array of file name patterns such as \"*.toml\" "
        "[invalid-value] (patterns match file names, not paths: 'sub/*.toml')\n"
        "c.toml:4:8: error: unknown provider kind 'opneai' [invalid-value] (did you mean 'openai'?)\n"
        "c.toml:5:19: error: 'providers.a.max_concurrency' must be an integer of at least 1 [invalid-value]\n"
        "c.toml:6:11: error: 'providers.a.timeout' must be a number, not a string [invalid-value]\n"
        "c.toml:7:15: error: 'providers.a.max_retries' must be an integer of at least 0 [invalid-value]\n"
        "c.toml:8:15: error: 'providers.a.api_key_env' must be the name of an environment variable "
        "[invalid-value] (the key itself never lives in a file: api_key_env = \"OPENAI_API_KEY\")\n"
        "c.toml:9:12: error: 'providers.a.base_url' must be an http:// or https:// URL [invalid-value]\n"
        "c.toml:10:17: error: 'providers.a.headers.X' must be a string, not an integer [invalid-value]\n"
        "c.toml:11:1: error: exec provider 'b' has no command [missing-key] "
        "(add command = [\"program\", \"argument\"...])\n"
        "c.toml:13:1: error: provider 'c' has no kind [missing-key] "
        "(add kind = \"openai\", \"anthropic\" or \"exec\")\n"
        "c.toml:17:11: error: 'providers.d.command' must be a non-empty array: the program and its "
        "arguments [invalid-value]\n"
        "c.toml:19:12: error: unknown provider 'opnai' [unknown-provider] (declare it in [providers.opnai])\n"
        "c.toml:20:8: error: 'defaults.model.name' must be a string, not an integer [invalid-value]\n"
        "c.toml:22:7: error: 'defaults.gate.min' must be a table of metric thresholds such as "
        "{ accuracy = 0.9 }, not a float [invalid-value]\n"
        "c.toml:23:25: error: 'defaults.gate.max_drop.accuracy' must be a number of at least 0 "
        "[invalid-value]\n"
        "c.toml:23:36: error: 'defaults.gate.max_drop.f1' must be a number, not a string [invalid-value]\n"
        "c.toml:24:14: error: 'defaults.gate.confidence' must be a number between 0 and 1 (exclusive) "
        "[invalid-value] (for example confidence = 0.95)\n");
  // The secret-looking value is never echoed.
  CHECK(listing(parsed.diagnostics).find("sk-abc123") == std::string::npos);
  // Bad values keep their defaults.
  CHECK(parsed.config.providers.at("a").max_concurrency == 8);
  CHECK(parsed.config.providers.at("a").kind.empty());
}

TEST_CASE("a default provider must be declared", "[config]") {
  SECTION("did you mean") {
    const ParsedConfig parsed = parse_config(
        "[providers.openai]\nkind = \"openai\"\n[defaults.model]\nprovider = \"opnai\"\n", "c.toml");
    CHECK(listing(parsed.diagnostics) ==
          "c.toml:4:12: error: unknown provider 'opnai' [unknown-provider] (did you mean 'openai'?)\n");
  }
  SECTION("nothing close") {
    const ParsedConfig parsed = parse_config("[defaults.model]\nprovider = \"local\"\n", "c.toml");
    CHECK(listing(parsed.diagnostics) ==
          "c.toml:2:12: error: unknown provider 'local' [unknown-provider] (declare it in "
          "[providers.local])\n");
  }
}

TEST_CASE("ModelSpec::over fills unset fields and merges params", "[config]") {
  ModelSpec base;
  base.provider = "openai";
  base.name = "gpt-4o-mini";
  base.params = {{"temperature", 0}, {"max_tokens", 100}};
  base.where = Location{".promptops.toml", 3, 1};

  ModelSpec mine;
  mine.params = {{"temperature", 0.7}, {"seed", 1}};
  ModelSpec merged = mine.over(base);
  CHECK(merged.provider == "openai");
  CHECK(merged.name == "gpt-4o-mini");
  CHECK(merged.params == nlohmann::json{{"temperature", 0.7}, {"max_tokens", 100}, {"seed", 1}});
  CHECK(merged.where.format() == ".promptops.toml:3:1");

  mine.provider = "local";
  mine.name = "llama3";
  mine.where = Location{"p.toml", 5, 1};
  merged = mine.over(base);
  CHECK(merged.provider == "local");
  CHECK(merged.name == "llama3");
  CHECK(merged.where.format() == "p.toml:5:1");

  mine.name.clear();  // another provider: the default's model name does not carry over
  merged = mine.over(base);
  CHECK(merged.provider == "local");
  CHECK(merged.name.empty());
  CHECK(merged.params.at("max_tokens") == 100);

  CHECK(ModelSpec{}.over(ModelSpec{}).empty());
}

TEST_CASE("[[eval.matrix]] in .promptops.toml: listed columns for every prompt", "[config]") {
  const ParsedConfig parsed = parse_config(R"([[eval.matrix]]
model = "openai/gpt-4o"

[[eval.matrix]]
label = "cool"
params = { temperature = 0.2, top_p = 1 }
variant = "v1"
)");
  REQUIRE(parsed.diagnostics.empty());
  REQUIRE(parsed.config.matrix.size() == 2);
  const MatrixEntry& first = parsed.config.matrix[0];
  CHECK(first.model == "openai/gpt-4o");
  CHECK(first.params.empty());
  CHECK(first.variant.empty());
  CHECK(first.where.format() == ".promptops.toml:1:1");
  const MatrixEntry& second = parsed.config.matrix[1];
  CHECK(second.label == "cool");
  CHECK(second.params.dump() == R"({"temperature":0.2,"top_p":1})");
  CHECK(second.variant == "v1");
  CHECK(second.messages.empty());
}

TEST_CASE("[[eval.matrix]] errors name the line: wrong types, no variation, messages outside a prompt", "[config]") {
  const ParsedConfig parsed = parse_config(R"([eval]
matrix = [
  { label = "same" },
  { model = 3 },
  { template = "Hi" },
  { variant = "" },
]
colour = 1
)");
  CHECK(listing(parsed.diagnostics) ==
        ".promptops.toml:3:3: error: a [[eval.matrix]] entry varies nothing: it would repeat the base column "
        "[invalid-value] (give it a model, params or a variant)\n"
        ".promptops.toml:4:13: error: 'eval.matrix.model' must be a string, not an integer [invalid-value]\n"
        ".promptops.toml:5:16: error: 'eval.matrix.template' must be in a prompt's own [[eval.matrix]] "
        "[invalid-value] (messages replace one prompt's; .promptops.toml's entries vary every prompt)\n"
        ".promptops.toml:6:15: error: 'eval.matrix.variant' must be a non-empty string [invalid-value]\n"
        ".promptops.toml:8:1: error: unknown key 'colour' in [eval] [unknown-key] (expected one of: matrix)\n");
  CHECK(parsed.config.matrix.empty());
  const ParsedConfig not_array = parse_config("[eval]\nmatrix = { model = \"x\" }\n");
  CHECK(listing(not_array.diagnostics) ==
        ".promptops.toml:2:10: error: 'eval.matrix' must be an array of tables ([[eval.matrix]]), not a table "
        "[invalid-value]\n");
}

TEST_CASE("a preset kind is openai with the service's base URL and key variable, each overridable", "[config]") {
  const ParsedConfig parsed = parse_config(R"([providers.fast]
kind = "groq"

[providers.box]
kind = "ollama"
base_url = "http://10.0.0.5:11434/v1"

[providers.router]
kind = "openrouter"
api_key_env = "MY_ROUTER_KEY"
)");
  REQUIRE(parsed.diagnostics.empty());
  const ProviderSpec& fast = parsed.config.providers.at("fast");
  CHECK(fast.kind == "openai");
  CHECK(fast.preset == "groq");
  CHECK(fast.base_url == "https://api.groq.com/openai/v1");
  CHECK(fast.api_key_env == "GROQ_API_KEY");
  const ProviderSpec& box = parsed.config.providers.at("box");
  CHECK(box.kind == "openai");
  CHECK(box.base_url == "http://10.0.0.5:11434/v1");
  CHECK(box.api_key_env.empty());
  const ProviderSpec& router = parsed.config.providers.at("router");
  CHECK(router.base_url == "https://openrouter.ai/api/v1");
  CHECK(router.api_key_env == "MY_ROUTER_KEY");
  CHECK(provider_presets().size() == 10);

  const ParsedConfig typo = parse_config("[providers.x]\nkind = \"olama\"\n");
  CHECK(listing(typo.diagnostics) ==
        ".promptops.toml:2:8: error: unknown provider kind 'olama' [invalid-value] (did you mean 'ollama'?)\n");
}
