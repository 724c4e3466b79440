// SPDX-License-Identifier: MIT
// End-to-end tests of `git promptops import promptfoo`: a promptfooconfig.yaml with its files
// becomes prompt files, a dataset and provider tables; what does not map is a warning at its
// line; an inline key never reaches a file; and the imported suite evaluates, against the loopback
// model server, to the pass rate promptfoo computes on the same answers.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "e2e/eval_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::eval;

namespace {

// Every file under `root` but .git, concatenated: where a secret must not be.
std::string all_files(const std::filesystem::path& root) {
  std::string text;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().string().find("/.git/") == std::string::npos) {
      text += read_text(entry.path());
    }
  }
  return text;
}

const char* const k_suite_config = R"(description: Greeting check
prompts:
  - "Hey {{ who }}!"
  - file://prompts/yo.txt
  - id: file://chat.json
    label: Chat greeting
providers:
  - id: openai:chat:test-model
    config:
      apiBaseUrl: http://127.0.0.1:9/v1
      temperature: 0.5
      apiKey: sk-secret-4242
  - anthropic:messages:claude-3-5-haiku-latest
  - python:provider.py
defaultTest:
  vars:
    style: casual
  assert:
    - type: icontains
      value: ok
tests:
  - vars:
      who: [Ann, Bob]
    assert:
      - type: equals
        value: ok
  - vars:
      who: Eve
    description: eve
    assert:
      - type: javascript
        value: output.length > 1
  - file://more.csv
outputPath: results.json
)";

// suite/: the configuration above, a text prompt with a Nunjucks filter, a chat prompt and a CSV.
void write_suite(const TempRepo& repo) {
  repo.write("suite/promptfooconfig.yaml", k_suite_config);
  repo.write("suite/prompts/yo.txt", "Yo {{who}}, {{ who | upper }}\n");
  repo.write("suite/chat.json", R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi {{who}}"}])");
  repo.write("suite/more.csv", "who,__expected\nDee,ok\nFay,contains:o\n");
}

}  // namespace

TEST_CASE("import promptfoo writes prompts, one dataset and provider tables, and lists what it leaves out",
          "[e2e][import-promptfoo]") {
  TempRepo repo;
  write_suite(repo);
  const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "suite/promptfooconfig.yaml"});
  CHECK(result.exit_code == 0);
  CHECK(result.out ==
        "created  prompts/suite-1.toml\n"
        "created  prompts/yo.toml\n"
        "created  prompts/chat-greeting.toml\n"
        "created  evals/suite.jsonl\n"
        "created  .promptops.toml\n"
        "\n"
        "Next: git promptops lint, then git add the files and commit.\n");
  CHECK(result.err ==
        "suite/promptfooconfig.yaml:4: warning: nunjucks '{{ who | upper }}' has no mustache form; the template keeps "
        "it as written [unmapped-template]\n"
        "  hint: rewrite it with {{variables}} and {{#sections}}, or compute the value into a variable\n"
        "suite/promptfooconfig.yaml:12: warning: the inline apiKey is not copied into a tracked file; the key is read "
        "from OPENAI_API_KEY [secret-not-copied]\n"
        "  hint: export the key in that variable (or set api_key_env in .promptops.toml), and remove it from the file\n"
        "suite/promptfooconfig.yaml:14: warning: provider 'python:provider.py' has no counterpart here and is left "
        "out [unmapped-provider]\n"
        "  hint: providers here: openai (and OpenAI-compatible services by base_url), anthropic, azure, gemini, the "
        "presets such as ollama, and exec in .promptops.toml\n"
        "suite/promptfooconfig.yaml:31: warning: assertion 'javascript' is left out (it runs code) [unmapped-assertion]\n"
        "  hint: check the output with regex, json-field, is-json or llm-rubric instead\n"
        "suite/promptfooconfig.yaml:34: warning: 'outputPath' is left out [unmapped-key]\n");

  CHECK(read_text(repo.path() / "prompts/chat-greeting.toml") ==
        "# Imported from suite/promptfooconfig.yaml:5.\n"
        "description = \"Chat greeting\"\n"
        "\n"
        "[model]\n"
        "provider = \"openai\"\n"
        "name = \"test-model\"\n"
        "temperature = 0.5\n"
        "\n"
        "[vars]\n"
        "who = { required = true }\n"
        "\n"
        "[[messages]]\n"
        "role = \"system\"\n"
        "content = \"Be brief.\"\n"
        "\n"
        "[[messages]]\n"
        "role = \"user\"\n"
        "content = \"Hi {{who}}\"\n"
        "\n"
        "[eval]\n"
        "dataset = \"evals/suite.jsonl\"\n"
        "assert = [\n"
        "  { type = \"icontains\", value = \"ok\" },\n"
        "]\n"
        "default_vars = { style = \"casual\" }\n"
        "\n"
        "[[eval.matrix]]\n"
        "label = \"claude-3-5-haiku-latest\"\n"
        "model = \"anthropic/claude-3-5-haiku-latest\"\n");
  CHECK(read_text(repo.path() / "prompts/suite-1.toml").find("template = \"Hey {{who}}!\"\n") != std::string::npos);
  // A list-valued variable is one case per value, as promptfoo runs it; the CSV's rows follow.
  CHECK(read_text(repo.path() / "evals/suite.jsonl") ==
        "{\"assert\":[{\"type\":\"equals\",\"value\":\"ok\"}],\"vars\":{\"who\":\"Ann\"}}\n"
        "{\"assert\":[{\"type\":\"equals\",\"value\":\"ok\"}],\"vars\":{\"who\":\"Bob\"}}\n"
        "{\"description\":\"eve\",\"vars\":{\"who\":\"Eve\"}}\n"
        "{\"expected\":\"ok\",\"vars\":{\"who\":\"Dee\"}}\n"
        "{\"assert\":[{\"type\":\"contains\",\"value\":\"o\"}],\"vars\":{\"who\":\"Fay\"}}\n");
  CHECK(read_text(repo.path() / ".promptops.toml") ==
        "[providers.openai]\n"
        "kind = \"openai\"\n"
        "base_url = \"http://127.0.0.1:9/v1\"\n"
        "api_key_env = \"OPENAI_API_KEY\"\n"
        "\n"
        "[providers.anthropic]\n"
        "kind = \"anthropic\"\n"
        "api_key_env = \"ANTHROPIC_API_KEY\"\n");
  // The key is in no file written and in no output.
  CHECK(all_files(repo.path() / "prompts").find("sk-secret") == std::string::npos);
  CHECK(read_text(repo.path() / ".promptops.toml").find("sk-secret") == std::string::npos);
  CHECK(result.err.find("sk-secret") == std::string::npos);
}

TEST_CASE("import promptfoo reuses the project's providers and appends only new tables", "[e2e][import-promptfoo]") {
  TempRepo repo;
  repo.write(".promptops.toml", "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n");
  repo.write("promptfooconfig.yaml",
             "prompts: [\"Summarize: {{text}}\"]\n"
             "providers: [openai:gpt-4o-mini, \"ollama:chat:llama3.2\"]\n");
  const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml", "--name", "summary"});
  CHECK(result.exit_code == 0);
  CHECK(result.err == "");
  CHECK(read_text(repo.path() / ".promptops.toml") ==
        "[providers.openai]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n"
        "\n"
        "# Imported from promptfooconfig.yaml.\n"
        "[providers.ollama]\nkind = \"ollama\"\n");
  CHECK(read_text(repo.path() / "prompts/summary.toml") ==
        "# Imported from promptfooconfig.yaml:1.\n"
        "template = \"Summarize: {{text}}\"\n"
        "\n"
        "[model]\n"
        "provider = \"openai\"\n"
        "name = \"gpt-4o-mini\"\n"
        "\n"
        "[vars]\n"
        "text = { required = true }\n"
        "\n"
        "[eval]\n"
        "\n"
        "[[eval.matrix]]\n"
        "label = \"llama3.2\"\n"
        "model = \"ollama/llama3.2\"\n");
  CHECK(run_promptops(repo.path(), {"lint"}).exit_code == 0);
}

TEST_CASE("an imported promptfoo suite evaluates to the pass rate promptfoo gives on the same answers",
          "[e2e][import-promptfoo]") {
  LlmServer server;
  server.set_rules(greet_rules());  // "ok" to Hey Ann, Hey Bob and Hey Cid; anything else echoed
  TempRepo repo;
  repo.write("promptfooconfig.yaml",
             "prompts:\n"
             "  - \"Hey {{ who }}!\"\n"
             "providers:\n"
             "  - id: openai:chat:test-model\n"
             "    config:\n"
             "      apiBaseUrl: " + server.base_url() + "\n"
             "defaultTest:\n"
             "  assert:\n"
             "    - type: not-contains\n"
             "      value: \"!\"\n"
             "tests:\n"
             "  - vars: {who: [Ann, Bob, Cid]}\n"
             "    assert:\n"
             "      - type: equals\n"
             "        value: ok\n"
             "  - vars: {who: Dee}\n"
             "    assert:\n"
             "      - type: icontains\n"
             "        value: OK\n"
             "  - file://more.csv\n");
  repo.write("more.csv", "who,__expected\nEve,ok\n");
  const RunResult imported = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml", "--name", "greet"});
  REQUIRE(imported.exit_code == 0);
  CHECK(imported.err ==
        "promptfooconfig.yaml:4: warning: no key is sent to " + server.base_url() + " [no-key]\n"
        "  hint: if that server needs one, set api_key_env in [providers.openai] of .promptops.toml\n");
  const RunResult lint = run_promptops(repo.path(), {"lint"});
  CHECK(lint.out == "");
  CHECK(lint.exit_code == 0);
  repo.commit("import the promptfoo suite");

  // promptfoo on these answers: Ann, Bob and Cid pass ("ok"); Dee and Eve get their prompt echoed
  // ("Hey Dee!"), which fails not-contains "!" and their own assertion: 3 of 5 pass.
  const RunResult eval = run_promptops(repo.path(), {"eval", "HEAD", "--format", "json"});
  REQUIRE(eval.exit_code == 0);
  const nlohmann::json report = nlohmann::json::parse(eval.out);
  const nlohmann::json& row = report["rows"][0];
  CHECK(row["prompt"] == "greet");
  CHECK(row["metric"] == "pass_rate");
  CHECK(row["outcomes"] == "pppff");
  CHECK(row["metrics"]["passed"] == 3);
  CHECK(row["metrics"]["pass_rate"] == 0.6);
  CHECK(server.seen().size() == 5);
}

TEST_CASE("import promptfoo refuses what it must not do, and writes nothing then", "[e2e][import-promptfoo]") {
  TempRepo repo;
  SECTION("a file outside the configuration's directory") {
    repo.write("secret.txt", "do not read");
    repo.write("suite/promptfooconfig.yaml", "prompts:\n  - file://../secret.txt\n");
    const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "suite/promptfooconfig.yaml"});
    CHECK(result.exit_code == 2);
    CHECK(result.err ==
          "git-promptops: error: suite/promptfooconfig.yaml:2: 'file://../secret.txt' is outside the directory of "
          "suite/promptfooconfig.yaml\n"
          "hint: name a file inside 'suite', by a relative path\n");
  }
  SECTION("invalid YAML") {
    repo.write("promptfooconfig.yaml", "prompts: [a, b\ntests: {\n");
    const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml"});
    CHECK(result.exit_code == 2);
    CHECK(result.err.rfind("git-promptops: error: promptfooconfig.yaml:", 0) == 0);
    CHECK(result.err.find(": invalid YAML: ") != std::string::npos);
  }
  SECTION("a prompt file that exists, unless --force") {
    repo.write("promptfooconfig.yaml", "prompts: [\"Hi {{who}}\"]\ntests:\n  - vars: {who: Ann}\n");
    repo.write("prompts/greet.toml", "template = \"mine\"\n");
    const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml", "--name", "greet"});
    CHECK(result.exit_code == 2);
    CHECK(result.err ==
          "git-promptops: error: prompts/greet.toml exists; nothing was imported\n"
          "hint: use --force to replace it, or --name to import under another name\n");
    CHECK(read_text(repo.path() / "prompts/greet.toml") == "template = \"mine\"\n");
    CHECK_FALSE(std::filesystem::exists(repo.path() / "evals/greet.jsonl"));
    const RunResult forced =
        run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml", "--name", "greet", "--force"});
    CHECK(forced.exit_code == 0);
    CHECK(read_text(repo.path() / "prompts/greet.toml") ==
          "# Imported from promptfooconfig.yaml:1.\ntemplate = \"Hi {{who}}\"\n\n[vars]\nwho = { required = true }\n\n"
          "[eval]\ndataset = \"evals/greet.jsonl\"\n");
  }
  SECTION("aliases that stand for billions of values") {
    std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char level = 'b'; level <= 'g'; ++level) {
      const char below = static_cast<char>(level - 1);
      yaml += std::string(1, level) + ": &" + level + " [";
      for (int i = 0; i < 10; ++i) {
        yaml += std::string(i == 0 ? "" : ", ") + "*" + below;
      }
      yaml += "]\n";
    }
    yaml += "prompts: [\"Hi {{who}}\"]\ntests:\n  - vars: {who: *g}\n";
    repo.write("promptfooconfig.yaml", yaml);
    const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml"});
    CHECK(result.exit_code == 2);
    CHECK(result.err ==
          "git-promptops: error: promptfooconfig.yaml:7: the YAML expands to more than 1000000 values (through "
          "aliases?)\n"
          "hint: write the values out, or split the file\n");
    CHECK_FALSE(std::filesystem::exists(repo.path() / "prompts"));
  }
  SECTION("--dry-run lists and writes nothing") {
    repo.write("promptfooconfig.yaml", "prompts: [\"Hi {{who}}\"]\n");
    const RunResult result = run_promptops(repo.path(), {"import", "promptfoo", "promptfooconfig.yaml", "-n"});
    CHECK(result.exit_code == 0);
    CHECK(result.out == "would write prompts/promptfoo.toml\n");
    CHECK_FALSE(std::filesystem::exists(repo.path() / "prompts"));
  }
}
