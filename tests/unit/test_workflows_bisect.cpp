// SPDX-License-Identifier: MIT
// Unit tests for the steps of bisect that need no repository or model: which ends to evaluate,
// which version to probe next, and the judgement of one version.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <promptops/workflows/bisect.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/workflows/gate.hpp>

#include "workflows/bisect_phases.hpp"

using namespace promptops;
using namespace promptops::bisect_phases;
using Verdict = BisectVersion::Verdict;

namespace {

// `n` versions, none evaluated; `known` (indices) have a result, `untestable` cannot be evaluated.
std::vector<BisectVersion> versions(std::size_t n, const std::vector<std::size_t>& known = {},
                                    const std::vector<std::size_t>& untestable = {}) {
  std::vector<BisectVersion> out(n);
  for (const std::size_t i : known) {
    out[i].result = EvalResult{};
    out[i].source = "cache";
  }
  for (const std::size_t i : untestable) {
    out[i].verdict = Verdict::untestable;
  }
  return out;
}

// An evaluation by hand: one case per outcome ('p' pass, 'f' fail), pass_rate from them.
EvalResult result(const std::string& outcomes) {
  EvalResult r;
  r.metric = "pass_rate";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    r.case_ids.push_back("c" + std::to_string(i));
  }
  r.outcomes = outcomes;
  r.metrics.cases = outcomes.size();
  for (const char c : outcomes) {
    r.metrics.passed += c == 'p' ? 1 : 0;
  }
  r.metrics.failed = r.metrics.cases - r.metrics.passed;
  r.metrics.pass_rate = static_cast<double>(r.metrics.passed) / static_cast<double>(outcomes.size());
  r.value = r.metrics.pass_rate;
  return r;
}

GateSpec min_gate(double min) {
  GateSpec gate;
  gate.min["pass_rate"] = min;
  return gate;
}

GateSpec drop_gate(double max_drop) {
  GateSpec gate;
  gate.max_drop["pass_rate"] = max_drop;
  return gate;
}

}  // namespace

TEST_CASE("bisect takes the ends as given unless asked, known, or measured from", "[workflows][bisect]") {
  const GateSpec threshold = min_gate(0.5);
  SECTION("a threshold, nothing known: neither end, as git bisect run") {
    const Ends ends = ends_to_evaluate(versions(50), threshold, false, false);
    CHECK_FALSE(ends.good);
    CHECK_FALSE(ends.bad);
  }
  SECTION("--verify: both") {
    const Ends ends = ends_to_evaluate(versions(50), threshold, true, false);
    CHECK(ends.good);
    CHECK(ends.bad);
  }
  SECTION("--all: both") {
    const Ends ends = ends_to_evaluate(versions(50), threshold, false, true);
    CHECK(ends.good);
    CHECK(ends.bad);
  }
  SECTION("an end whose result is cached costs nothing: it is judged") {
    const Ends bad_known = ends_to_evaluate(versions(50, {49}), threshold, false, false);
    CHECK_FALSE(bad_known.good);
    CHECK(bad_known.bad);
    const Ends good_known = ends_to_evaluate(versions(50, {0}), threshold, false, false);
    CHECK(good_known.good);
    CHECK_FALSE(good_known.bad);
  }
  SECTION("a max_drop measures from the good side: the good side only") {
    const Ends ends = ends_to_evaluate(versions(50), drop_gate(0.05), false, false);
    CHECK(ends.good);
    CHECK_FALSE(ends.bad);
  }
}

TEST_CASE("bisect probes the middle, a known version first, and never an untestable one",
          "[workflows][bisect]") {
  SECTION("nothing known: the middle, the lower index on a tie") {
    CHECK(probe(versions(10), 0, 9) == std::optional<std::size_t>(4));
    CHECK(probe(versions(10), 4, 9) == std::optional<std::size_t>(6));
    CHECK(probe(versions(10), 4, 6) == std::optional<std::size_t>(5));
    CHECK(probe(versions(50), 0, 49) == std::optional<std::size_t>(24));
  }
  SECTION("of two equally good middles, the known one") {
    CHECK(probe(versions(10, {5}), 0, 9) == std::optional<std::size_t>(5));
  }
  SECTION("a known version anywhere in the interval before an unknown middle (it costs nothing)") {
    CHECK(probe(versions(10, {1, 8}), 0, 9) == std::optional<std::size_t>(1));
    CHECK(probe(versions(10, {1, 7}), 0, 9) == std::optional<std::size_t>(7));  // 7 is nearer 4.5
    CHECK(probe(versions(10, {2, 7}), 0, 9) == std::optional<std::size_t>(2));  // a tie: the lower
    CHECK(probe(versions(10, {0, 9}), 0, 9) == std::optional<std::size_t>(4));   // the ends are outside
  }
  SECTION("untestable versions are skipped") {
    CHECK(probe(versions(10, {}, {4}), 0, 9) == std::optional<std::size_t>(5));
    CHECK(probe(versions(10, {5}, {5}), 0, 9) == std::optional<std::size_t>(4));
    CHECK(probe(versions(5, {}, {1, 2, 3}), 0, 4) == std::nullopt);
  }
  SECTION("neighbours: nothing between") {
    CHECK(probe(versions(10), 5, 6) == std::nullopt);
    CHECK(probe(versions(10, {5}), 5, 6) == std::nullopt);
  }
  SECTION("50 versions between given ends: at most ceil(log2 49) = 6 probes, wherever the boundary") {
    for (std::size_t first_bad = 1; first_bad < 50; ++first_bad) {
      std::size_t lo = 0;
      std::size_t hi = 49;
      std::size_t probes = 0;
      const std::vector<BisectVersion> none = versions(50);
      while (const std::optional<std::size_t> next = probe(none, lo, hi)) {
        ++probes;
        (*next >= first_bad ? hi : lo) = *next;
      }
      INFO("first bad " << first_bad);
      CHECK(hi == first_bad);
      CHECK(lo == first_bad - 1);
      CHECK(probes <= 6);
    }
  }
}

TEST_CASE("bisect judges a version by a threshold or a maximum drop", "[workflows][bisect]") {
  const EvalResult all = result("pppppppp");
  const EvalResult quarter = result("ppffffff");
  const EvalResult one_less = result("pppppppf");
  SECTION("a threshold: bad below it, no baseline needed") {
    const Judgement low = judge_version(min_gate(0.5), std::nullopt, quarter, {}, false);
    CHECK(low.bad);
    REQUIRE(low.verdict.checks.size() == 1);
    CHECK(low.verdict.checks[0].below_min);
    CHECK_FALSE(judge_version(min_gate(0.5), std::nullopt, all, {}, false).bad);
    CHECK_FALSE(judge_version(min_gate(0.25), std::nullopt, quarter, {}, false).bad);  // at the threshold
  }
  SECTION("a plain maximum drop: any drop beyond it") {
    CHECK(judge_version(drop_gate(0.1), all, one_less, {}, true).bad);        // 0.125 > 0.1
    CHECK_FALSE(judge_version(drop_gate(0.2), all, one_less, {}, true).bad);  // 0.125 <= 0.2
  }
  SECTION("a significant maximum drop: only when the paired test says so") {
    // One case flipped: McNemar p = 1, not significant; six flipped: p = 0.03125 < 0.05.
    const Judgement one = judge_version(drop_gate(0.1), all, one_less, {}, false);
    CHECK_FALSE(one.bad);
    REQUIRE(one.verdict.checks.size() == 1);
    CHECK(one.verdict.checks[0].drop_exceeded);
    CHECK_FALSE(one.verdict.checks[0].significant);
    const Judgement six = judge_version(drop_gate(0.1), all, quarter, {}, false);
    CHECK(six.bad);
    REQUIRE(six.verdict.checks[0].p_value);
    CHECK(*six.verdict.checks[0].p_value == Approx(0.03125));
  }
  SECTION("--all: a new drop is one the predecessor did not already fail") {
    const Judgement before = judge_version(min_gate(0.5), std::nullopt, quarter, {}, false);
    const Judgement now = judge_version(min_gate(0.5), std::nullopt, result("pfffffff"), {}, false);
    CHECK_FALSE(is_new_drop(now.verdict, before.verdict, false));  // already below the min
    const Judgement good = judge_version(min_gate(0.5), std::nullopt, all, {}, false);
    CHECK(is_new_drop(now.verdict, good.verdict, false));
  }
}
