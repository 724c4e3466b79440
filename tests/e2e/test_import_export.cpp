// SPDX-License-Identifier: MIT
// End-to-end: `import dotprompt|prompty` writes a prompt that lints and renders, `export --format
// dotprompt|prompty` writes it back (and imports again to the same file), and `export NAME@ALIAS`.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

const char* k_greet_prompt = R"x(---
description: Greet a guest
model: openai/gpt-4o-mini
config:
  temperature: 0.7
  maxOutputTokens: 120
  topP: 0.9
  stopSequences: [END]
input:
  schema:
    location: string, where the guest is
    name?: string, the guest's name
    dishes?(array, today's dishes): string
  default:
    location: the lobby
---
{{role "system"}}
{{> persona}}
You work at {{location}}.

{{role "user"}}
Greet the guest{{#if name}} named {{name}}{{else}} politely{{/if}}.
{{#each dishes}}
- {{this}}
{{/each}}
{{media url=photo}}
)x";

const char* k_greet_toml = R"x(# Imported from src/greet.prompt.
description = "Greet a guest"

[model]
provider = "openai"
name = "gpt-4o-mini"
max_tokens = 120
stop = ["END"]
temperature = 0.7
top_p = 0.9

[vars]
location = { default = "the lobby", description = "where the guest is" }
name = { description = "the guest's name" }
dishes = { description = "today's dishes" }

[[messages]]
role = "system"
content = """
You are a friendly host.
You work at {{location}}."""

[[messages]]
role = "user"
content = """
Greet the guest{{#name}} named {{name}}{{/name}}{{^name}} politely{{/name}}.
{{#dishes}}
- {{.}}
{{/dishes}}"""
)x";

const char* k_greet_rendered = R"x(--- system
You are a friendly host.
You work at the lobby.

--- user
Greet the guest named Ada.
- soup
- pie
)x";

const char* k_chat_prompty = R"x(---
name: chat
description: Answer a customer
model:
  api: chat
  configuration:
    type: openai
    name: gpt-4o-mini
    api_key: ${env:OPENAI_API_KEY}
  parameters:
    max_tokens: 64
    temperature: 0
inputs:
  question:
    type: string
    description: the question
    required: true
  products:
    type: array
    description: what the customer owns
sample:
  question: Can I pay by card?
---
system:
You answer questions about a bank.
{% for p in products %}
- {{ p.name }}
{% endfor %}
{%- if vip %}Be extra kind.{% endif %}

user:
{{ question | trim }}
)x";

const char* k_chat_toml = R"x(# Imported from src/chat.prompty.
description = "Answer a customer"

[model]
provider = "openai"
name = "gpt-4o-mini"
max_tokens = 64
temperature = 0

[vars]
question = { required = true, description = "the question" }
products = { description = "what the customer owns" }
vip = { required = false }

[[messages]]
role = "system"
content = """
You answer questions about a bank.
{{#products}}
- {{name}}
{{/products}}
{{#vip}}Be extra kind.{{/vip}}"""

[[messages]]
role = "user"
content = "{{question}}"
)x";

const char* k_next = "\nNext: git promptops lint, then git add the files and commit.\n";

void initialize(const TempRepo& repo) { REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0); }

}  // namespace

TEST_CASE("import dotprompt writes a prompt that lints and renders, and exports back to the same file",
          "[e2e][interop-dotprompt]") {
  TempRepo repo;
  initialize(repo);
  repo.write("src/greet.prompt", k_greet_prompt);
  repo.write("src/_persona.prompt", "You are a friendly host.");

  const RunResult imported = run_promptops(repo.path(), {"import", "dotprompt", "src/greet.prompt"});
  CHECK(imported.exit_code == 0);
  CHECK(imported.out == std::string("created  prompts/greet.toml\n") + k_next);
  CHECK(imported.err ==
        "src/greet.prompt:26: warning: '{{media url=photo}}' (media) is left out [unsupported-helper]\n"
        "  hint: the project's messages are text\n");
  CHECK(repo.read("prompts/greet.toml") == k_greet_toml);

  const RunResult lint = run_promptops(repo.path(), {"lint", "greet"});
  CHECK(lint.exit_code == 0);
  CHECK(lint.err == "");
  const RunResult render = run_promptops(repo.path(), {"render", "greet", "--var", "name=Ada", "--vars", "-"},
                                         {}, R"({"dishes": ["soup", "pie"]})");
  CHECK(render.exit_code == 0);
  CHECK(render.out == k_greet_rendered);

  SECTION("export --format dotprompt imports again to the same prompt file") {
    const RunResult exported = run_promptops(repo.path(), {"export", "greet", "--format", "dotprompt"});
    CHECK(exported.exit_code == 0);
    CHECK(exported.err == "");
    CHECK(exported.out == R"x(---
name: greet
description: Greet a guest
model: openai/gpt-4o-mini
config:
  maxOutputTokens: 120
  stopSequences:
    - END
  temperature: 0.7
  topP: 0.9
input:
  schema:
    location?: string, where the guest is
    name?: string, the guest's name
    dishes?: string, today's dishes
  default:
    location: the lobby
---
{{role "system"}}
You are a friendly host.
You work at {{location}}.

{{role "user"}}
Greet the guest{{#name}} named {{name}}{{/name}}{{^name}} politely{{/name}}.
{{#dishes}}
- {{.}}
{{/dishes}}
)x");
    REQUIRE(
        run_promptops(repo.path(), {"export", "greet", "--format", "dotprompt", "-o", "src/"}).exit_code ==
        0);
    CHECK(repo.read("src/greet.prompt") == exported.out);
    const RunResult again =
        run_promptops(repo.path(), {"import", "dotprompt", "src/greet.prompt", "--force"});
    CHECK(again.exit_code == 0);
    CHECK(again.err == "");
    CHECK(repo.read("prompts/greet.toml") == k_greet_toml);
  }
  SECTION("an existing prompt file is not replaced without --force") {
    repo.write("prompts/greet.toml", "template = \"mine\"\n");
    const RunResult refused = run_promptops(repo.path(), {"import", "dotprompt", "src/greet.prompt"});
    CHECK(refused.exit_code == 2);
    CHECK(refused.out == "");
    CHECK(refused.err.find("git-promptops: error: prompts/greet.toml exists; nothing was imported\n") !=
          std::string::npos);
    CHECK(repo.read("prompts/greet.toml") == "template = \"mine\"\n");
  }
  SECTION("--name chooses the prompt's file, and -n writes nothing") {
    const RunResult dry = run_promptops(
        repo.path(), {"import", "dotprompt", "src/greet.prompt", "--name", "hotel/welcome", "-n"});
    CHECK(dry.exit_code == 0);
    CHECK(dry.out == "would write prompts/hotel/welcome.toml\n");
    CHECK_FALSE(std::filesystem::exists(repo.path() / "prompts/hotel"));
  }
}

TEST_CASE("import dotprompt reads partials beside the file only", "[e2e][interop-dotprompt]") {
  TempRepo repo;
  initialize(repo);
  repo.write("secret/_token.prompt", "TOKEN");
  SECTION("a partial outside the directory is refused and nothing is written") {
    repo.write("src/leak.prompt", "Hello\n{{> ../secret/token}}\n");
    const RunResult r = run_promptops(repo.path(), {"import", "dotprompt", "src/leak.prompt"});
    CHECK(r.exit_code == 2);
    CHECK(r.out == "");
    CHECK(r.err ==
          "git-promptops: error: src/leak.prompt:2: '../secret/_token.prompt' is outside the directory of "
          "src/leak.prompt\n"
          "hint: name a file inside 'src', by a relative path\n");
    CHECK_FALSE(std::filesystem::exists(repo.path() / "prompts/leak.toml"));
  }
  SECTION("a partial that is a symbolic link is refused") {
    repo.write("src/link.prompt", "{{> token}}");
    std::filesystem::create_symlink("../secret/_token.prompt", repo.path() / "src/_token.prompt");
    const RunResult r = run_promptops(repo.path(), {"import", "dotprompt", "src/link.prompt"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.starts_with("git-promptops: error: src/link.prompt:1: '_token.prompt' is a symbolic link"));
    CHECK_FALSE(std::filesystem::exists(repo.path() / "prompts/link.toml"));
  }
  SECTION("a missing partial is a note") {
    repo.write("src/gap.prompt", "A\n{{> nowhere}}\nB");
    const RunResult r = run_promptops(repo.path(), {"import", "dotprompt", "src/gap.prompt"});
    CHECK(r.exit_code == 0);
    CHECK(r.err ==
          "src/gap.prompt:2: warning: partial 'nowhere' (_nowhere.prompt) is not beside src/gap.prompt: it "
          "is left out [partial-not-found]\n"
          "  hint: put _nowhere.prompt beside the file and import again\n");
    CHECK(repo.read("prompts/gap.toml") ==
          "# Imported from src/gap.prompt.\ntemplate = \"\"\"\nA\n\nB\"\"\"\n");
  }
}

TEST_CASE("import prompty writes a prompt that lints and renders, and exports back to the same file",
          "[e2e][interop-prompty]") {
  TempRepo repo;
  initialize(repo);
  repo.write("src/chat.prompty", k_chat_prompty);
  const RunResult imported = run_promptops(repo.path(), {"import", "prompty", "src/chat.prompty"});
  CHECK(imported.exit_code == 0);
  CHECK(imported.out == std::string("created  prompts/chat.toml\n") + k_next);
  CHECK(imported.err ==
        "src/chat.prompty:9: warning: the API key comes from environment variable OPENAI_API_KEY "
        "[secret-not-copied]\n"
        "  hint: set api_key_env = \"OPENAI_API_KEY\" in [providers.openai]\n"
        "src/chat.prompty:21: warning: the sample values are not defaults: they are left out "
        "[sample-not-kept]\n"
        "  hint: add them as a case of the prompt's evaluation dataset\n"
        "src/chat.prompty:29: warning: whitespace control ('-') is not kept: white space around tags may "
        "differ [whitespace-control]\n"
        "src/chat.prompty:29: warning: 'vip' is used but not in inputs: it is declared optional "
        "[undeclared-variable]\n"
        "src/chat.prompty:32: warning: the filter in '{{ question | trim }}' is left out: the value is "
        "inserted as it is [filter-dropped]\n"
        "  hint: Mustache has no filters\n");
  CHECK(repo.read("prompts/chat.toml") == k_chat_toml);
  CHECK(run_promptops(repo.path(), {"lint", "chat"}).exit_code == 0);
  const RunResult render =
      run_promptops(repo.path(), {"render", "chat", "--vars", "-"}, {},
                    R"({"question": "Fees?", "products": [{"name": "card"}], "vip": true})");
  CHECK(render.exit_code == 0);
  CHECK(render.out ==
        "--- system\nYou answer questions about a bank.\n- card\nBe extra kind.\n\n--- user\nFees?\n");

  const RunResult exported = run_promptops(repo.path(), {"export", "chat", "--format", "prompty"});
  CHECK(exported.exit_code == 0);
  CHECK(exported.err == "");
  CHECK(exported.out == R"x(---
name: chat
description: Answer a customer
model:
  api: chat
  configuration:
    type: openai
    name: gpt-4o-mini
  parameters:
    max_tokens: 64
    temperature: 0
inputs:
  question:
    type: string
    description: the question
    required: true
  products:
    type: string
    description: what the customer owns
  vip:
    type: string
template: mustache
---
system:
You answer questions about a bank.
{{#products}}
- {{name}}
{{/products}}
{{#vip}}Be extra kind.{{/vip}}

user:
{{question}}
)x");
  repo.write("src/chat.prompty", exported.out);
  const RunResult again = run_promptops(repo.path(), {"import", "prompty", "src/chat.prompty", "--force"});
  CHECK(again.exit_code == 0);
  CHECK(again.err == "");
  CHECK(repo.read("prompts/chat.toml") == k_chat_toml);
}

TEST_CASE("export NAME@ALIAS writes that prompt at the alias's commit, as Prompty, dotprompt or a bundle",
          "[e2e][export-format]") {
  TempRepo repo;
  initialize(repo);
  const std::string first = repo.commit("init");
  REQUIRE(run_promptops(repo.path(), {"alias", "set", "support/classify", "production"}).exit_code == 0);
  repo.write("prompts/support/classify.toml", "template = \"changed {{question}}\"\n[vars]\nquestion = {}\n");
  repo.commit("change");

  const std::string prompty = R"x(---
name: support/classify
description: Is a customer question inside the bank's business scope?
tags:
  - support
  - classifier
model:
  api: chat
  configuration:
    type: openai
    name: gpt-4o-mini
  parameters:
    max_tokens: 16
    temperature: 0
inputs:
  question:
    type: string
    description: the customer's question
    required: true
  scope:
    type: string
    description: what the bank covers
    default: cards, payment accounts, iPay
---
system:
Decide whether the question is about {{scope}}.
Answer with exactly one word: IN_SCOPE or OUT_OF_SCOPE.

user:
{{question}}
)x";
  const std::string lost =
      "git-promptops: warning: prompts/support/classify.toml:21:1: the [eval] table has no place in a "
      "Prompty file: it is left out [eval-not-kept]\n"
      "git-promptops: warning: prompts/support/classify.toml:26:1: the [gate] table has no place in a "
      "Prompty file: it is left out [gate-not-kept]\n";
  SECTION("--format prompty") {
    const RunResult r =
        run_promptops(repo.path(), {"export", "support/classify@production", "--format", "prompty"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == prompty);
    CHECK(r.err == lost);
  }
  SECTION("-o DIR writes NAME.prompty in it") {
    std::filesystem::create_directories(repo.path() / "out");
    const RunResult r =
        run_promptops(repo.path(), {"export", "support/classify@v1", "--format", "prompty", "-o", "out"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "");
    CHECK(repo.read("out/classify.prompty") == prompty);
  }
  SECTION("--format dotprompt names the model provider/name") {
    const RunResult r =
        run_promptops(repo.path(), {"export", "support/classify@production", "--format", "dotprompt"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\nmodel: openai/gpt-4o-mini\nconfig:\n  maxOutputTokens: 16\n  temperature: 0\n") !=
          std::string::npos);
  }
  SECTION("the JSON bundle of one prompt at the alias's commit") {
    const RunResult r = run_promptops(repo.path(), {"export", "support/classify@production"});
    CHECK(r.exit_code == 0);
    const nlohmann::json bundle = nlohmann::json::parse(r.out);
    CHECK(bundle.at("commit") == first);
    CHECK(bundle.at("revision") == "support/classify@production");
    CHECK(bundle.at("prompts").size() == 1);
    CHECK(bundle.at("prompts").at("support/classify").at("aliases") == nlohmann::json::array({"production"}));
    CHECK(bundle.at("prompts").at("support/classify").at("messages").size() == 2);
  }
  SECTION("a revision still bundles every prompt") {
    const RunResult r = run_promptops(repo.path(), {"export", "HEAD~1"});
    CHECK(r.exit_code == 0);
    const nlohmann::json bundle = nlohmann::json::parse(r.out);
    CHECK(bundle.at("revision") == "HEAD~1");
    CHECK(bundle.at("prompts").size() == 2);
  }
  SECTION("dotprompt and prompty need a prompt; an unknown alias is not found") {
    const RunResult none = run_promptops(repo.path(), {"export", "--format", "prompty"});
    CHECK(none.exit_code == 129);
    CHECK(none.err.starts_with("git-promptops: error: --format prompty exports one prompt: name it\n"));
    const RunResult unknown =
        run_promptops(repo.path(), {"export", "support/classify@staging", "--format", "dotprompt"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.out == "");
  }
  SECTION("a prompt's name alone is a revision for the bundle, with a hint; --worktree takes no @REF") {
    const RunResult name_only = run_promptops(repo.path(), {"export", "support/classify"});
    CHECK(name_only.exit_code == 2);
    CHECK(name_only.err ==
          "git-promptops: error: unknown revision 'support/classify'\n"
          "hint: to export the prompt, write support/classify@HEAD (or another reference), or use --format "
          "dotprompt|prompty\n");
    const RunResult both = run_promptops(repo.path(), {"export", "support/classify@v1", "--worktree"});
    CHECK(both.exit_code == 129);
    const RunResult worktree =
        run_promptops(repo.path(), {"export", "support/classify", "--format", "prompty", "--worktree"});
    CHECK(worktree.exit_code == 0);
    CHECK(worktree.out.find("\nuser:\nchanged {{question}}\n") != std::string::npos);
  }
}
