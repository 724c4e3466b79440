// SPDX-License-Identifier: MIT
// Unit tests for how assertions combine: weights, case and [eval] thresholds, assert-sets, named
// metrics (per case, aggregated, in the JSON of notes), and the keys of suites that use none.
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>
#include <promptops/eval/cache.hpp>
#include <promptops/eval/metrics.hpp>

#include "eval/plan.hpp"
#include "eval/score.hpp"
#include "eval/suite.hpp"

using namespace promptops;
using nlohmann::json;

namespace {

std::vector<Assertion> parse_list(const std::string& text) {
  ParsedAssertions parsed = parse_assertions(json::parse(text), Location{"prompts/p.toml", 4, 1});
  INFO(text);
  for (const Diagnostic& d : parsed.diagnostics) {
    INFO(d.format());
  }
  REQUIRE(parsed.diagnostics.empty());
  return std::move(parsed.assertions);
}

// A suite of one case (vars {}, `expected` when given) judged by `asserts` as the prompt's.
Suite one_case_suite(const std::string& asserts, const json& expected = nullptr) {
  Suite suite;
  suite.asserts = parse_list(asserts);
  DatasetCase c;
  c.line = 1;
  c.id = "a";
  c.expected = expected;
  suite.cases.push_back(c);
  suite.case_asserts.emplace_back();
  return suite;
}

Verdict judge(const Suite& suite, std::string_view output, std::optional<double> threshold = std::nullopt) {
  EvalContext context;
  return apply_assertions(suite, 0, output, context, threshold);
}

std::string diagnostics_of(const std::string& text) {
  const ParsedAssertions parsed = parse_assertions(json::parse(text), Location{"evals/c.jsonl", 7, 0});
  std::string out;
  for (const Diagnostic& d : parsed.diagnostics) {
    out += d.format() + (d.hint.empty() ? "" : " (" + d.hint + ")") + "\n";
  }
  return out;
}

// promptfoo's documented example: equals "Hello world" weighs 2, contains "world" weighs 1.
const char* k_weighted = R"([{"type": "equals", "value": "Hello world", "weight": 2},
                             {"type": "contains", "value": "world"}])";

}  // namespace

TEST_CASE("a case's score is the weighted mean of its assertions' scores", "[eval][sets]") {
  const Suite suite = one_case_suite(k_weighted);
  SECTION("without a threshold every assertion must pass, as before") {
    const Verdict v = judge(suite, "Goodbye world");
    CHECK_FALSE(v.pass);
    CHECK(v.score() == Approx(1.0 / 3.0));  // (0 * 2 + 1 * 1) / 3
    CHECK(v.reasons == json::array({"expected \"Hello world\", got \"Goodbye world\""}));
  }
  SECTION("a case threshold passes the case when the weighted mean reaches it") {
    const Verdict low = judge(suite, "Goodbye world", 0.2);
    CHECK(low.pass);
    CHECK(low.reasons == json::array({"expected \"Hello world\", got \"Goodbye world\"", "score 0.33 >= threshold 0.2"}));
    const Verdict high = judge(suite, "Goodbye world", 0.5);
    CHECK_FALSE(high.pass);
    CHECK(high.reasons.back() == "score 0.33 < threshold 0.5");
    CHECK(judge(suite, "Goodbye world", 0.0).pass);  // 0 collects scores and never fails
  }
  SECTION("the [eval] threshold applies when the case sets none; the case's wins") {
    Suite with_default = one_case_suite(k_weighted);
    with_default.threshold = 0.2;
    CHECK(judge(with_default, "Goodbye world").pass);
    CHECK_FALSE(judge(with_default, "Goodbye world", 0.9).pass);
  }
  SECTION("weight 0 is reported, never fails and is not scored") {
    const Suite zero = one_case_suite(R"([{"type": "contains", "value": "world"},
                                         {"type": "contains", "value": "Hello", "weight": 0}])");
    const Verdict v = judge(zero, "Goodbye world");
    CHECK(v.pass);
    CHECK(v.score() == 1.0);
    CHECK(v.reasons == json::array({"not scored (weight 0): output does not contain \"Hello\""}));
    const Suite only_zero = one_case_suite(R"([{"type": "contains", "value": "Hello", "weight": 0}])");
    CHECK(judge(only_zero, "Goodbye").score() == 1.0);  // nothing scored, as with no assertion
  }
  SECTION("with weights of 1 the score is the plain mean, as before") {
    const Suite plain = one_case_suite(R"([{"type": "contains", "value": "a"}, {"type": "contains", "value": "b"},
                                          {"type": "contains", "value": "c"}])");
    CHECK(judge(plain, "ab").score() == 2.0 / 3.0);
  }
}

TEST_CASE("an assert-set is one result: its members' weighted mean against its own threshold", "[eval][sets]") {
  const char* set = R"([{"type": "assert-set", "threshold": 0.5, "weight": 2, "metric": "tone", "assert": [
      {"type": "contains", "value": "cheap"}, {"type": "contains", "value": "fast"},
      {"type": "contains", "value": "good", "weight": 2}]},
    {"type": "starts-with", "value": "Sure"}])";
  const Suite suite = one_case_suite(set);
  REQUIRE(suite.asserts.front().is_set);
  CHECK(suite.asserts.front().members.size() == 3);
  SECTION("the set passes at its threshold and reports the members that failed") {
    // members: cheap 1, fast 0, good 1 (x2): (1 + 0 + 2) / 4 = 0.75 >= 0.5
    const Verdict v = judge(suite, "Sure, cheap and good");
    CHECK(v.pass);
    CHECK(v.score() == Approx((0.75 * 2 + 1.0) / 3.0));
    CHECK(v.reasons.empty());
    REQUIRE(v.named.size() == 1);
    CHECK(v.named[0] == std::pair<std::string, double>{"tone", 0.75});
  }
  SECTION("a failing set names its failed members in one reason") {
    // cheap 0, fast 1, good 0: 1 / 4 = 0.25 < 0.5
    const Verdict v = judge(suite, "Sure, fast");
    CHECK_FALSE(v.pass);
    CHECK(v.score() == Approx((0.25 * 2 + 1.0) / 3.0));
    CHECK(v.reasons == json::array({"assert-set: score 0.25 < threshold 0.5; 2 of 3 failed: contains: output does "
                                    "not contain \"cheap\"; contains: output does not contain \"good\""}));
  }
  SECTION("without a threshold every member must pass") {
    const Suite strict = one_case_suite(R"([{"type": "assert-set", "assert": [{"type": "contains", "value": "a"},
                                           {"type": "contains", "value": "b"}]}])");
    const Verdict v = judge(strict, "a");
    CHECK_FALSE(v.pass);
    CHECK(v.score() == 0.5);
    CHECK(v.reasons == json::array({"assert-set: 1 of 2 failed: contains: output does not contain \"b\""}));
    CHECK(judge(strict, "ab").pass);
  }
}

TEST_CASE("sets, weights, thresholds and metrics are checked where they are written", "[eval][sets]") {
  CHECK(diagnostics_of(R"([{"type": "assert-set", "assert": [{"type": "assert-set", "assert": []}]}])") ==
        "evals/c.jsonl:7: error: an assert-set cannot hold another assert-set (list the inner set's assertions in "
        "the outer set, or make the inner set a sibling)\n");
  CHECK(diagnostics_of(R"([{"type": "assert-set", "assert": []}])") ==
        "evals/c.jsonl:7: error: assert-set needs 'assert', a non-empty array of assertions (write {\"type\": "
        "\"assert-set\", \"assert\": [{\"type\": \"contains\", \"value\": \"...\"}]})\n");
  CHECK(diagnostics_of(R"([{"type": "assert-set", "threshold": 2, "assert": [{"type": "is-json"}]}])") ==
        "evals/c.jsonl:7: error: assert-set 'threshold' must be a number from 0 to 1 (a score), not 2 (0.5 passes "
        "when half the weight passes)\n");
  CHECK(diagnostics_of(R"([{"type": "assert-set", "assert": [{"type": "contans", "value": "x"}]}])") ==
        "evals/c.jsonl:7: error: unknown assertion type 'contans' (did you mean 'contains'?)\n");
  CHECK(diagnostics_of(R"([{"type": "contains", "value": "x", "weight": -1}])") ==
        "evals/c.jsonl:7: error: assertion 'weight' must be a non-negative number, not -1 (use 1 (the default), 2 to "
        "count twice, or 0 to report without scoring)\n");
  CHECK(diagnostics_of(R"([{"type": "contains", "value": "x", "metric": "pass_rate"}])") ==
        "evals/c.jsonl:7: error: assertion 'metric' \"pass_rate\" is a built-in metric (give the assertion's metric "
        "its own name; built-in: pass_rate, accuracy, macro_f1, mean_score)\n");
  CHECK(diagnostics_of(R"([{"type": "contains", "value": "x", "metric": "a b"}])") ==
        "evals/c.jsonl:7: error: assertion 'metric' must be a name of letters, digits, '_', '-' or '.', not \"a b\"\n");
  CHECK(diagnostics_of(R"([{"type": "contains", "value": "x", "weight": 2, "metric": "tone"}])").empty());
}

TEST_CASE("a named metric is the mean of its cases' scores with a Wilson interval", "[eval][sets][metrics]") {
  MetricsAccumulator accumulator;
  for (const double score : {1.0, 0.5, 0.0, 1.0}) {
    CaseOutcome outcome;
    outcome.pass = true;
    outcome.score = 1.0;
    outcome.named = {{"tone", score}};
    accumulator.add(outcome);
  }
  CaseOutcome without;  // a case without the metric does not count for it
  accumulator.add(without);
  const Metrics metrics = accumulator.metrics();
  REQUIRE(metrics.named.count("tone") == 1);
  const NamedMetric& tone = metrics.named.at("tone");
  CHECK(tone.cases == 4);
  CHECK(tone.mean == 0.625);
  // Wilson at p = 0.625, n = 4, z = 1.96: centre 1.1052 / 1.9604 = 0.5638, margin 0.3443
  const Interval expected = wilson_interval_of_mean(0.625, 4);
  CHECK(tone.ci.low == Approx(0.2194).epsilon(0.001));
  CHECK(tone.ci.high == Approx(0.9081).epsilon(0.001));
  CHECK(tone.ci.low == expected.low);
  std::optional<Interval> interval;
  CHECK(metric_value(metrics, "tone", &interval) == 0.625);
  CHECK(interval->high == tone.ci.high);
  CHECK(wilson_interval_of_mean(0.5, 10).low == wilson_interval(5, 10).low);
  SECTION("it round-trips through the JSON of notes and the cache") {
    const json j = metrics.to_json();
    CHECK(j.at("named").dump() == json::parse(R"({"tone": {"cases": 4, "mean": 0.625, "ci": [)" +
                                              json(tone.ci.low).dump() + "," + json(tone.ci.high).dump() + "]}}")
                                      .dump());
    CHECK(Metrics::from_json(j).named.at("tone").mean == 0.625);
  }
}

TEST_CASE("a suite without the new keys keeps its notes and cache keys byte for byte", "[eval][sets]") {
  SECTION("metrics and results have no new fields") {
    MetricsAccumulator accumulator;
    CaseOutcome outcome;
    outcome.pass = true;
    outcome.score = 1.0;
    accumulator.add(outcome);
    const json metrics = accumulator.metrics().to_json();
    std::vector<std::string> keys;
    for (const auto& [key, value] : metrics.items()) {
      keys.push_back(key);
    }
    CHECK(keys == std::vector<std::string>{"cached", "cases", "cost", "cost_spent", "failed", "labels",
                                           "latency_ms", "mean_score", "pass_rate", "pass_rate_ci", "passed",
                                           "real_calls", "tokens_in", "tokens_out"});
    EvalResult result;
    CHECK_FALSE(result.to_json().contains("named_scores"));
    CHECK(result.to_json().size() == 16);  // the fields before named metrics existed
  }
  SECTION("the eval key is the one the formula gave before defaults existed") {
    Prompt prompt;
    prompt.messages.push_back(Message{"user", "{{q}}", Location{}});
    Suite suite;
    suite.dataset = "evals/c.jsonl";
    suite.dataset_sha = "0123";
    suite.asserts_json = json::parse(R"([{"type": "contains", "value": "x"}])");
    suite.metric = "pass_rate";
    ModelSpec model;
    model.name = "m";
    const std::string before = content_key(
        {"eval-1", R"({"messages":[["user","{{q}}"]],"vars":{}})", "identity", "m", model.params.dump(),
         "evals/c.jsonl", "0123", R"([{"type":"contains","value":"x"}])", "pass_rate", "1"});
    CHECK(eval_key(prompt, "identity", model, suite, 1) == before);
    suite.defaults_json = json{{"threshold", 0.5}};
    CHECK(eval_key(prompt, "identity", model, suite, 1) != before);
  }
}
