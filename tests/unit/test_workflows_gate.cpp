// SPDX-License-Identifier: MIT
// Unit tests for the quality gate: judge() against hand-computed verdicts, and effective_gate().
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/workflows/gate.hpp>
#include <promptops/prompt/prompt.hpp>

#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;

namespace {

using Ids = std::vector<std::string>;

// An evaluation built by hand: pass_rate = 'p' count / cases, mean_score = mean of `scores`.
EvalResult result(const Ids& ids, const std::string& outcomes, const std::vector<double>& scores = {}) {
  EvalResult r;
  r.metric = "pass_rate";
  r.case_ids = ids;
  r.outcomes = outcomes;
  r.scores = scores;
  r.metrics.cases = outcomes.size();
  for (const char c : outcomes) {
    r.metrics.passed += c == 'p' ? 1 : 0;
  }
  r.metrics.failed = r.metrics.cases - r.metrics.passed;
  r.metrics.pass_rate =
      outcomes.empty() ? 0.0 : static_cast<double>(r.metrics.passed) / static_cast<double>(outcomes.size());
  double sum = 0.0;
  for (const double s : scores) {
    sum += s;
  }
  r.metrics.mean_score = scores.empty() ? 0.0 : sum / static_cast<double>(scores.size());
  r.value = r.metrics.pass_rate;
  return r;
}

// The same cases with the given headline values set directly (the thresholds read metrics, the
// paired tests read outcomes and scores).
EvalResult with_pass_rate(EvalResult r, double pass_rate) {
  r.metrics.pass_rate = pass_rate;
  return r;
}

EvalResult with_labels(EvalResult r, double accuracy, double macro_f1) {
  LabelMetrics labels;
  labels.total = r.metrics.cases;
  labels.accuracy = accuracy;
  labels.macro_f1 = macro_f1;
  r.metrics.labels = labels;
  return r;
}

GateSpec gate_of(std::map<std::string, double> min, std::map<std::string, double> max_drop,
                 double confidence = 0.95) {
  GateSpec gate;
  gate.min = std::move(min);
  gate.max_drop = std::move(max_drop);
  gate.confidence = confidence;
  gate.where = Location{"prompts/p.toml", 7, 1};
  return gate;
}

const MetricCheck& only_check(const GateVerdict& verdict) {
  REQUIRE(verdict.checks.size() == 1);
  return verdict.checks.front();
}

const Ids k_six{"a", "b", "c", "d", "e", "f"};

Prompt parse_prompt_ok(std::string_view text, const std::string& path = "prompts/p.toml") {
  ParsedPrompt parsed = parse_prompt(text, path, "p");
  INFO(listing(parsed.diagnostics));
  REQUIRE(parsed.diagnostics.empty());
  REQUIRE(parsed.prompt.has_value());
  return *parsed.prompt;
}

Config parse_config_ok(std::string_view text) {
  ParsedConfig parsed = parse_config(text);
  INFO(listing(parsed.diagnostics));
  REQUIRE(parsed.diagnostics.empty());
  return parsed.config;
}

}  // namespace

TEST_CASE("judge runs exact McNemar on pass_rate flips", "[workflows][gate]") {
  const GateSpec gate = gate_of({}, {{"pass_rate", 0.0}});

  SECTION("b=6, c=0: p = 2 * P(X <= 0) = 2 * 1/64 = 0.03125, significant at 0.95") {
    const EvalResult baseline = result(k_six, "pppppp");
    const EvalResult candidate = result(k_six, "ffffff");
    const GateVerdict v = judge(gate, baseline, candidate);
    const MetricCheck& c = only_check(v);
    CHECK(c.metric == "pass_rate");
    CHECK(c.test == "mcnemar");
    REQUIRE(c.p_value);
    CHECK(*c.p_value == Approx(2.0 / 64.0).epsilon(1e-12));
    REQUIRE(c.baseline);
    CHECK(*c.baseline == 1.0);
    CHECK(c.candidate == 0.0);
    CHECK(c.max_drop == 0.0);
    CHECK(c.drop_exceeded);  // 1 - 0 = 1 > 0
    CHECK(c.significant);    // 0.03125 < 1 - 0.95 = 0.05
    CHECK(c.failed);
    CHECK_FALSE(v.passed);
    CHECK(v.confidence == 0.95);
    REQUIRE(v.flips);
    CHECK(v.flips->pass_to_fail == k_six);
    CHECK(v.flips->fail_to_pass.empty());
  }

  SECTION("b=6, c=0 under confidence 0.99: 0.03125 >= 0.01, not significant, passes") {
    const GateVerdict v =
        judge(gate_of({}, {{"pass_rate", 0.0}}, 0.99), result(k_six, "pppppp"), result(k_six, "ffffff"));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == Approx(0.03125).epsilon(1e-12));
    CHECK(c.drop_exceeded);
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
    CHECK(v.confidence == 0.99);
  }

  SECTION("b=5, c=1: p = 2 * P(X <= 1) = 2 * (1 + 6)/64 = 0.21875, not significant") {
    // a..e pass -> fail, f fail -> pass: pass rate 5/6 -> 1/6, a drop of 4/6.
    const GateVerdict v = judge(gate, result(k_six, "pppppf"), result(k_six, "fffffp"));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == Approx(0.21875).epsilon(1e-12));
    CHECK(*c.baseline == Approx(5.0 / 6.0));
    CHECK(c.candidate == Approx(1.0 / 6.0));
    CHECK(c.drop_exceeded);
    CHECK_FALSE(c.significant);  // 0.21875 >= 0.05
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
    REQUIRE(v.flips);
    CHECK(v.flips->pass_to_fail == Ids{"a", "b", "c", "d", "e"});
    CHECK(v.flips->fail_to_pass == Ids{"f"});
  }

  SECTION("b=0, c=0: no discordant pair, p = 1") {
    const GateVerdict v = judge(gate, result(k_six, "ppffpp"), result(k_six, "ppffpp"));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == 1.0);
    CHECK_FALSE(c.drop_exceeded);  // 4/6 - 4/6 = 0, not > 0
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
    CHECK(v.flips->both_pass == 4);
    CHECK(v.flips->both_fail == 2);
  }

  SECTION("a significant flip count without a drop beyond max_drop passes") {
    // b=6, c=0 (p = 0.03125) but the recorded pass rates are 1.0 -> 0.9: 0.1 <= max_drop 0.2.
    const GateVerdict v =
        judge(gate_of({}, {{"pass_rate", 0.2}}), with_pass_rate(result(k_six, "pppppp"), 1.0),
              with_pass_rate(result(k_six, "ffffff"), 0.9));
    const MetricCheck& c = only_check(v);
    CHECK(c.significant);
    CHECK_FALSE(c.drop_exceeded);
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
  }

  SECTION("accuracy is paired by McNemar too, and judged on the label accuracy") {
    // Label accuracy 0.9 -> 0.5 (not the pass rates 1 -> 0); flips b=6, c=0: p = 2/64.
    const GateVerdict v =
        judge(gate_of({}, {{"accuracy", 0.3}}), with_labels(result(k_six, "pppppp"), 0.9, 0.0),
              with_labels(result(k_six, "ffffff"), 0.5, 0.0));
    const MetricCheck& c = only_check(v);
    CHECK(c.test == "mcnemar");
    CHECK(*c.baseline == 0.9);
    CHECK(c.candidate == 0.5);
    CHECK(*c.p_value == Approx(0.03125).epsilon(1e-12));
    CHECK(c.drop_exceeded);  // 0.9 - 0.5 = 0.4 > 0.3
    CHECK(c.failed);
  }
}

TEST_CASE("judge pairs cases by id and skips 'e' cases", "[workflows][gate]") {
  const GateSpec gate = gate_of({}, {{"pass_rate", 0.0}});

  SECTION("cases with 'e' on either side are left out of the pairing") {
    // a..f pass -> fail (b=6); g, h pass -> 'e' and i 'e' -> fail are skipped. Counting 'e' as a
    // fail would give b=8 and p = 2/256.
    const Ids ids{"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    const GateVerdict v = judge(gate, result(ids, "ppppppppe"), result(ids, "ffffffeef"));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == Approx(2.0 / 64.0).epsilon(1e-12));
    REQUIRE(v.flips);
    CHECK(v.flips->pass_to_fail == k_six);
    CHECK(v.flips->skipped == 3);
    CHECK(c.failed);
  }

  SECTION("another order and ids on one side only still pair by id") {
    // Baseline a..g; the candidate lists them reversed, lacks g and adds z.
    // a..e: p -> f (b=5), f: f -> p (c=1), g and z unpaired: p = 2 * (1 + 6)/64 = 0.21875.
    const EvalResult baseline = result(Ids{"a", "b", "c", "d", "e", "f", "g"}, "pppppfp");
    const EvalResult candidate = result(Ids{"z", "f", "e", "d", "c", "b", "a"}, "fpfffff");
    const GateVerdict v = judge(gate, baseline, candidate);
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == Approx(0.21875).epsilon(1e-12));
    REQUIRE(v.flips);
    CHECK(v.flips->pass_to_fail == Ids{"e", "d", "c", "b", "a"});
    CHECK(v.flips->fail_to_pass == Ids{"f"});
    CHECK(v.flips->skipped == 2);
  }

  SECTION("the same cases reversed give the b=6 verdict") {
    const GateVerdict v =
        judge(gate, result(k_six, "pppppp"), result(Ids{"f", "e", "d", "c", "b", "a"}, "ffffff"));
    CHECK(*only_check(v).p_value == Approx(0.03125).epsilon(1e-12));
    CHECK(only_check(v).failed);
  }
}

TEST_CASE("judge applies min and max_drop thresholds at their edges", "[workflows][gate]") {
  const Ids four{"a", "b", "c", "d"};

  SECTION("below min fails without a baseline; no baseline means no flips and no test") {
    // pass rate 3/4 = 0.75 < 0.8
    const GateVerdict v =
        judge(gate_of({{"pass_rate", 0.8}}, {{"pass_rate", 0.0}}), std::nullopt, result(four, "pppf"));
    const MetricCheck& c = only_check(v);
    CHECK(c.candidate == 0.75);
    CHECK(c.min == 0.8);
    CHECK(c.below_min);
    CHECK(c.failed);
    CHECK_FALSE(v.passed);
    CHECK_FALSE(v.flips.has_value());
    CHECK_FALSE(c.baseline.has_value());
    CHECK(c.max_drop == 0.0);
    CHECK_FALSE(c.drop_exceeded);
    CHECK_FALSE(c.significant);
    CHECK(c.test.empty());
    CHECK_FALSE(c.p_value.has_value());
  }

  SECTION("equal to min is not below it") {
    // 3/4 = 0.75 >= 0.75
    const GateVerdict v = judge(gate_of({{"pass_rate", 0.75}}, {}), std::nullopt, result(four, "pppf"));
    CHECK_FALSE(only_check(v).below_min);
    CHECK(v.passed);
  }

  SECTION("equal to a min written in decimals is not below it") {
    // 0.7 recorded, min 0.7: equal, whatever the binary rounding of either
    const GateVerdict v =
        judge(gate_of({{"pass_rate", 0.7}}, {}), std::nullopt, with_pass_rate(result(four, "pppf"), 0.7));
    CHECK_FALSE(only_check(v).below_min);
  }

  SECTION("a drop exactly equal to max_drop does not exceed it") {
    // b=4 (p = 2/16 = 0.125); 1.0 - 0.75 = 0.25, not > 0.25
    const GateVerdict v = judge(gate_of({}, {{"pass_rate", 0.25}}), with_pass_rate(result(four, "pppp"), 1.0),
                                with_pass_rate(result(four, "ffff"), 0.75));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == Approx(0.125).epsilon(1e-12));
    CHECK_FALSE(c.drop_exceeded);
    CHECK_FALSE(c.failed);
  }

  SECTION("a decimal drop equal to max_drop does not exceed it (0.8 - 0.7 = 0.1)") {
    // In doubles 0.8 - 0.7 = 0.10000000000000009 > 0.1; the gate must not see a drop there.
    const GateVerdict v =
        judge(gate_of({}, {{"pass_rate", 0.1}}), with_pass_rate(result(k_six, "pppppp"), 0.8),
              with_pass_rate(result(k_six, "ffffff"), 0.7));
    CHECK_FALSE(only_check(v).drop_exceeded);
    CHECK(v.passed);
  }

  SECTION("checks list min metrics, then max_drop metrics not already listed") {
    // min {pass_rate}, max_drop {accuracy, pass_rate}: pass_rate once, then accuracy
    const GateVerdict v = judge(gate_of({{"pass_rate", 0.5}}, {{"accuracy", 0.0}, {"pass_rate", 0.0}}),
                                result(four, "pppp"), result(four, "pppp"));
    REQUIRE(v.checks.size() == 2);
    CHECK(v.checks[0].metric == "pass_rate");
    CHECK(v.checks[0].min == 0.5);
    CHECK(v.checks[0].max_drop == 0.0);
    CHECK(v.checks[1].metric == "accuracy");
    CHECK_FALSE(v.checks[1].min.has_value());
    CHECK(v.passed);
  }

  SECTION("one failed check fails the verdict; the others still pass") {
    // pass_rate 2/4 = 0.5 >= min 0.5; mean_score 0.25 < min 0.3
    const GateVerdict v = judge(gate_of({{"pass_rate", 0.5}, {"mean_score", 0.3}}, {}), std::nullopt,
                                result(four, "ppff", {0.25, 0.25, 0.25, 0.25}));
    REQUIRE(v.checks.size() == 2);
    CHECK(v.checks[0].metric == "mean_score");
    CHECK(v.checks[0].failed);
    CHECK(v.checks[1].metric == "pass_rate");
    CHECK_FALSE(v.checks[1].failed);
    CHECK_FALSE(v.passed);
  }
}

TEST_CASE("judge runs the paired sign-flip test on mean_score and on grouped cases", "[workflows][gate]") {
  const Ids four{"a", "b", "c", "d"};
  const Ids five{"a", "b", "c", "d", "e"};

  SECTION("every score drops by 0.25 in 4 cases: 2 of 16 sign patterns, p = 0.125, too few cases") {
    // mean 0.75 -> 0.5, drop 0.25 > 0.1. The bootstrap said p = 0 here (every resample -0.25).
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.1}}), result(four, "pppp", {1.0, 0.5, 0.75, 0.75}),
              result(four, "pppp", {0.75, 0.25, 0.5, 0.5}));
    const MetricCheck& c = only_check(v);
    CHECK(c.test == "sign_flip");
    CHECK(*c.baseline == 0.75);
    CHECK(c.candidate == 0.5);
    REQUIRE(c.p_value);
    CHECK(*c.p_value == 0.125);
    CHECK(c.drop_exceeded);
    CHECK_FALSE(c.significant);
    CHECK(c.too_few_cases);  // 2 * 2^-4 = 0.125 >= 0.05: no 4 cases can show a drop
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
  }

  SECTION("5 scores down: p = 2/32 = 0.0625, the same as McNemar on 5 flips, too few cases") {
    const GateVerdict scores =
        judge(gate_of({}, {{"mean_score", 0.0}}), result(five, "ppppp", {1.0, 1.0, 1.0, 1.0, 1.0}),
              result(five, "ppppp", {0.5, 0.5, 0.5, 0.5, 0.5}));
    const GateVerdict flips =
        judge(gate_of({}, {{"pass_rate", 0.0}}), result(five, "ppppp"), result(five, "fffff"));
    CHECK(*only_check(scores).p_value == 0.0625);
    CHECK(*only_check(flips).p_value == Approx(0.0625).epsilon(1e-12));
    for (const MetricCheck* c : {&only_check(scores), &only_check(flips)}) {
      CHECK(c->drop_exceeded);
      CHECK_FALSE(c->significant);
      CHECK(c->too_few_cases);
      CHECK_FALSE(c->failed);
    }
  }

  SECTION("6 scores down: p = 2/64 = 0.03125, significant at 0.95, enough cases") {
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.0}}), result(k_six, "pppppp", std::vector<double>(6, 1.0)),
              result(k_six, "pppppp", std::vector<double>(6, 0.75)));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == 0.03125);
    CHECK(c.significant);
    CHECK_FALSE(c.too_few_cases);
    CHECK(c.failed);
  }

  SECTION("the same 6 at confidence 0.99: not significant, and too few cases for 99%") {
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.0}}, 0.99), result(k_six, "pppppp", std::vector<double>(6, 1.0)),
              result(k_six, "pppppp", std::vector<double>(6, 0.75)));
    CHECK_FALSE(only_check(v).significant);
    CHECK(only_check(v).too_few_cases);
    CHECK_FALSE(only_check(v).failed);
  }

  SECTION("deltas that cancel: +0.25, -0.25, +0.25, -0.25 have sum 0, every pattern as extreme, p = 1") {
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.0}}), result(four, "pppp", {0.5, 0.5, 0.5, 0.5}),
              result(four, "pppp", {0.75, 0.25, 0.75, 0.25}));
    const MetricCheck& c = only_check(v);
    CHECK(c.test == "sign_flip");
    CHECK(*c.p_value == 1.0);
    CHECK_FALSE(c.drop_exceeded);  // 0.5 - 0.5 = 0
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.too_few_cases);  // nothing dropped
    CHECK_FALSE(c.failed);
  }

  SECTION("a small noisy drop beyond max_drop is not significant") {
    // deltas +0.5, -0.5, -0.5, +0.25, T = -0.25: three +-0.5 sum to +-1.5 or +-0.5, so with
    // +-0.25 every one of the 16 patterns has |sum| >= 0.25: p = 1.
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.0}}), result(four, "pppp", {0.5, 0.5, 0.5, 0.5}),
              result(four, "pppp", {1.0, 0.0, 0.0, 0.75}));
    const MetricCheck& c = only_check(v);
    CHECK(c.candidate == 0.4375);
    CHECK(c.drop_exceeded);
    CHECK(*c.p_value == 1.0);
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.failed);
    CHECK(v.passed);
  }

  SECTION("'e' cases are left out of the score pairing") {
    // c and d have no answer on one side; a and b drop by 0.5 each: 2 of 4 patterns, p = 0.5.
    // Paired with 'e' as a score of 0 the deltas would be -0.5, -0.5, +1, -1.
    const GateVerdict v =
        judge(gate_of({}, {{"mean_score", 0.0}}), result(four, "ppep", {1.0, 1.0, 0.0, 0.0}),
              result(four, "ppfe", {0.5, 0.5, 1.0, 0.0}));
    const MetricCheck& c = only_check(v);
    CHECK(*c.p_value == 0.5);
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.too_few_cases);  // the means over every case (0.5 and 0.5) did not drop
  }

  SECTION("grouped cases switch pass_rate from McNemar to the sign-flip test of the groups") {
    // b=6, c=0: McNemar 2/64 = 0.03125 is significant at 0.95; in three groups of two the
    // groups are 3 clusters, 2 of 8 patterns: p = 0.25, and 3 groups can never show a drop.
    const std::vector<std::string> groups{"g1", "g1", "g2", "g2", "g3", "g3"};
    const GateSpec gate = gate_of({}, {{"pass_rate", 0.0}});
    const GateVerdict ungrouped = judge(gate, result(k_six, "pppppp"), result(k_six, "ffffff"));
    CHECK(only_check(ungrouped).test == "mcnemar");
    CHECK(only_check(ungrouped).failed);
    const GateVerdict v = judge(gate, result(k_six, "pppppp"), result(k_six, "ffffff"), groups);
    const MetricCheck& c = only_check(v);
    CHECK(c.test == "sign_flip");
    CHECK(*c.p_value == 0.25);
    CHECK_FALSE(c.significant);
    CHECK(c.too_few_cases);
    CHECK_FALSE(c.failed);
  }

  SECTION("grouped flips that cancel are not significant") {
    // groups {a,b}: p->f twice; {c,d}: f->p twice: cluster sums -2 and +2, p = 1.
    const std::vector<std::string> groups{"g1", "g1", "g2", "g2"};
    const GateVerdict v =
        judge(gate_of({}, {{"pass_rate", 0.0}}), result(four, "ppff"), result(four, "ffpp"), groups);
    const MetricCheck& c = only_check(v);
    CHECK(c.test == "sign_flip");
    CHECK(*c.p_value == 1.0);
    CHECK_FALSE(c.significant);
    CHECK_FALSE(c.failed);
  }
}

TEST_CASE("judge fails macro_f1 on the drop alone", "[workflows][gate]") {
  const Ids four{"a", "b", "c", "d"};

  SECTION("a drop beyond max_drop fails without a paired test") {
    // 0.8 - 0.5 = 0.3 > 0.1; no discordant pairs at all
    const GateVerdict v =
        judge(gate_of({}, {{"macro_f1", 0.1}}, 0.99), with_labels(result(four, "pppp"), 1.0, 0.8),
              with_labels(result(four, "pppp"), 1.0, 0.5));
    const MetricCheck& c = only_check(v);
    CHECK(c.test.empty());
    CHECK_FALSE(c.p_value.has_value());
    CHECK(*c.baseline == 0.8);
    CHECK(c.candidate == 0.5);
    CHECK(c.drop_exceeded);
    CHECK(c.significant);
    CHECK(c.failed);
    CHECK_FALSE(v.passed);
  }

  SECTION("a drop within max_drop passes") {
    // 0.8 - 0.75 = 0.05 <= 0.1
    const GateVerdict v = judge(gate_of({}, {{"macro_f1", 0.1}}), with_labels(result(four, "pppp"), 1.0, 0.8),
                                with_labels(result(four, "pppp"), 1.0, 0.75));
    CHECK_FALSE(only_check(v).drop_exceeded);
    CHECK_FALSE(only_check(v).significant);
    CHECK(v.passed);
  }
}

TEST_CASE("effective_gate and judge reject an unknown metric at the gate's file:line", "[workflows][gate]") {
  // [gate] is on line 5 of the prompt file.
  const Prompt prompt = parse_prompt_ok(
      "template = \"Hello\"\n"
      "[eval]\n"
      "dataset = \"evals/p.jsonl\"\n"
      "\n"
      "[gate]\n"
      "min = { acuracy = 0.9 }\n");
  const EvalResult r = result(Ids{"a"}, "p");
  try {
    effective_gate(prompt, Config{});
    FAIL("effective_gate did not throw");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).rfind("prompts/p.toml:5:", 0) == 0);
    CHECK(std::string(e.what()) == "prompts/p.toml:5:1: unknown metric 'acuracy' in [gate]");
    CHECK(e.hint() == "did you mean 'accuracy'?");
  }
  SECTION("a name close to nothing lists the metrics") {
    try {
      judge(gate_of({}, {{"bleu_score_xx", 0.0}}), std::nullopt, r);
      FAIL("judge did not throw");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == "prompts/p.toml:7:1: unknown metric 'bleu_score_xx' in [gate]");
      CHECK(e.hint() == "use one of: pass_rate, accuracy, macro_f1, mean_score");
    }
  }
}

TEST_CASE("an unknown metric from [defaults.gate] is reported at the config's line", "[workflows][gate]") {
  // The prompt's own [gate] is valid; the misspelt metric comes from .promptops.toml line 2, so
  // the error must point there, not at the prompt file (where the user would not find it).
  const Config config = parse_config_ok(
      "[defaults.gate]\n"
      "min = { acuracy = 0.9 }\n");
  const Prompt prompt = parse_prompt_ok(
      "template = \"Hello\"\n"
      "[gate]\n"
      "max_drop = { pass_rate = 0 }\n");
  try {
    effective_gate(prompt, config);
    FAIL("effective_gate did not throw");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == ".promptops.toml:1:1: unknown metric 'acuracy' in [gate]");
  }
}

TEST_CASE("effective_gate merges config defaults under the prompt's gate", "[workflows][gate]") {
  const Config config = parse_config_ok(
      "prompts = [\"prompts\"]\n"
      "[defaults.gate]\n"
      "min = { pass_rate = 0.8, accuracy = 0.7 }\n"
      "max_drop = { pass_rate = 0.05 }\n"
      "confidence = 0.99\n");
  REQUIRE(config.default_gate.confidence_set);

  SECTION("metric by metric: the prompt's accuracy wins, the config's pass_rate stays") {
    const Prompt prompt = parse_prompt_ok(
        "template = \"Hello\"\n"
        "[gate]\n"
        "min = { accuracy = 0.9 }\n"
        "max_drop = { accuracy = 0.02 }\n");
    const GateSpec gate = effective_gate(prompt, config);
    CHECK(gate.min == std::map<std::string, double>{{"accuracy", 0.9}, {"pass_rate", 0.8}});
    CHECK(gate.max_drop == std::map<std::string, double>{{"accuracy", 0.02}, {"pass_rate", 0.05}});
    CHECK(gate.confidence == 0.99);  // the prompt set none: the config's
    CHECK(gate.confidence_set);
    CHECK(gate.where.format() == "prompts/p.toml:2:1");
  }

  SECTION("the prompt's confidence wins when it sets one, even the default value") {
    const Prompt prompt = parse_prompt_ok(
        "template = \"Hello\"\n"
        "[gate]\n"
        "confidence = 0.95\n");
    const GateSpec gate = effective_gate(prompt, config);
    CHECK(gate.confidence == 0.95);
    CHECK(gate.confidence_set);
    // thresholds all from the config; no implicit max_drop because the config sets some
    CHECK(gate.min == std::map<std::string, double>{{"accuracy", 0.7}, {"pass_rate", 0.8}});
    CHECK(gate.max_drop == std::map<std::string, double>{{"pass_rate", 0.05}});
  }

  SECTION("a prompt without [gate] takes the config's gate as it is") {
    const Prompt prompt = parse_prompt_ok("template = \"Hello\"\n");
    const GateSpec gate = effective_gate(prompt, config);
    CHECK(gate.min == config.default_gate.min);
    CHECK(gate.max_drop == config.default_gate.max_drop);
    CHECK(gate.confidence == 0.99);
    CHECK(gate.where.file == ".promptops.toml");
  }

  SECTION("a config without confidence keeps 0.95 and confidence_set false") {
    const Config plain = parse_config_ok("[defaults.gate]\nmin = { pass_rate = 0.5 }\n");
    const GateSpec gate = effective_gate(parse_prompt_ok("template = \"Hello\"\n"), plain);
    CHECK(gate.confidence == 0.95);
    CHECK_FALSE(gate.confidence_set);
    CHECK(gate.max_drop.empty());  // min alone is a threshold: no implicit gate
  }
}

TEST_CASE("effective_gate falls back to max_drop 0 on the headline metric", "[workflows][gate]") {
  SECTION("no gate anywhere and no [eval] metric: pass_rate") {
    const GateSpec gate = effective_gate(parse_prompt_ok("template = \"Hello\"\n"), Config{});
    CHECK(gate.min.empty());
    CHECK(gate.max_drop == std::map<std::string, double>{{"pass_rate", 0.0}});
    CHECK(gate.confidence == 0.95);
  }

  SECTION("the [eval] metric is the headline") {
    const Prompt prompt = parse_prompt_ok(
        "template = \"Hello\"\n"
        "[eval]\n"
        "dataset = \"evals/p.jsonl\"\n"
        "metric = \"accuracy\"\n");
    const GateSpec gate = effective_gate(prompt, Config{});
    CHECK(gate.max_drop == std::map<std::string, double>{{"accuracy", 0.0}});
  }

  SECTION("confidence alone, in the prompt or the config, is not a threshold") {
    const Config config = parse_config_ok("[defaults.gate]\nconfidence = 0.9\n");
    const Prompt prompt = parse_prompt_ok(
        "template = \"Hello\"\n"
        "[eval]\n"
        "dataset = \"evals/p.jsonl\"\n"
        "metric = \"mean_score\"\n"
        "[gate]\n"
        "confidence = 0.99\n");
    const GateSpec gate = effective_gate(prompt, config);
    CHECK(gate.max_drop == std::map<std::string, double>{{"mean_score", 0.0}});
    CHECK(gate.confidence == 0.99);
    const GateSpec from_config = effective_gate(parse_prompt_ok("template = \"Hello\"\n"), config);
    CHECK(from_config.max_drop == std::map<std::string, double>{{"pass_rate", 0.0}});
    CHECK(from_config.confidence == 0.9);
  }

  SECTION("built from structs: a prompt's max_drop alone replaces the implicit gate") {
    Prompt prompt;
    prompt.eval.metric = "accuracy";
    prompt.gate.max_drop["pass_rate"] = 0.1;
    const GateSpec gate = effective_gate(prompt, Config{});
    CHECK(gate.max_drop == std::map<std::string, double>{{"pass_rate", 0.1}});
  }

  SECTION("the implicit gate fails a significant drop and passes an insignificant one") {
    const GateSpec gate = effective_gate(parse_prompt_ok("template = \"Hello\"\n"), Config{});
    // b=6, c=0: p = 2/64 < 0.05, drop 1 > 0
    CHECK_FALSE(judge(gate, result(k_six, "pppppp"), result(k_six, "ffffff")).passed);
    // b=1, c=0: p = 2 * 1/2 = 1, drop 1/6 > 0 but not significant
    CHECK(judge(gate, result(k_six, "pppppp"), result(k_six, "fppppp")).passed);
  }
}
