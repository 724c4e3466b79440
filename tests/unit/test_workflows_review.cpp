// SPDX-License-Identifier: MIT
// review's metric rows for a prompt's check, from plain results, and the flipped cases.
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/workflows/review.hpp>

using namespace promptops;

namespace {

EvalResult result(const std::string& metric, double pass_rate, std::string outcomes, std::vector<double> scores) {
  EvalResult r;
  r.metric = metric;
  r.value = pass_rate;
  r.case_ids = {"c1", "c2", "c3", "c4"};
  r.outcomes = std::move(outcomes);
  r.scores = std::move(scores);
  r.metrics.cases = 4;
  r.metrics.pass_rate = pass_rate;
  r.metrics.pass_rate_ci = Interval{pass_rate - 0.25, pass_rate + 0.25};
  double total = 0.0;
  for (const double s : r.scores) {
    total += s;
  }
  r.metrics.mean_score = total / 4.0;
  return r;
}

PromptCheck check_of(const std::string& metric) {
  PromptCheck check;
  check.prompt = "greet";
  check.baseline = result(metric, 0.75, "pppf", {1, 1, 1, 0});
  check.candidate = result(metric, 0.5, "pffp", {1, 0, 0, 1});
  return check;
}

}  // namespace

TEST_CASE("metric_rows: the headline and mean_score with their paired tests, then latency", "[review]") {
  PromptCheck check = check_of("pass_rate");
  check.candidate->metrics.latency = LatencySummary{4, 410.0, 400.0, 500.0, 500.0, 500.0};
  const std::vector<MetricRow> rows = metric_rows(check, {});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "pass_rate");
  CHECK(rows[0].base == 0.75);
  CHECK(rows[0].head == 0.5);
  REQUIRE(rows[0].base_interval);
  CHECK(rows[0].base_interval->low == 0.5);
  CHECK(rows[0].head_interval->high == 0.75);
  CHECK(rows[0].test == "mcnemar");
  CHECK(rows[0].p_value == 1.0);
  CHECK(rows[0].smallest_p == 0.25);  // three changed cases
  CHECK(rows[0].too_few);
  CHECK(rows[1].name == "mean_score");
  CHECK(rows[1].base == 0.75);
  CHECK(rows[1].head == 0.5);
  CHECK_FALSE(rows[1].base_interval);
  CHECK(rows[1].test == "sign_flip");
  CHECK(rows[1].p_value == 1.0);
  CHECK(rows[1].smallest_p == 0.25);
  CHECK(rows[1].too_few);
  CHECK(rows[2].name == "latency p50");
  CHECK(rows[2].millis);
  CHECK(rows[2].head == 400.0);
  CHECK_FALSE(rows[2].base);  // no latency at the base
  CHECK_FALSE(rows[2].p_value);
}

TEST_CASE("metric_rows: accuracy equal to pass_rate hides it; cost when spent; the gate's test wins",
          "[review]") {
  PromptCheck check = check_of("accuracy");
  check.baseline->metrics.cost = 0.012;
  GateVerdict verdict;
  verdict.confidence = 0.9;
  MetricCheck gated;
  gated.metric = "accuracy";
  gated.test = "sign_flip";
  gated.p_value = 0.04;
  gated.too_few_cases = false;
  verdict.checks.push_back(gated);
  check.verdict = verdict;
  const std::vector<MetricRow> rows = metric_rows(check, {});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "accuracy");
  CHECK(rows[0].p_value == 0.04);
  CHECK(rows[0].test == "sign_flip");
  CHECK_FALSE(rows[0].too_few);
  CHECK(rows[1].name == "mean_score");  // pass_rate said the same as accuracy
  CHECK(rows[2].name == "cost");
  CHECK(rows[2].money);
  CHECK(rows[2].base == 0.012);
  CHECK(rows[2].head == 0.0);
}

TEST_CASE("metric_rows: a new prompt has values and no test; no candidate, no rows", "[review]") {
  PromptCheck check = check_of("pass_rate");
  check.baseline.reset();
  std::vector<MetricRow> rows = metric_rows(check, {});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].head == 0.5);
  CHECK_FALSE(rows[0].base);
  CHECK_FALSE(rows[0].p_value);
  CHECK(rows[0].test.empty());
  CHECK_FALSE(rows[0].too_few);
  check.candidate.reset();
  CHECK(metric_rows(check, {}).empty());
}

TEST_CASE("flipped_cases lists pass -> fail then fail -> pass, at most `limit` of each", "[review]") {
  const PromptCheck check = check_of("pass_rate");
  const FlippedCases all = flipped_cases(*check.baseline, *check.candidate, 0);
  CHECK(all.pass_to_fail == 2);
  CHECK(all.fail_to_pass == 1);
  REQUIRE(all.cases.size() == 3);
  CHECK(all.cases[0].id == "c2");
  CHECK_FALSE(all.cases[0].now_passing);
  CHECK(all.cases[2].id == "c4");
  CHECK(all.cases[2].now_passing);
  CHECK_FALSE(all.cases[0].before);  // no results file: nothing recorded
  const FlippedCases one = flipped_cases(*check.baseline, *check.candidate, 1);
  CHECK(one.total() == 3);
  REQUIRE(one.cases.size() == 2);
  CHECK(one.cases[0].id == "c2");
  CHECK(one.cases[1].id == "c4");
}
