// SPDX-License-Identifier: MIT
// Paired comparison of two prompt versions on the same cases: exact McNemar, flips, paired bootstrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace promptops {

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
  double p_value = 1.0;  // 2 * min(share of resampled deltas <= 0, share >= 0), capped at 1
  std::size_t resamples = 0;
};

// The paired bootstrap of the mean difference of scores b[i] - a[i]. When `groups` is not
// empty it has one entry per case, and cases sharing a non-empty group are resampled together
// (cluster bootstrap: clusters are drawn with replacement and a resample's delta is the mean
// difference over all the cases drawn); a case with an empty group is its own cluster. The
// interval is the central `confidence` share of the resampled deltas, with linear
// interpolation (percentile()). The random numbers come from a generator defined in this
// library, so a seed gives the same result on every platform. No cases gives means and delta
// 0, the interval [0, 0], p 1 and no resamples. Throws Error when a, b and a non-empty groups
// differ in size, when resamples is 0, or when confidence is not inside (0, 1).
BootstrapResult paired_bootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                 const std::vector<std::string>& groups, std::size_t resamples = 10000,
                                 std::uint64_t seed = 1, double confidence = 0.95);

}  // namespace promptops
