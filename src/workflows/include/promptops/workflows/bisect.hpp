// SPDX-License-Identifier: MIT
// `bisect`: the first commit between a good and a bad point where a prompt's metric regressed,
// found by binary search over the distinct versions of the prompt on the first-parent path, each
// judged by one yardstick and taken from the cache or notes when it is there.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/workflows/gate.hpp>
#include <promptops/git/git.hpp>
#include <promptops/util/error.hpp>

namespace promptops::inline workflows {

// What makes a version bad.
struct BisectCriterion {
  std::optional<double> threshold;  // the metric is below it
  std::optional<double> max_drop;   // the metric fell by more than this from the good side's value
  bool significant = false;         // max_drop: only when the paired test is significant (as the gate)
  // Neither threshold nor max_drop: the prompt's gate at the bad side, restricted to `metric` when
  // one is named ("what `check` would block").
};

// The fix for a bisect that cannot run, when it is an option of the command (the remedy() of the
// Error it throws): the CLI words it with the option's name.
struct BisectRemedy : Remedy {
  enum class Kind {
    bad_side_with_prompt,        // a bad side where `prompt` exists
    older_good_side,             // the good side given is the bad side: an older one
    good_side_that_evaluates,    // the good side cannot be evaluated: one where it can
    widen_range,                 // nothing watched changed: check another prompt, or an older good side
    older_good_or_lower_bar,     // the good side is already bad: older, or a lower threshold
    later_good_or_own_suites,    // the good side cannot be judged by the bad side's dataset
    own_suites_dataset_changed,  // `dataset` changed at `commit` in the range: judge each by its own
    own_suites_for_dataset_drops,  // no version to search with one yardstick: a dataset change may show
    metric_without_labels,       // the metric needs labels: one of `metrics`, or labels
  };
  explicit BisectRemedy(Kind k) : kind(k) {}
  Kind kind;
  std::string prompt;                // bad_side_with_prompt
  std::string dataset;               // own_suites_dataset_changed
  std::string commit;                // own_suites_dataset_changed: abbreviated
  std::vector<std::string> metrics;  // metric_without_labels: the ones that need no labels
};

struct BisectOptions {
  std::string prompt;
  git::Oid bad;
  std::optional<git::Oid> good;  // nullopt: the oldest version since the prompt last appeared
  std::string metric;            // empty: the prompt's headline metric at the bad side
  BisectCriterion criterion;
  SuiteAt suite_at = SuiteAt::newest;  // newest = the bad side's dataset and assertions judge all
  bool all = false;                    // evaluate every version and list every drop
  // Evaluate both ends before the search and stop when the bad side is not bad. Without it the
  // ends are taken as given (as `git bisect run` takes them), unless their results are already
  // known or the criterion measures a drop from the good side.
  bool verify = false;
  EvalOptions eval;                    // repeat and provider options (names and offline are set here)
};

// One distinct evaluation input on the path: consecutive candidate commits with the same eval key.
struct BisectVersion {
  enum class Verdict { unknown, good, bad, untestable };
  git::Oid commit;  // where this content first appears (the good side: the good commit)
  std::string subject;
  std::size_t commits = 1;  // candidate commits that share it
  std::string key;          // empty when untestable before planning (absent, unreadable)
  std::optional<EvalResult> result;
  // "run" (evaluated now), "cache", "notes"; "given" for an end taken as given (no result);
  // empty for a version not evaluated.
  std::string source;
  Verdict verdict = Verdict::unknown;
  std::optional<GateVerdict> judged;  // against the good side (--all: the version before)
  std::string problem;                // why it is untestable
};

// A good version followed (after untestable ones, if any) by a bad one.
struct BisectDrop {
  std::size_t last_good = 0;  // index into BisectReport::versions
  std::size_t first_bad = 0;
  // Untestable versions lie between them: the first bad is one of versions[last_good + 1 ..
  // first_bad], which the search could not tell apart.
  bool ambiguous = false;
  std::vector<std::string> changed;  // what first_bad's commit changed among the files watched
};

struct BisectReport {
  std::string prompt;
  std::string path;            // the prompt file at the bad side
  std::string metric;          // the metric that decides
  GateSpec gate;               // the criterion as a gate (min / max_drop on `metric`)
  std::string criterion_kind;  // "threshold", "max_drop" or "gate"
  bool significant = false;    // a drop counts only when significant
  // --all: each version is judged against the version before it (a max_drop is measured between
  // consecutive versions), not against the good side.
  bool consecutive = false;
  git::Oid good;
  git::Oid bad;
  std::size_t commits_walked = 0;       // first-parent commits after good up to bad
  std::size_t candidates = 0;           // of those, the ones that changed the prompt, its config or dataset
  double walk_seconds = 0.0;            // the history walk (first-parent chain and path histories)
  std::vector<BisectVersion> versions;  // oldest first: [0] is the good side, back() the bad side
  // The outcome.
  bool regression = true;  // false: the bad side (evaluated) is not bad by the criterion (nothing to find)
  std::vector<BisectDrop> drops;  // binary search: the one boundary found; all: every drop, oldest first
  // Binary search: a version known without cost (cache, notes) is bad before the boundary or good
  // after it, so there is more than one drop.
  bool non_monotonic = false;
  std::size_t evaluations = 0;  // evaluations computed in this run (not from the cache or notes)
  std::size_t real_calls = 0;
  std::size_t cache_hits = 0;
  std::size_t errors = 0;
  bool interrupted = false;
};

// Finds where the prompt went bad. Candidates are the commits on the first-parent path from
// options.bad down to (excluding) good that changed the prompt file or .promptops.toml (and, with
// SuiteAt::each, the dataset); consecutive candidates with the same eval key are one version and
// evaluated once. The ends are taken as given unless `verify`, `all`, a known result (cache,
// notes) or a max_drop criterion (the good side's value) needs them evaluated: then the bad side
// first, then the good side (which must be good). Then binary search, preferring versions whose
// result is already in the cache or notes. It never evaluates more versions than `git bisect run`
// with bisect-run would: at most ceil(log2(versions - 1)), plus the good side for a max_drop.
// Evaluations are recorded in notes as `eval` does, and the finding as a "bisect" entry in the note
// of each first bad commit.
//
// Throws NotFoundError when the prompt does not exist at good or bad; Error when good is not an
// ancestor of bad on its first-parent path, when nothing the evaluation depends on changed between
// them, when the good side (evaluated) is already bad, or for a metric the prompt does not have;
// UsageError for conflicting criteria (the CLI rejects them first, naming its flags); and as run_eval does (ConfigError for the bad side, ProviderError).
// An interrupt is not an exception: see `interrupted`.
BisectReport run_bisect(git::Repository& repo, const BisectOptions& options, EvalServices& services);

// One commit judged as `bisect-run` does for `git bisect run`: the prompt at `commit` on its own
// dataset and assertions, against `good` (judged by the same suite) for a max_drop criterion.
struct BisectRunResult {
  bool untestable = false;  // the prompt is absent or unreadable at `commit`, or cannot be rendered
  std::string problem;      // why it is untestable
  bool bad = false;
  std::optional<EvalResult> result;
  std::optional<EvalResult> good;
  std::optional<GateVerdict> judged;
  std::string metric;
  std::size_t real_calls = 0;
  bool interrupted = false;
};
BisectRunResult bisect_one(git::Repository& repo, const std::string& prompt, const git::Oid& commit,
                           const std::optional<git::Oid>& good, const std::string& metric,
                           const BisectCriterion& criterion, const EvalOptions& eval, EvalServices& services);

// "accuracy below 0.800", "accuracy down by more than 0.050 from the good side, significant at
// 95%", "accuracy below the good side's" (a drop of 0), or "the prompt's gate: " and the gate's
// clauses joined by " or ".
std::string describe_criterion(const BisectReport& report);

}  // namespace promptops::workflows
