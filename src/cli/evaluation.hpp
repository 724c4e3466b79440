// SPDX-License-Identifier: MIT
// What the commands that evaluate share: the cache and services of a run, Ctrl-C, the progress
// line, and number formatting.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <promptops/eval/cache.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::cli {

using util::fixed;  // "0.900" with `digits` decimals
// "+0.050", "-0.020", "0.000" (no sign for what rounds to zero).
std::string signed_fixed(double value, int digits);
// A p-value: "0.0313", or "1.23e-05" below 0.0001.
std::string p_value_text(double p);
// "too few cases to show a significant drop at 95%": said when no outcome of the cases that
// changed could be significant at `confidence` (smallest_p_value() in statistics.hpp).
std::string too_few_cases_text(double confidence);
// A cost: "$0.0123", "$0.00042", or "-" for none.
std::string money(double value);

// Ends a command whose run left `errors` case samples without an answer (exit 2): an error line
// per provider that failed (how many of how many, which provider and where, the first cause),
// `consequence` appended to the last (", so the gate could not be judged"), and a hint naming the
// per-case results files. Never prints a key: causes are redacted, endpoints lose user info and
// query.
[[noreturn]] void throw_unanswered(const std::vector<ProviderFailure>& failures, std::size_t errors,
                                   const std::vector<std::string>& results_files, const std::string& consequence);

// "eval 120/1000 · 35.2 calls/s · 40 cached · ETA 25s" on stderr, at most 10 times a second.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : m_enabled(enabled) {}
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(const EvalProgress& progress);
  void clear();

 private:
  bool m_enabled;
  bool m_shown = false;
  std::chrono::steady_clock::time_point m_last{};
};

// SIGINT sets the stop flag of the run for as long as this lives; a second Ctrl-C stops at once.
// A SIGINT within 1 s of the first is the same Ctrl-C (the terminal signals `git` and us, and
// git forwards its copy), so the grace period and the summary are not lost to it.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  std::atomic<bool>& flag();

 private:
  struct sigaction m_old = {};
};

// The services of one evaluating command: the cache under <common-dir>/promptops/cache (disabled
// by --no-cache), per-case results beside it, Ctrl-C and the progress line.
class EvalSession {
 public:
  EvalSession(const git::Repository& repo, bool use_cache, bool show_progress);
  EvalServices& services() { return m_services; }
  void clear_progress() { m_progress.clear(); }

 private:
  ResultCache m_cache;
  InterruptScope m_interrupt;
  ProgressLine m_progress;
  EvalServices m_services;
};

}  // namespace promptops::cli
