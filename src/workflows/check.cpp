// SPDX-License-Identifier: MIT
// `check`: what a change touches, lint, the evaluations that changed (baseline and candidate on
// the candidate's suite), and the gate of each prompt.
#include <promptops/workflows/check.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include <promptops/prompt/dataset.hpp>
#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include <promptops/util/strings.hpp>
#include <promptops/util/trace.hpp>
#include "check_phases.hpp"

namespace promptops::inline workflows {

namespace {

std::unique_ptr<Snapshot> candidate_snapshot(const git::Repository& repo, const CheckOptions& options) {
  switch (options.side) {
    case CheckSide::staged:
      return index_snapshot(repo);
    case CheckSide::worktree:
      return worktree_snapshot(repo);
    case CheckSide::commit:
      break;
  }
  return commit_snapshot(repo, *options.commit);
}

EvalTarget candidate_target(const git::Repository& repo, const CheckOptions& options) {
  switch (options.side) {
    case CheckSide::staged:
      return EvalTarget::staged();
    case CheckSide::worktree:
      return EvalTarget::worktree();
    case CheckSide::commit:
      break;
  }
  return EvalTarget::at_commit(*options.commit, repo.read_commit(*options.commit).subject());
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The note mismatches of one run, each (commit, key) once however many runs saw it.
void take_mismatches(CheckReport& report, const EvalReport& eval) {
  for (const NoteMismatch& mismatch : eval.note_mismatches) {
    const bool seen = std::any_of(report.note_mismatches.begin(), report.note_mismatches.end(),
                                  [&](const NoteMismatch& other) {
                                    return other.commit == mismatch.commit && other.eval_key == mismatch.eval_key;
                                  });
    if (!seen) {
      report.note_mismatches.push_back(mismatch);
    }
  }
}

void add_counts(CheckReport& report, const EvalReport& eval) {
  report.real_calls += eval.real_calls;
  report.cache_hits += eval.cache_hits;
  report.errors += eval.errors;
  report.interrupted = report.interrupted || eval.interrupted;
  for (const ProviderFailure& failure : eval.provider_failures) {
    const auto same = std::find_if(report.provider_failures.begin(), report.provider_failures.end(),
                                   [&](const ProviderFailure& other) { return other.provider == failure.provider; });
    if (same == report.provider_failures.end()) {
      report.provider_failures.push_back(failure);
    } else {
      same->failed += failure.failed;
      same->total += failure.total;
    }
  }
  take_mismatches(report, eval);
}

// The keys of each prompt's rows at the baseline (target 0 when there is one) and the candidate.
void take_keys(const EvalReport& eval, bool has_baseline, std::map<std::string, PromptCheck>& checks) {
  const std::size_t candidate_index = eval.targets.size() - 1;
  for (const EvalRow& row : eval.rows) {  // the prompts of this report start afresh
    if (const auto it = checks.find(row.prompt); it != checks.end()) {
      it->second.baseline_key.clear();
      it->second.candidate_key.clear();
    }
  }
  for (const EvalRow& row : eval.rows) {
    const auto it = checks.find(row.prompt);
    if (it == checks.end()) {
      continue;
    }
    if (row.target == candidate_index) {
      it->second.candidate_key = row.key;
    } else if (has_baseline) {
      it->second.baseline_key = row.key;
    }
  }
}

void take_results(const EvalReport& eval, std::map<std::string, PromptCheck>& checks) {
  for (auto& [name, check] : checks) {
    if (const auto it = eval.results.find(check.candidate_key); it != eval.results.end()) {
      check.candidate = it->second;
    }
    if (!check.baseline_key.empty()) {
      if (const auto it = eval.results.find(check.baseline_key); it != eval.results.end()) {
        check.baseline = it->second;
      }
    }
  }
}

}  // namespace

bool CheckReport::lint_failed() const { return has_errors(lint); }

bool CheckReport::gate_failed() const {
  return std::any_of(prompts.begin(), prompts.end(), [](const PromptCheck& p) { return p.failed(); });
}

bool CheckReport::incomplete() const {
  return std::any_of(prompts.begin(), prompts.end(), [](const PromptCheck& p) {
    return p.has_eval && p.change != PromptCheck::Change::deleted && !p.verdict;
  });
}

namespace {

// --- the phases --------------------------------------------------------------------------------------

// The baseline commit and both labels: --against, else the commit's first parent, else HEAD.
void choose_baseline(const git::Repository& repo, const CheckOptions& options, CheckReport& report) {
  if (options.against) {
    report.baseline = options.against;
    report.baseline_label = options.against->short_hex();
  } else if (options.side == CheckSide::commit) {
    const std::vector<git::Oid> parents = repo.read_commit(*options.commit).parents;
    if (!parents.empty()) {
      report.baseline = parents.front();
      report.baseline_label = parents.front().short_hex();
    }
  } else if (const std::optional<git::Oid> head = repo.head()) {
    report.baseline = head;
    report.baseline_label = "HEAD (" + head->short_hex() + ")";
  }
  if (!report.baseline) {
    report.baseline_label = "nothing (no earlier commit)";
  }
  report.candidate_label = options.side == CheckSide::staged     ? "index"
                           : options.side == CheckSide::worktree ? "working tree"
                                                                 : options.commit->short_hex();
}

// The paths the candidate changed against the baseline.
std::vector<std::string> changed_paths(const git::Repository& repo, const CheckOptions& options,
                                       const CheckReport& report) {
  std::vector<std::string> changed = options.side == CheckSide::staged ? repo.staged_paths(report.baseline)
                                     : options.side == CheckSide::worktree
                                         ? repo.worktree_paths(report.baseline)
                                         : repo.changed_paths(report.baseline, *options.commit);
  if (util::trace_enabled()) {
    util::trace_line("check: " + std::to_string(changed.size()) + " changed paths against " +
                     report.baseline_label);
  }
  return changed;
}

// The state the phases of one check share.
struct CheckRun {
  git::Repository& repo;
  const CheckOptions& options;
  EvalServices& services;
  CheckReport& report;
  std::unique_ptr<Snapshot> candidate;
  ParsedConfig candidate_config;
  std::unique_ptr<Snapshot> baseline;   // null without a baseline commit
  std::optional<Config> baseline_config;  // an old broken config still names its roots
  std::map<std::string, PromptFile> candidate_files;  // the touched prompts at each side
  std::map<std::string, PromptFile> baseline_files;
  std::map<std::string, PromptCheck> checks;

  std::vector<EvalTarget> targets() const {  // the baseline (when there is one), then the candidate
    std::vector<EvalTarget> out;
    if (report.baseline) {
      out.push_back(EvalTarget::at_commit(*report.baseline, repo.read_commit(*report.baseline).subject()));
    }
    out.push_back(candidate_target(repo, options));
    return out;
  }

  EvalOptions eval_options(std::vector<std::string> names, bool offline) const {
    EvalOptions out = options.eval;
    out.names = std::move(names);
    out.offline = offline;
    return out;
  }

  // Counts a run that made model calls, takes its results, records them in notes.
  void take_run(const EvalReport& ran) {
    add_counts(report, ran);
    take_results(ran, checks);
    record_eval_notes(repo, ran);
  }
};

// The touched prompts (touched_prompts(), then only the named ones when names are given).
std::set<std::string> touched_names(const CheckRun& run, const std::vector<std::string>& changed) {
  std::set<std::string> touched =
      check_phases::touched_prompts(changed, *run.candidate, run.candidate_config.config, run.baseline_config);
  if (run.options.names.empty()) {
    return touched;
  }
  std::set<std::string> named;
  for (const std::string& name : run.options.names) {
    if (touched.count(name) != 0) {
      named.insert(name);
    }
  }
  return named;
}

// The files of the `touched` prompts in `snapshot`, by name.
std::map<std::string, PromptFile> files_of(const Snapshot& snapshot, const Config& config,
                                           const std::set<std::string>& touched) {
  std::map<std::string, PromptFile> files;
  for (PromptFile& file : find_prompts(snapshot, config)) {
    if (touched.count(file.name) != 0) {
      std::string name = file.name;
      files.emplace(std::move(name), std::move(file));
    }
  }
  return files;
}

// Lints the touched prompts that exist at the candidate. False when lint found errors (the check
// stops there).
bool lint_touched(CheckRun& run) {
  std::vector<std::string> present;
  for (const auto& [name, file] : run.candidate_files) {
    present.push_back(name);
  }
  if (present.empty()) {
    return true;
  }
  run.report.lint = lint(*run.candidate, present);
  std::vector<Diagnostic> eval_findings = lint_eval(*run.candidate, present);
  run.report.lint.insert(run.report.lint.end(), eval_findings.begin(), eval_findings.end());
  return !has_errors(run.report.lint);
}

// One PromptCheck per touched prompt (deleted ones need no evaluation). Returns the names to
// evaluate: the prompts with [eval] at the candidate.
std::vector<std::string> prompt_checks(CheckRun& run, const std::set<std::string>& touched) {
  std::vector<std::string> eval_names;
  for (const std::string& name : touched) {
    PromptCheck check;
    check.prompt = name;
    const auto file = run.candidate_files.find(name);
    const bool at_baseline = run.baseline_files.count(name) != 0;
    if (file == run.candidate_files.end()) {
      if (!at_baseline) {
        continue;  // a file that is not a prompt under the current roots
      }
      check.change = PromptCheck::Change::deleted;
      check.path = run.baseline_files.at(name).path;
      run.checks.emplace(name, std::move(check));
      continue;
    }
    check.change = at_baseline ? PromptCheck::Change::modified : PromptCheck::Change::added;
    check.path = file->second.path;
    const Prompt prompt = load_prompt(*run.candidate, file->second);
    check.has_eval = prompt.eval.present;
    if (check.has_eval) {
      check.gate = effective_gate(prompt, run.candidate_config.config);
      eval_names.push_back(name);
    }
    if (!at_baseline) {
      check.baseline_problem = "new prompt: no baseline";
    }
    run.checks.emplace(name, std::move(check));
  }
  return eval_names;
}

// A baseline version that cannot be read (a broken file or config there, fixed by this change) is
// no baseline. Returns those prompts (to evaluate at the candidate alone) and leaves the others in
// `eval_names`.
std::vector<std::string> unreadable_baselines(CheckRun& run, std::vector<std::string>& eval_names) {
  std::vector<std::string> alone;
  if (!run.baseline) {
    return alone;
  }
  const bool config_broken = has_errors(load_config(*run.baseline).diagnostics);
  std::vector<std::string> paired;
  for (const std::string& name : eval_names) {
    PromptCheck& check = run.checks.at(name);
    if (check.change != PromptCheck::Change::modified) {
      paired.push_back(name);
      continue;
    }
    try {
      if (config_broken) {
        throw ConfigError(run.baseline_config->path + " at the baseline has errors");
      }
      load_prompt(*run.baseline, run.baseline_files.at(name));
      paired.push_back(name);
    } catch (const ConfigError& error) {
      check.baseline_problem = "the baseline version cannot be read (" + std::string(error.what()) + "): min only";
      alone.push_back(name);
    }
  }
  eval_names = std::move(paired);
  return alone;
}

// evaluate the candidate alone: from the cache and notes, then (not offline) what is missing.
void evaluate_alone(CheckRun& run, const std::vector<std::string>& alone) {
  if (alone.empty()) {
    return;
  }
  EvalOptions eval_options = run.eval_options(alone, true);
  const std::vector<EvalTarget> target{candidate_target(run.repo, run.options)};
  const EvalReport planned = run_eval(run.repo, target, eval_options, run.services);
  take_mismatches(run.report, planned);
  take_keys(planned, false, run.checks);
  take_results(planned, run.checks);
  if (!run.options.offline && !planned.missing.empty()) {
    eval_options.offline = false;
    const EvalReport ran = run_eval(run.repo, target, eval_options, run.services);
    add_counts(run.report, ran);
    take_results(ran, run.checks);
  }
}

// Unchanged: the baseline on its own suite has the candidate's key (same prompt content, model,
// dataset and assertions). Those are counted and dropped; returns the others.
std::vector<std::string> drop_unchanged(CheckRun& run, const std::vector<EvalTarget>& targets,
                                        const std::vector<std::string>& eval_names) {
  EvalOptions eval_options = run.eval_options(eval_names, true);
  eval_options.suite_at = SuiteAt::each;
  take_keys(run_eval(run.repo, targets, eval_options, run.services), true, run.checks);
  std::vector<std::string> still;
  for (const std::string& name : eval_names) {
    const PromptCheck& check = run.checks.at(name);
    if (check.change == PromptCheck::Change::modified && check.baseline_key == check.candidate_key) {
      ++run.report.unchanged;
      run.checks.erase(name);
    } else {
      still.push_back(name);
    }
  }
  return still;
}

// The candidate alone first (its own errors are real errors), then each baseline on its own: an
// old version may not render with the new dataset (a variable was renamed).
void evaluate_one_by_one(CheckRun& run, const std::vector<EvalTarget>& targets,
                         const std::vector<std::string>& names) {
  EvalOptions eval_options = run.eval_options(names, false);
  run.take_run(run_eval(run.repo, {targets.back()}, eval_options, run.services));
  for (const std::string& name : names) {
    PromptCheck& check = run.checks.at(name);
    if (check.change != PromptCheck::Change::modified || check.baseline) {
      continue;
    }
    eval_options.names = {name};
    try {
      run.take_run(run_eval(run.repo, targets, eval_options, run.services));
    } catch (const ConfigError& error) {
      check.baseline_problem =
          "the baseline version cannot be judged by the candidate's dataset: " + std::string(error.what());
    }
  }
}

// evaluate baseline and candidate of the changed prompts on the candidate's suite (so that cases
// pair): what the cache and notes hold, then (not offline) the rest.
void evaluate_changed(CheckRun& run, std::vector<std::string> eval_names) {
  if (eval_names.empty()) {
    return;
  }
  const std::vector<EvalTarget> targets = run.targets();
  if (run.report.baseline) {
    eval_names = drop_unchanged(run, targets, eval_names);
  }
  if (eval_names.empty()) {
    return;
  }
  const EvalReport planned = run_eval(run.repo, targets, run.eval_options(eval_names, true), run.services);
  take_mismatches(run.report, planned);
  take_keys(planned, run.report.baseline.has_value(), run.checks);
  take_results(planned, run.checks);
  std::vector<std::string> missing;
  for (const std::string& name : eval_names) {
    const PromptCheck& check = run.checks.at(name);
    if (!check.candidate || (check.change == PromptCheck::Change::modified && !check.baseline)) {
      missing.push_back(name);
    }
  }
  if (missing.empty() || run.options.offline) {
    return;
  }
  try {
    run.take_run(run_eval(run.repo, targets, run.eval_options(missing, false), run.services));
  } catch (const ConfigError&) {
    if (targets.size() < 2) {
      throw;
    }
    evaluate_one_by_one(run, targets, missing);
  }
}

// gate: why a side has no result, and each complete candidate judged against its baseline.
void gate_prompts(CheckRun& run) {
  const bool offline = run.options.offline;
  for (auto& [name, check] : run.checks) {
    if (!check.has_eval || check.change == PromptCheck::Change::deleted) {
      run.report.prompts.push_back(std::move(check));
      continue;
    }
    if (!check.candidate) {
      check.candidate_uncached = offline;
      check.candidate_problem = offline ? "" : "not evaluated (interrupted)";
    } else if (check.candidate->errors > 0) {
      check.candidate_problem = util::plural(check.candidate->errors, "case") + " got no answer: not judged";
    }
    if (check.change == PromptCheck::Change::modified && !check.baseline && check.baseline_problem.empty()) {
      check.baseline_uncached = offline;
      check.baseline_problem = offline ? "" : "baseline not evaluated";
    }
    if (check.baseline && check.baseline->errors > 0) {
      check.baseline_problem =
          "the baseline has " + std::to_string(check.baseline->errors) + " cases without an answer: min only";
      check.baseline.reset();
    }
    if (check.candidate && check.candidate_problem.empty()) {
      check.verdict = judge(check.gate, check.baseline, *check.candidate,
                            case_groups(*run.candidate, *check.candidate));
    }
    run.report.prompts.push_back(std::move(check));
  }
}

}  // namespace

std::set<std::string> check_phases::touched_prompts(const std::vector<std::string>& changed,
                                                    const Snapshot& candidate, const Config& candidate_config,
                                                    const std::optional<Config>& baseline_config) {
  std::set<std::string> names;
  const bool config_changed =
      std::find(changed.begin(), changed.end(), candidate_config.path) != changed.end();
  std::vector<std::string> datasets;  // changed files that could be datasets but are not prompts
  for (const std::string& path : changed) {
    std::optional<std::string> name = prompt_name_of(candidate_config, path);
    if (!name && baseline_config) {
      name = prompt_name_of(*baseline_config, path);
    }
    if (name) {
      names.insert(*name);
    } else if (is_dataset_path(path)) {
      datasets.push_back(path);
    }
  }
  if (!config_changed && datasets.empty()) {
    return names;
  }
  // A prompt names its dataset by path, so its text contains the file name: only those are parsed.
  for (const PromptFile& file : find_prompts(candidate, candidate_config)) {
    if (config_changed) {
      names.insert(file.name);
      continue;
    }
    const std::optional<std::string> text = candidate.read(file.path);
    if (!text || std::none_of(datasets.begin(), datasets.end(), [&](const std::string& path) {
          return text->find(base_name(path)) != std::string::npos;
        })) {
      continue;
    }
    try {
      const Prompt prompt = load_prompt(candidate, file);
      if (std::find(datasets.begin(), datasets.end(), prompt.eval.dataset) != datasets.end()) {
        names.insert(file.name);
      }
    } catch (const Error&) {
      names.insert(file.name);  // broken: lint says how
    }
  }
  return names;
}


// The baseline and what changed → the touched prompts → lint → the changed evaluations (baseline
// and candidate) → the gate. With no change at all, nothing else is read.
CheckReport run_check(git::Repository& repo, const CheckOptions& options, EvalServices& services) {
  CheckReport report;
  choose_baseline(repo, options, report);
  const std::vector<std::string> changed = changed_paths(repo, options, report);
  if (changed.empty()) {
    return report;
  }
  CheckRun run{repo, options, services, report, candidate_snapshot(repo, options), {}, {}, {}, {}, {}, {}};
  run.candidate_config = load_config(*run.candidate);
  if (has_errors(run.candidate_config.diagnostics)) {
    report.lint = std::move(run.candidate_config.diagnostics);
    return report;
  }
  if (report.baseline) {
    run.baseline = commit_snapshot(repo, *report.baseline);
    run.baseline_config = load_config(*run.baseline).config;
  }
  const std::set<std::string> touched = touched_names(run, changed);
  if (touched.empty()) {
    return report;
  }
  run.candidate_files = files_of(*run.candidate, run.candidate_config.config, touched);
  if (!lint_touched(run)) {
    return report;
  }
  if (run.baseline) {
    run.baseline_files = files_of(*run.baseline, *run.baseline_config, touched);
  }
  std::vector<std::string> eval_names = prompt_checks(run, touched);
  evaluate_alone(run, unreadable_baselines(run, eval_names));
  evaluate_changed(run, std::move(eval_names));
  gate_prompts(run);
  return report;
}

std::optional<StagedPathFilter> staged_path_filter(const git::Repository& repo) {
  StagedPathFilter filter;
  try {
    const ParsedConfig parsed = load_config(*index_snapshot(repo));
    if (has_errors(parsed.diagnostics)) {
      return std::nullopt;
    }
    filter.config_path = parsed.config.path;
    filter.roots = root_dirs(parsed.config);
    filter.config_entry = "none";
    for (const git::TreeEntry& entry : repo.read_index().entries) {
      if (entry.path == filter.config_path) {
        char mode[16];
        std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(entry.mode));
        filter.config_entry = std::string(mode) + " " + entry.id.hex();
      }
    }
  } catch (const GitError&) {
    return std::nullopt;
  }
  filter.extensions = dataset_extensions();
  return filter;
}

std::optional<git::Oid> push_base(const git::Repository& repo, const std::string& remote, const PushedRef& ref) {
  if (ref.remote && !ref.remote->is_zero() && repo.resolve(ref.remote->hex())) {
    return ref.remote;
  }
  for (const std::string& name : {remote + "/HEAD", remote + "/main", remote + "/master"}) {
    if (const std::optional<git::Oid> tip = repo.resolve("refs/remotes/" + name)) {
      return repo.merge_base(*tip, ref.local);
    }
  }
  return std::nullopt;
}

namespace {

// Adds one ref's report to the combined one.
void combine(CheckReport& combined, CheckReport report, bool first) {
  if (first) {
    combined.baseline = report.baseline;
    combined.baseline_label = report.baseline_label;
    combined.candidate_label = report.candidate_label;
  } else {
    combined.baseline_label += ", " + report.baseline_label;
    combined.candidate_label += ", " + report.candidate_label;
  }
  combined.lint.insert(combined.lint.end(), report.lint.begin(), report.lint.end());
  for (PromptCheck& prompt : report.prompts) {
    combined.prompts.push_back(std::move(prompt));
  }
  combined.unchanged += report.unchanged;
  combined.real_calls += report.real_calls;
  combined.cache_hits += report.cache_hits;
  combined.errors += report.errors;
  combined.interrupted = combined.interrupted || report.interrupted;
  combined.provider_failures.insert(combined.provider_failures.end(), report.provider_failures.begin(),
                                    report.provider_failures.end());
}

}  // namespace

PushCheckReport run_push_check(git::Repository& repo, const std::string& remote, const std::vector<PushedRef>& refs,
                               const CheckOptions& base, EvalServices& services) {
  PushCheckReport out;
  bool first = true;
  for (const PushedRef& ref : refs) {
    const std::optional<git::Oid> against = push_base(repo, remote, ref);
    if (!against) {
      out.unchecked.push_back(ref.local_ref);
      continue;
    }
    CheckOptions options = base;
    options.side = CheckSide::commit;
    options.commit = ref.local;
    options.against = against;
    combine(out.combined, run_check(repo, options, services), first);
    first = false;
  }
  return out;
}

}  // namespace promptops::workflows
