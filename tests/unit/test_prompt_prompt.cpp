// SPDX-License-Identifier: MIT
// Unit tests for prompt files: TOML and text prompts, diagnostics, JSON and rendering.
#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt.hpp>

#include "cli/remedies.hpp"
#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;

namespace {


const char* const k_classify = R"(description = "Is a customer question inside the bank's business scope?"
tags = ["support", "classifier"]

[model]
provider = "openai"
name = "gpt-4o-mini"
temperature = 0
max_tokens = 16

[vars]
question = { required = true, description = "the customer's question" }
scope    = { default = "cards, payment accounts, iPay" }
limit = 3
ratio = { default = 0.5 }

[[messages]]
role = "system"
content = "Decide if the question is about {{scope}}. Answer IN_SCOPE or OUT_OF_SCOPE."
[[messages]]
role = "user"
content = "{{question}}"

[eval]
dataset = "evals/classify.jsonl"
metric  = "accuracy"
assert  = [ { type = "equals", value = "{{expected}}", trim = true, ignore_case = true } ]
repeat = 3

[gate]
min      = { accuracy = 0.90 }
max_drop = { accuracy = 0.02 }
confidence = 0.95
)";

Prompt parse_ok(std::string_view text, const std::string& path, const std::string& name) {
  ParsedPrompt parsed = parse_prompt(text, path, name);
  INFO(listing(parsed.diagnostics));
  REQUIRE(parsed.diagnostics.empty());
  REQUIRE(parsed.prompt.has_value());
  return *parsed.prompt;
}

}  // namespace

TEST_CASE("a TOML prompt with messages is read completely", "[prompt]") {
  const Prompt p = parse_ok(k_classify, "prompts/support/classify.toml", "support/classify");
  CHECK(p.name == "support/classify");
  CHECK(p.path == "prompts/support/classify.toml");
  CHECK(p.format == PromptFormat::toml);
  CHECK(p.description == "Is a customer question inside the bank's business scope?");
  CHECK(p.tags == std::vector<std::string>{"support", "classifier"});
  CHECK_FALSE(p.has_template_key);

  REQUIRE(p.messages.size() == 2);
  CHECK(p.messages[0].role == "system");
  CHECK(p.messages[0].content ==
        "Decide if the question is about {{scope}}. Answer IN_SCOPE or OUT_OF_SCOPE.");
  CHECK(p.messages[0].where.format() == "prompts/support/classify.toml:18:12");
  CHECK(p.messages[1].role == "user");
  CHECK(p.messages[1].where.format() == "prompts/support/classify.toml:21:12");

  CHECK(p.model.provider == "openai");
  CHECK(p.model.name == "gpt-4o-mini");
  CHECK(p.model.params == nlohmann::json{{"temperature", 0}, {"max_tokens", 16}});

  REQUIRE(p.vars.size() == 4);
  CHECK(p.vars[0].name == "question");
  CHECK(p.vars[0].required);
  CHECK_FALSE(p.vars[0].default_value.has_value());
  CHECK(p.vars[0].description == "the customer's question");
  CHECK(p.vars[0].where.format() == "prompts/support/classify.toml:11:1");
  CHECK(p.vars[1].name == "scope");
  CHECK(p.vars[1].default_value == std::optional<std::string>("cards, payment accounts, iPay"));
  CHECK(p.vars[2].name == "limit");
  CHECK(p.vars[2].default_value == std::optional<std::string>("3"));
  CHECK(p.vars[3].default_value == std::optional<std::string>("0.5"));
  CHECK(p.find_var("scope") == &p.vars[1]);
  CHECK(p.find_var("nope") == nullptr);

  CHECK(p.eval.present);
  CHECK(p.eval.dataset == "evals/classify.jsonl");
  CHECK(p.eval.metric == "accuracy");
  CHECK(
      p.eval.asserts ==
      nlohmann::json::parse(R"([{"type":"equals","value":"{{expected}}","trim":true,"ignore_case":true}])"));
  CHECK(p.eval.raw.at("repeat") == 3);
  CHECK(p.eval.where.line == 23);

  CHECK(p.gate.min == std::map<std::string, double>{{"accuracy", 0.9}});
  CHECK(p.gate.max_drop == std::map<std::string, double>{{"accuracy", 0.02}});
  CHECK(p.gate.confidence == 0.95);
}

TEST_CASE("to_json gives the prompt's documented shape", "[prompt]") {
  const Prompt p = parse_ok(k_classify, "prompts/support/classify.toml", "support/classify");
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "name": "support/classify",
    "path": "prompts/support/classify.toml",
    "format": "toml",
    "description": "Is a customer question inside the bank's business scope?",
    "tags": ["support", "classifier"],
    "messages": [
      {"role": "system", "content": "Decide if the question is about {{scope}}. Answer IN_SCOPE or OUT_OF_SCOPE."},
      {"role": "user", "content": "{{question}}"}
    ],
    "model": {"provider": "openai", "name": "gpt-4o-mini", "params": {"temperature": 0, "max_tokens": 16}},
    "vars": [
      {"name": "question", "required": true, "description": "the customer's question"},
      {"name": "scope", "required": false, "default": "cards, payment accounts, iPay", "description": ""},
      {"name": "limit", "required": false, "default": "3", "description": ""},
      {"name": "ratio", "required": false, "default": "0.5", "description": ""}
    ],
    "eval": {"dataset": "evals/classify.jsonl", "metric": "accuracy", "repeat": 3,
             "assert": [{"type": "equals", "value": "{{expected}}", "trim": true, "ignore_case": true}]},
    "gate": {"min": {"accuracy": 0.9}, "max_drop": {"accuracy": 0.02}, "confidence": 0.95},
    "variables": ["scope", "question"]
  })");
  CHECK(p.to_json().dump(2) == expected.dump(2));

  const Prompt text = parse_ok("Hi {{name}}\n", "prompts/hi.prompt", "hi");
  CHECK(
      text.to_json().dump() ==
      R"({"description":"","eval":null,"format":"text","gate":null,"messages":[{"content":"Hi {{name}}","role":"user"}],)"
      R"("model":{"name":"","params":{},"provider":""},"name":"hi","path":"prompts/hi.prompt","tags":[],)"
      R"("variables":["name"],"vars":[]})");
}

TEST_CASE("a template prompt is one user message", "[prompt]") {
  const Prompt p = parse_ok("description = \"d\"\ntemplate = \"\"\"\nSay {{greeting}} to {{who}}.\n\"\"\"\n",
                            "prompts/greet.toml", "greet");
  CHECK(p.has_template_key);
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].role == "user");
  CHECK(p.messages[0].content == "Say {{greeting}} to {{who}}.\n");
  CHECK(p.messages[0].where.format() == "prompts/greet.toml:3:1");
}

TEST_CASE("effective_model fills the prompt's model from the config defaults", "[prompt]") {
  const Prompt p = parse_ok("template = \"x\"\n[model]\nname = \"small\"\ntemperature = 1\n", "p.toml", "p");
  Config config;
  config.default_model.provider = "openai";
  config.default_model.name = "gpt-4o-mini";
  config.default_model.params = {{"temperature", 0}, {"seed", 7}};
  const ModelSpec m = p.effective_model(config);
  CHECK(m.provider == "openai");
  CHECK(m.name == "small");
  CHECK(m.params == nlohmann::json{{"temperature", 1}, {"seed", 7}});
  CHECK(m.where.format() == "p.toml:2:1");
}

TEST_CASE("text prompts with and without front matter", "[prompt]") {
  SECTION("no front matter: the whole file is the template, minus its final newline") {
    const Prompt p = parse_ok("Summarize: {{input}}\n", "prompts/summarize.prompt", "summarize");
    CHECK(p.format == PromptFormat::text);
    CHECK(p.has_template_key);
    REQUIRE(p.messages.size() == 1);
    CHECK(p.messages[0].role == "user");
    CHECK(p.messages[0].content == "Summarize: {{input}}");
    CHECK(p.messages[0].where.format() == "prompts/summarize.prompt:1:1");
    CHECK(p.vars.empty());
  }
  SECTION("front matter: TOML between +++ lines, the body after it") {
    const Prompt p = parse_ok(
        "+++\ndescription = \"Summarize\"\ntags = [\"x\"]\n[vars]\ninput = { required = true }\n+++\n"
        "Summarize:\n\n{{input}}\r\n",
        "prompts/summarize.md", "summarize");
    CHECK(p.description == "Summarize");
    CHECK(p.tags == std::vector<std::string>{"x"});
    REQUIRE(p.vars.size() == 1);
    CHECK(p.vars[0].where.format() == "prompts/summarize.md:5:1");
    REQUIRE(p.messages.size() == 1);
    CHECK(p.messages[0].content == "Summarize:\n\n{{input}}");
    CHECK(p.messages[0].where.format() == "prompts/summarize.md:7:1");
  }
  SECTION("a +++ that is not on the first line is just text") {
    const Prompt p = parse_ok("a\n+++\nb", "p.prompt", "p");
    CHECK(p.messages[0].content == "a\n+++\nb");
  }
  SECTION("front-matter diagnostics use file line numbers") {
    const ParsedPrompt parsed =
        parse_prompt("+++\ndescripton = \"x\"\ntemplate = \"no\"\n+++\nLine\nBody {{#x}}\n", "p.prompt", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.prompt:2:1: error: unknown key 'descripton' [unknown-key] (did you mean 'description'?)\n"
          "p.prompt:3:1: error: unknown key 'template' [unknown-key] "
          "(in a text prompt the template is the text after the closing +++)\n"
          "p.prompt:6:6: error: template syntax error: unclosed section 'x' [template-syntax]\n");
    CHECK(parsed.prompt.has_value());
  }
  SECTION("a front-matter syntax error") {
    const ParsedPrompt parsed =
        parse_prompt("+++\ndescription = \"x\"\ntags = [\n+++\nbody\n", "p.prompt", "p");
    REQUIRE(parsed.diagnostics.size() == 1);
    CHECK(parsed.diagnostics[0].code == "syntax-error");
    CHECK(parsed.diagnostics[0].format() == "p.prompt:3:10: error: invalid array: encountered end-of-file");
    CHECK_FALSE(parsed.prompt.has_value());
  }
  SECTION("unclosed front matter") {
    const ParsedPrompt parsed = parse_prompt("+++\ndescription = \"x\"\nbody\n", "p.prompt", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.prompt:1:1: error: front matter is not closed [unclosed-front-matter] "
          "(end it with a line that holds only +++)\n");
    CHECK_FALSE(parsed.prompt.has_value());
  }
  SECTION("no body") {
    CHECK(
        listing(parse_prompt("+++\ndescription = \"x\"\n+++\n", "p.prompt", "p").diagnostics) ==
        "p.prompt: error: prompt has no template [no-template] (write the template after the closing +++)\n");
    CHECK(listing(parse_prompt("", "p.prompt", "p").diagnostics) ==
          "p.prompt: error: prompt has no template [no-template] (the file is empty)\n");
  }
}

TEST_CASE("TOML prompt diagnostics", "[prompt]") {
  SECTION("unknown key with did-you-mean, and no template") {
    const ParsedPrompt parsed = parse_prompt("tempalte = \"x\"\n", "p.toml", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.toml: error: prompt has no template or messages [no-template] "
          "(add template = \"...\" or [[messages]] tables with role and content)\n"
          "p.toml:1:1: error: unknown key 'tempalte' [unknown-key] (did you mean 'template'?)\n");
    REQUIRE(parsed.prompt.has_value());
    CHECK(parsed.prompt->messages.empty());
  }
  SECTION("both template and messages") {
    const ParsedPrompt parsed =
        parse_prompt("template = \"x\"\n[[messages]]\nrole = \"user\"\ncontent = \"y\"\n", "p.toml", "p");
    REQUIRE(parsed.diagnostics.size() == 1);
    CHECK(parsed.diagnostics[0].code == "template-and-messages");
    CHECK(parsed.diagnostics[0].message == "prompt has both 'template' and 'messages'");
    CHECK(parsed.diagnostics[0].where.line == 2);
  }
  SECTION("bad, missing and unknown message fields") {
    const ParsedPrompt parsed = parse_prompt(
        "[[messages]]\nrole = \"sytem\"\ncontent = \"a\"\n"
        "[[messages]]\ncontent = \"b\"\n"
        "[[messages]]\nrole = \"user\"\ncontnet = \"c\"\n"
        "[[messages]]\nrole = \"boss\"\ncontent = 3\n",
        "p.toml", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.toml:2:8: error: unknown role 'sytem' [invalid-role] (did you mean 'system'?)\n"
          "p.toml:4:1: error: message 2 has no role [missing-key] (add role = \"system\", \"user\" or "
          "\"assistant\")\n"
          "p.toml:6:1: error: message 3 has no content [missing-key] (add content = \"...\")\n"
          "p.toml:8:1: error: unknown key 'contnet' in [[messages]] [unknown-key] (did you mean 'content'?)\n"
          "p.toml:10:8: error: unknown role 'boss' [invalid-role] (expected system, user or assistant)\n"
          "p.toml:11:11: error: 'messages.content' must be a string, not an integer [invalid-value]\n");
  }
  SECTION("wrong types everywhere") {
    const ParsedPrompt parsed = parse_prompt(
        "description = 1\ntags = \"x\"\ntemplate = \"t\"\n"
        "[vars]\nq = [1]\nr = { required = \"yes\", default = [], descripton = \"\" }\n"
        "\"a.b\" = \"x\"\n"
        "[eval]\nassert = \"x\"\ndataset = 3\n"
        "[gate]\nmin = { a = \"x\" }\nconfidence = 2\n",
        "p.toml", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.toml:1:15: error: 'description' must be a string, not an integer [invalid-value]\n"
          "p.toml:2:8: error: 'tags' must be an array of strings, not a string [invalid-value]\n"
          "p.toml:5:5: error: 'vars.q' must be a table such as { required = true } or a default string, "
          "not an array [invalid-value]\n"
          "p.toml:6:18: error: 'vars.r.required' must be a boolean (true or false), not a string "
          "[invalid-value]\n"
          "p.toml:6:35: error: 'vars.r.default' must be a string, not an array [invalid-value]\n"
          "p.toml:6:39: error: unknown key 'descripton' in [vars.r] [unknown-key] (did you mean "
          "'description'?)\n"
          "p.toml:7:1: error: variable name 'a.b' cannot be used in a template [invalid-value] "
          "(use letters, digits, '_' and '-')\n"
          "p.toml:9:10: error: 'eval.assert' must be an array of tables such as "
          "[{ type = \"equals\", value = \"{{expected}}\" }], not a string [invalid-value]\n"
          "p.toml:10:11: error: 'eval.dataset' must be a string, not an integer [invalid-value]\n"
          "p.toml:12:13: error: 'gate.min.a' must be a number, not a string [invalid-value]\n"
          "p.toml:13:14: error: 'gate.confidence' must be a number between 0 and 1 (exclusive) "
          "[invalid-value] (for example confidence = 0.95)\n");
    CHECK(parsed.prompt.has_value());
  }
  SECTION("a TOML syntax error gives no prompt") {
    const ParsedPrompt parsed = parse_prompt("template = \"x\"\nmodel = {\n", "p.toml", "p");
    REQUIRE(parsed.diagnostics.size() == 1);
    CHECK(parsed.diagnostics[0].code == "syntax-error");
    CHECK(parsed.diagnostics[0].format() ==
          "p.toml:2:10: error: invalid inline table: expected key or closing '}', saw '\\n'");
    CHECK_FALSE(parsed.prompt.has_value());
  }
  SECTION("template syntax errors point into the file") {
    CHECK(listing(parse_prompt("template = \"Hi {{name\"\n", "p.toml", "p").diagnostics) ==
          "p.toml:1:16: error: template syntax error: unclosed tag [template-syntax]\n");
    CHECK(
        listing(parse_prompt("description = \"x\"\ntemplate = \"\"\"\nLine one\n  {{#items}} oops\n\"\"\"\n",
                             "p.toml", "p")
                    .diagnostics) ==
        "p.toml:4:3: error: template syntax error: unclosed section 'items' [template-syntax]\n");
    CHECK(listing(parse_prompt("template = '''\n{{/x}}'''\n", "p.toml", "p").diagnostics) ==
          "p.toml:2:1: error: template syntax error: unopened section 'x' [template-syntax]\n");
    // With escapes the offsets inside the string are unknown: the content's start is used.
    CHECK(listing(parse_prompt("template = \"a\\tb {{x\"\n", "p.toml", "p").diagnostics) ==
          "p.toml:1:13: error: template syntax error: unclosed tag [template-syntax]\n");
    CHECK(listing(parse_prompt("[[messages]]\nrole = \"user\"\ncontent = \"ok {{/y}}\"\n", "p.toml", "p")
                      .diagnostics) ==
          "p.toml:3:15: error: template syntax error: unopened section 'y' [template-syntax]\n");
  }
}

TEST_CASE("render_prompt applies defaults and values", "[prompt]") {
  const Prompt p = parse_ok(k_classify, "prompts/support/classify.toml", "support/classify");
  const std::vector<Message> messages = render_prompt(p, {{"question", "Can I get a <b>card</b> & more?"}});
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].role == "system");
  CHECK(messages[0].content ==
        "Decide if the question is about cards, payment accounts, iPay. Answer IN_SCOPE or OUT_OF_SCOPE.");
  CHECK(messages[1].content == "Can I get a <b>card</b> & more?");
  CHECK(messages[1].where.format() == "prompts/support/classify.toml:21:12");

  const std::vector<Message> overridden = render_prompt(p, {{"question", "q"}, {"scope", "loans"}});
  CHECK(overridden[0].content == "Decide if the question is about loans. Answer IN_SCOPE or OUT_OF_SCOPE.");

  const Prompt json_prompt = parse_ok("Return {\"label\": \"{{label}}\", \"n\": {{n}}}\n", "p.prompt", "p");
  CHECK(render_prompt(json_prompt, {{"label", "é✓"}, {"n", 3}})[0].content ==
        "Return {\"label\": \"é✓\", \"n\": 3}");
}

TEST_CASE("render_prompt names every required variable without a value", "[prompt]") {
  SECTION("one") {
    const Prompt p = parse_ok(k_classify, "prompts/support/classify.toml", "support/classify");
    try {
      render_prompt(p, nlohmann::json::object());
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "missing value for required variable 'question' in prompt 'support/classify'");
      CHECK(e.hint().empty());  // the prompt layer names no flag: the remedy says which variables
      const auto* missing = dynamic_cast<const MissingVariables*>(e.remedy().get());
      REQUIRE(missing != nullptr);
      CHECK(missing->names == std::vector<std::string>{"question"});
      CHECK(cli::hint_line(e) == "pass --var question=VALUE or --vars FILE.json");
    }
    // null is no value.
    CHECK_THROWS_AS(render_prompt(p, {{"question", nullptr}}), ConfigError);
  }
  SECTION("all of them: undeclared, declared required, unused but required") {
    const Prompt p = parse_ok(
        "template = \"{{a}} {{b}} {{#sec}}{{field}}{{/sec}} {{opt}} {{d}}\"\n"
        "[vars]\nopt = { required = false }\nc = { required = true }\nd = { required = true, default = \"x\" "
        "}\n",
        "p.toml", "p");
    try {
      render_prompt(p, {{"b", ""}});
      FAIL("no exception");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "missing values for required variables 'a', 'sec', 'c' in prompt 'p'");
      CHECK(cli::hint_line(e) == "pass --var a=VALUE --var sec=VALUE --var c=VALUE or --vars FILE.json");
    }
    const auto messages = render_prompt(p, {{"a", "A"}, {"b", "B"}, {"c", 1}, {"sec", {{"field", "F"}}}});
    CHECK(messages[0].content == "A B F  x");
  }
  SECTION("values must be an object") {
    const Prompt p = parse_ok("x\n", "p.prompt", "p");
    CHECK_THROWS_AS(render_prompt(p, nlohmann::json::array()), ConfigError);
    CHECK(render_prompt(p, nullptr)[0].content == "x");
  }
}

TEST_CASE("a text prompt whose body is not UTF-8 is an error at the first bad byte", "[prompt]") {
  // Found by fuzz_prompt_text: such a body made show --json, export and eval stop with
  // nlohmann's "[json.exception.type_error.316] invalid UTF-8 byte" instead of a file:line.
  SECTION("a Latin-1 byte in the body") {
    const ParsedPrompt parsed = parse_prompt("+++\ndescription = \"x\"\n+++\nOne\nCaf\xE9 {{input}}\n", "p.prompt", "p");
    CHECK(listing(parsed.diagnostics) ==
          "p.prompt:5:4: error: the template is not valid UTF-8 [invalid-utf8] (save the file as UTF-8)\n");
    REQUIRE(parsed.prompt.has_value());
    CHECK(parsed.prompt->messages.empty());
  }
  SECTION("a truncated sequence at the end, without front matter") {
    CHECK(listing(parse_prompt("h\xC3\xA9llo \xE2\x9C", "p.prompt", "p").diagnostics) ==
          "p.prompt:1:7: error: the template is not valid UTF-8 [invalid-utf8] (save the file as UTF-8)\n");
  }
  SECTION("valid UTF-8 and a BOM are fine") {
    CHECK(parse_prompt("\xEF\xBB\xBFh\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x8E\x89", "p.prompt", "p").diagnostics.empty());
  }
}

TEST_CASE("a prompt's [[eval.matrix]] may replace its messages", "[prompt]") {
  const ParsedPrompt parsed = parse_prompt(R"(template = "Hi {{who}}"
[eval]
dataset = "evals/greet.jsonl"

[[eval.matrix]]
variant = "greet_formal@v2"

[[eval.matrix]]
messages = [
  { role = "system", content = "Be brief." },
  { role = "user", content = "Hey {{who}}" },
]

[[eval.matrix]]
template = "Yo {{who}}"
model = "fast"
)",
                                           "prompts/greet.toml", "greet");
  REQUIRE(parsed.diagnostics.empty());
  REQUIRE(parsed.prompt);
  const std::vector<MatrixEntry>& matrix = parsed.prompt->eval.matrix;
  REQUIRE(matrix.size() == 3);
  CHECK(matrix[0].variant == "greet_formal@v2");
  CHECK(matrix[1].messages ==
        std::vector<std::pair<std::string, std::string>>{{"system", "Be brief."}, {"user", "Hey {{who}}"}});
  CHECK(matrix[1].where.format() == "prompts/greet.toml:8:1");
  CHECK(matrix[2].messages == std::vector<std::pair<std::string, std::string>>{{"user", "Yo {{who}}"}});
  CHECK(matrix[2].model == "fast");

  const ParsedPrompt bad = parse_prompt(R"(template = "Hi"
[eval]
dataset = "d.jsonl"
matrix = [
  { template = "a", messages = [{ role = "user", content = "b" }] },
  { messages = [{ role = "robot", content = "b" }] },
  { messages = [{ role = "user" }] },
  { messages = [] },
]
)",
                                        "prompts/p.toml", "p");
  CHECK(listing(bad.diagnostics) ==
        "prompts/p.toml:5:32: error: a [[eval.matrix]] entry has both 'template' and 'messages' "
        "[template-and-messages] (use template for one user message or messages for a conversation, not both)\n"
        "prompts/p.toml:6:26: error: 'eval.matrix.messages.role' must be system, user or assistant [invalid-value]\n"
        "prompts/p.toml:7:17: error: a message of 'eval.matrix.messages' needs a role and a content string "
        "[missing-key] (write { role = \"system\", content = \"...\" })\n"
        "prompts/p.toml:8:16: error: 'eval.matrix.messages' must be a non-empty array: one table per message "
        "[invalid-value]\n");
}
