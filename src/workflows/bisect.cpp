// SPDX-License-Identifier: MIT
// bisect: candidates from the history engine, eval keys from one offline plan, then a binary
// search over the distinct versions that evaluates as little as it can.
#include <promptops/workflows/bisect.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <set>
#include <unordered_map>

#include <promptops/util/error.hpp>
#include <promptops/git/history.hpp>
#include <promptops/git/notes.hpp>
#include <promptops/prompt/registry.hpp>

#include <promptops/util/strings.hpp>
#include "bisect_phases.hpp"

namespace promptops::inline workflows {

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

bool is_builtin_metric(const std::string& metric) {
  const std::vector<std::string>& names = metric_names();
  return std::find(names.begin(), names.end(), metric) != names.end();
}

// A built-in metric, or a name far from every built-in one: a named metric (an assertion's
// "metric"), which the evaluation must then have (require_metric_in).
void require_known_metric(const std::string& metric) {
  const std::vector<std::string>& names = metric_names();
  if (is_builtin_metric(metric)) {
    return;
  }
  const std::string close = did_you_mean(metric, names);
  if (!close.empty()) {
    throw UsageError("unknown metric '" + metric + "'", "did you mean '" + close + "'?");
  }
}

std::shared_ptr<const BisectRemedy> remedy(BisectRemedy::Kind kind) {
  return std::make_shared<const BisectRemedy>(kind);
}

// A metric that the evaluation has no values for (labels for accuracy and macro_f1).
void require_metric_in(const EvalResult& result, const std::string& metric, const std::string& prompt) {
  if ((metric == "accuracy" || metric == "macro_f1") && !result.metrics.labels) {
    auto fix = std::make_shared<BisectRemedy>(BisectRemedy::Kind::metric_without_labels);
    fix->metrics = {"pass_rate", "mean_score"};
    throw Error("prompt '" + prompt + "' has no " + metric + ": its cases have no expected labels", {},
                std::move(fix));
  }
  if (!is_builtin_metric(metric) && result.metrics.named.count(metric) == 0) {
    throw Error("prompt '" + prompt + "' has no metric '" + metric + "': no assertion of its suite names it",
                "use one of: " + util::join(metric_names(), ", ") + ", or add metric = \"" + metric +
                    "\" to an assertion");
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

// --- the history walk ------------------------------------------------------------------------------

// The range and what changed in it: the first-parent commits after the good side up to the bad
// side, and the ones among them that touched a watched file (the candidates).
struct Walk {
  std::vector<git::Oid> chain;                                      // newest first: [0] is the bad side
  std::unordered_map<git::Oid, std::size_t, git::OidHash> position;  // index in `chain`
  std::unique_ptr<Snapshot> bad_snapshot;                           // read lazily, once
  ParsedConfig bad_config;
  std::set<std::string> watched;     // the prompt file, the config and (--suite-at each) datasets
  std::set<std::size_t> candidates;  // positions in `chain`
};

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

// Sets report.path and report.good, and checks that the range can be bisected: the prompt at both
// ends, the good side an ancestor of the bad side on its first-parent path. Returns the path's
// versions (newest first).
std::vector<PromptVersion> resolve_range(const git::Repository& repo, const BisectOptions& options,
                                         BisectReport& report) {
  std::vector<PromptVersion> history = prompt_versions(repo, options.bad, options.prompt, &report.path);
  if (!repo.entry_at(options.bad, report.path)) {
    auto fix = std::make_shared<BisectRemedy>(BisectRemedy::Kind::bad_side_with_prompt);
    fix->prompt = options.prompt;
    throw NotFoundError(
        "prompt '" + options.prompt + "' does not exist at the bad side, " + commit_label(repo, options.bad), {},
        std::move(fix));
  }
  report.good = options.good ? *options.good : oldest_version(history);
  if (report.good == options.bad) {
    const std::string what = "the good and the bad side are the same commit (" + options.bad.short_hex() + ")";
    if (options.good) {
      throw Error(what, {}, remedy(BisectRemedy::Kind::older_good_side));
    }
    throw Error(what, "prompt '" + options.prompt + "' has one version up to there: nothing to bisect");
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
  return history;
}

// The first-parent commits from the bad side down to (excluding) the good side, newest first.
std::vector<git::Oid> first_parent_line(const git::Repository& repo, const BisectOptions& options,
                                        const git::Oid& good) {
  std::vector<git::Oid> chain = git::first_parent_chain(repo, options.bad, good);
  const std::vector<git::Oid> below = repo.parents(chain.back());
  if (below.empty() || below.front() != good) {
    throw Error("the good side " + commit_label(repo, good) +
                    " is not on the first-parent history of the bad side (it came in through a merge)",
                "name the merge that brought it in, or a commit on the first-parent path: "
                "git log --first-parent " +
                    options.bad.short_hex());
  }
  return chain;
}

// The files whose change makes a candidate: the prompt file, the config, and with SuiteAt::each
// the datasets that the prompt's versions in the range name.
std::set<std::string> watched_paths(const git::Repository& repo, const BisectOptions& options,
                                    const BisectReport& report, const Walk& walk,
                                    const std::vector<PromptVersion>& history) {
  std::set<std::string> watched = {report.path, walk.bad_config.config.path};
  if (options.suite_at != SuiteAt::each) {
    return watched;
  }
  std::vector<git::Oid> points = {options.bad, report.good};
  for (const PromptVersion& version : history) {
    if (walk.position.count(version.commit) != 0 && !version.deleted) {
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
  return watched;
}

// With one yardstick a dataset change is no candidate; when one happened in the range, a drop
// may be its doing, and judging each version by its own suite is the way to find it. Null when
// no dataset changed (or the suite is each version's own).
std::shared_ptr<const BisectRemedy> dataset_remedy(const git::Repository& repo, const BisectOptions& options,
                                                   const BisectReport& report, const Walk& walk) {
  if (options.suite_at != SuiteAt::newest) {
    return nullptr;
  }
  try {
    const Prompt prompt = load_prompt(*walk.bad_snapshot, PromptFile{options.prompt, report.path});
    if (!prompt.eval.present || prompt.eval.dataset.empty()) {
      return nullptr;
    }
    for (const git::PathChange& change : git::path_history(repo, options.bad, prompt.eval.dataset)) {
      if (walk.position.count(change.commit) == 0) {
        break;
      }
      auto fix = std::make_shared<BisectRemedy>(BisectRemedy::Kind::own_suites_dataset_changed);
      fix->dataset = prompt.eval.dataset;
      fix->commit = change.commit.short_hex();
      return fix;
    }
  } catch (const Error&) {
    // no hint
  }
  return nullptr;
}

// walk_history: the range, the first-parent line, the watched files and the candidates among its commits.
// Throws when the range cannot be bisected or nothing watched changed in it.
Walk walk_history(const git::Repository& repo, const BisectOptions& options, BisectReport& report) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<PromptVersion> history = resolve_range(repo, options, report);
  Walk out;
  out.chain = first_parent_line(repo, options, report.good);
  report.commits_walked = out.chain.size();
  out.position.reserve(out.chain.size());
  for (std::size_t i = 0; i < out.chain.size(); ++i) {
    out.position.emplace(out.chain[i], i);
  }
  out.bad_snapshot = commit_snapshot(repo, options.bad);
  out.bad_config = load_config(*out.bad_snapshot);
  out.watched = watched_paths(repo, options, report, out, history);
  for (const std::string& path : out.watched) {
    for (const git::PathChange& change : git::path_history(repo, options.bad, path)) {
      const auto it = out.position.find(change.commit);
      if (it == out.position.end()) {
        break;  // at or below the good side
      }
      out.candidates.insert(it->second);
    }
  }
  report.candidates = out.candidates.size();
  report.walk_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (out.candidates.empty()) {
    const std::shared_ptr<const BisectRemedy> fix = dataset_remedy(repo, options, report, out);
    throw Error("nothing changed prompt '" + options.prompt + "' between the good side " +
                    commit_label(repo, report.good) + " and the bad side " + commit_label(repo, options.bad) +
                    " (" + util::join(std::vector<std::string>(out.watched.begin(), out.watched.end()), ", ") +
                    " untouched in " + std::to_string(out.chain.size()) +
                    (out.chain.size() == 1 ? " commit)" : " commits)"),
                {}, fix ? fix : remedy(BisectRemedy::Kind::widen_range));
  }
  return out;
}

// --- the plan ----------------------------------------------------------------------------------------

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

// The good side, the candidates oldest first, and the bad side, as evaluation targets.
std::vector<EvalTarget> plan_targets(const git::Repository& repo, const BisectOptions& options,
                                     const BisectReport& report, const Walk& walk) {
  std::vector<git::Oid> commits = {report.good};
  for (auto it = walk.candidates.rbegin(); it != walk.candidates.rend(); ++it) {
    commits.push_back(walk.chain[*it]);
  }
  if (commits.back() != options.bad) {
    commits.push_back(options.bad);
  }
  std::vector<EvalTarget> targets;
  for (const git::Oid& commit : commits) {
    targets.push_back(EvalTarget::at_commit(commit, repo.read_commit(commit).subject()));
  }
  return targets;
}

// The errors of a plan that leaves nothing to search: the bad or good side cannot be evaluated,
// or every candidate has the bad side's key.
void require_searchable(const git::Repository& repo, const BisectOptions& options, const BisectReport& report) {
  if (report.versions.back().verdict == Verdict::untestable) {
    throw ConfigError(report.path + ": prompt '" + options.prompt +
                      "' cannot be evaluated at the bad side: " + report.versions.back().problem);
  }
  if (report.versions.front().verdict == Verdict::untestable) {
    throw Error("prompt '" + options.prompt + "' cannot be evaluated at the good side " +
                    commit_label(repo, report.good) + ": " + report.versions.front().problem,
                {}, remedy(BisectRemedy::Kind::good_side_that_evaluates));
  }
  if (report.versions.size() == 1) {
    const bool newest = options.suite_at == SuiteAt::newest;
    throw Error("nothing that prompt '" + options.prompt +
                    "' is evaluated on changed between the good side " + commit_label(repo, report.good) +
                    " and the bad side " + commit_label(repo, options.bad) + ": " +
                    util::plural(report.candidates, "commit") +
                    " touched its files without changing its messages, model or " +
                    (newest ? "settings" : "suite"),
                newest ? "" : "a regression there is not in this prompt",
                newest ? remedy(BisectRemedy::Kind::own_suites_for_dataset_drops) : nullptr);
  }
}

// plan_versions: the versions (consecutive targets with one eval key merged), each with its result when the
// cache or notes already hold it. Returns the bad side's target (it lends the yardstick).
EvalTarget plan_versions(const git::Repository& repo, const BisectOptions& options, const Walk& walk,
                EvalServices& services, BisectReport& report) {
  const std::vector<EvalTarget> targets = plan_targets(repo, options, report, walk);
  std::map<std::string, EvalResult> known;
  std::vector<std::string> problems;
  const std::vector<std::optional<std::string>> keys = plan_keys(repo, targets, options, services, known, problems);
  if (!keys.back()) {
    throw ConfigError(report.path + ": prompt '" + options.prompt + "' has no [eval] section at the bad side",
                      "add [eval] with a dataset to judge its versions by");
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    BisectVersion version;
    version.commit = *targets[i].commit;
    version.subject = targets[i].subject;
    if (!keys[i]) {
      version.verdict = Verdict::untestable;
      version.problem = !problems[i].empty()                        ? problems[i]
                        : repo.entry_at(version.commit, report.path) ? "no [eval] section here"
                                                                     : "prompt '" + options.prompt +
                                                                           "' does not exist here";
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
    report.versions.push_back(std::move(version));
  }
  require_searchable(repo, options, report);
  return targets.back();
}

// The metric and the gate that decide (report.metric, gate, criterion_kind, significant).
void decide_criterion(const BisectOptions& options, const Walk& walk, BisectReport& report) {
  const Prompt bad_prompt = load_prompt(*walk.bad_snapshot, PromptFile{options.prompt, report.path});
  report.metric = options.metric.empty() ? headline_of(bad_prompt) : options.metric;
  report.gate = criterion_gate(options.criterion, report.metric, bad_prompt, walk.bad_config.config,
                               !options.metric.empty(), report.criterion_kind);
  report.significant = report.criterion_kind == "gate" || options.criterion.significant;
  if (report.criterion_kind == "gate" && options.metric.empty()) {
    // The gate may judge several metrics; the first names the search.
    report.metric =
        !report.gate.min.empty() ? report.gate.min.begin()->first : report.gate.max_drop.begin()->first;
  }
}

// --- evaluating and judging versions -----------------------------------------------------------------

struct BisectSearch {
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

  // Counts a run, records it in notes; false when it was interrupted. `where`: "at 1a2b3c4", or
  // "at 5 versions".
  bool settle(const EvalReport& ran, const std::string& where) {
    report.real_calls += ran.real_calls;
    report.cache_hits += ran.cache_hits;
    report.errors += ran.errors;
    if (ran.interrupted) {
      report.interrupted = true;
      return false;
    }
    record_eval_notes(repo, ran);
    if (ran.errors > 0) {
      throw ProviderError(util::plural(ran.errors, "case") +
                              " got no answer while evaluating " + options.prompt + " " + where +
                              ", so it cannot be judged",
                          "run the same command again to retry them; answers already received are cached");
    }
    return true;
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
    if (!settle(ran, "at " + version.commit.short_hex())) {
      return false;
    }
    take(version, ran);
    if (!version.result) {  // cannot happen while the plan and the run agree on keys; never loop on it
      version.verdict = Verdict::untestable;
      version.problem = "the evaluation gave no result";
      return false;
    }
    if (last || options.suite_at == SuiteAt::newest) {  // judged by the bad side's suite
      require_metric_in(*version.result, report.metric, options.prompt);
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
    if (!settle(ran, "at " + std::to_string(indices.size()) + " versions")) {
      return;
    }
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

  // judge: versions[i] against versions[against] (the good side unless --all) when that one has a
  // result, or alone (the good side itself, or a good side taken as given).
  void judge(std::size_t i, std::size_t against = 0) {
    BisectVersion& version = report.versions[i];
    const BisectVersion& good = report.versions[against];
    std::optional<EvalResult> baseline;
    if (i != 0 && good.result) {
      baseline = good.result;
    }
    if (options.suite_at == SuiteAt::newest) {  // every version on the bad side's suite: it has the metric
      require_metric_in(*version.result, report.metric, options.prompt);
    }
    bisect_phases::Judgement judged =
        bisect_phases::judge_version(report.gate, baseline, *version.result, groups_for(version), plain_drop);
    version.judged = std::move(judged.verdict);
    version.verdict = judged.bad ? Verdict::bad : Verdict::good;
  }
};

// --- the search --------------------------------------------------------------------------------------

// The ends, before the search: evaluated when bisect_phases::ends_to_evaluate() says so, else taken
// as given (source "given"). False when the search is over: interrupted, or a bad side that is
// not bad (report.regression false). Throws when the good side is already bad or cannot be judged.
bool settle_ends(BisectSearch& search, const Walk& walk) {
  BisectReport& report = search.report;
  const BisectOptions& options = search.options;
  const std::size_t last = report.versions.size() - 1;
  const bisect_phases::Ends ends =
      bisect_phases::ends_to_evaluate(report.versions, report.gate, options.verify, options.all);
  if (ends.bad && !search.evaluate(last)) {
    return false;  // interrupted: a bad side that cannot be evaluated throws
  }
  if (ends.good && !search.evaluate(0)) {
    if (report.interrupted) {
      return false;
    }
    throw Error("prompt '" + options.prompt + "' at the good side " + commit_label(search.repo, report.good) +
                    " cannot be judged by the bad side's dataset: " + report.versions.front().problem,
                {}, remedy(BisectRemedy::Kind::later_good_or_own_suites));
  }
  if (ends.good) {
    search.judge(0);
    if (report.versions.front().verdict == Verdict::bad) {
      const std::shared_ptr<const BisectRemedy> fix = dataset_remedy(search.repo, options, report, walk);
      const EvalResult& good = *report.versions.front().result;
      throw Error("the good side " + commit_label(search.repo, report.good) + " is already bad: " +
                      report.metric + " " + util::fixed(metric_value(good.metrics, report.metric, nullptr), 3) +
                      " (" + describe_criterion(report) + ")",
                  {}, fix ? fix : remedy(BisectRemedy::Kind::older_good_or_lower_bar));
    }
  } else {
    report.versions.front().verdict = Verdict::good;
    report.versions.front().source = "given";
  }
  if (options.all) {
    return true;
  }
  if (!ends.bad) {
    report.versions[last].verdict = Verdict::bad;
    report.versions[last].source = "given";
    return true;
  }
  search.judge(last);
  report.regression = report.versions[last].verdict == Verdict::bad;
  return report.regression;
}

// Binary search: probe, evaluate and judge until the last good and the first bad version are
// neighbours (or only untestable versions lie between). False when interrupted.
bool search_boundary(BisectSearch& search) {
  BisectReport& report = search.report;
  const std::size_t last = report.versions.size() - 1;
  std::size_t lo = 0;
  std::size_t hi = last;
  while (const std::optional<std::size_t> next = bisect_phases::probe(report.versions, lo, hi)) {
    if (!search.evaluate(*next)) {
      if (report.interrupted) {
        return false;
      }
      continue;  // untestable: probe another
    }
    search.judge(*next);
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
      search.judge(i);
    }
    const Verdict verdict = report.versions[i].verdict;
    report.non_monotonic =
        report.non_monotonic || (i < lo && verdict == Verdict::bad) || (i > hi && verdict == Verdict::good);
  }
  return true;
}

// --all: every evaluated version judged against its predecessor (the nearest earlier version that
// could be evaluated), and a drop listed wherever one fails a clause the predecessor did not.
// False when interrupted.
bool search_every_drop(BisectSearch& search) {
  BisectReport& report = search.report;
  search.evaluate_all();
  if (report.interrupted) {
    return false;
  }
  std::size_t previous = 0;
  bool gap = false;
  for (std::size_t i = 1; i < report.versions.size(); ++i) {
    BisectVersion& version = report.versions[i];
    if (version.verdict == Verdict::untestable) {
      gap = true;
      continue;
    }
    search.judge(i, previous);
    if (version.verdict == Verdict::bad &&
        bisect_phases::is_new_drop(*version.judged, *report.versions[previous].judged, search.plain_drop)) {
      report.drops.push_back(BisectDrop{previous, i, gap, {}});
    }
    previous = i;
    gap = false;
  }
  report.regression = !report.drops.empty();
  return true;
}

// --- the explanation -----------------------------------------------------------------------------

// The metric of a version with its interval, as a note has it; null for an end taken as given.
std::pair<json, json> value_json(const BisectVersion& version, const std::string& metric) {
  if (!version.result) {
    return {json(nullptr), json(nullptr)};
  }
  std::optional<Interval> interval;
  const double value = metric_value(version.result->metrics, metric, &interval);
  return {json(value), interval_json(interval)};
}

// The "bisect" line of the first bad commit's note.
json finding_note(const BisectOptions& options, const BisectReport& report, const BisectDrop& drop,
                  std::int64_t now) {
  const BisectVersion& first_bad = report.versions[drop.first_bad];
  const BisectVersion& last_good = report.versions[drop.last_good];
  const auto [before, before_interval] = value_json(last_good, report.metric);
  const auto [after, after_interval] = value_json(first_bad, report.metric);
  return {{"key", "bisect:" + options.prompt + ":" + report.metric + ":" + report.good.hex() + ".." +
                      options.bad.hex()},
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
          {"before_interval", before_interval},
          {"after", after},
          {"after_interval", after_interval},
          {"ambiguous", drop.ambiguous},
          {"all", options.all},
          {"eval_key", first_bad.key},
          {"found_at", now}};
}

// explain: what each first bad commit changed among the watched files, and the finding in its note.
void explain(git::Repository& repo, const BisectOptions& options, const Walk& walk, BisectReport& report) {
  std::map<git::Oid, std::vector<json>> notes;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  for (BisectDrop& drop : report.drops) {
    const git::Oid& commit = report.versions[drop.first_bad].commit;
    const std::vector<git::Oid> parents = repo.parents(commit);
    for (std::string& path : repo.changed_paths(
             parents.empty() ? std::nullopt : std::optional<git::Oid>(parents.front()), commit)) {
      if (walk.watched.count(path) != 0) {
        drop.changed.push_back(std::move(path));
      }
    }
    notes[commit].push_back(finding_note(options, report, drop, now));
  }
  if (!notes.empty()) {
    git::merge_notes(repo, notes, "promptops: bisect " + options.prompt);
  }
}

// Criteria that contradict each other: the command line rejects them first, naming its flags.
void require_one_criterion(const BisectCriterion& criterion) {
  if (criterion.threshold && criterion.max_drop) {
    throw UsageError("a bisect criterion is a threshold or a maximum drop, not both");
  }
  if (criterion.significant && !criterion.max_drop) {
    throw UsageError("a significance test applies to a maximum drop only");
  }
}

}  // namespace

namespace bisect_phases {

Ends ends_to_evaluate(const std::vector<BisectVersion>& versions, const GateSpec& gate, bool verify, bool all) {
  Ends ends;
  if (versions.empty()) {
    return ends;
  }
  ends.bad = verify || all || versions.back().result.has_value();
  ends.good = verify || all || versions.front().result.has_value() || !gate.max_drop.empty();
  return ends;
}

std::optional<std::size_t> probe(const std::vector<BisectVersion>& versions, std::size_t lo, std::size_t hi) {
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
  for (std::size_t i = lo + 1; i < hi && i < versions.size(); ++i) {
    const BisectVersion& version = versions[i];
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

Judgement judge_version(const GateSpec& gate, const std::optional<EvalResult>& baseline, const EvalResult& result,
                        const std::vector<std::string>& groups, bool plain_drop) {
  Judgement out;
  out.verdict = judge(gate, baseline, result, groups);
  out.bad = plain_drop ? std::any_of(out.verdict.checks.begin(), out.verdict.checks.end(),
                                     [](const MetricCheck& check) { return check.below_min || check.drop_exceeded; })
                       : !out.verdict.passed;
  return out;
}

bool is_new_drop(const GateVerdict& now, const GateVerdict& before, bool plain_drop) {
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

}  // namespace bisect_phases

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

// walk → plan → settle the ends → probe and judge (or --all: judge every version) → explain.
BisectReport run_bisect(git::Repository& repo, const BisectOptions& options, EvalServices& services) {
  require_one_criterion(options.criterion);
  if (!options.metric.empty()) {
    require_known_metric(options.metric);
  }
  BisectReport report;
  report.prompt = options.prompt;
  report.consecutive = options.all;
  report.bad = options.bad;
  const Walk range = walk_history(repo, options, report);
  const EvalTarget bad_target = plan_versions(repo, options, range, services, report);
  decide_criterion(options, range, report);
  BisectSearch search{repo,       options,
                      services,   report,
                      bad_target, report.criterion_kind == "max_drop" && !options.criterion.significant,
                      {}};
  if (!settle_ends(search, range)) {
    return report;
  }
  if (!(options.all ? search_every_drop(search) : search_boundary(search)) || !report.regression) {
    return report;
  }
  explain(repo, options, range, report);
  return report;
}

// --- bisect-run: one commit --------------------------------------------------------------------------

namespace {

BisectRunResult untestable(BisectRunResult out, std::string problem) {
  out.untestable = true;
  out.problem = std::move(problem);
  return out;
}

// The prompt at the commit under test; anything wrong with it there (config, file, no [eval])
// makes the commit untestable: the problem instead.
std::optional<Prompt> prompt_at(const Snapshot& snapshot, const std::string& prompt, const git::Oid& commit,
                                std::string& problem) {
  try {
    const ParsedConfig config = load_config(snapshot);
    for (const Diagnostic& d : config.diagnostics) {
      if (d.severity == Severity::error) {
        throw ConfigError(d.format());
      }
    }
    std::optional<Prompt> here;
    for (const PromptFile& file : find_prompts(snapshot, config.config)) {
      if (file.name == prompt) {
        here = load_prompt(snapshot, file);
      }
    }
    if (!here) {
      throw NotFoundError("no prompt '" + prompt + "' at " + commit.short_hex());
    }
    if (!here->eval.present) {
      throw ConfigError(here->path + ": prompt '" + prompt + "' has no [eval] section at " + commit.short_hex());
    }
    return here;
  } catch (const ConfigError& error) {
    problem = error.what();
  } catch (const NotFoundError& error) {
    problem = error.what();
  }
  return std::nullopt;
}

// Why a run of the good side and the commit together could not be planned: this commit's own
// problem, or the good side cannot render this commit's dataset. A broken good side throws (the
// bisect stops).
std::string fault_of_pair(git::Repository& repo, const std::vector<EvalTarget>& targets, EvalOptions options,
                          EvalServices& services, const std::string& prompt, const std::string& good_path,
                          const ConfigError& error) {
  try {
    options.offline = true;
    run_eval(repo, {targets.back()}, options, services);
  } catch (const ConfigError& own) {
    return own.what();
  }
  load_prompt(*commit_snapshot(repo, *targets.front().commit), PromptFile{prompt, good_path});
  return "the good side cannot be judged by this commit's dataset: " + std::string(error.what());
}

// The criterion of bisect-run as a gate on `metric`, at the confidence of the prompt's gate.
GateSpec run_gate(const BisectCriterion& criterion, const std::string& metric, const Prompt& here,
                  const Snapshot& snapshot) {
  GateSpec gate;
  if (criterion.threshold) {
    gate.min[metric] = *criterion.threshold;
  } else {
    gate.max_drop[metric] = *criterion.max_drop;
  }
  gate.confidence = gate_confidence(here, load_config(snapshot).config);
  return gate;
}

}  // namespace

// The prompt at `commit` → one run with the good side (max_drop) → judge by the criterion.
BisectRunResult bisect_one(git::Repository& repo, const std::string& prompt, const git::Oid& commit,
                           const std::optional<git::Oid>& good, const std::string& metric,
                           const BisectCriterion& criterion, const EvalOptions& eval,
                           EvalServices& services) {
  require_one_criterion(criterion);
  if (!criterion.threshold && !criterion.max_drop) {
    throw UsageError("bisect-run needs a criterion: a threshold, or a maximum drop from a good side");
  }
  if (criterion.max_drop && !good) {
    throw UsageError("a maximum drop is measured from a good side, and none was given");
  }
  if (!metric.empty()) {
    require_known_metric(metric);
  }
  BisectRunResult out;
  const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, commit);
  std::string problem;
  const std::optional<Prompt> here = prompt_at(*snapshot, prompt, commit, problem);
  if (!here) {
    return untestable(std::move(out), problem);
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
    return untestable(std::move(out), targets.size() == 1
                                          ? std::string(error.what())  // a dataset or template that fails here
                                          : fault_of_pair(repo, targets, options, services, prompt, good_path, error));
  }
  out.real_calls = ran.real_calls;
  if (ran.interrupted) {
    out.interrupted = true;
    return out;
  }
  record_eval_notes(repo, ran);
  if (ran.errors > 0) {
    throw ProviderError(util::plural(ran.errors, "case") +
                            " got no answer, so " + commit.short_hex() + " cannot be judged",
                        "run it again to retry them; answers already received are cached");
  }
  for (const EvalRow& row : ran.rows) {
    if (const auto it = ran.results.find(row.key); it != ran.results.end()) {
      (row.target + 1 == targets.size() ? out.result : out.good) = it->second;
    }
  }
  if (!out.result) {
    return untestable(std::move(out), "no result for prompt '" + prompt + "' at " + commit.short_hex());
  }
  require_metric_in(*out.result, out.metric, prompt);
  bisect_phases::Judgement judged =
      bisect_phases::judge_version(run_gate(criterion, out.metric, *here, *snapshot), out.good, *out.result,
                                   case_groups(*snapshot, *out.result), criterion.max_drop && !criterion.significant);
  out.judged = std::move(judged.verdict);
  out.bad = judged.bad;
  return out;
}

}  // namespace promptops::workflows
