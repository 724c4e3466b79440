// SPDX-License-Identifier: MIT
// Unit tests for eval metrics: Wilson intervals, percentiles, label metrics and the accumulator.
#include <catch2/catch.hpp>

#include <promptops/eval/metrics.hpp>

using namespace promptops;

TEST_CASE("wilson_interval matches hand-computed bounds", "[eval]") {
  SECTION("8 of 10 at 95%") {
    const Interval ci = wilson_interval(8, 10);
    CHECK(ci.low == Approx(0.4902).margin(1e-4));
    CHECK(ci.high == Approx(0.9433).margin(1e-4));
  }
  SECTION("10 of 10 reaches 1") {
    const Interval ci = wilson_interval(10, 10);
    CHECK(ci.low == Approx(0.7225).margin(1e-4));
    CHECK(ci.high == Approx(1.0).margin(1e-12));
  }
  SECTION("0 of 10 starts at 0") {
    const Interval ci = wilson_interval(0, 10);
    CHECK(ci.low == Approx(0.0).margin(1e-12));
    CHECK(ci.high == Approx(0.2775).margin(1e-4));
  }
  SECTION("0 of 0 knows nothing") {
    const Interval ci = wilson_interval(0, 0);
    CHECK(ci.low == 0.0);
    CHECK(ci.high == 1.0);
  }
  SECTION("a smaller z narrows the interval") {
    const Interval ci = wilson_interval(8, 10, 1.0);
    CHECK(ci.low > 0.4902);
    CHECK(ci.high < 0.9433);
  }
}

TEST_CASE("percentile interpolates linearly between closest ranks", "[eval]") {
  const std::vector<double> values{40, 10, 30, 20};
  CHECK(*percentile(values, 50) == Approx(25.0));
  CHECK(*percentile(values, 95) == Approx(38.5));
  CHECK(*percentile(values, 99) == Approx(39.7));
  CHECK(*percentile(values, 0) == Approx(10.0));
  CHECK(*percentile(values, 100) == Approx(40.0));
  CHECK(*percentile({7.0}, 95) == Approx(7.0));
  CHECK_FALSE(percentile({}, 50).has_value());
}

TEST_CASE("mean of scores", "[eval]") {
  CHECK(mean({1.0, 0.0, 0.5, 0.5}) == Approx(0.5));
  CHECK(mean({}) == 0.0);
}

TEST_CASE("label_metrics of a 3-label confusion matrix", "[eval]") {
  // a->a x2, a->b x1, b->b x3, c->a x1, c->b x1: "c" is never predicted.
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"a", "a"}, {"a", "a"}, {"a", "b"}, {"b", "b"}, {"b", "b"}, {"b", "b"}, {"c", "a"}, {"c", "b"}};
  const LabelMetrics m = label_metrics(pairs);
  CHECK(m.confusion.labels == std::vector<std::string>{"a", "b", "c"});
  CHECK(m.confusion.counts == std::vector<std::vector<std::size_t>>{{2, 1, 0}, {0, 3, 0}, {1, 1, 0}});
  CHECK(m.total == 8);
  CHECK(m.correct == 5);
  CHECK(m.accuracy == Approx(0.625));
  REQUIRE(m.per_label.size() == 3);

  SECTION("a: P 2/3, R 2/3, F1 2/3") {
    CHECK(m.per_label[0].support == 3);
    CHECK(m.per_label[0].predicted == 3);
    CHECK(m.per_label[0].precision == Approx(2.0 / 3.0));
    CHECK(m.per_label[0].recall == Approx(2.0 / 3.0));
    CHECK(m.per_label[0].f1 == Approx(2.0 / 3.0));
  }
  SECTION("b: P 3/5, R 1, F1 0.75") {
    CHECK(m.per_label[1].precision == Approx(0.6));
    CHECK(m.per_label[1].recall == Approx(1.0));
    CHECK(m.per_label[1].f1 == Approx(0.75));
  }
  SECTION("c, never predicted: P 0 (zero_division=0), R 0, F1 0") {
    CHECK(m.per_label[2].support == 2);
    CHECK(m.per_label[2].predicted == 0);
    CHECK(m.per_label[2].precision == 0.0);
    CHECK(m.per_label[2].recall == 0.0);
    CHECK(m.per_label[2].f1 == 0.0);
  }
  SECTION("macro-F1 averages every label") { CHECK(m.macro_f1 == Approx((2.0 / 3.0 + 0.75 + 0.0) / 3.0)); }
  SECTION("a label only predicted counts with recall 0") {
    const std::vector<std::pair<std::string, std::string>> extra_pairs{{"a", "a"}, {"a", "z"}};
    const LabelMetrics extra = label_metrics(extra_pairs);
    CHECK(extra.confusion.labels == std::vector<std::string>{"a", "z"});
    CHECK(extra.per_label[1].precision == 0.0);
    CHECK(extra.per_label[1].recall == 0.0);
    CHECK(extra.macro_f1 == Approx((2.0 / 3.0) / 2.0));
  }
}

TEST_CASE("MetricsAccumulator aggregates outcomes one at a time", "[eval]") {
  MetricsAccumulator accumulator;
  SECTION("no cases") {
    const Metrics m = accumulator.metrics();
    CHECK(m.cases == 0);
    CHECK(m.pass_rate == 0.0);
    CHECK_FALSE(m.labels.has_value());
    CHECK_FALSE(m.latency.has_value());
    CHECK(m.to_json().at("latency_ms").is_null());
    CHECK(m.to_json().at("pass_rate_ci") == nlohmann::json::array({0.0, 1.0}));
  }
  SECTION("counts, labels, cost and latency") {
    const std::vector<double> latencies{10, 20, 30, 40};
    const std::vector<std::pair<std::string, std::string>> labels{
        {"a", "a"}, {"a", "b"}, {"b", "b"}, {"b", "b"}};
    for (std::size_t i = 0; i < 4; ++i) {
      CaseOutcome outcome;
      outcome.pass = labels[i].first == labels[i].second;
      outcome.score = outcome.pass ? 1.0 : 0.25;
      outcome.expected_label = labels[i].first;
      outcome.predicted_label = labels[i].second;
      outcome.tokens_in = 100;
      outcome.tokens_out = 10;
      outcome.cost = 0.5;
      outcome.latency_ms = latencies[i];
      outcome.had_real_call = i % 2 == 0;
      accumulator.add(outcome);
    }
    CaseOutcome unlabeled;  // no expected label, no latency: only the counters move
    unlabeled.pass = true;
    unlabeled.score = 1.0;
    accumulator.add(unlabeled);

    const Metrics m = accumulator.metrics();
    CHECK(m.cases == 5);
    CHECK(m.passed == 4);
    CHECK(m.failed == 1);
    CHECK(m.pass_rate == Approx(0.8));
    CHECK(m.mean_score == Approx(4.25 / 5.0));
    CHECK(m.tokens_in == 400);
    CHECK(m.tokens_out == 40);
    CHECK(m.cost == Approx(2.0));
    CHECK(m.cost_spent == Approx(1.0));
    CHECK(m.real_calls == 2);
    CHECK(m.cached == 3);
    REQUIRE(m.latency.has_value());
    CHECK(m.latency->count == 4);
    CHECK(m.latency->mean_ms == Approx(25.0));
    CHECK(m.latency->p50_ms == Approx(25.0));
    CHECK(m.latency->p95_ms == Approx(38.5));
    CHECK(m.latency->p99_ms == Approx(39.7));
    CHECK(m.latency->max_ms == 40.0);
    REQUIRE(m.labels.has_value());
    CHECK(m.labels->total == 4);
    CHECK(m.labels->accuracy == Approx(0.75));
    CHECK(m.labels->confusion.counts == std::vector<std::vector<std::size_t>>{{1, 1}, {0, 2}});

    const nlohmann::json j = m.to_json();
    CHECK(j.at("cases") == 5);
    CHECK(j.at("labels").at("confusion").at("labels") == nlohmann::json::array({"a", "b"}));
    CHECK(j.at("labels").at("confusion").at("counts") == nlohmann::json::parse("[[1,1],[0,2]]"));
    CHECK(j.at("labels").at("per_label").at(1).at("label") == "b");
    CHECK(j.at("labels").at("per_label").at(1).at("precision").get<double>() == Approx(2.0 / 3.0));
    CHECK(j.at("latency_ms").at("p95").get<double>() == Approx(38.5));
    CHECK(j.at("pass_rate_ci").size() == 2);
  }
}
