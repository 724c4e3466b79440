// SPDX-License-Identifier: MIT
// Paired comparison of two prompt versions on the same cases: exact McNemar, flips, the paired
// sign-flip test and the paired bootstrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace promptops::inline eval {

struct McNemar {
  std::size_t b = 0;     // pass -> fail
  std::size_t c = 0;     // fail -> pass
  double p_value = 1.0;  // exact, two-sided
};

// The exact two-sided McNemar test: with n = b + c, p = min(1, 2 * P(X <= min(b, c))) for
// X ~ Binomial(n, 0.5). n == 0 gives p = 1. Computed in log space relative to the term at
// min(b, c), in O(min(b, c)) steps, so n of 10^5 and more neither overflows nor loses
// precision; only a p below the smallest double (about 1e-308) becomes 0.
McNemar mcnemar_exact(std::size_t pass_to_fail, std::size_t fail_to_pass);

// The smallest two-sided p that an exact paired test (McNemar, or the sign-flip test) can give
// with `discordant` pairs or clusters that changed: 2 * 2^-n (all changed the same way), 1 for
// n <= 1. When it is not below 1 - confidence, no outcome of these cases can be significant.
double smallest_p_value(std::size_t discordant);

// The cases of two runs paired by id.
struct Flips {
  std::vector<std::string> pass_to_fail;  // ids that passed in A and fail in B, in B's order
  std::vector<std::string> fail_to_pass;  // ids that failed in A and pass in B, in B's order
  std::size_t both_pass = 0;
  std::size_t both_fail = 0;
  std::size_t skipped = 0;  // ids on one side only, plus pairs with 'e' on either side
};

// Pairs the cases of run A and run B by id. Outcomes are one char per case as the runner
// stores them ('p' pass, 'f' fail, 'x' flaky, 'e' no answer); 'x' counts as a fail and a pair
// with 'e' on either side is skipped. An id on one side only is skipped; each such id counts
// once in `skipped`. Throws Error when an outcome string's length differs from its ids', on an
// unknown outcome char, or on an id repeated within one side.
Flips flips(const std::vector<std::string>& ids_a, const std::string& outcomes_a,
            const std::vector<std::string>& ids_b, const std::string& outcomes_b);

struct BootstrapResult {
  double mean_a = 0.0;
  double mean_b = 0.0;
  double delta = 0.0;  // mean_b - mean_a
  double low = 0.0;    // percentile interval of the resampled deltas
  double high = 0.0;
  // 2 * min(share of resampled deltas <= 0, share >= 0), inside [1 / (resamples + 1), 1];
  // 1 with fewer than two clusters, where resampling shows no spread.
  double p_value = 1.0;
  std::size_t resamples = 0;
};

// The paired bootstrap of the mean difference of scores b[i] - a[i]. When `groups` is not
// empty it has one entry per case, and cases sharing a non-empty group are resampled together
// (cluster bootstrap: clusters are drawn with replacement and a resample's delta is the mean
// difference over all the cases drawn); a case with an empty group is its own cluster. The
// interval is the central `confidence` share of the resampled deltas, with linear
// interpolation (percentile()). The random numbers come from a generator defined in this
// library, so a seed gives the same result on every platform. The bootstrap is for the
// interval: with few clusters its p is far too small (5 of 5 clusters down gives about 2e-4,
// where the exact tests give 0.0625), so significance comes from paired_sign_flip(). No cases
// gives means and delta 0, the interval [0, 0], p 1 and no resamples. Throws Error when a, b
// and a non-empty groups differ in size, when resamples is 0, or when confidence is not inside
// (0, 1).
BootstrapResult paired_bootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                 const std::vector<std::string>& groups, std::size_t resamples = 10000,
                                 std::uint64_t seed = 1, double confidence = 0.95);

// Up to this many clusters that changed, paired_sign_flip() enumerates every sign pattern
// (2^20 = 1,048,576 sums, a few milliseconds); beyond it, it samples.
inline constexpr std::size_t k_exact_sign_flip_clusters = 20;

struct SignFlipResult {
  double delta = 0.0;          // mean(b) - mean(a) over the cases
  double p_value = 1.0;        // two-sided
  std::size_t clusters = 0;    // cases, or groups of cases, that are flipped together
  std::size_t discordant = 0;  // clusters whose summed difference is not 0
  bool exact = true;           // every sign pattern counted; false: Monte Carlo
  std::size_t resamples = 0;   // Monte Carlo draws; 0 when exact
  double min_p_value = 1.0;    // the smallest p these clusters could give (see smallest_p_value)
};

// The paired sign-flip (permutation) test of the mean difference b[i] - a[i]: under "no
// difference" each cluster's summed difference is as likely negated, so p is the share of the
// 2^n sign patterns of the n discordant clusters whose total is at least as far from 0 as the
// observed one (two-sided, as mcnemar_exact; on pass/fail values without groups it equals
// McNemar's p). Groups as in paired_bootstrap(). With at most k_exact_sign_flip_clusters
// discordant clusters every pattern is counted; beyond, `resamples` patterns are drawn from the
// library's generator seeded with `seed`, and p = (extreme draws + 1) / (resamples + 1), never
// below 1 / (resamples + 1). No cases, or no discordant cluster, gives p = 1. Throws Error when
// a, b and a non-empty groups differ in size, or when resamples is 0.
SignFlipResult paired_sign_flip(const std::vector<double>& a, const std::vector<double>& b,
                                const std::vector<std::string>& groups, std::size_t resamples = 10000,
                                std::uint64_t seed = 1);

}  // namespace promptops::eval
