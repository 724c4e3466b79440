// SPDX-License-Identifier: MIT
// Exact McNemar, flips by case id, the (cluster) paired sign-flip test and bootstrap, with a
// portable generator.
#include <promptops/eval/statistics.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <promptops/util/error.hpp>
#include <promptops/eval/metrics.hpp>

namespace promptops::inline eval {

namespace {

// Stop summing binomial tail terms once they no longer change a double.
constexpr double k_negligible_term = 1e-18;

// SplitMix64 (Steele, Lea, Flood 2014), used to seed Xoshiro256.
std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** 1.0 (Blackman, Vigna 2018) with an unbiased bounded draw, so that a seed gives
// the same stream on every platform (std::uniform_int_distribution is implementation-defined).
class Xoshiro256 {
 public:
  explicit Xoshiro256(std::uint64_t seed) {
    for (std::uint64_t& word : m_state) {
      word = splitmix64(seed);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
    const std::uint64_t t = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= t;
    m_state[3] = rotl(m_state[3], 45);
    return result;
  }

  // Uniform in [0, bound) by rejection. Requires bound > 0.
  std::uint64_t below(std::uint64_t bound) {
    // 2^64 mod bound: drawing below it would favour the small residues.
    const std::uint64_t threshold = (std::uint64_t{0} - bound) % bound;
    for (;;) {
      const std::uint64_t x = next();
      if (x >= threshold) {
        return x % bound;
      }
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t m_state[4] = {};
};

bool is_outcome(char outcome) { return outcome == 'p' || outcome == 'f' || outcome == 'x' || outcome == 'e'; }

void check_outcomes(const std::vector<std::string>& ids, const std::string& outcomes, const char* side) {
  if (ids.size() != outcomes.size()) {
    throw Error(std::string("run ") + side + " has " + std::to_string(ids.size()) + " case ids but " +
                std::to_string(outcomes.size()) + " outcomes");
  }
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!is_outcome(outcomes[i])) {
      throw Error(std::string("run ") + side + " has an unknown outcome '" + outcomes[i] + "' for case " +
                  ids[i]);
    }
  }
}

// The paired differences b[i] - a[i] summed per cluster, in order of first appearance, and the
// number of cases in each: cases sharing a non-empty group are one cluster, any other case is
// its own.
struct Clusters {
  std::vector<double> sums;
  std::vector<std::size_t> sizes;
};

Clusters cluster_differences(const std::vector<double>& a, const std::vector<double>& b,
                             const std::vector<std::string>& groups) {
  Clusters out;
  std::unordered_map<std::string, std::size_t> cluster_of_group;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double difference = b[i] - a[i];
    if (!groups.empty() && !groups[i].empty()) {
      const auto [it, inserted] = cluster_of_group.emplace(groups[i], out.sums.size());
      if (!inserted) {
        out.sums[it->second] += difference;
        ++out.sizes[it->second];
        continue;
      }
    }
    out.sums.push_back(difference);
    out.sizes.push_back(1);
  }
  return out;
}

void check_pairing(const std::vector<double>& a, const std::vector<double>& b,
                   const std::vector<std::string>& groups) {
  if (a.size() != b.size()) {
    throw Error("cannot pair " + std::to_string(a.size()) + " scores with " + std::to_string(b.size()));
  }
  if (!groups.empty() && groups.size() != a.size()) {
    throw Error("cannot group " + std::to_string(a.size()) + " scores with " + std::to_string(groups.size()) +
                " groups");
  }
}

// Whether |t| reaches |observed|, with a tolerance for sums of the same terms added in another
// order (`scale` is the sum of the terms' magnitudes).
bool at_least_as_extreme(double t, double observed, double scale) {
  return std::abs(t) >= std::abs(observed) - scale * 1e-12;
}

// The share of all 2^n sign patterns of `d` whose sum is at least as extreme as the observed
// one, counted exactly: the sums of the low and the high half of the signs are tabulated once
// (2 * 2^(n/2) entries), so each pattern costs one addition.
double exact_sign_flip_p(const std::vector<double>& d, double observed, double scale) {
  const std::size_t low_bits = d.size() / 2;
  const auto half_sums = [&d](std::size_t first, std::size_t count) {
    std::vector<double> sums(std::size_t{1} << count, 0.0);
    for (std::size_t mask = 0; mask < sums.size(); ++mask) {
      for (std::size_t j = 0; j < count; ++j) {
        sums[mask] += ((mask >> j) & 1U) != 0 ? -d[first + j] : d[first + j];
      }
    }
    return sums;
  };
  const std::vector<double> low = half_sums(0, low_bits);
  const std::vector<double> high = half_sums(low_bits, d.size() - low_bits);
  std::uint64_t extreme = 0;
  for (const double h : high) {
    for (const double l : low) {
      extreme += at_least_as_extreme(h + l, observed, scale) ? 1 : 0;
    }
  }
  return static_cast<double>(extreme) / std::ldexp(1.0, static_cast<int>(d.size()));
}

}  // namespace

double smallest_p_value(std::size_t discordant) {
  // Past 2^-1100 a double is 0 anyway; the cap keeps the exponent an int.
  const int n = static_cast<int>(std::min<std::size_t>(discordant, 1100));
  return n == 0 ? 1.0 : std::ldexp(1.0, 1 - n);
}

McNemar mcnemar_exact(std::size_t pass_to_fail, std::size_t fail_to_pass) {
  McNemar result;
  result.b = pass_to_fail;
  result.c = fail_to_pass;
  const std::size_t n = pass_to_fail + fail_to_pass;
  const std::size_t k = std::min(pass_to_fail, fail_to_pass);
  // b == c makes P(X <= n / 2) at least 1/2, so p is capped at 1; n == 0 is a case of it.
  if (pass_to_fail == fail_to_pass) {
    return result;
  }
  // log P(X = k) = log C(n, k) - n log 2, with C(n, k) = prod_{i=1..k} (n - k + i) / i. The
  // partial sums grow to about n while the result is small, so they are compensated (Neumaier).
  double log_term = -static_cast<double>(n) * std::log(2.0);
  double compensation = 0.0;
  for (std::size_t i = 1; i <= k; ++i) {
    const double addend = std::log(static_cast<double>(n - k + i) / static_cast<double>(i));
    const double sum = log_term + addend;
    if (std::abs(log_term) >= std::abs(addend)) {
      compensation += (log_term - sum) + addend;
    } else {
      compensation += (addend - sum) + log_term;
    }
    log_term = sum;
  }
  log_term += compensation;
  // P(X <= k) / P(X = k) = sum of P(X = i) / P(X = k), which shrink as i falls since k < n / 2.
  double relative_sum = 1.0;
  double relative_term = 1.0;
  for (std::size_t i = k; i > 0; --i) {
    relative_term *= static_cast<double>(i) / static_cast<double>(n - i + 1);
    relative_sum += relative_term;
    if (relative_term < relative_sum * k_negligible_term) {
      break;
    }
  }
  result.p_value = std::min(1.0, 2.0 * std::exp(log_term + std::log(relative_sum)));
  return result;
}

Flips flips(const std::vector<std::string>& ids_a, const std::string& outcomes_a,
            const std::vector<std::string>& ids_b, const std::string& outcomes_b) {
  check_outcomes(ids_a, outcomes_a, "A");
  check_outcomes(ids_b, outcomes_b, "B");
  std::unordered_map<std::string, char> by_id_a;
  for (std::size_t i = 0; i < ids_a.size(); ++i) {
    if (!by_id_a.emplace(ids_a[i], outcomes_a[i]).second) {
      throw Error("run A has case id " + ids_a[i] + " twice");
    }
  }
  Flips result;
  std::unordered_set<std::string> seen_b;
  std::size_t matched = 0;
  for (std::size_t i = 0; i < ids_b.size(); ++i) {
    const std::string& id = ids_b[i];
    if (!seen_b.insert(id).second) {
      throw Error("run B has case id " + id + " twice");
    }
    const auto found = by_id_a.find(id);
    if (found == by_id_a.end()) {
      ++result.skipped;
      continue;
    }
    ++matched;
    const char a = found->second;
    const char b = outcomes_b[i];
    if (a == 'e' || b == 'e') {
      ++result.skipped;
      continue;
    }
    const bool pass_a = a == 'p';
    const bool pass_b = b == 'p';
    if (pass_a && pass_b) {
      ++result.both_pass;
    } else if (pass_a) {
      result.pass_to_fail.push_back(id);
    } else if (pass_b) {
      result.fail_to_pass.push_back(id);
    } else {
      ++result.both_fail;
    }
  }
  result.skipped += ids_a.size() - matched;
  return result;
}

BootstrapResult paired_bootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                 const std::vector<std::string>& groups, std::size_t resamples,
                                 std::uint64_t seed, double confidence) {
  check_pairing(a, b, groups);
  if (resamples == 0) {
    throw Error("the bootstrap needs at least one resample");
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw Error("the bootstrap confidence must be inside (0, 1), not " + std::to_string(confidence));
  }
  BootstrapResult result;
  if (a.empty()) {
    return result;
  }
  result.mean_a = mean(a);
  result.mean_b = mean(b);
  result.delta = result.mean_b - result.mean_a;

  const Clusters grouped = cluster_differences(a, b, groups);
  const std::vector<double>& cluster_sums = grouped.sums;
  const std::vector<std::size_t>& cluster_sizes = grouped.sizes;
  const std::size_t clusters = cluster_sums.size();
  Xoshiro256 generator(seed);
  std::vector<double> deltas;
  deltas.reserve(resamples);
  std::size_t at_most_zero = 0;
  std::size_t at_least_zero = 0;
  for (std::size_t r = 0; r < resamples; ++r) {
    double sum = 0.0;
    std::size_t cases = 0;
    for (std::size_t j = 0; j < clusters; ++j) {
      const auto drawn = static_cast<std::size_t>(generator.below(clusters));
      sum += cluster_sums[drawn];
      cases += cluster_sizes[drawn];
    }
    const double delta = sum / static_cast<double>(cases);
    at_most_zero += delta <= 0.0 ? 1 : 0;
    at_least_zero += delta >= 0.0 ? 1 : 0;
    deltas.push_back(delta);
  }
  std::sort(deltas.begin(), deltas.end());
  result.resamples = resamples;
  const double tail = (1.0 - confidence) / 2.0 * 100.0;
  result.low = *percentile(deltas, tail);
  result.high = *percentile(deltas, 100.0 - tail);
  if (clusters < 2) {
    // Every resample is the one cluster again: the spread, and so any evidence, is unknown.
    return result;
  }
  const double share =
      static_cast<double>(std::min(at_most_zero, at_least_zero)) / static_cast<double>(resamples);
  // A finite number of resamples cannot show a p below 1 / (B + 1).
  result.p_value = std::clamp(2.0 * share, 1.0 / static_cast<double>(resamples + 1), 1.0);
  return result;
}

SignFlipResult paired_sign_flip(const std::vector<double>& a, const std::vector<double>& b,
                                const std::vector<std::string>& groups, std::size_t resamples,
                                std::uint64_t seed) {
  check_pairing(a, b, groups);
  if (resamples == 0) {
    throw Error("the sign-flip test needs at least one resample");
  }
  SignFlipResult result;
  if (a.empty()) {
    return result;
  }
  result.delta = mean(b) - mean(a);
  const Clusters clusters = cluster_differences(a, b, groups);
  result.clusters = clusters.sums.size();
  // A cluster whose difference is 0 is the same under either sign: it changes no pattern's sum.
  std::vector<double> d;
  double observed = 0.0;
  double scale = 0.0;
  for (const double sum : clusters.sums) {
    if (sum != 0.0) {
      d.push_back(sum);
      observed += sum;
      scale += std::abs(sum);
    }
  }
  result.discordant = d.size();
  result.min_p_value = smallest_p_value(d.size());
  if (d.size() <= k_exact_sign_flip_clusters) {
    result.p_value = d.empty() ? 1.0 : exact_sign_flip_p(d, observed, scale);
    return result;
  }
  // Monte Carlo: the observed pattern counts as one of B + 1, so p is never below 1 / (B + 1).
  Xoshiro256 generator(seed);
  std::uint64_t extreme = 0;
  for (std::size_t r = 0; r < resamples; ++r) {
    double t = 0.0;
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < d.size(); ++j) {
      if (j % 64 == 0) {
        bits = generator.next();
      }
      t += (bits & 1U) != 0 ? -d[j] : d[j];
      bits >>= 1U;
    }
    extreme += at_least_as_extreme(t, observed, scale) ? 1 : 0;
  }
  result.exact = false;
  result.resamples = resamples;
  const double draws = static_cast<double>(resamples) + 1.0;
  result.p_value = std::min(1.0, (static_cast<double>(extreme) + 1.0) / draws);
  result.min_p_value = std::max(result.min_p_value, 1.0 / draws);
  return result;
}

}  // namespace promptops::eval
