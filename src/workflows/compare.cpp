// SPDX-License-Identifier: MIT
// compare: resolve the two sides, select the prompts, evaluate both on B's suite, pair each
// prompt's results and compute the paired statistics. Prints nothing.
#include <promptops/workflows/compare.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

#include <promptops/config/config.hpp>
#include <promptops/workflows/gate.hpp>
#include <promptops/prompt/registry.hpp>


namespace promptops::inline workflows {

namespace {

CompareSide commit_side(const git::Repository& repo, const std::string& text, const git::Oid& id) {
  CompareSide side;
  side.text = text;
  side.target = EvalTarget::at_commit(id, repo.read_commit(id).subject());
  side.label = text + " (" + id.short_hex() + ")";
  return side;
}

CompareSide worktree_side(const std::string& text) {
  return CompareSide{text, {}, EvalTarget::worktree(), text + " (working tree)"};
}

// NAME@REV: the prompt at that version, or in the working tree.
CompareSide versioned_side(const git::Repository& repo, const std::string& text) {
  const ResolvedReference ref = resolve_reference(repo, Reference::parse(text));
  CompareSide side = ref.commit ? commit_side(repo, text, *ref.commit) : worktree_side(text);
  side.prompt = ref.name;
  return side;
}

// NAME as a prompt of the working tree (of HEAD in a bare repository); nullopt when there is no
// such prompt, with the names there are added to `candidates`.
std::optional<CompareSide> current_prompt_side(const git::Repository& repo, const std::string& text,
                                               std::vector<std::string>& candidates) {
  const Reference ref = Reference::parse(text);
  const std::optional<git::Oid> head = repo.is_bare() ? repo.head() : std::nullopt;
  if (repo.is_bare() && !head) {
    return std::nullopt;
  }
  const std::unique_ptr<Snapshot> current = head ? commit_snapshot(repo, *head) : worktree_snapshot(repo);
  for (const PromptFile& file : find_prompts(*current, load_config(*current).config)) {
    if (file.name == ref.name) {
      CompareSide side = head ? commit_side(repo, text, *head) : worktree_side(text);
      side.prompt = ref.name;
      return side;
    }
    candidates.push_back(file.name);
  }
  return std::nullopt;
}

bool same_point(const EvalTarget& a, const EvalTarget& b) {
  return a.commit == b.commit && a.index == b.index;
}

std::unique_ptr<Snapshot> snapshot_of(const git::Repository& repo, const EvalTarget& target) {
  return target.commit ? commit_snapshot(repo, *target.commit) : worktree_snapshot(repo);
}

std::map<std::string, PromptFile> prompts_by_name(const Snapshot& snapshot) {
  std::map<std::string, PromptFile> files;
  for (PromptFile& file : find_prompts(snapshot, load_config(snapshot).config)) {
    std::string name = file.name;
    files.emplace(std::move(name), std::move(file));
  }
  return files;
}

// The names given, each present at both sides (NotFoundError with "did you mean" otherwise).
std::vector<std::string> named_prompts(const std::vector<std::string>& named, const CompareSide& a,
                                       const CompareSide& b, const std::map<std::string, PromptFile>& files_a,
                                       const std::map<std::string, PromptFile>& files_b) {
  std::vector<std::string> names;
  for (const std::string& name : named) {
    for (const CompareSide* side : {&a, &b}) {
      const auto& files = side == &a ? files_a : files_b;
      if (files.count(name) == 0) {
        std::vector<std::string> known;
        for (const auto& [known_name, file] : files) {
          known.push_back(known_name);
        }
        const std::string close = did_you_mean(name, known);
        throw NotFoundError("no prompt named '" + name + "' at " + side->label,
                            close.empty() ? "" : "did you mean '" + close + "'?");
      }
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  return names;
}

// Two revisions: the prompts named, else every prompt at both with [eval] at B.
PromptSelection select_prompts(const git::Repository& repo, const CompareSide& a, const CompareSide& b,
                               const std::vector<std::string>& named) {
  const std::unique_ptr<Snapshot> snapshot_a = snapshot_of(repo, a.target);
  const std::unique_ptr<Snapshot> snapshot_b = snapshot_of(repo, b.target);
  const std::map<std::string, PromptFile> files_a = prompts_by_name(*snapshot_a);
  const std::map<std::string, PromptFile> files_b = prompts_by_name(*snapshot_b);
  PromptSelection out;
  if (!named.empty()) {
    out.names = named_prompts(named, a, b, files_a, files_b);
    return out;
  }
  for (const auto& [name, file] : files_a) {
    if (files_b.count(name) == 0) {
      out.only_in_a.push_back(name);
    }
  }
  for (const auto& [name, file] : files_b) {
    if (files_a.count(name) == 0) {
      out.only_in_b.push_back(name);
    } else if (load_prompt(*snapshot_b, file).eval.present) {
      out.names.push_back(name);
    } else {
      out.skipped.push_back(name);
    }
  }
  return out;
}

// Both sides' evaluations of every selected prompt, B's suite judging both.
EvalReport evaluate(git::Repository& repo, const CompareReport& out, const CompareRequest& request,
                    EvalServices& services) {
  EvalOptions eval_options;
  eval_options.names = out.selection.names;
  eval_options.suite_at = SuiteAt::newest;  // B is last: its dataset and assertions judge both
  eval_options.offline = request.offline;
  eval_options.provider_options = request.provider_options;
  eval_options.notes = request.notes;
  EvalReport report = run_eval(repo, {out.a.target, out.b.target}, eval_options, services);
  if (!request.offline) {
    record_eval_notes(repo, report);
  }
  return report;
}

// Each selected prompt's results at A and B, paired when both are complete.
void pair_results(const git::Repository& repo, const EvalReport& report, CompareReport& out) {
  const std::set<std::string> missing(report.missing.begin(), report.missing.end());
  const std::unique_ptr<Snapshot> snapshot_b = snapshot_of(repo, out.b.target);
  for (const std::string& name : out.selection.names) {
    Comparison comparison;
    comparison.prompt = name;
    for (const EvalRow& row : report.rows) {
      if (row.prompt != name) {
        continue;
      }
      const bool is_a = row.target == 0;
      const auto it = report.results.find(row.key);
      if (it != report.results.end()) {
        (is_a ? comparison.a : comparison.b) = it->second;
      } else if (missing.count(row.key) != 0) {
        out.missing.push_back(name + " at " + std::string(is_a ? "A" : "B") + " (" +
                              (is_a ? out.a : out.b).label + ")");
        (is_a ? comparison.a_state : comparison.b_state) = Comparison::Side::missing;
      } else {
        (is_a ? comparison.a_state : comparison.b_state) = Comparison::Side::unfinished;
      }
    }
    if (comparison.complete()) {
      const std::vector<std::string> groups = case_groups(*snapshot_b, *comparison.b);
      Comparison paired = analyse(name, std::move(*comparison.a), std::move(*comparison.b), groups);
      comparison = std::move(paired);
    }
    out.comparisons.push_back(std::move(comparison));
  }
}

}  // namespace

CompareSide resolve_side(const git::Repository& repo, const std::string& text) {
  const bool revision_syntax = text.empty() || text.front() == '@' || text.find("@{") != std::string::npos;
  if (!revision_syntax && text.find('@') != std::string::npos) {
    return versioned_side(repo, text);
  }
  std::vector<std::string> candidates;
  if (!revision_syntax) {
    if (std::optional<CompareSide> side = current_prompt_side(repo, text, candidates)) {
      return std::move(*side);
    }
  }
  if (const std::optional<git::Oid> id = repo.resolve(text)) {
    return commit_side(repo, text, *id);
  }
  for (std::string& name : repo.ref_names()) {
    candidates.push_back(std::move(name));
  }
  const std::string close = did_you_mean(text, candidates);
  throw NotFoundError("no prompt or revision named '" + text + "'",
                      close.empty() ? "a reference is NAME (the working tree), NAME@REV or a revision; "
                                      "git promptops list shows the prompts"
                                    : "did you mean '" + close + "'?");
}

namespace {

std::string sides_message(CompareSidesError::Kind kind, const CompareSide& a, const CompareSide& b) {
  switch (kind) {
    case CompareSidesError::Kind::one_prompt:
      return "only one of A ('" + a.text + "') and B ('" + b.text + "') names a prompt";
    case CompareSidesError::Kind::different_prompts:
      return "A and B name different prompts ('" + a.prompt.value_or("") + "' and '" + b.prompt.value_or("") +
             "')";
    case CompareSidesError::Kind::names_with_prompt:
      return "prompt names go with two revisions, not with " + a.text + " and " + b.text;
    case CompareSidesError::Kind::same:
      break;
  }
  return "A and B are the same (" + a.label + ")";
}

}  // namespace

CompareSidesError::CompareSidesError(Kind kind_, CompareSide a_, CompareSide b_)
    : UsageError(sides_message(kind_, a_, b_)), kind(kind_), a(std::move(a_)), b(std::move(b_)) {}

void check_sides(const CompareSide& a, const CompareSide& b, const std::vector<std::string>& named,
                 const std::string& model) {
  using Kind = CompareSidesError::Kind;
  if (a.prompt || b.prompt) {
    if (!a.prompt || !b.prompt) {
      throw CompareSidesError(Kind::one_prompt, a, b);
    }
    if (*a.prompt != *b.prompt) {
      throw CompareSidesError(Kind::different_prompts, a, b);
    }
    if (!named.empty()) {
      throw CompareSidesError(Kind::names_with_prompt, a, b);
    }
  }
  if (same_point(a.target, b.target) && model.empty()) {
    throw CompareSidesError(Kind::same, a, b);
  }
}

std::vector<Difference> differing_cases(const EvalResult& a, const EvalResult& b) {
  std::map<std::string, std::size_t> index_a;
  for (std::size_t i = 0; i < a.case_ids.size(); ++i) {
    index_a.emplace(a.case_ids[i], i);
  }
  std::vector<Difference> out;
  for (std::size_t i = 0; i < b.case_ids.size() && i < b.outcomes.size(); ++i) {
    const auto it = index_a.find(b.case_ids[i]);
    if (it != index_a.end() && it->second < a.outcomes.size() && a.outcomes[it->second] != b.outcomes[i]) {
      out.push_back({b.case_ids[i], a.outcomes[it->second], b.outcomes[i]});
    }
  }
  return out;
}

Comparison analyse(const std::string& prompt, EvalResult a, EvalResult b, const std::vector<std::string>& groups_b) {
  Comparison comparison;
  comparison.prompt = prompt;
  comparison.flips = flips(a.case_ids, a.outcomes, b.case_ids, b.outcomes);
  if (is_pass_metric(b.metric)) {
    comparison.mcnemar =
        mcnemar_exact(comparison.flips->pass_to_fail.size(), comparison.flips->fail_to_pass.size());
  }
  comparison.differences = differing_cases(a, b);
  const PairedCases paired = paired_cases(a, b, groups_b, false);
  comparison.paired = paired.a.size();
  comparison.grouped = !paired.groups.empty();
  comparison.bootstrap = paired_bootstrap(paired.a, paired.b, paired.groups, k_compare_resamples, k_compare_seed);
  comparison.sign_flip = paired_sign_flip(paired.a, paired.b, paired.groups, k_compare_resamples, k_compare_seed);
  const double smallest = comparison.mcnemar ? smallest_p_value(comparison.mcnemar->b + comparison.mcnemar->c)
                                             : comparison.sign_flip.min_p_value;
  comparison.too_few_cases = b.value < a.value && smallest >= 1.0 - k_compare_confidence;
  if (!comparison.differences.empty()) {
    comparison.records_a = read_case_records(a);
    comparison.records_b = read_case_records(b);
  }
  comparison.a = std::move(a);
  comparison.b = std::move(b);
  return comparison;
}

CompareReport run_compare(git::Repository& repo, const CompareRequest& request, EvalServices& services) {
  CompareReport out;
  out.a = resolve_side(repo, request.a);
  out.b = resolve_side(repo, request.b);
  out.b.target.model = request.model;
  check_sides(out.a, out.b, request.names, request.model);
  if (out.a.prompt) {
    out.selection.names = {*out.a.prompt};
  } else {
    out.selection = select_prompts(repo, out.a, out.b, request.names);
  }
  if (request.selected) {
    request.selected(out.a, out.b, out.selection);
  }
  if (out.selection.names.empty()) {
    return out;
  }
  out.eval = evaluate(repo, out, request, services);
  const EvalReport& report = out.eval;
  out.real_calls = report.real_calls;
  out.cache_hits = report.cache_hits;
  out.errors = report.errors;
  out.interrupted = report.interrupted;
  pair_results(repo, report, out);
  return out;
}

}  // namespace promptops::workflows
