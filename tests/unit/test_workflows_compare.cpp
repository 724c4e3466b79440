// SPDX-License-Identifier: MIT
// compare's pairing and verdict on given per-case outcomes, and the checks of its two sides.
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/workflows/compare.hpp>

using namespace promptops;

namespace {

EvalResult result(const std::string& metric, double value, std::vector<std::string> ids, std::string outcomes,
                  std::vector<double> scores) {
  EvalResult r;
  r.metric = metric;
  r.value = value;
  r.case_ids = std::move(ids);
  r.outcomes = std::move(outcomes);
  r.scores = std::move(scores);
  return r;
}

git::Oid oid(char digit) { return *git::Oid::parse(std::string(40, digit)); }

CompareSide side(const std::string& text, std::optional<std::string> prompt, EvalTarget target) {
  return CompareSide{text, std::move(prompt), std::move(target), text + " (label)"};
}

}  // namespace

TEST_CASE("differing_cases pairs by id in B's order and skips ids on one side", "[compare]") {
  const EvalResult a = result("accuracy", 0, {"c1", "c2", "c3", "c4"}, "ppfe", {1, 1, 0, 0});
  const EvalResult b = result("accuracy", 0, {"c4", "c3", "c2", "c5"}, "pffp", {1, 0, 0, 1});
  const std::vector<Difference> d = differing_cases(a, b);
  REQUIRE(d.size() == 2);
  CHECK(d[0].id == "c4");
  CHECK(d[0].a == 'e');
  CHECK(d[0].b == 'p');
  CHECK(d[1].id == "c2");
  CHECK(d[1].a == 'p');
  CHECK(d[1].b == 'f');
}

TEST_CASE("analyse: a pass/fail drop on four cases is paired, tested and too small to show", "[compare]") {
  const EvalResult a = result("accuracy", 0.75, {"c1", "c2", "c3", "c4"}, "pppf", {1, 1, 1, 0});
  const EvalResult b = result("accuracy", 0.5, {"c1", "c2", "c3", "c4"}, "pffp", {1, 0, 0, 1});
  const Comparison c = analyse("greet", a, b, {});
  CHECK(c.prompt == "greet");
  REQUIRE(c.complete());
  CHECK(c.a->value == 0.75);
  CHECK(c.b->value == 0.5);
  REQUIRE(c.flips);
  CHECK(c.flips->pass_to_fail == std::vector<std::string>{"c2", "c3"});
  CHECK(c.flips->fail_to_pass == std::vector<std::string>{"c4"});
  CHECK(c.flips->both_pass == 1);
  REQUIRE(c.mcnemar);
  CHECK(c.mcnemar->b == 2);
  CHECK(c.mcnemar->c == 1);
  CHECK(c.mcnemar->p_value == 1.0);
  CHECK(c.paired == 4);
  CHECK_FALSE(c.grouped);
  CHECK(c.bootstrap.mean_a == 0.75);
  CHECK(c.bootstrap.mean_b == 0.5);
  CHECK(c.bootstrap.delta == -0.25);
  CHECK(c.bootstrap.resamples == k_compare_resamples);
  CHECK(c.sign_flip.p_value == 1.0);  // every pattern of three ±1 differences is as far from 0
  CHECK(c.sign_flip.discordant == 3);
  CHECK(c.sign_flip.exact);
  CHECK(c.too_few_cases);  // 3 changed cases: McNemar can never go below 0.25
  REQUIRE(c.differences.size() == 3);
  CHECK(c.differences[0].id == "c2");
  CHECK(c.differences[2].id == "c4");
  CHECK(c.differences[2].a == 'f');
  CHECK(c.differences[2].b == 'p');
  CHECK(c.records_a.empty());  // no results file: no records
}

TEST_CASE("analyse: eight cases that all drop are significant; groups flip together", "[compare]") {
  const std::vector<std::string> ids = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};
  const EvalResult a = result("mean_score", 1.0, ids, "pppppppp", std::vector<double>(8, 1.0));
  const EvalResult b = result("mean_score", 0.0, ids, "ffffffff", std::vector<double>(8, 0.0));
  SECTION("ungrouped") {
    const Comparison c = analyse("p", a, b, {});
    CHECK_FALSE(c.mcnemar);  // mean_score has no pass/fail test
    CHECK(c.sign_flip.p_value == 2.0 / 256.0);
    CHECK(c.sign_flip.clusters == 8);
    CHECK_FALSE(c.too_few_cases);
    CHECK(c.differences.size() == 8);
  }
  SECTION("in two groups: two clusters cannot show anything") {
    const Comparison c = analyse("p", a, b, {"g1", "g1", "g1", "g1", "g2", "g2", "g2", "g2"});
    CHECK(c.grouped);
    CHECK(c.sign_flip.clusters == 2);
    CHECK(c.sign_flip.p_value == 0.5);  // of the 4 sign patterns, both all-same ones are as far from 0
    CHECK(c.too_few_cases);
  }
}

TEST_CASE("check_sides refuses pairs that are not a comparison, with the kind and both sides", "[compare]") {
  const EvalTarget one = EvalTarget::at_commit(oid('1'), "one");
  const EvalTarget two = EvalTarget::at_commit(oid('2'), "two");
  const auto kind_of = [](const CompareSide& a, const CompareSide& b, const std::vector<std::string>& named,
                          const std::string& model) -> std::optional<CompareSidesError::Kind> {
    try {
      check_sides(a, b, named, model);
    } catch (const CompareSidesError& e) {
      CHECK(e.a.text == a.text);
      CHECK(e.b.text == b.text);
      CHECK(e.exit_code() == ExitCode::usage);
      return e.kind;
    }
    return std::nullopt;
  };
  using Kind = CompareSidesError::Kind;
  CHECK(kind_of(side("greet@v1", "greet", one), side("main", {}, two), {}, "") == Kind::one_prompt);
  CHECK(kind_of(side("greet@v1", "greet", one), side("bye@v2", "bye", two), {}, "") == Kind::different_prompts);
  CHECK(kind_of(side("greet@v1", "greet", one), side("greet@v2", "greet", two), {"x"}, "") ==
        Kind::names_with_prompt);
  CHECK(kind_of(side("main", {}, one), side("HEAD", {}, one), {}, "") == Kind::same);
  CHECK(kind_of(side("greet", "greet", EvalTarget::worktree()), side("greet", "greet", EvalTarget::worktree()), {},
                "") == Kind::same);
  // Allowed: two versions, two revisions with names, the same point on another model.
  CHECK_FALSE(kind_of(side("greet@v1", "greet", one), side("greet@v2", "greet", two), {}, ""));
  CHECK_FALSE(kind_of(side("main", {}, one), side("topic", {}, two), {"greet"}, ""));
  CHECK_FALSE(kind_of(side("greet", "greet", one), side("greet", "greet", one), {}, "small"));
  const CompareSidesError same(Kind::same, side("main", {}, one), side("HEAD", {}, one));
  CHECK(std::string(same.what()) == "A and B are the same (main (label))");
}
