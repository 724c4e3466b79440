// SPDX-License-Identifier: MIT
// optimize's pure parts: taking the proposal out of an answer, checking its variables, the message
// it rewrites, the branch name, the Pareto front, the split and the generator behind it.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

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

TEST_CASE("pareto_front keeps the candidates best on some case that nothing dominates, with their wins",
          "[optimize]") {
  using Front = std::vector<std::pair<std::size_t, std::size_t>>;
  // 0 is best on nothing; 1 and 2 each win cases the other loses; 3 ties 1 on case 0 only.
  CHECK(pareto_front({{0, 0, 0, 1}, {1, 1, 0, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}}) == Front{{1, 3}, {2, 2}});
  // A tie on every case: both stay, neither dominates.
  CHECK(pareto_front({{1, 0}, {1, 0}}) == Front{{0, 2}, {1, 2}});
  // Best on one case (a tie) yet dominated by a candidate that is best too: left out.
  CHECK(pareto_front({{1, 0, 0}, {1, 1, 0}, {0, 0, 1}}) == Front{{1, 2}, {2, 1}});
  // Scores, not only pass/fail.
  CHECK(pareto_front({{0.5, 0.9}, {0.7, 0.2}, {0.6, 0.8}}) == Front{{0, 1}, {1, 1}});
  // No case: the seed alone.
  CHECK(pareto_front({{}, {}}) == Front{{0, 1}});
}

TEST_CASE("split_by_group keeps each group on one side and follows the seed", "[optimize]") {
  using Indices = std::vector<std::size_t>;
  const std::vector<std::string> groups = {"a", "", "a", "b", "", "b", "b", "", "c", ""};
  SplitMix64 first(7);
  const auto [train, val] = split_by_group(groups, 0.5, first);
  Indices all = train;
  all.insert(all.end(), val.begin(), val.end());
  std::sort(all.begin(), all.end());
  CHECK(all == Indices{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(std::is_sorted(train.begin(), train.end()));
  CHECK(std::is_sorted(val.begin(), val.end()));
  // Groups go whole: training fills up to 5 cases, a group may carry it past.
  CHECK(train.size() >= 5);
  CHECK(train.size() <= 7);
  for (const Indices& group : {Indices{0, 2}, Indices{3, 5, 6}}) {
    const bool in_train = std::count(train.begin(), train.end(), group.front()) == 1;
    for (const std::size_t i : group) {
      CHECK((std::count(train.begin(), train.end(), i) == 1) == in_train);
    }
  }
  SplitMix64 same(7);
  CHECK(split_by_group(groups, 0.5, same) == std::make_pair(train, val));
  // Ungrouped cases, exactly round(0.3 x 10) = 3 of them train.
  SplitMix64 plain(1);
  CHECK(split_by_group(std::vector<std::string>(10), 0.3, plain).first.size() == 3);
}

TEST_CASE("SplitMix64 draws the reference sequence", "[optimize]") {
  // splitmix64 seeded with 0: the published first outputs.
  SplitMix64 random(0);
  CHECK(random.next() == 0xE220A8397B1DCDAFULL);
  CHECK(random.next() == 0x6E789E6AA1B965F4ULL);
  CHECK(random.next() == 0x06C45D188009454FULL);
}
