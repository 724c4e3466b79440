// SPDX-License-Identifier: MIT
// Unit tests for the dotprompt importer and exporter: Handlebars to Mustache, Picoschema to
// [vars], model config to [model], notes at file:line, and export back.
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

ImportResult import_text(const std::string& text, const std::string& name = {}) {
  ImportOptions options;
  options.name = name;
  return import_dotprompt(ImportSource{"in/greet.prompt", text}, options);
}

std::string body_of(const std::string& body) {
  const ImportResult result = import_text("---\nmodel: openai/gpt-4o\n---\n" + body);
  REQUIRE(result.files.size() == 1);
  return result.files.front().text;
}

}  // namespace

TEST_CASE("dotprompt import maps front matter, roles and blocks onto a TOML prompt", "[interop]") {
  const ImportResult result = import_text(R"x(---
name: greeting
description: Greet a guest
model: googleai/gemini-1.5-pro
config:
  temperature: 0.9
  maxOutputTokens: 200
  topK: 20
  stopSequences: [END]
  candidateCount: 2
input:
  schema:
    location: string, where the guest is
    name?: string
    items?(array, things to mention): string
  default:
    location: a restaurant
output:
  format: json
metadata:
  tags: [greeting, demo]
tools: [timeOfDay]
---
{{role "system"}}
You work at {{location}}.

{{role "user"}}
Hello{{#if name}}, {{name}}{{else}}, guest{{/if}}!
{{#each items}}- {{this}}
{{/each}}
{{@root.location}}
)x");
  REQUIRE(result.files.size() == 1);
  CHECK(result.files[0].path == "prompts/greeting.toml");
  CHECK(result.files[0].kind == ImportedFile::Kind::create);
  CHECK(result.files[0].text == R"x(# Imported from in/greet.prompt.
description = "Greet a guest"
tags = ["greeting", "demo"]

[model]
provider = "gemini"
name = "gemini-1.5-pro"
max_tokens = 200
response_format = { type = "json_object" }
stop = ["END"]
temperature = 0.9
top_k = 20

[vars]
location = { default = "a restaurant", description = "where the guest is" }
name = { required = false }
items = { description = "things to mention" }

[[messages]]
role = "system"
content = "You work at {{location}}."

[[messages]]
role = "user"
content = """
Hello{{#name}}, {{name}}{{/name}}{{^name}}, guest{{/name}}!
{{#items}}- {{.}}
{{/items}}"""
)x");
  CHECK(
      notes_of(result) ==
      R"x(in/greet.prompt:4: model 'googleai/gemini-1.5-pro' runs on provider 'gemini' [provider-not-declared]
in/greet.prompt:10: config.candidateCount has no model parameter here: it is left out [param-not-kept]
in/greet.prompt:22: 'tools' is left out [key-not-kept]
in/greet.prompt:31: '{{@root.location}}' has no Mustache equivalent: it is left out [unsupported-expression]
)x");
}

TEST_CASE("dotprompt import declares the names a template uses, optional", "[interop]") {
  CHECK(body_of("Hi {{who}}, {{#with user}}{{name}}{{/with}}") == R"x(# Imported from in/greet.prompt.
template = "Hi {{who}}, {{#user}}{{name}}{{/user}}"

[model]
provider = "openai"
name = "gpt-4o"

[vars]
who = { required = false }
user = { required = false }
)x");
}

TEST_CASE("dotprompt import maps unless, each with an alias and else, and notes what it cannot map",
          "[interop]") {
  SECTION("unless and else") {
    const std::string text = body_of("{{#unless done}}todo{{else}}done{{/unless}}");
    CHECK(text.find("\ntemplate = \"{{^done}}todo{{/done}}{{#done}}done{{/done}}\"\n") != std::string::npos);
  }
  SECTION("each with an alias") {
    const std::string text = body_of("{{#each rows as |row|}}{{row.id}}={{row}};{{/each}}");
    CHECK(text.find("\ntemplate = \"{{#rows}}{{id}}={{.}};{{/rows}}\"\n") != std::string::npos);
  }
  SECTION("an else alone on its line renders as Handlebars does") {
    const std::string text = body_of("S\n{{#if a}}\nyes\n{{else}}\nno\n{{/if}}\nE");
    CHECK(text.find("\ntemplate = \"\"\"\nS\n{{#a}}\nyes\n{{/a}}{{^a}}\nno\n{{/a}}\nE\"\"\"\n") !=
          std::string::npos);
    Prompt prompt;
    prompt.name = "p";
    prompt.messages.push_back(Message{"user", "S\n{{#a}}\nyes\n{{/a}}{{^a}}\nno\n{{/a}}\nE", {}});
    prompt.vars.push_back(VarSpec{"a", false, std::nullopt, {}, {}});
    CHECK(render_prompt(prompt, {{"a", true}}).front().content == "S\nyes\nE");
    CHECK(render_prompt(prompt, {{"a", false}}).front().content == "S\nno\nE");
  }
  SECTION("block helpers, history, media and comments") {
    const ImportResult result = import_text(
        "---\nmodel: openai/gpt-4o\n---\n{{#ifEquals a b}}same{{/ifEquals}}\n{{history}}\n{{media "
        "url=photo}}\n"
        "{{!-- keep }} out --}}{{! kept }}\n{{> missing}}");
    CHECK(result.files.front().text.find("\ntemplate = \"\"\"\nsame\n\n\n{{! kept }}\"\"\"\n") !=
          std::string::npos);
    CHECK(notes_of(result) ==
          "in/greet.prompt:4: block helper 'ifEquals' has no Mustache equivalent: the block's text is kept "
          "without the condition [unsupported-block]\n"
          "in/greet.prompt:5: '{{history}}' (the conversation so far) is left out [unsupported-helper]\n"
          "in/greet.prompt:6: '{{media url=photo}}' (media) is left out [unsupported-helper]\n"
          "in/greet.prompt:7: a comment that holds '}}' cannot be a Mustache comment: it is left out "
          "[comment-dropped]\n"
          "in/greet.prompt:8: partial 'missing' (_missing.prompt) is not beside in/greet.prompt: it is left "
          "out [partial-not-found]\n");
  }
}

TEST_CASE("dotprompt import names the prompt by --name, the front matter, or the file", "[interop]") {
  CHECK(import_text("Hi").files.front().path == "prompts/greet.toml");
  CHECK(import_text("---\nname: hello\nvariant: formal\n---\nHi").files.front().path ==
        "prompts/hello.formal.toml");
  CHECK(import_text("---\nname: hello\n---\nHi", "team/hi").files.front().path == "prompts/team/hi.toml");
  const ImportResult unsafe = import_text("---\nname: ../../etc/x\n---\nHi");
  CHECK(unsafe.files.front().path == "prompts/greet.toml");
  CHECK(notes_of(unsafe) ==
        "in/greet.prompt:2: name '../../etc/x' cannot name a prompt file: the prompt is named 'greet' "
        "[name-not-kept]\n");
  CHECK_THROWS_AS(import_text("Hi", "../x"), UsageError);
}

TEST_CASE("dotprompt import refuses what Handlebars would refuse, at file:line", "[interop]") {
  const auto message = [](const std::string& text) {
    try {
      import_text(text);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message("---\nmodel: x\n---\nHi {{#if a}}\n{{/each}}") ==
        "in/greet.prompt:5: '{{/each}}' closes '{{#if}}'");
  CHECK(message("---\nmodel: x\nHi") == "in/greet.prompt:1: front matter is not closed");
  CHECK(message("line\n{{name") == "in/greet.prompt:2: unclosed '{{'");
  CHECK(message("---\nmodel: [x\n---\nHi").starts_with("in/greet.prompt:3: invalid YAML"));
}

TEST_CASE("dotprompt export writes the front matter and roles, and warns about what it cannot hold",
          "[interop]") {
  Prompt prompt;
  prompt.name = "support/classify";
  prompt.path = "prompts/support/classify.toml";
  prompt.description = "Classify";
  prompt.tags = {"support"};
  prompt.messages = {Message{"system", "Scope: {{scope}}", {}}, Message{"user", "{{question}}", {}},
                     Message{"assistant", "OK", {}}};
  prompt.vars = {VarSpec{"question", true, std::nullopt, "the question", {}},
                 VarSpec{"scope", false, std::string("cards"), "", {}}};
  prompt.eval.present = true;
  prompt.eval.where = Location{prompt.path, 20, 1};
  ModelSpec model;
  model.provider = "gemini";
  model.name = "gemini-2.0-flash";
  model.params = {{"max_tokens", 16}, {"temperature", 0}, {"stop", "END"}, {"logit_bias", {{"1", 2}}}};
  model.where = Location{prompt.path, 5, 1};
  std::vector<Diagnostic> notes;
  CHECK(export_dotprompt(prompt, model, notes) == R"x(---
name: support/classify
description: Classify
model: googleai/gemini-2.0-flash
config:
  maxOutputTokens: 16
  stopSequences:
    - END
  temperature: 0
input:
  schema:
    question: string, the question
    scope?: string
  default:
    scope: cards
metadata:
  tags:
    - support
---
{{role "system"}}
Scope: {{scope}}

{{role "user"}}
{{question}}

{{role "model"}}
OK
)x");
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].located_message() ==
        "prompts/support/classify.toml:5:1: model parameter 'logit_bias' has no dotprompt config key: it is "
        "left out");
  CHECK(notes[1].located_message() ==
        "prompts/support/classify.toml:20:1: the [eval] table has no place in a dotprompt file: it is left "
        "out");
}

TEST_CASE("a prompt exported as dotprompt or Prompty imports again to the same prompt", "[interop]") {
  const std::string toml = R"x(description = "Route: a \"quoted\" word"
tags = ["support", "routing"]

[model]
provider = "openai"
name = "gpt-4o-mini"
max_tokens = 32
stop = ["\n\n"]
temperature = 0.5

[vars]
question = { required = true, description = "the question" }
scope = { default = "5", description = "how many" }
history = { description = "earlier turns" }

[[messages]]
role = "system"
content = """
Answer in {{scope}} words.
{{#history}}
- {{.}}
{{/history}}{{^history}}No history.{{/history}}
{{! kept }}"""

[[messages]]
role = "assistant"
content = "Ready."

[[messages]]
role = "user"
content = "{{question}}"
)x";
  const ParsedPrompt parsed = parse_prompt(toml, "prompts/route.toml", "route");
  REQUIRE(parsed.prompt);
  const auto same_prompt = [&](const std::string& text) {
    const ParsedPrompt again = parse_prompt(text, "prompts/route.toml", "route");
    REQUIRE(again.prompt);
    REQUIRE(again.diagnostics.empty());
    nlohmann::json expected = parsed.prompt->to_json();
    nlohmann::json actual = again.prompt->to_json();
    CHECK(actual == expected);
  };
  std::vector<Diagnostic> notes;
  const std::string dotprompt = export_dotprompt(*parsed.prompt, parsed.prompt->model, notes);
  CHECK(notes.empty());
  const ImportResult from_dotprompt =
      import_dotprompt(ImportSource{"route.prompt", dotprompt}, ImportOptions{});
  CHECK(from_dotprompt.notes.empty());
  same_prompt(from_dotprompt.files.at(0).text);

  const std::string prompty = export_prompty(*parsed.prompt, parsed.prompt->model, notes);
  CHECK(notes.empty());
  const ImportResult from_prompty = import_prompty(ImportSource{"route.prompty", prompty}, ImportOptions{});
  CHECK(from_prompty.notes.empty());
  same_prompt(from_prompty.files.at(0).text);
}
