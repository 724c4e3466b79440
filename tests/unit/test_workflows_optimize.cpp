// SPDX-License-Identifier: MIT
// optimize's pure parts: taking the proposal out of an answer, checking its variables, the message
// it rewrites, the branch name.
#include <catch2/catch.hpp>

#include <promptops/optimize.hpp>

using namespace promptops;

namespace {

Prompt parsed(const std::string& text, const std::string& path = "prompts/p.toml") {
  ParsedPrompt result = parse_prompt(text, path, "p");
  REQUIRE(result.prompt);
  return *result.prompt;
}

}  // namespace

TEST_CASE("extract_proposal takes the first fenced block, else the whole answer", "[optimize]") {
  CHECK(extract_proposal("Sure.\n```\nA {{x}}\nB\n```\nmore\n```\nsecond\n```") == "A {{x}}\nB");
  CHECK(extract_proposal("```text\nwith info string\n```") == "with info string");
  CHECK(extract_proposal("````\nhas ``` inside\n````") == "has ``` inside");
  CHECK(extract_proposal("~~~\ntilde\n~~~") == "tilde");
  CHECK(extract_proposal("  just the text  \n") == "just the text");
  CHECK(extract_proposal("```\nunclosed to the end\n") == "unclosed to the end");
  CHECK(extract_proposal("inline ``` is not a fence") == "inline ``` is not a fence");
}

TEST_CASE("check_proposal refuses dropped required and undeclared variables and template errors",
          "[optimize]") {
  const Prompt prompt = parsed(
      "template = \"Hi {{who}} from {{place}}{{#vip}} (vip){{/vip}}\"\n"
      "[vars]\nwho = { required = true }\nplace = { default = \"home\" }\nvip = {}\ntone = {}\n");
  CHECK(check_proposal(prompt, 0, "Hello {{who}}!").empty());  // place has a default, vip is optional
  CHECK(check_proposal(prompt, 0, "Hello {{who}} in a {{tone}} tone").empty());  // declared, unused before
  CHECK(check_proposal(prompt, 0, "Hello there") == "it drops required variable 'who'");
  CHECK(check_proposal(prompt, 0, "Hello {{who}} {{name}}") ==
        "it uses variable 'name', which the prompt does not declare");
  CHECK(check_proposal(prompt, 0, "Hello {{#who}}") == "template error at line 1: unclosed section 'who'");
  CHECK(check_proposal(prompt, 0, "  \n") == "the proposal is empty");
}

TEST_CASE("check_proposal counts variables of the other messages", "[optimize]") {
  const Prompt prompt = parsed(
      "[[messages]]\nrole = \"system\"\ncontent = \"Be brief.\"\n"
      "[[messages]]\nrole = \"user\"\ncontent = \"{{question}}\"\n"
      "[vars]\nquestion = { required = true }\n");
  CHECK(optimized_message(prompt) == 0);
  CHECK(check_proposal(prompt, 0, "Be brief and exact.").empty());  // {{question}} stays in message 1
  CHECK(check_proposal(prompt, 0, "Answer {{question}} in one line.").empty());
  CHECK(check_proposal(prompt, 0, "Use {{context}}") ==
        "it uses variable 'context', which the prompt does not declare");
}

TEST_CASE("optimized_message: the template, else the first system message, else the first user one",
          "[optimize]") {
  CHECK(optimized_message(parsed("template = \"x\"\n")) == 0);
  CHECK(optimized_message(parsed("[[messages]]\nrole = \"user\"\ncontent = \"u\"\n"
                                 "[[messages]]\nrole = \"assistant\"\ncontent = \"a\"\n"
                                 "[[messages]]\nrole = \"system\"\ncontent = \"s\"\n")) == 2);
  CHECK(optimized_message(parsed("[[messages]]\nrole = \"assistant\"\ncontent = \"a\"\n"
                                 "[[messages]]\nrole = \"user\"\ncontent = \"u\"\n")) == 1);
}

TEST_CASE("optimize_branch_name stamps the UTC time", "[optimize]") {
  CHECK(optimize_branch_name("support/classify", 1700000000) ==
        "promptops/optimize/support/classify-20231114-221320");
}
