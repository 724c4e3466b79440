// SPDX-License-Identifier: MIT
// bisect: candidates from the history engine, eval keys from one offline plan, then a binary
// search over the distinct versions that evaluates as little as it can.
#include <promptops/bisect.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <set>
#include <unordered_map>

#include <promptops/error.hpp>
#include <promptops/history.hpp>
#include <promptops/notes.hpp>
#include <promptops/registry.hpp>

#include "util/strings.hpp"

namespace promptops {

namespace {

using json = nlohmann::json;
using Verdict = BisectVersion::Verdict;

std::string percent(double confidence) { return util::shortest(confidence * 100.0) + "%"; }

std::string commit_label(const git::Repository& repo, const git::Oid& id) {
  return id.short_hex() + " \"" + repo.read_commit(id).subject() + "\"";
}

// The headline metric of `prompt` as the engine names it.
std::string headline_of(const Prompt& prompt) {
  return prompt.eval.metric.empty() ? metric_names().front() : prompt.eval.metric;
}

void require_known_metric(const std::string& metric) {
  const std::vector<std::string>& names = metric_names();
  if (std::find(names.begin(), names.end(), metric) != names.end()) {
    return;
  }
  const std::string close = did_you_mean(metric, names);
  throw UsageError("unknown metric '" + metric + "'", close.empty() ? "use one of: " + util::join(names, ", ")
                                                                    : "did you mean '" + close + "'?");
}

// A metric that the evaluation has no values for (labels for accuracy and macro_f1).
void require_metric_in(const EvalResult& result, const std::string& metric, const std::string& prompt) {
  if ((metric == "accuracy" || metric == "macro_f1") && !result.metrics.labels) {
    throw Error("prompt '" + prompt + "' has no " + metric + ": its cases have no expected labels",
                "use --metric pass_rate or mean_score, or give the cases one-line \"expected\" labels");
  }
}

// The confidence of the prompt's gate, for a --significant drop; 0.95 when its gate cannot be read.
double gate_confidence(const Prompt& prompt, const Config& config) {
  try {
    return effective_gate(prompt, config).confidence;
  } catch (const ConfigError&) {
    return GateSpec().confidence;
  }
}

// The criterion as a gate on the metric.
GateSpec criterion_gate(const BisectCriterion& criterion, const std::string& metric, const Prompt& bad_prompt,
                        const Config& bad_config, bool metric_named, std::string& kind) {
  GateSpec gate;
  if (criterion.threshold || criterion.max_drop) {
    kind = criterion.threshold ? "threshold" : "max_drop";
    (criterion.threshold ? gate.min : gate.max_drop)[metric] =
        criterion.threshold ? *criterion.threshold : *criterion.max_drop;
    gate.confidence = gate_confidence(bad_prompt, bad_config);
    return gate;
  }
  kind = "gate";
  gate = effective_gate(bad_prompt, bad_config);
  if (metric_named) {
    GateSpec only;
    only.confidence = gate.confidence;
    only.confidence_set = gate.confidence_set;
    only.where = gate.where;
    if (const auto it = gate.min.find(metric); it != gate.min.end()) {
      only.min[metric] = it->second;
    }
    if (const auto it = gate.max_drop.find(metric); it != gate.max_drop.end()) {
      only.max_drop[metric] = it->second;
    }
    if (only.empty()) {
      only.max_drop[metric] = 0.0;
    }
    gate = std::move(only);
  }
  return gate;
}

// Whether a judged version is bad: a failed gate, or with a plain --max-drop any drop beyond it.
bool is_bad(const GateVerdict& verdict, bool plain_drop) {
  if (!plain_drop) {
    return !verdict.passed;
  }
  return std::any_of(verdict.checks.begin(), verdict.checks.end(),
                     [](const MetricCheck& check) { return check.below_min || check.drop_exceeded; });
}

struct Search {
  git::Repository& repo;
  const BisectOptions& options;
  EvalServices& services;
  BisectReport& report;
  EvalTarget bad_target;
  bool plain_drop = false;
  std::unordered_map<std::string, std::vector<std::string>> groups;  // by suite commit hex

  EvalOptions online() const {
    EvalOptions eval = options.eval;
    eval.names = {options.prompt};
    eval.offline = false;
    eval.suite_at = options.suite_at;
    return eval;
  }

  EvalTarget target_of(const BisectVersion& version) const {
    return EvalTarget::at_commit(version.commit, version.subject);
  }

  void add_counts(const EvalReport& ran) {
    report.real_calls += ran.real_calls;
    report.cache_hits += ran.cache_hits;
    report.errors += ran.errors;
  }

  static std::string source_of(const EvalResult& result) {
    return !result.reused ? "run" : result.from_notes ? "notes" : "cache";
  }

  void take(BisectVersion& version, const EvalReport& ran) {
    const auto it = ran.results.find(version.key);
    if (version.result || it == ran.results.end()) {
      return;
    }
    version.result = it->second;
    version.source = source_of(it->second);
    if (version.source == "run") {
      ++report.evaluations;
    }
    // A revert to earlier content: the same evaluation, known now.
    for (BisectVersion& other : report.versions) {
      if (!other.result && other.key == version.key && other.verdict != Verdict::untestable) {
        other.result = version.result;
        other.source = "cache";
      }
    }
  }

  // `where`: "at 1a2b3c4", or "at 5 versions".
  void check_errors(const EvalReport& ran, const std::string& where) const {
    if (ran.errors > 0) {
      throw ProviderError(std::to_string(ran.errors) + " case" + (ran.errors == 1 ? "" : "s") +
                              " got no answer while evaluating " + options.prompt + " " + where +
                              ", so it cannot be judged",
                          "run the same command again to retry them; answers already received are cached");
    }
  }

  // Evaluates versions[i] (the bad side lends the yardstick). False when it cannot be evaluated
  // (marked untestable) or the run was interrupted (report.interrupted).
  bool evaluate(std::size_t i) {
    BisectVersion& version = report.versions[i];
    if (version.result) {
      return true;
    }
    if (version.verdict == Verdict::untestable) {
      return false;
    }
    const bool last = i + 1 == report.versions.size();
    std::vector<EvalTarget> targets;
    if (!last) {
      targets.push_back(target_of(version));
    }
    targets.push_back(bad_target);
    targets.back().suite_only = !last;
    EvalReport ran;
    try {
      ran = run_eval(repo, targets, online(), services);
    } catch (const ConfigError& error) {
      if (last) {
        throw;
      }
      version.verdict = Verdict::untestable;
      version.problem = error.what();
      return false;
    }
    add_counts(ran);
    if (ran.interrupted) {
      report.interrupted = true;
      return false;
    }
    record_eval_notes(repo, ran);
    check_errors(ran, "at " + version.commit.short_hex());
    take(version, ran);
    if (!version.result) {  // cannot happen while the plan and the run agree on keys; never loop on it
      version.verdict = Verdict::untestable;
      version.problem = "the evaluation gave no result";
      return false;
    }
    return true;
  }

  // Every version not yet known, in one run (their cases interleave), then one by one if a version
  // cannot be rendered with the yardstick.
  void evaluate_all() {
    std::vector<EvalTarget> targets;
    std::vector<std::size_t> indices;
    for (std::size_t i = 0; i + 1 < report.versions.size(); ++i) {
      const BisectVersion& version = report.versions[i];
      if (!version.result && version.verdict != Verdict::untestable) {
        targets.push_back(target_of(version));
        indices.push_back(i);
      }
    }
    if (targets.empty()) {
      return;
    }
    targets.push_back(bad_target);
    targets.back().suite_only = true;
    EvalReport ran;
    try {
      ran = run_eval(repo, targets, online(), services);
    } catch (const ConfigError&) {
      for (const std::size_t i : indices) {
        if (!evaluate(i) && report.interrupted) {
          return;
        }
      }
      return;
    }
    add_counts(ran);
    if (ran.interrupted) {
      report.interrupted = true;
      return;
    }
    record_eval_notes(repo, ran);
    check_errors(ran, "at " + std::to_string(indices.size()) + " versions");
    for (const std::size_t i : indices) {
      take(report.versions[i], ran);
    }
  }

  const std::vector<std::string>& groups_for(const BisectVersion& version) {
    const git::Oid suite = options.suite_at == SuiteAt::newest ? options.bad : version.commit;
    auto it = groups.find(suite.hex());
    if (it == groups.end()) {
      const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, suite);
      it = groups.emplace(suite.hex(), case_groups(*snapshot, *version.result)).first;
    }
    return it->second;
  }

  // Judges versions[i] against versions[against] (the good side unless --all), or alone for the good side.
  void judge_version(std::size_t i, std::size_t against = 0) {
    BisectVersion& version = report.versions[i];
    const BisectVersion& good = report.versions[against];
    std::optional<EvalResult> baseline;
    if (i != 0 && good.result) {
      baseline = good.result;
    }
    version.judged = judge(report.gate, baseline, *version.result, groups_for(version));
    version.verdict = is_bad(*version.judged, plain_drop) ? Verdict::bad : Verdict::good;
  }

  // Whether `now` (judged against its predecessor, judged `before`) fails a clause that the
  // predecessor did not: a max_drop (measured between the two), or a min the predecessor met.
  bool is_new_drop(const GateVerdict& now, const GateVerdict& before) const {
    for (const MetricCheck& check : now.checks) {
      const bool dropped = check.drop_exceeded && (plain_drop || check.significant);
      const bool crossed = check.below_min && std::none_of(before.checks.begin(), before.checks.end(),
                                                           [&](const MetricCheck& other) {
                                                             return other.metric == check.metric && other.below_min;
                                                           });
      if (dropped || crossed) {
        return true;
      }
    }
    return false;
  }

  // --all: every evaluated version judged against its predecessor (the nearest earlier version that
  // could be evaluated), and a drop listed wherever one fails a clause the predecessor did not.
  void find_every_drop() {
    std::size_t previous = 0;
    bool gap = false;
    for (std::size_t i = 1; i < report.versions.size(); ++i) {
      BisectVersion& version = report.versions[i];
      if (version.verdict == Verdict::untestable) {
        gap = true;
        continue;
      }
      judge_version(i, previous);
      if (version.verdict == Verdict::bad && is_new_drop(*version.judged, *report.versions[previous].judged)) {
        report.drops.push_back(BisectDrop{previous, i, gap, {}});
      }
      previous = i;
      gap = false;
    }
  }

  // The index in (lo, hi) to evaluate next: a version already known, nearest the middle, else the
  // testable version nearest the middle; nullopt when every one between is untestable.
  std::optional<std::size_t> pick(std::size_t lo, std::size_t hi) const {
    const double middle = (static_cast<double>(lo) + static_cast<double>(hi)) / 2.0;
    std::optional<std::size_t> known;
    std::optional<std::size_t> any;
    const auto nearer = [middle](std::size_t a, const std::optional<std::size_t>& b) {
      if (!b) {
        return true;
      }
      const double da = std::abs(static_cast<double>(a) - middle);
      const double db = std::abs(static_cast<double>(*b) - middle);
      return da < db;  // on a tie the lower index (visited first) wins
    };
    for (std::size_t i = lo + 1; i < hi; ++i) {
      const BisectVersion& version = report.versions[i];
      if (version.verdict == Verdict::untestable) {
        continue;
      }
      if (version.result && nearer(i, known)) {
        known = i;
      }
      if (nearer(i, any)) {
        any = i;
      }
    }
    return known ? known : any;
  }
};

// The keys of every target, from one offline plan; when a version in the middle cannot be read,
// target by target, so that one broken commit only makes itself untestable.
std::vector<std::optional<std::string>> plan_keys(const git::Repository& repo,
                                                  const std::vector<EvalTarget>& targets,
                                                  const BisectOptions& options, EvalServices& services,
                                                  std::map<std::string, EvalResult>& known,
                                                  std::vector<std::string>& problems) {
  EvalOptions plan = options.eval;
  plan.names = {options.prompt};
  plan.offline = true;
  plan.suite_at = options.suite_at;
  std::vector<std::optional<std::string>> keys(targets.size());
  problems.assign(targets.size(), "");
  const auto take = [&](const EvalReport& planned, std::size_t offset, std::size_t target_index) {
    for (const EvalRow& row : planned.rows) {
      if (row.target == offset) {
        keys[target_index] = row.key;
      }
    }
    for (const auto& [key, result] : planned.results) {
      known.emplace(key, result);
    }
  };
  try {
    const EvalReport planned = run_eval(repo, targets, plan, services);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      take(planned, i, i);
    }
    return keys;
  } catch (const ConfigError&) {
    // find out which
  }
  const EvalTarget& bad = targets.back();
  take(run_eval(repo, {bad}, plan, services), 0, targets.size() - 1);  // the bad side's errors are errors
  for (std::size_t i = 0; i + 1 < targets.size(); ++i) {
    try {
      take(run_eval(repo, {targets[i], bad}, plan, services), 0, i);
    } catch (const ConfigError& error) {
      problems[i] = error.what();
    }
  }
  return keys;
}

// The oldest version since the prompt last appeared (before it, the file did not exist).
git::Oid oldest_version(const std::vector<PromptVersion>& history) {
  std::optional<git::Oid> oldest;
  for (const PromptVersion& version : history) {
    if (version.deleted) {
      break;
    }
    oldest = version.commit;
  }
  return *oldest;
}

}  // namespace

std::string describe_criterion(const BisectReport& report) {
  std::vector<std::string> clauses;
  for (const auto& [metric, min] : report.gate.min) {
    clauses.push_back(metric + " below " + util::fixed(min, 3));
  }
  for (const auto& [metric, drop] : report.gate.max_drop) {
    clauses.push_back((drop == 0.0
                           ? metric + " below " + (report.consecutive ? "the version before's" : "the good side's")
                           : metric + " down by more than " + util::fixed(drop, 3) + " from " +
                                 (report.consecutive ? "the version before" : "the good side")) +
                      (report.significant ? ", significant at " + percent(report.gate.confidence) : ""));
  }
  const std::string out = util::join(clauses, " or ");
  return report.criterion_kind == "gate" ? "the prompt's gate: " + out : out;
}

BisectReport run_bisect(git::Repository& repo, const BisectOptions& options, EvalServices& services) {
  if (options.criterion.threshold && options.criterion.max_drop) {
    throw UsageError(
        "--threshold and --max-drop are two criteria; give one",
        "--threshold X: bad below X; --max-drop D: bad when down by more than D from the good side");
  }
  if (options.criterion.significant && !options.criterion.max_drop) {
    throw UsageError("--significant goes with --max-drop",
                     "git promptops bisect NAME --max-drop 0.05 --significant");
  }
  if (!options.metric.empty()) {
    require_known_metric(options.metric);
  }
  BisectReport report;
  report.prompt = options.prompt;
  report.consecutive = options.all;
  report.bad = options.bad;

  // --- the history walk ---------------------------------------------------------------------------
  const auto walk_start = std::chrono::steady_clock::now();
  const std::vector<PromptVersion> history = prompt_versions(repo, options.bad, options.prompt, &report.path);
  if (!repo.entry_at(options.bad, report.path)) {
    throw NotFoundError(
        "prompt '" + options.prompt + "' does not exist at the bad side, " + commit_label(repo, options.bad),
        "name a bad revision that has it: --bad REV (git promptops log " + options.prompt +
            " lists its versions)");
  }
  report.good = options.good ? *options.good : oldest_version(history);
  if (report.good == options.bad) {
    throw Error("the good and the bad side are the same commit (" + options.bad.short_hex() + ")",
                options.good
                    ? "name an older good revision: --good REV"
                    : "prompt '" + options.prompt + "' has one version up to there: nothing to bisect");
  }
  if (!repo.entry_at(report.good, report.path)) {
    throw NotFoundError(
        "prompt '" + options.prompt + "' (" + report.path + ") does not exist at the good side, " +
            commit_label(repo, report.good),
        "name a good revision where it exists (git promptops log " + options.prompt + " lists its versions)");
  }
  if (repo.merge_base(report.good, options.bad) != report.good) {
    throw Error("the good side " + commit_label(repo, report.good) + " is not an ancestor of the bad side " +
                    commit_label(repo, options.bad),
                "bisect searches the history that leads to the bad side: name a good commit in it "
                "(git merge-base --is-ancestor GOOD BAD)");
  }
  const std::vector<git::Oid> chain = git::first_parent_chain(repo, options.bad, report.good);
  const std::vector<git::Oid> below = repo.parents(chain.back());
  if (below.empty() || below.front() != report.good) {
    throw Error("the good side " + commit_label(repo, report.good) +
                    " is not on the first-parent history of the bad side (it came in through a merge)",
                "name the merge that brought it in, or a commit on the first-parent path: "
                "git log --first-parent " +
                    options.bad.short_hex());
  }
  report.commits_walked = chain.size();
  std::unordered_map<git::Oid, std::size_t, git::OidHash> position;  // 0 = the bad side
  position.reserve(chain.size());
  for (std::size_t i = 0; i < chain.size(); ++i) {
    position.emplace(chain[i], i);
  }
  const std::unique_ptr<Snapshot> bad_snapshot = commit_snapshot(repo, options.bad);  // read lazily, once
  const ParsedConfig bad_config = load_config(*bad_snapshot);
  std::set<std::string> watched = {report.path, bad_config.config.path};
  if (options.suite_at == SuiteAt::each) {
    // Each version's own dataset: the datasets its versions in the range name.
    std::vector<git::Oid> points = {options.bad, report.good};
    for (const PromptVersion& version : history) {
      if (position.count(version.commit) != 0 && !version.deleted) {
        points.push_back(version.commit);
      }
    }
    for (const git::Oid& point : points) {
      try {
        const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, point);
        const Prompt prompt = load_prompt(*snapshot, PromptFile{options.prompt, report.path});
        if (prompt.eval.present && !prompt.eval.dataset.empty()) {
          watched.insert(prompt.eval.dataset);
        }
      } catch (const Error&) {
        // an unreadable version is found untestable later
      }
    }
  }
  std::set<std::size_t> candidate_positions;
  for (const std::string& path : watched) {
    for (const git::PathChange& change : git::path_history(repo, options.bad, path)) {
      const auto it = position.find(change.commit);
      if (it == position.end()) {
        break;  // at or below the good side
      }
      candidate_positions.insert(it->second);
    }
  }
  report.candidates = candidate_positions.size();
  report.walk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - walk_start).count();
  // With one yardstick a dataset change is no candidate; when one happened in the range, a drop
  // may be its doing, and --suite-at each is the way to find it.
  const auto dataset_hint = [&]() -> std::string {
    if (options.suite_at != SuiteAt::newest) {
      return "";
    }
    try {
      const Prompt prompt = load_prompt(*bad_snapshot, PromptFile{options.prompt, report.path});
      if (!prompt.eval.present || prompt.eval.dataset.empty()) {
        return "";
      }
      for (const git::PathChange& change : git::path_history(repo, options.bad, prompt.eval.dataset)) {
        if (position.count(change.commit) == 0) {
          break;
        }
        return "the dataset " + prompt.eval.dataset + " changed in this range (at " +
               change.commit.short_hex() +
               ") and every version is judged by the bad side's: --suite-at each judges each by its own";
      }
    } catch (const Error&) {
      // no hint
    }
    return "";
  };
  if (candidate_positions.empty()) {
    const std::string hint = dataset_hint();
    throw Error("nothing changed prompt '" + options.prompt + "' between the good side " +
                    commit_label(repo, report.good) + " and the bad side " + commit_label(repo, options.bad) +
                    " (" + util::join(std::vector<std::string>(watched.begin(), watched.end()), ", ") +
                    " untouched in " + std::to_string(chain.size()) +
                    (chain.size() == 1 ? " commit)" : " commits)"),
                !hint.empty() ? hint
                              : "a regression there is not in this prompt: check another prompt, or widen "
                                "the range with --good");
  }

  // --- versions: the plan's keys, consecutive equal keys merged -----------------------------------
  std::vector<EvalTarget> targets;
  std::vector<git::Oid> target_commits = {report.good};
  for (auto it = candidate_positions.rbegin(); it != candidate_positions.rend(); ++it) {
    target_commits.push_back(chain[*it]);
  }
  if (target_commits.back() != options.bad) {
    target_commits.push_back(options.bad);
  }
  for (const git::Oid& commit : target_commits) {
    targets.push_back(EvalTarget::at_commit(commit, repo.read_commit(commit).subject()));
  }
  std::map<std::string, EvalResult> known;
  std::vector<std::string> problems;
  const std::vector<std::optional<std::string>> keys =
      plan_keys(repo, targets, options, services, known, problems);
  if (!keys.back()) {
    throw ConfigError(report.path + ": prompt '" + options.prompt + "' has no [eval] section at the bad side",
                      "add [eval] with a dataset to judge its versions by");
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const bool last = i + 1 == targets.size();
    BisectVersion version;
    version.commit = *targets[i].commit;
    version.subject = targets[i].subject;
    if (!keys[i]) {
      version.verdict = Verdict::untestable;
      version.problem = !problems[i].empty() ? problems[i]
                        : repo.entry_at(version.commit, report.path)
                            ? "no [eval] section here"
                            : "prompt '" + options.prompt + "' does not exist here";
    } else {
      version.key = *keys[i];
      if (!report.versions.empty() && report.versions.back().key == version.key) {
        report.versions.back().commits += 1;
        continue;
      }
      if (const auto it = known.find(version.key); it != known.end()) {
        version.result = it->second;
        version.source = it->second.from_notes ? "notes" : "cache";
      }
    }
    if (last && version.verdict == Verdict::untestable) {
      throw ConfigError(report.path + ": prompt '" + options.prompt +
                        "' cannot be evaluated at the bad side: " + version.problem);
    }
    report.versions.push_back(std::move(version));
  }
  if (report.versions.front().verdict == Verdict::untestable) {
    throw Error("prompt '" + options.prompt + "' cannot be evaluated at the good side " +
                    commit_label(repo, report.good) + ": " + report.versions.front().problem,
                "name a good revision where it can: --good REV");
  }
  if (report.versions.size() == 1) {
    throw Error("nothing that prompt '" + options.prompt +
                    "' is evaluated on changed between the good side " + commit_label(repo, report.good) +
                    " and the bad side " + commit_label(repo, options.bad) + ": " +
                    std::to_string(report.candidates) + " commit" + (report.candidates == 1 ? "" : "s") +
                    " touched its files without changing its messages, model or " +
                    (options.suite_at == SuiteAt::newest ? "settings" : "suite"),
                options.suite_at == SuiteAt::newest
                    ? "every version is judged by the bad side's dataset; a drop that came with a dataset "
                      "change shows with --suite-at each"
                    : "a regression there is not in this prompt");
  }

  // --- the criterion -------------------------------------------------------------------------------
  const Prompt bad_prompt = load_prompt(*bad_snapshot, PromptFile{options.prompt, report.path});
  report.metric = options.metric.empty() ? headline_of(bad_prompt) : options.metric;
  report.gate = criterion_gate(options.criterion, report.metric, bad_prompt, bad_config.config,
                               !options.metric.empty(), report.criterion_kind);
  report.significant = report.criterion_kind == "gate" || options.criterion.significant;
  if (report.criterion_kind == "gate" && options.metric.empty()) {
    // The gate may judge several metrics; the first names the search.
    report.metric =
        !report.gate.min.empty() ? report.gate.min.begin()->first : report.gate.max_drop.begin()->first;
  }

  Search search{repo,   options,        services,
                report, targets.back(), report.criterion_kind == "max_drop" && !options.criterion.significant,
                {}};
  const std::size_t last = report.versions.size() - 1;

  // --- the ends: bad first (it holds the yardstick), then good --------------------------------------
  search.evaluate(last);
  if (report.interrupted) {
    return report;
  }
  require_metric_in(*report.versions[last].result, report.metric, options.prompt);
  if (!search.evaluate(0)) {
    if (report.interrupted) {
      return report;
    }
    throw Error("prompt '" + options.prompt + "' at the good side " + commit_label(repo, report.good) +
                    " cannot be judged by the bad side's dataset: " + report.versions.front().problem,
                "name a later good revision, or judge each version by its own dataset: --suite-at each");
  }
  search.judge_version(0);
  if (report.versions.front().verdict == Verdict::bad) {
    const std::string hint = dataset_hint();
    const EvalResult& good = *report.versions.front().result;
    throw Error("the good side " + commit_label(repo, report.good) + " is already bad: " + report.metric +
                    " " + util::fixed(metric_value(good.metrics, report.metric, nullptr), 3) + " (" +
                    describe_criterion(report) + ")",
                !hint.empty() ? hint : "name an older good revision with --good, or a lower threshold");
  }
  if (!options.all) {
    search.judge_version(last);
    if (report.versions[last].verdict != Verdict::bad) {
      report.regression = false;
      return report;
    }
  }

  // --- the search ------------------------------------------------------------------------------------
  if (options.all) {
    search.evaluate_all();
    if (report.interrupted) {
      return report;
    }
    search.find_every_drop();
    if (report.drops.empty()) {
      report.regression = false;
      return report;
    }
  } else {
    std::size_t lo = 0;
    std::size_t hi = last;
    while (const std::optional<std::size_t> next = search.pick(lo, hi)) {
      if (!search.evaluate(*next)) {
        if (report.interrupted) {
          return report;
        }
        continue;  // untestable: pick another
      }
      search.judge_version(*next);
      (report.versions[*next].verdict == Verdict::bad ? hi : lo) = *next;
    }
    bool gap = false;
    for (std::size_t i = lo + 1; i < hi; ++i) {
      gap = gap || report.versions[i].verdict == Verdict::untestable;
    }
    report.drops.push_back(BisectDrop{lo, hi, gap, {}});
    // Results known for free (cache, notes, reverts) are judged too: one that contradicts the
    // boundary (bad before it, good after it) proves another drop.
    for (std::size_t i = 1; i < last; ++i) {
      if (report.versions[i].result && report.versions[i].verdict == Verdict::unknown) {
        search.judge_version(i);
      }
      const Verdict verdict = report.versions[i].verdict;
      report.non_monotonic =
          report.non_monotonic || (i < lo && verdict == Verdict::bad) || (i > hi && verdict == Verdict::good);
    }
  }

  // --- what each first bad commit changed, and the finding in its note -------------------------------
  std::map<git::Oid, std::vector<json>> notes;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (BisectDrop& drop : report.drops) {
    const BisectVersion& first_bad = report.versions[drop.first_bad];
    const BisectVersion& last_good = report.versions[drop.last_good];
    const std::vector<git::Oid> parents = repo.parents(first_bad.commit);
    for (std::string& path : repo.changed_paths(
             parents.empty() ? std::nullopt : std::optional<git::Oid>(parents.front()), first_bad.commit)) {
      if (watched.count(path) != 0) {
        drop.changed.push_back(std::move(path));
      }
    }
    std::optional<Interval> before_interval;
    std::optional<Interval> after_interval;
    const double before = metric_value(last_good.result->metrics, report.metric, &before_interval);
    const double after = metric_value(first_bad.result->metrics, report.metric, &after_interval);
    const auto interval_json = [](const std::optional<Interval>& interval) {
      return interval ? json::array({interval->low, interval->high}) : json(nullptr);
    };
    notes[first_bad.commit].push_back({{"key", "bisect:" + options.prompt + ":" + report.metric + ":" +
                                                   report.good.hex() + ".." + options.bad.hex()},
                                       {"type", "bisect"},
                                       {"prompt", options.prompt},
                                       {"path", report.path},
                                       {"metric", report.metric},
                                       {"criterion", describe_criterion(report)},
                                       {"good", report.good.hex()},
                                       {"bad", options.bad.hex()},
                                       {"first_bad", first_bad.commit.hex()},
                                       {"last_good", last_good.commit.hex()},
                                       {"before", before},
                                       {"before_interval", interval_json(before_interval)},
                                       {"after", after},
                                       {"after_interval", interval_json(after_interval)},
                                       {"ambiguous", drop.ambiguous},
                                       {"all", options.all},
                                       {"eval_key", first_bad.key},
                                       {"found_at", now}});
  }
  if (!notes.empty()) {
    git::merge_notes(repo, notes, "promptops: bisect " + options.prompt);
  }
  return report;
}

BisectRunResult bisect_one(git::Repository& repo, const std::string& prompt, const git::Oid& commit,
                           const std::optional<git::Oid>& good, const std::string& metric,
                           const BisectCriterion& criterion, const EvalOptions& eval,
                           EvalServices& services) {
  if (criterion.threshold.has_value() == criterion.max_drop.has_value()) {
    throw UsageError("bisect-run needs one criterion: --threshold X, or --max-drop D with --good REV");
  }
  if (criterion.max_drop && !good) {
    throw UsageError("--max-drop needs the good side to measure the drop from: --good REV");
  }
  if (criterion.significant && !criterion.max_drop) {
    throw UsageError("--significant goes with --max-drop");
  }
  if (!metric.empty()) {
    require_known_metric(metric);
  }
  BisectRunResult out;
  // The commit under test: anything wrong with the prompt here makes it untestable.
  const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, commit);
  std::optional<Prompt> here;
  try {
    const ParsedConfig config = load_config(*snapshot);
    for (const Diagnostic& d : config.diagnostics) {
      if (d.severity == Severity::error) {
        throw ConfigError(d.format());
      }
    }
    for (const PromptFile& file : find_prompts(*snapshot, config.config)) {
      if (file.name == prompt) {
        here = load_prompt(*snapshot, file);
      }
    }
    if (!here) {
      throw NotFoundError("no prompt '" + prompt + "' at " + commit.short_hex());
    }
    if (!here->eval.present) {
      throw ConfigError(here->path + ": prompt '" + prompt + "' has no [eval] section at " +
                        commit.short_hex());
    }
  } catch (const ConfigError& error) {
    out.untestable = true;
    out.problem = error.what();
    return out;
  } catch (const NotFoundError& error) {
    out.untestable = true;
    out.problem = error.what();
    return out;
  }
  out.metric = metric.empty() ? headline_of(*here) : metric;

  std::vector<EvalTarget> targets;
  std::string good_path;
  if (criterion.max_drop) {
    const ResolvedReference at_good = resolve_reference(repo, Reference{prompt, good->hex()});
    good_path = at_good.path;
    targets.push_back(EvalTarget::at_commit(*at_good.commit, repo.read_commit(*good).subject()));
  }
  targets.push_back(EvalTarget::at_commit(commit, repo.read_commit(commit).subject()));
  EvalOptions options = eval;
  options.names = {prompt};
  options.offline = false;
  options.suite_at = SuiteAt::newest;  // the commit under test judges both
  EvalReport ran;
  try {
    ran = run_eval(repo, targets, options, services);
  } catch (const ConfigError& error) {
    if (targets.size() == 1) {
      out.untestable = true;
      out.problem = error.what();  // a dataset or template that does not work here
      return out;
    }
    // Whose fault: this commit's (untestable), a broken good side (stop), or neither alone (the
    // good side cannot render this commit's dataset: this commit cannot be compared).
    try {
      EvalOptions plan = options;
      plan.offline = true;
      run_eval(repo, {targets.back()}, plan, services);
    } catch (const ConfigError& own) {
      out.untestable = true;
      out.problem = own.what();
      return out;
    }
    // A broken good side throws here, and the bisect stops.
    load_prompt(*commit_snapshot(repo, *targets.front().commit), PromptFile{prompt, good_path});
    out.untestable = true;
    out.problem = "the good side cannot be judged by this commit's dataset: " + std::string(error.what());
    return out;
  }
  out.real_calls = ran.real_calls;
  if (ran.interrupted) {
    out.interrupted = true;
    return out;
  }
  record_eval_notes(repo, ran);
  if (ran.errors > 0) {
    throw ProviderError(std::to_string(ran.errors) + " case" + (ran.errors == 1 ? "" : "s") +
                            " got no answer, so " + commit.short_hex() + " cannot be judged",
                        "run it again to retry them; answers already received are cached");
  }
  for (const EvalRow& row : ran.rows) {
    const auto it = ran.results.find(row.key);
    if (it == ran.results.end()) {
      continue;
    }
    (row.target + 1 == targets.size() ? out.result : out.good) = it->second;
  }
  if (!out.result) {
    out.untestable = true;
    out.problem = "no result for prompt '" + prompt + "' at " + commit.short_hex();
    return out;
  }
  require_metric_in(*out.result, out.metric, prompt);
  GateSpec gate;
  if (criterion.threshold) {
    gate.min[out.metric] = *criterion.threshold;
  } else {
    gate.max_drop[out.metric] = *criterion.max_drop;
  }
  gate.confidence = gate_confidence(*here, load_config(*snapshot).config);
  out.judged = judge(gate, out.good, *out.result, case_groups(*snapshot, *out.result));
  out.bad = is_bad(*out.judged, criterion.max_drop && !criterion.significant);
  return out;
}

}  // namespace promptops
