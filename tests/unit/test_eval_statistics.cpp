// SPDX-License-Identifier: MIT
// Unit tests for paired statistics: exact McNemar, flips by case id and the paired bootstrap.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <promptops/util/error.hpp>
#include <promptops/eval/statistics.hpp>

using namespace promptops;

using Ids = std::vector<std::string>;

TEST_CASE("mcnemar_exact matches hand-computed binomial tails", "[statistics]") {
  SECTION("b=1, c=9: 2 * (1 + 10) / 1024") {
    const McNemar m = mcnemar_exact(1, 9);
    CHECK(m.b == 1);
    CHECK(m.c == 9);
    CHECK(m.p_value == Approx(22.0 / 1024.0).epsilon(1e-12));
  }
  SECTION("the test is symmetric in b and c") {
    CHECK(mcnemar_exact(9, 1).p_value == Approx(22.0 / 1024.0).epsilon(1e-12));
  }
  SECTION("b=0, c=6: 2 / 64") { CHECK(mcnemar_exact(0, 6).p_value == Approx(0.03125).epsilon(1e-12)); }
  SECTION("b=10, c=20: 2 * P(X <= 10) for n=30, from exact integers") {
    CHECK(mcnemar_exact(10, 20).p_value == Approx(0.0987371467053890228).epsilon(1e-12));
  }
  SECTION("no discordant pairs gives 1") {
    const McNemar m = mcnemar_exact(0, 0);
    CHECK(m.p_value == 1.0);
  }
  SECTION("b == c is capped at 1") {
    CHECK(mcnemar_exact(5, 5).p_value == 1.0);
    CHECK(mcnemar_exact(1, 1).p_value == 1.0);
  }
  SECTION("nearly balanced counts are capped at 1") { CHECK(mcnemar_exact(4, 5).p_value == 1.0); }
  SECTION("n = 100,000 stays finite and matches the exact tail") {
    // 2 * P(X <= 49000) for X ~ Binomial(100000, 0.5), from exact integer arithmetic.
    const double p = mcnemar_exact(49000, 51000).p_value;
    CHECK(std::isfinite(p));
    CHECK(p > 0.0);
    CHECK(p < 1.0);
    CHECK(p == Approx(2.58871603834689788e-10).epsilon(1e-10));
  }
  SECTION("n = 1000 matches the exact tail") {
    CHECK(mcnemar_exact(550, 450).p_value == Approx(0.00173053608497631761).epsilon(1e-10));
  }
}

TEST_CASE("flips pairs cases by id", "[statistics]") {
  SECTION("same ids in another order, in B's order") {
    const Flips f = flips(Ids{"a", "b", "c", "d", "e"}, "pfpfp", Ids{"e", "d", "c", "b", "a"}, "fpfpp");
    // a: p->p, b: f->p, c: p->f, d: f->p, e: p->f
    CHECK(f.pass_to_fail == Ids{"e", "c"});
    CHECK(f.fail_to_pass == Ids{"d", "b"});
    CHECK(f.both_pass == 1);
    CHECK(f.both_fail == 0);
    CHECK(f.skipped == 0);
  }
  SECTION("ids on one side only are skipped once each") {
    const Flips f = flips(Ids{"1", "2", "3"}, "ppf", Ids{"2", "3", "4", "5"}, "fffp");
    // 1 only in A, 4 and 5 only in B; 2: p->f, 3: f->f
    CHECK(f.pass_to_fail == Ids{"2"});
    CHECK(f.fail_to_pass.empty());
    CHECK(f.both_pass == 0);
    CHECK(f.both_fail == 1);
    CHECK(f.skipped == 3);
  }
  SECTION("'e' on either side is skipped and 'x' counts as a fail") {
    const Flips f =
        flips(Ids{"a", "b", "c", "d", "e", "f"}, "epxpxx", Ids{"a", "b", "c", "d", "e", "f"}, "pexxpf");
    // a: e, b: e, c: x->x fail/fail, d: p->x pass->fail, e: x->p fail->pass, f: x->f fail/fail
    CHECK(f.skipped == 2);
    CHECK(f.both_fail == 2);
    CHECK(f.pass_to_fail == Ids{"d"});
    CHECK(f.fail_to_pass == Ids{"e"});
    CHECK(f.both_pass == 0);
  }
  SECTION("no cases") {
    const Flips f = flips({}, "", {}, "");
    CHECK(f.pass_to_fail.empty());
    CHECK(f.fail_to_pass.empty());
    CHECK(f.both_pass + f.both_fail + f.skipped == 0);
  }
  SECTION("bad input throws") {
    CHECK_THROWS_AS(flips(Ids{"a", "b"}, "p", Ids{"a"}, "p"), Error);
    CHECK_THROWS_AS(flips(Ids{"a"}, "p", Ids{"a"}, "q"), Error);
    CHECK_THROWS_AS(flips(Ids{"a", "a"}, "pp", Ids{"a"}, "p"), Error);
    CHECK_THROWS_AS(flips(Ids{"a"}, "p", Ids{"a", "a"}, "pf"), Error);
  }
}

TEST_CASE("mcnemar_exact on flips", "[statistics]") {
  const Flips f = flips(Ids{"a", "b", "c", "d", "e", "f", "g"}, "pffffff",
                        Ids{"a", "b", "c", "d", "e", "f", "g"}, "fpppppp");
  const McNemar m = mcnemar_exact(f.pass_to_fail.size(), f.fail_to_pass.size());
  CHECK(m.b == 1);
  CHECK(m.c == 6);
  // 2 * (1 + 7) / 128
  CHECK(m.p_value == Approx(16.0 / 128.0).epsilon(1e-12));
}

TEST_CASE("paired_bootstrap analytic properties", "[statistics]") {
  const std::vector<double> a{0.0, 0.5, 1.0, 1.0, 0.25, 0.75, 0.5, 0.0};

  SECTION("identical runs: delta 0, interval [0, 0], p 1") {
    const BootstrapResult r = paired_bootstrap(a, a, {}, 2000);
    CHECK(r.mean_a == 0.5);
    CHECK(r.mean_b == 0.5);
    CHECK(r.delta == 0.0);
    CHECK(r.low == 0.0);
    CHECK(r.high == 0.0);
    CHECK(r.p_value == 1.0);
    CHECK(r.resamples == 2000);
  }
  SECTION("a constant shift gives that shift as a point interval") {
    std::vector<double> b;
    for (const double x : a) {
      b.push_back(x + 0.1);
    }
    const BootstrapResult r = paired_bootstrap(a, b, {}, 2000);
    CHECK(r.delta == Approx(0.1).margin(1e-12));
    CHECK(r.low == Approx(0.1).margin(1e-12));
    CHECK(r.high == Approx(0.1).margin(1e-12));
    // No resample went the other way, which 2000 resamples cannot tell from p = 1/2001.
    CHECK(r.p_value == 1.0 / 2001.0);
  }
  SECTION("means are exact and delta is mean_b - mean_a") {
    const std::vector<double> b{1.0, 1.0, 0.5, 1.0, 0.25, 1.0, 0.5, 0.75};
    const BootstrapResult r = paired_bootstrap(a, b, {});
    CHECK(r.mean_a == 0.5);
    CHECK(r.mean_b == 0.75);
    CHECK(r.delta == 0.25);
    CHECK(r.low <= r.delta);
    CHECK(r.high >= r.delta);
    CHECK(r.low < r.high);
    CHECK(r.resamples == 10000);
    CHECK(r.p_value >= 0.0);
    CHECK(r.p_value <= 1.0);
  }
  SECTION("one cluster: the resamples show no spread, so p is 1 (not 0)") {
    const std::vector<std::string> one(a.size(), "g");
    std::vector<double> b;
    for (const double x : a) {
      b.push_back(x - 0.25);
    }
    const BootstrapResult r = paired_bootstrap(a, b, one, 500);
    CHECK(r.delta == -0.25);
    CHECK(r.p_value == 1.0);
    CHECK(r.resamples == 500);
  }
  SECTION("no cases") {
    const BootstrapResult r = paired_bootstrap({}, {}, {});
    CHECK(r.delta == 0.0);
    CHECK(r.low == 0.0);
    CHECK(r.high == 0.0);
    CHECK(r.p_value == 1.0);
    CHECK(r.resamples == 0);
  }
  SECTION("bad input throws") {
    CHECK_THROWS_AS(paired_bootstrap({1.0, 0.0}, {1.0}, {}), Error);
    CHECK_THROWS_AS(paired_bootstrap({1.0, 0.0}, {1.0, 1.0}, {"g"}), Error);
    CHECK_THROWS_AS(paired_bootstrap({1.0}, {1.0}, {}, 0), Error);
    CHECK_THROWS_AS(paired_bootstrap({1.0}, {1.0}, {}, 100, 1, 1.0), Error);
    CHECK_THROWS_AS(paired_bootstrap({1.0}, {1.0}, {}, 100, 1, 0.0), Error);
  }
}

TEST_CASE("paired_bootstrap is reproducible from its seed", "[statistics]") {
  const std::vector<double> a{0.1, 0.9, 0.4, 0.6, 0.3, 0.8, 0.2, 0.7, 0.5, 0.0};
  const std::vector<double> b{0.3, 0.8, 0.9, 0.6, 0.1, 0.9, 0.6, 0.7, 0.4, 0.5};
  const BootstrapResult first = paired_bootstrap(a, b, {}, 1000, 7);
  const BootstrapResult again = paired_bootstrap(a, b, {}, 1000, 7);
  CHECK(first.low == again.low);
  CHECK(first.high == again.high);
  CHECK(first.p_value == again.p_value);
  const BootstrapResult other = paired_bootstrap(a, b, {}, 1000, 8);
  CHECK(other.delta == first.delta);
  CHECK((other.low != first.low || other.high != first.high || other.p_value != first.p_value));
}

TEST_CASE("paired_bootstrap matches an independent reference implementation", "[statistics]") {
  // Computed by a separate Python implementation of SplitMix64-seeded xoshiro256**, rejection
  // sampling below 2^64 mod n and numpy-style percentiles. The differences are multiples of 1/4,
  // so every resampled delta is exact: sorted they are -9/16, -9/16, -3/8, -3/16, -1/8, 0, 1/8,
  // 1/4, 1.
  const BootstrapResult r = paired_bootstrap({0.0, 0.5, 1.0, 0.25}, {1.0, 0.5, 0.25, 0.0}, {}, 9, 42, 0.8);
  CHECK(r.mean_a == 0.4375);
  CHECK(r.mean_b == 0.4375);
  CHECK(r.delta == 0.0);
  CHECK(r.low == -0.5625);                               // rank 0.8: -9/16 + 0 * 0.8
  CHECK(r.high == Approx(0.4).epsilon(1e-12));           // rank 7.2: 1/4 + (1 - 1/4) * 0.2
  CHECK(r.p_value == Approx(8.0 / 9.0).epsilon(1e-12));  // 4 of 9 are >= 0, 6 of 9 are <= 0
  CHECK(r.resamples == 9);
}

TEST_CASE("paired_bootstrap resamples groups together", "[statistics]") {
  // 10 groups of 5 cases; within a group every case moves the same way, +1 in the first five
  // groups and -1 in the others. Cases alone look like 50 independent draws; groups are only 10.
  std::vector<double> a;
  std::vector<double> b;
  std::vector<std::string> groups;
  for (int group = 0; group < 10; ++group) {
    for (int i = 0; i < 5; ++i) {
      a.push_back(0.5);
      b.push_back(group < 5 ? 1.5 : -0.5);
      groups.push_back("g" + std::to_string(group));
    }
  }
  const BootstrapResult ungrouped = paired_bootstrap(a, b, {}, 4000, 3);
  const BootstrapResult grouped = paired_bootstrap(a, b, groups, 4000, 3);
  CHECK(grouped.delta == ungrouped.delta);
  CHECK(grouped.delta == Approx(0.0).margin(1e-12));
  // Standard errors are 1/sqrt(50) = 0.14 and 1/sqrt(10) = 0.32: the interval more than doubles.
  CHECK(grouped.high - grouped.low > 1.8 * (ungrouped.high - ungrouped.low));

  SECTION("empty groups are clusters of their own") {
    const std::vector<std::string> none(a.size());
    const BootstrapResult alone = paired_bootstrap(a, b, none, 4000, 3);
    CHECK(alone.low == ungrouped.low);
    CHECK(alone.high == ungrouped.high);
    CHECK(alone.p_value == ungrouped.p_value);
  }
}

TEST_CASE("smallest_p_value is 2 * 2^-n for n changed cases", "[statistics]") {
  CHECK(smallest_p_value(0) == 1.0);
  CHECK(smallest_p_value(1) == 1.0);
  CHECK(smallest_p_value(2) == 0.5);
  CHECK(smallest_p_value(5) == 0.0625);   // not below 0.05: 5 changed cases can never be significant
  CHECK(smallest_p_value(6) == 0.03125);  // 6 can
  CHECK(smallest_p_value(5000) == 0.0);   // underflows, but does not overflow the exponent
  // It is the p of n flips all one way, for McNemar as for the sign-flip test.
  CHECK(mcnemar_exact(5, 0).p_value == smallest_p_value(5));
}

namespace {

// n cases that pass in A (1) and fail in B (0), then `same` cases that pass on both sides.
std::pair<std::vector<double>, std::vector<double>> pass_to_fail(std::size_t n, std::size_t same = 0) {
  std::vector<double> a(n + same, 1.0);
  std::vector<double> b(n, 0.0);
  b.resize(n + same, 1.0);
  return {a, b};
}

}  // namespace

TEST_CASE("paired_sign_flip matches hand-counted sign patterns", "[statistics]") {
  SECTION("5 cases all down: 2 of the 32 patterns are as extreme, p = 0.0625 as McNemar") {
    // The bootstrap of the same 5 cases gives about 2/10001: its resamples are all -1.
    const auto [a, b] = pass_to_fail(5);
    const SignFlipResult r = paired_sign_flip(a, b, {});
    CHECK(r.delta == -1.0);
    CHECK(r.p_value == 0.0625);
    CHECK(r.p_value == mcnemar_exact(5, 0).p_value);
    CHECK(r.clusters == 5);
    CHECK(r.discordant == 5);
    CHECK(r.exact);
    CHECK(r.resamples == 0);
    CHECK(r.min_p_value == 0.0625);
    CHECK(paired_bootstrap(a, b, {}).p_value < 0.001);
  }
  SECTION("unchanged cases change no pattern: 6 down among 10 gives 2/64") {
    const auto [a, b] = pass_to_fail(6, 4);
    const SignFlipResult r = paired_sign_flip(a, b, {});
    CHECK(r.delta == -0.6);
    CHECK(r.p_value == 0.03125);
    CHECK(r.clusters == 10);
    CHECK(r.discordant == 6);
    CHECK(r.min_p_value == 0.03125);
  }
  SECTION("6 down, 1 up: sums 7 - 2k with |7 - 2k| >= 5 for k in {0, 1, 6, 7}: 16/128") {
    std::vector<double> a(7, 1.0);
    std::vector<double> b{0, 0, 0, 0, 0, 0, 1};
    a.back() = 0.0;
    CHECK(paired_sign_flip(a, b, {}).p_value == 0.125);
    CHECK(mcnemar_exact(6, 1).p_value == Approx(0.125).epsilon(1e-12));
  }
  SECTION("scores: d = -0.3, -0.1, -0.2, -0.05, -0.4, +0.15, T = -0.9") {
    // sum |d| = 1.2, so a pattern reaches |T| = 0.9 when the mass on its minority side is at
    // most 0.15: {}, {0.05}, {0.1}, {0.15}, {0.05, 0.1}, each on either side: 10 of 64.
    const std::vector<double> a{0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
    const std::vector<double> b{0.6, 0.7, 0.5, 0.55, 0.1, 0.55};
    const SignFlipResult r = paired_sign_flip(a, b, {});
    CHECK(r.delta == Approx(-0.15).epsilon(1e-12));
    CHECK(r.p_value == 10.0 / 64.0);
  }
  SECTION("d = -0.5, -0.25, +0.125: |T| = 0.625 is reached by 0.875 and 0.625 on either side, 4/8") {
    const SignFlipResult r = paired_sign_flip({1.0, 1.0, 0.0}, {0.5, 0.75, 0.125}, {});
    CHECK(r.p_value == 0.5);
  }
  SECTION("one case, and one group, can never be significant: p = 1") {
    CHECK(paired_sign_flip({1.0}, {0.0}, {}).p_value == 1.0);
    const auto [a, b] = pass_to_fail(6);
    const SignFlipResult grouped = paired_sign_flip(a, b, std::vector<std::string>(6, "g"));
    CHECK(grouped.clusters == 1);
    CHECK(grouped.p_value == 1.0);
    CHECK(grouped.min_p_value == 1.0);
  }
  SECTION("groups flip together: 6 cases down in 3 groups are 3 clusters, p = 2/8") {
    const auto [a, b] = pass_to_fail(6);
    const SignFlipResult r = paired_sign_flip(a, b, {"g1", "g1", "g2", "g2", "g3", "g3"});
    CHECK(r.clusters == 3);
    CHECK(r.discordant == 3);
    CHECK(r.p_value == 0.25);
    CHECK(r.min_p_value == 0.25);
  }
  SECTION("changes that cancel: every pattern is as extreme, p = 1") {
    CHECK(paired_sign_flip({0.5, 0.5, 0.5, 0.5}, {0.75, 0.25, 0.75, 0.25}, {}).p_value == 1.0);
  }
  SECTION("identical runs and no cases: p = 1, no discordant cluster") {
    const SignFlipResult same = paired_sign_flip({0.5, 1.0}, {0.5, 1.0}, {});
    CHECK(same.p_value == 1.0);
    CHECK(same.discordant == 0);
    CHECK(same.min_p_value == 1.0);
    const SignFlipResult none = paired_sign_flip({}, {}, {});
    CHECK(none.p_value == 1.0);
    CHECK(none.clusters == 0);
  }
  SECTION("bad input throws") {
    CHECK_THROWS_AS(paired_sign_flip({1.0, 0.0}, {1.0}, {}), Error);
    CHECK_THROWS_AS(paired_sign_flip({1.0, 0.0}, {1.0, 1.0}, {"g"}), Error);
    CHECK_THROWS_AS(paired_sign_flip({1.0}, {1.0}, {}, 0), Error);
  }
}

TEST_CASE("paired_sign_flip equals exact McNemar on pass/fail pairs", "[statistics]") {
  for (std::size_t down = 0; down <= 9; ++down) {
    for (std::size_t up = 0; up <= 9; ++up) {
      std::vector<double> a(down, 1.0);
      std::vector<double> b(down, 0.0);
      a.resize(down + up, 0.0);
      b.resize(down + up, 1.0);
      INFO("pass->fail " << down << ", fail->pass " << up);
      CHECK(paired_sign_flip(a, b, {}).p_value == Approx(mcnemar_exact(down, up).p_value).epsilon(1e-12));
    }
  }
}

TEST_CASE("paired_sign_flip samples beyond 20 changed clusters", "[statistics]") {
  SECTION("21 clusters, 15 down and 6 up: near the exact 2 * P(K <= 6) = 164320 / 2^21") {
    // sum_{k<=6} C(21, k) = 1 + 21 + 210 + 1330 + 5985 + 20349 + 54264 = 82160
    std::vector<double> a(15, 1.0);
    std::vector<double> b(15, 0.0);
    a.resize(21, 0.0);
    b.resize(21, 1.0);
    const SignFlipResult r = paired_sign_flip(a, b, {}, 20000, 5);
    CHECK_FALSE(r.exact);
    CHECK(r.resamples == 20000);
    CHECK(r.p_value == Approx(164320.0 / 2097152.0).margin(0.006));  // 3 standard errors
    const SignFlipResult again = paired_sign_flip(a, b, {}, 20000, 5);
    CHECK(again.p_value == r.p_value);
  }
  SECTION("30 cases all down: no draw is as extreme, and p is 1/(B+1), not 0") {
    const auto [a, b] = pass_to_fail(30);
    const SignFlipResult r = paired_sign_flip(a, b, {}, 999);
    CHECK(r.p_value == 1.0 / 1000.0);
    CHECK(r.min_p_value == 1.0 / 1000.0);
  }
  SECTION("20 changed clusters are still counted exactly") {
    const auto [a, b] = pass_to_fail(20);
    const SignFlipResult r = paired_sign_flip(a, b, {});
    CHECK(r.exact);
    CHECK(r.p_value == std::ldexp(1.0, -19));
  }
}
