// SPDX-License-Identifier: MIT
// Unit tests for the Prompty importer and exporter: role lines, Jinja2 to Mustache, model
// configuration (never a key), inputs, and export back.
#include <catch2/catch.hpp>

#include <promptops/interop/interop.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/util/error.hpp>

using namespace promptops;

namespace {

std::string notes_of(const ImportResult& result) {
  std::string out;
  for (const Diagnostic& note : result.notes) {
    out += note.located_message() + " [" + note.code + "]\n";
  }
  return out;
}

ImportResult import_text(const std::string& text) {
  return import_prompty(ImportSource{"in/chat.prompty", text}, ImportOptions{});
}

}  // namespace

TEST_CASE("prompty import maps roles, Jinja2 blocks, parameters and inputs onto a TOML prompt", "[interop]") {
  const ImportResult result = import_text(R"x(---
name: Chat Prompt
description: Answers with context
tags: [support]
model:
  api: chat
  configuration:
    type: azure_openai
    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}
    azure_deployment: gpt-4o
    api_key: sk-do-not-copy
  parameters:
    max_tokens: 128
    temperature: 0.2
    tool_choice: auto
inputs:
  question:
    type: string
    description: the question
    required: true
  products:
    type: array
  firstName:
    type: string
    default: friend
sample:
  question: What is up?
---
system:
You help {{ firstName }}.
{% if products %}Products:{% endif %}
{% for item in products %}
- {{ item.name }}: {{ item.description | truncate(20) }}
{% endfor %}
{% if not vip %}Be brief.{% else %}Take your time.{% endif %}
{# a note #}

user:
{{question}} {{ loop.index }}
{% set x = 1 %}
)x");
  REQUIRE(result.files.size() == 1);
  CHECK(result.files[0].path == "prompts/chat.toml");
  CHECK(result.files[0].text == R"x(# Imported from in/chat.prompty.
description = "Answers with context"
tags = ["support"]

[model]
provider = "azure"
name = "gpt-4o"
max_tokens = 128
temperature = 0.2

[vars]
question = { required = true, description = "the question" }
products = { required = false }
firstName = { default = "friend" }
vip = { required = false }

[[messages]]
role = "system"
content = """
You help {{firstName}}.
{{#products}}Products:{{/products}}
{{#products}}
- {{name}}: {{description}}
{{/products}}
{{^vip}}Be brief.{{/vip}}{{#vip}}Take your time.{{/vip}}
{{! a note }}"""

[[messages]]
role = "user"
content = "{{question}}"
)x");
  CHECK(notes_of(result) ==
        R"x(in/chat.prompty:2: name 'Chat Prompt' is not kept: the prompt is named 'chat' [name-not-kept]
in/chat.prompty:8: an Azure OpenAI configuration becomes provider 'azure' [provider-not-declared]
in/chat.prompty:9: the endpoint comes from environment variable AZURE_OPENAI_ENDPOINT [endpoint-not-kept]
in/chat.prompty:11: the API key is not copied: a key never goes into a tracked file [secret-not-copied]
in/chat.prompty:15: parameter 'tool_choice' is left out [param-not-kept]
in/chat.prompty:26: the sample values are not defaults: they are left out [sample-not-kept]
in/chat.prompty:31: '{% if products %}' tests a list: in Mustache the block repeats once per item [list-condition]
in/chat.prompty:33: the filter in '{{ item.description | truncate(20) }}' is left out: the value is inserted as it is [filter-dropped]
in/chat.prompty:35: 'vip' is used but not in inputs: it is declared optional [undeclared-variable]
in/chat.prompty:39: '{{ loop.index }}' has no Mustache equivalent: it is left out [unsupported-expression]
in/chat.prompty:40: '{% set x = 1 %}' has no Mustache equivalent: it is left out [unsupported-statement]
)x");
  CHECK(result.files[0].text.find("sk-do-not-copy") == std::string::npos);
  for (const Diagnostic& note : result.notes) {
    CHECK(note.message.find("sk-do-not-copy") == std::string::npos);
    CHECK(note.hint.find("sk-do-not-copy") == std::string::npos);
  }
}

TEST_CASE("prompty import: text before the first role line is the system message", "[interop]") {
  const ImportResult result = import_text("You are terse.\n\n# USER:\n{{q}}\n");
  CHECK(result.files[0].text == R"x(# Imported from in/chat.prompty.
[vars]
q = { required = false }

[[messages]]
role = "system"
content = "You are terse."

[[messages]]
role = "user"
content = "{{q}}"
)x");
}

TEST_CASE("prompty import keeps a Mustache template as written, and names a key from the environment",
          "[interop]") {
  const ImportResult result = import_text(
      "---\nmodel:\n  configuration:\n    type: openai\n    name: gpt-4o-mini\n    api_key: "
      "${env:OPENAI_API_KEY}\n"
      "template: mustache\n---\nuser:\n{{#items}}{{.}}{{/items}}\n");
  CHECK(result.files[0].text.find("content = \"{{#items}}{{.}}{{/items}}\"") == std::string::npos);
  CHECK(result.files[0].text.find("template = \"{{#items}}{{.}}{{/items}}\"\n") != std::string::npos);
  REQUIRE(result.notes.size() == 1);
  CHECK(result.notes[0].located_message() ==
        "in/chat.prompty:6: the API key comes from environment variable OPENAI_API_KEY");
  CHECK(result.notes[0].hint == "set api_key_env = \"OPENAI_API_KEY\" in [providers.openai]");
}

TEST_CASE("prompty import refuses unbalanced blocks at file:line", "[interop]") {
  const auto message = [](const std::string& text) {
    try {
      import_text(text);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message("user:\n{% if a %}\n{% endfor %}\n") ==
        "in/chat.prompty:3: '{% endfor %}' closes no '{% for %}'");
  CHECK(message("user:\n{% if a %}\n") == "in/chat.prompty:1: '{% if %}' is not closed");
  CHECK(message("user:\n{{ a\n") == "in/chat.prompty:2: unclosed '{{'");
}

TEST_CASE("prompty export writes model, inputs and role lines, with Mustache only when needed", "[interop]") {
  Prompt prompt;
  prompt.name = "support/classify";
  prompt.path = "prompts/support/classify.toml";
  prompt.messages = {Message{"system", "Scope: {{scope}}", {}}, Message{"user", "{{question}}", {}}};
  prompt.vars = {VarSpec{"question", true, std::nullopt, "the question", {}},
                 VarSpec{"scope", false, std::string("cards"), "", {}}};
  prompt.gate.min["accuracy"] = 0.8;
  prompt.gate.where = Location{prompt.path, 30, 1};
  ModelSpec model;
  model.provider = "openai";
  model.name = "gpt-4o-mini";
  model.params = {{"max_tokens", 16}, {"top_k", 3}};
  model.where = Location{".promptops.toml", 12, 1};
  std::vector<Diagnostic> notes;
  CHECK(export_prompty(prompt, model, notes) == R"x(---
name: support/classify
model:
  api: chat
  configuration:
    type: openai
    name: gpt-4o-mini
  parameters:
    max_tokens: 16
inputs:
  question:
    type: string
    description: the question
    required: true
  scope:
    type: string
    default: cards
---
system:
Scope: {{scope}}

user:
{{question}}
)x");
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].located_message() ==
        ".promptops.toml:12:1: model parameter 'top_k' has no Prompty parameter: it is left out");
  CHECK(
      notes[1].located_message() ==
      "prompts/support/classify.toml:30:1: the [gate] table has no place in a Prompty file: it is left out");

  prompt.messages[1].content = "{{#items}}{{.}}{{/items}}";
  notes.clear();
  CHECK(export_prompty(prompt, model, notes).find("\ntemplate: mustache\n---\n") != std::string::npos);
}
