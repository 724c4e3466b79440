// SPDX-License-Identifier: MIT
// `check`: what a change touches, lint, the evaluations that changed (baseline and candidate on
// the candidate's suite), and the gate of each prompt.
#include <promptops/check.hpp>

#include <algorithm>
#include <map>
#include <set>

#include <promptops/dataset.hpp>
#include <promptops/error.hpp>
#include <promptops/registry.hpp>

#include "util/trace.hpp"

namespace promptops {

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

// The prompts a change touches: by their files, by their datasets, or all when the config changed.
std::set<std::string> touched_prompts(const std::vector<std::string>& changed, const Snapshot& candidate,
                                      const Config& candidate_config,
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

CheckReport run_check(git::Repository& repo, const CheckOptions& options, EvalServices& services) {
  CheckReport report;
  // The baseline commit.
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

  // What changed. With no change at all, nothing else is read.
  const std::vector<std::string> changed =
      options.side == CheckSide::staged     ? repo.staged_paths(report.baseline)
      : options.side == CheckSide::worktree ? repo.worktree_paths(report.baseline)
                                            : repo.changed_paths(report.baseline, *options.commit);
  if (util::trace_enabled()) {
    util::trace_line("check: " + std::to_string(changed.size()) + " changed paths against " +
                     report.baseline_label);
  }
  if (changed.empty()) {
    return report;
  }
  const std::unique_ptr<Snapshot> candidate = candidate_snapshot(repo, options);
  ParsedConfig candidate_config = load_config(*candidate);
  if (has_errors(candidate_config.diagnostics)) {
    report.lint = std::move(candidate_config.diagnostics);
    return report;
  }
  std::unique_ptr<Snapshot> baseline;
  std::optional<Config> baseline_config;
  if (report.baseline) {
    baseline = commit_snapshot(repo, *report.baseline);
    baseline_config = load_config(*baseline).config;  // an old broken config still names its roots
  }
  std::set<std::string> touched =
      touched_prompts(changed, *candidate, candidate_config.config, baseline_config);
  if (!options.names.empty()) {
    std::set<std::string> named;
    for (const std::string& name : options.names) {
      if (touched.count(name) != 0) {
        named.insert(name);
      }
    }
    touched = std::move(named);
  }
  if (touched.empty()) {
    return report;
  }

  // Lint the touched prompts that exist at the candidate.
  std::map<std::string, PromptFile> candidate_files;
  for (PromptFile& file : find_prompts(*candidate, candidate_config.config)) {
    if (touched.count(file.name) != 0) {
      std::string name = file.name;
      candidate_files.emplace(std::move(name), std::move(file));
    }
  }
  std::vector<std::string> present;
  for (const auto& [name, file] : candidate_files) {
    present.push_back(name);
  }
  if (!present.empty()) {
    report.lint = lint(*candidate, present);
    std::vector<Diagnostic> eval_findings = lint_eval(*candidate, present);
    report.lint.insert(report.lint.end(), eval_findings.begin(), eval_findings.end());
    if (has_errors(report.lint)) {
      return report;
    }
  }

  // One PromptCheck per touched prompt; deleted ones need no evaluation.
  std::map<std::string, PromptCheck> checks;
  std::map<std::string, PromptFile> baseline_files;
  if (baseline) {
    for (PromptFile& file : find_prompts(*baseline, *baseline_config)) {
      if (touched.count(file.name) != 0) {
        std::string name = file.name;
        baseline_files.emplace(std::move(name), std::move(file));
      }
    }
  }
  std::vector<std::string> eval_names;
  for (const std::string& name : touched) {
    PromptCheck check;
    check.prompt = name;
    const auto file = candidate_files.find(name);
    const bool at_baseline = baseline_files.count(name) != 0;
    if (file == candidate_files.end()) {
      if (!at_baseline) {
        continue;  // a file that is not a prompt under the current roots
      }
      check.change = PromptCheck::Change::deleted;
      check.path = baseline_files.at(name).path;
      checks.emplace(name, std::move(check));
      continue;
    }
    check.change = at_baseline ? PromptCheck::Change::modified : PromptCheck::Change::added;
    check.path = file->second.path;
    const Prompt prompt = load_prompt(*candidate, file->second);
    check.has_eval = prompt.eval.present;
    if (check.has_eval) {
      check.gate = effective_gate(prompt, candidate_config.config);
      eval_names.push_back(name);
    }
    if (!at_baseline) {
      check.baseline_problem = "new prompt: no baseline";
    }
    checks.emplace(name, std::move(check));
  }

  // A baseline version that cannot be read (a broken file or config there, fixed by this change)
  // is no baseline: such prompts are evaluated at the candidate alone.
  std::vector<std::string> alone;
  if (baseline) {
    const bool config_broken = has_errors(load_config(*baseline).diagnostics);
    std::vector<std::string> paired;
    for (const std::string& name : eval_names) {
      PromptCheck& check = checks.at(name);
      if (check.change != PromptCheck::Change::modified) {
        paired.push_back(name);
        continue;
      }
      try {
        if (config_broken) {
          throw ConfigError(baseline_config->path + " at the baseline has errors");
        }
        load_prompt(*baseline, baseline_files.at(name));
        paired.push_back(name);
      } catch (const ConfigError& error) {
        check.baseline_problem =
            "the baseline version cannot be read (" + std::string(error.what()) + "): min only";
        alone.push_back(name);
      }
    }
    eval_names = std::move(paired);
  }
  if (!alone.empty()) {
    EvalOptions eval_options = options.eval;
    eval_options.names = alone;
    eval_options.offline = true;
    const std::vector<EvalTarget> target{candidate_target(repo, options)};
    const EvalReport planned = run_eval(repo, target, eval_options, services);
    take_mismatches(report, planned);
    take_keys(planned, false, checks);
    take_results(planned, checks);
    if (!options.offline && !planned.missing.empty()) {
      eval_options.offline = false;
      const EvalReport ran = run_eval(repo, target, eval_options, services);
      add_counts(report, ran);
      take_results(ran, checks);
    }
  }

  // Plan from the cache and notes; evaluate only what changed and is missing.
  if (!eval_names.empty()) {
    std::vector<EvalTarget> targets;
    if (report.baseline) {
      targets.push_back(
          EvalTarget::at_commit(*report.baseline, repo.read_commit(*report.baseline).subject()));
    }
    targets.push_back(candidate_target(repo, options));
    EvalOptions eval_options = options.eval;
    eval_options.names = eval_names;
    eval_options.offline = true;
    // Unchanged: the baseline on its own suite has the candidate's key (same prompt content,
    // model, dataset and assertions).
    if (report.baseline) {
      eval_options.suite_at = SuiteAt::each;
      take_keys(run_eval(repo, targets, eval_options, services), true, checks);
      std::vector<std::string> still;
      for (const std::string& name : eval_names) {
        PromptCheck& check = checks.at(name);
        if (check.change == PromptCheck::Change::modified && check.baseline_key == check.candidate_key) {
          ++report.unchanged;
          checks.erase(name);
        } else {
          still.push_back(name);
        }
      }
      eval_names = std::move(still);
      eval_options.names = eval_names;
      eval_options.suite_at = SuiteAt::newest;
    }
    std::vector<std::string> changed_names;
    if (!eval_names.empty()) {
      // Both sides on the candidate's suite, so that cases pair.
      const EvalReport planned = run_eval(repo, targets, eval_options, services);
      take_mismatches(report, planned);
      take_keys(planned, report.baseline.has_value(), checks);
      take_results(planned, checks);
    }
    for (const std::string& name : eval_names) {
      PromptCheck& check = checks.at(name);
      if (!check.candidate || (check.change == PromptCheck::Change::modified && !check.baseline)) {
        changed_names.push_back(name);
      }
    }
    if (!changed_names.empty() && !options.offline) {
      eval_options.names = changed_names;
      eval_options.offline = false;
      try {
        EvalReport ran = run_eval(repo, targets, eval_options, services);
        add_counts(report, ran);
        take_results(ran, checks);
        record_eval_notes(repo, ran);
      } catch (const ConfigError&) {
        if (targets.size() < 2) {
          throw;
        }
        // The candidate alone first (its own errors are real errors), then each baseline on its own:
        // an old version may not render with the new dataset (a variable was renamed).
        EvalReport ran = run_eval(repo, {targets.back()}, eval_options, services);
        add_counts(report, ran);
        take_results(ran, checks);
        record_eval_notes(repo, ran);
        for (const std::string& name : changed_names) {
          PromptCheck& check = checks.at(name);
          if (check.change != PromptCheck::Change::modified || check.baseline) {
            continue;
          }
          eval_options.names = {name};
          try {
            EvalReport one = run_eval(repo, targets, eval_options, services);
            add_counts(report, one);
            take_results(one, checks);
            record_eval_notes(repo, one);
          } catch (const ConfigError& error) {
            check.baseline_problem = "the baseline version cannot be judged by the candidate's dataset: " +
                                     std::string(error.what());
          }
        }
      }
    }
  }

  // Judge.
  for (auto& [name, check] : checks) {
    if (!check.has_eval || check.change == PromptCheck::Change::deleted) {
      report.prompts.push_back(std::move(check));
      continue;
    }
    if (!check.candidate) {
      check.candidate_problem = options.offline ? "not in the cache or notes (--offline): not checked"
                                                : "not evaluated (interrupted)";
    } else if (check.candidate->errors > 0) {
      check.candidate_problem = std::to_string(check.candidate->errors) + " case" +
                                (check.candidate->errors == 1 ? "" : "s") + " got no answer: not judged";
    }
    if (check.change == PromptCheck::Change::modified && !check.baseline && check.baseline_problem.empty()) {
      check.baseline_problem = options.offline ? "baseline not in the cache or notes (--offline): min only"
                                               : "baseline not evaluated";
    }
    if (check.baseline && check.baseline->errors > 0) {
      check.baseline_problem =
          "the baseline has " + std::to_string(check.baseline->errors) + " cases without an answer: min only";
      check.baseline.reset();
    }
    if (check.candidate && check.candidate_problem.empty()) {
      check.verdict =
          judge(check.gate, check.baseline, *check.candidate, case_groups(*candidate, *check.candidate));
    }
    report.prompts.push_back(std::move(check));
  }
  return report;
}

}  // namespace promptops
