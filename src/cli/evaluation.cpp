// SPDX-License-Identifier: MIT
// What the commands that evaluate share: run services, Ctrl-C, progress, number formatting.
#include "evaluation.hpp"

#include "common.hpp"

#include <signal.h>

#include <time.h>

#include <cmath>
#include <cstdint>
#include <cstdio>

#include <promptops/util/error.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

constexpr std::int64_t k_same_interrupt_ns = 1000000000;  // 1 s

std::atomic<bool> g_interrupted{false};
// When the first SIGINT came (CLOCK_MONOTONIC, nanoseconds).
std::atomic<std::int64_t> g_first_interrupt_ns{0};

std::int64_t monotonic_ns() {
  timespec now = {};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Ctrl-C in a terminal signals the whole foreground process group: `git` gets it too and
// forwards it to its child (us), so one keypress can arrive twice. A SIGINT within
// k_same_interrupt of the first is that same keypress; a later one stops at once.
void on_sigint(int, siginfo_t*, void*) {
  const std::int64_t now = monotonic_ns();
  if (!g_interrupted.exchange(true)) {
    g_first_interrupt_ns = now;
    return;
  }
  if (now - g_first_interrupt_ns.load() < k_same_interrupt_ns) {
    return;
  }
  ::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
  ::raise(SIGINT);
}

}  // namespace

InterruptScope::InterruptScope() {
  g_interrupted = false;
  struct sigaction action = {};
  action.sa_sigaction = on_sigint;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &m_old);
}

InterruptScope::~InterruptScope() { ::sigaction(SIGINT, &m_old, nullptr); }

std::atomic<bool>& InterruptScope::flag() { return g_interrupted; }

std::string signed_fixed(double value, int digits) {
  if (std::fabs(value) < 0.5 * std::pow(10.0, -digits)) {
    return fixed(0.0, digits);
  }
  return (value > 0 ? "+" : "") + fixed(value, digits);
}

std::string p_value_text(double p) {
  char text[32];
  std::snprintf(text, sizeof text, p != 0.0 && p < 1e-4 ? "%.2e" : "%.4f", p);
  return text;
}

std::string too_few_cases_text(double confidence) {
  return "too few cases to show a significant drop at " + util::shortest(confidence * 100.0) + "%";
}

std::string money(double value) { return value == 0.0 ? "-" : "$" + fixed(value, value < 0.01 ? 5 : 4); }

void throw_unanswered(const std::vector<ProviderFailure>& failures, std::size_t errors,
                      const std::vector<std::string>& results_files, const std::string& consequence) {
  std::string hint = "run the same command again to retry them; answers already received are cached";
  if (!results_files.empty()) {
    hint = "the per-case results are in " + util::join(results_files, ", ") + "; " + hint;
  }
  if (failures.empty()) {  // a judge's calls, which are not counted per provider
    throw ProviderError(util::plural(errors, "case") +
                            " got no answer from the provider" + consequence,
                        hint);
  }
  for (std::size_t i = 0; i + 1 < failures.size(); ++i) {
    std::fprintf(stderr, "git-promptops: error: %s\n", describe_failure(failures[i]).c_str());
  }
  throw ProviderError(describe_failure(failures.back()) + consequence, hint);
}

void ProgressLine::update(const EvalProgress& progress) {
  if (!m_enabled) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (progress.done != progress.total && now - m_last < std::chrono::milliseconds(100)) {
    return;
  }
  m_last = now;
  const double rate =
      progress.elapsed_seconds > 0 ? static_cast<double>(progress.real_calls) / progress.elapsed_seconds : 0;
  std::string text = "eval " + std::to_string(progress.done) + "/" + std::to_string(progress.total) + " · " +
                     fixed(rate, 1) + " calls/s · " + std::to_string(progress.cache_hits) + " cached";
  if (progress.done > 0 && progress.done < progress.total && progress.elapsed_seconds > 0.5) {
    const double eta = progress.elapsed_seconds / static_cast<double>(progress.done) *
                       static_cast<double>(progress.total - progress.done);
    text += " · ETA " + std::to_string(static_cast<long long>(std::ceil(eta))) + "s";
  }
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  m_shown = true;
}

void ProgressLine::clear() {
  if (m_shown) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    m_shown = false;
  }
}

EvalSession::EvalSession(const git::Repository& repo, bool use_cache, bool show_progress)
    : m_cache(repo.common_dir() / "promptops" / "cache", use_cache), m_progress(show_progress) {
  m_services.cache = &m_cache;
  m_services.results_dir = repo.common_dir() / "promptops" / "results";
  m_services.stop = &m_interrupt.flag();
  m_services.progress = [this](const EvalProgress& p) { m_progress.update(p); };
  m_services.note_problems = [this](const git::Oid& commit, const std::vector<std::string>& problems) {
    m_progress.clear();
    warn_note_problems(commit, problems);
  };
}

}  // namespace promptops::cli
