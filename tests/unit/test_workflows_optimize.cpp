// SPDX-License-Identifier: MIT
// optimize's pure parts: taking the proposal out of an answer, checking its variables, the message
// it rewrites, the branch name, the Pareto front, the split and the generator behind it.
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/workflows/optimize.hpp>

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

// --- the search's phases, on plain values -------------------------------------------------------

namespace {

Candidate candidate(std::size_t id, std::optional<std::size_t> parent, std::vector<double> scores) {
  Candidate c;
  c.id = id;
  c.parent = parent;
  c.val_scores = std::move(scores);
  return c;
}

}  // namespace

TEST_CASE("plan_budget prices the seed, the dearest iteration, the reference and the final evaluation",
          "[optimize]") {
  // Cases 0-2 train (1, 1, 2 calls), 3-5 validate (1, 3, 1); case 1 has no expected value.
  const std::vector<std::size_t> calls = {1, 1, 2, 1, 3, 1};
  SECTION("validation is part of the prompt's own dataset: its answers are cached for the final one") {
    const BudgetPlan plan = plan_budget(calls, {0, 1, 2}, {3, 4, 5}, {1}, 2, 9, true);
    CHECK(plan.reference == 1);
    CHECK(plan.validation == 5);
    CHECK(plan.iteration == 1 + 2 * (2 + 1) + 5);  // a reflection, parent and proposal on 2+1, validation
    CHECK(plan.reserved == 4);
    CHECK(plan.val_cases == 3);
    CHECK(plan.minimum() == 22);
    CHECK(budget_breakdown(plan) ==
          "1 reference calls, 5 calls score the current version on 3 validation cases, one iteration takes "
          "up to 12 and the winner's evaluation on the whole dataset 4");
  }
  SECTION("other datasets judge: the final evaluation pays for every case; a minibatch wider than "
          "training takes all of it") {
    const BudgetPlan plan = plan_budget(calls, {0, 1, 2}, {3, 4, 5}, {}, 5, 9, false);
    CHECK(plan.reference == 0);
    CHECK(plan.iteration == 1 + 2 * 4 + 5);
    CHECK(plan.reserved == 9);
    CHECK(plan.minimum() == 28);
    CHECK(budget_breakdown(plan) ==
          "5 calls score the current version on 3 validation cases, one iteration takes up to 14 and the "
          "winner's evaluation on the whole dataset 9");
  }
}

TEST_CASE("the budget and split errors carry their values and name no flag", "[optimize]") {
  BudgetPlan plan;
  plan.validation = 4;
  plan.val_cases = 4;
  plan.iteration = 17;
  plan.reserved = 1;
  const BudgetTooSmallError budget(21, plan);
  CHECK(budget.budget == 21);
  CHECK(budget.plan.minimum() == 22);
  CHECK(std::string(budget.what()) ==
        "a budget of 21 model calls is too small: 4 calls score the current version on 4 validation cases, "
        "one iteration takes up to 17 and the winner's evaluation on the whole dataset 1");
  CHECK(budget.hint() == "give a budget of 22 or more");
  CHECK(budget.exit_code() == ExitCode::usage);
  const EmptySplitError split(0.9, 3, "data.jsonl", false);
  CHECK(std::string(split.what()) == "a training fraction of 0.9 leaves no validation case");
  CHECK(split.cases == 3);
  CHECK(split.dataset == "data.jsonl");
}

TEST_CASE("draw_parent draws from the Pareto front only, by wins", "[optimize]") {
  SECTION("one candidate best everywhere is always the parent") {
    const std::vector<Candidate> pool = {candidate(0, {}, {0, 0, 1}), candidate(3, 0, {1, 1, 1})};
    SplitMix64 random(5);
    for (int i = 0; i < 20; ++i) {
      CHECK(draw_parent(pool, random) == 1);
    }
  }
  SECTION("two candidates best on one case each; a dominated one is never drawn") {
    const std::vector<Candidate> pool = {candidate(0, {}, {1, 0}), candidate(1, 0, {0, 1}),
                                         candidate(2, 0, {0, 0})};
    SplitMix64 random(11);
    SplitMix64 reference(11);
    std::vector<std::size_t> drawn;
    for (int i = 0; i < 20; ++i) {
      const std::size_t parent = draw_parent(pool, random);
      CHECK(parent == reference.below(2));  // one win each: index 0 for draw 0, index 1 for draw 1
      drawn.push_back(parent);
    }
    CHECK(std::count(drawn.begin(), drawn.end(), 0) > 0);
    CHECK(std::count(drawn.begin(), drawn.end(), 1) > 0);
  }
}

TEST_CASE("TrainingPasses: every pass holds each training case once, reshuffled per pass", "[optimize]") {
  SplitMix64 random(3);
  TrainingPasses passes({4, 5, 6});
  const auto sorted = [](std::vector<std::size_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(sorted(passes.next_minibatch(3, random)) == std::vector<std::size_t>{4, 5, 6});
  std::vector<std::size_t> pass;
  for (int i = 0; i < 3; ++i) {
    const std::vector<std::size_t> one = passes.next_minibatch(1, random);
    REQUIRE(one.size() == 1);
    pass.push_back(one.front());
  }
  CHECK(sorted(pass) == std::vector<std::size_t>{4, 5, 6});
  // A minibatch across the end of a pass has no case twice.
  const std::vector<std::size_t> across = passes.next_minibatch(2, random);
  CHECK(across.size() == 2);
  const std::vector<std::size_t> next = passes.next_minibatch(2, random);
  CHECK(sorted(next).front() != sorted(next).back());
  // The same seed draws the same minibatches.
  SplitMix64 again(3);
  TrainingPasses replay({4, 5, 6});
  SplitMix64 first(3);
  TrainingPasses original({4, 5, 6});
  for (int i = 0; i < 5; ++i) {
    CHECK(replay.next_minibatch(2, again) == original.next_minibatch(2, first));
  }
}

TEST_CASE("proposal_problem refuses duplicates, bad variables and files that would not parse", "[optimize]") {
  OptimizeResult result;
  result.file_text = "template = \"Hi {{who}}\"\n[vars]\nwho = { required = true }\n";
  result.prompt = parsed(result.file_text);
  result.message = 0;
  const std::set<std::string> texts = {"Hi {{who}}", "Hello {{who}}"};
  CHECK(proposal_problem(result, texts, "Hello {{who}}") == "the same text as an earlier candidate");
  CHECK(proposal_problem(result, texts, "Hello there") == "it drops required variable 'who'");
  CHECK(proposal_problem(result, texts, "Hello {{who}} from {{town}}") ==
        "it uses variable 'town', which the prompt does not declare");
  CHECK(proposal_problem(result, texts, "Good day, {{who}}.").empty());
}

TEST_CASE("lineage and metric_with_interval word the winner as the commit and report show it", "[optimize]") {
  OptimizeResult result;
  result.pool = {candidate(0, {}, {}), candidate(2, 0, {}), candidate(4, 0, {}), candidate(5, 2, {})};
  result.best = 3;
  CHECK(lineage(result) == "0 -> 2 -> 5");
  result.best = 0;
  CHECK(lineage(result) == "0");
  CHECK(metric_with_interval("accuracy", 0.75, Interval{0.40912, 0.93551}) == "accuracy 0.750 [0.409, 0.936]");
  CHECK(metric_with_interval("mean_score", 0.5, std::nullopt) == "mean_score 0.500");
}

TEST_CASE("rewritten_file: the winner's text, and the target model when one was given", "[optimize]") {
  OptimizeResult result;
  result.file_text = "# greeting\ntemplate = \"Hi {{who}}\"\n[vars]\nwho = { required = true }\n";
  result.prompt = parsed(result.file_text);
  result.message = 0;
  result.pool = {candidate(0, {}, {}), candidate(1, 0, {})};
  result.pool[0].text = "Hi {{who}}";
  result.pool[1].text = "Good day, {{who}}.";
  result.best = 1;
  result.model = "local/small";
  result.prompt_provider = "local";
  OptimizeOptions options;
  CHECK(rewritten_file(result, options) ==
        "# greeting\ntemplate = \"Good day, {{who}}.\"\n[vars]\nwho = { required = true }\n");
  options.target_model = "small";
  const std::string with_model = rewritten_file(result, options);
  const Prompt again = parsed(with_model);
  CHECK(again.messages.front().content == "Good day, {{who}}.");
  CHECK(again.model.name == "small");
  CHECK(with_model.find("provider") == std::string::npos);  // the prompt already gets "local"
  result.model = "remote/small";
  const Prompt moved = parsed(rewritten_file(result, options));
  CHECK(moved.model.provider == "remote");
  CHECK(moved.model.name == "small");
}
