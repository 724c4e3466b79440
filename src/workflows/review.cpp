// SPDX-License-Identifier: MIT
// review: the check of a change joined with the prompts' semantic diff, the metric rows with their
// paired tests, and the flipped cases. Prints nothing.
#include <promptops/workflows/review.hpp>

#include <algorithm>
#include <map>
#include <utility>

#include <promptops/workflows/gate.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/eval/statistics.hpp>

namespace promptops::inline workflows {

namespace {

// The headline first, then pass_rate and mean_score when they are not it, then the named metrics.
std::vector<std::string> metric_names_for(const EvalResult& head) {
  std::vector<std::string> names = {head.metric};
  for (const char* extra : {"pass_rate", "mean_score"}) {
    if (std::find(names.begin(), names.end(), extra) == names.end()) {
      names.emplace_back(extra);
    }
  }
  for (const auto& [name, metric] : head.metrics.named) {  // assertions' named metrics
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  return names;
}

// The paired test of a metric between the two results: sign-flip for mean_score, McNemar for the
// pass/fail metrics, none for the others.
void paired_test(MetricRow& row, const EvalResult& base, const EvalResult& head,
                 const std::vector<std::string>& groups, const Flips& flips) {
  if (row.name == "mean_score") {
    const PairedCases paired = paired_cases(base, head, groups, false);
    const SignFlipResult test = paired_sign_flip(paired.a, paired.b, paired.groups);
    row.p_value = test.p_value;
    row.test = "sign_flip";
    row.smallest_p = test.min_p_value;
  } else if (row.name == "pass_rate" || row.name == "accuracy") {
    const McNemar test = mcnemar_exact(flips.pass_to_fail.size(), flips.fail_to_pass.size());
    row.p_value = test.p_value;
    row.test = "mcnemar";
    row.smallest_p = smallest_p_value(test.b + test.c);
  } else if (head.metrics.named.count(row.name) != 0) {
    const PairedCases paired = paired_named_cases(base, head, groups, row.name);
    const SignFlipResult test = paired_sign_flip(paired.a, paired.b, paired.groups);
    row.p_value = test.p_value;
    row.test = "sign_flip";
    row.smallest_p = test.min_p_value;
  }
}

MetricRow quality_row(const std::string& name, const PromptCheck& check, const std::vector<std::string>& groups,
                      const std::optional<Flips>& flips) {
  const std::optional<EvalResult>& base = check.baseline;
  const EvalResult& head = *check.candidate;
  MetricRow row;
  row.name = name;
  row.head = metric_value(head.metrics, name, &row.head_interval);
  if (base) {
    row.base = metric_value(base->metrics, name, &row.base_interval);
    paired_test(row, *base, head, groups, *flips);
  }
  const double confidence = check.verdict ? check.verdict->confidence : 0.95;
  row.too_few = row.p_value && *row.head < *row.base && row.smallest_p >= 1.0 - confidence;
  // The gate's own test wins where it judged the metric.
  if (check.verdict) {
    for (const MetricCheck& gated : check.verdict->checks) {
      if (gated.metric == name && gated.p_value) {
        row.p_value = gated.p_value;
        row.test = gated.test;
        row.too_few = gated.too_few_cases;
      }
    }
  }
  if (name == "macro_f1") {
    row.head_interval.reset();
    row.base_interval.reset();
  }
  return row;
}

std::optional<MetricRow> cost_row(const std::optional<EvalResult>& base, const EvalResult& head) {
  MetricRow cost;
  cost.name = "cost";
  cost.money = true;
  cost.head = head.metrics.cost;
  if (base) {
    cost.base = base->metrics.cost;
  }
  if (cost.head != 0.0 || cost.base.value_or(0.0) != 0.0) {
    return cost;
  }
  return std::nullopt;
}

std::optional<MetricRow> latency_row(const std::optional<EvalResult>& base, const EvalResult& head) {
  if (!head.metrics.latency) {
    return std::nullopt;
  }
  MetricRow latency;
  latency.name = "latency p50";
  latency.millis = true;
  latency.head = head.metrics.latency->p50_ms;
  if (base && base->metrics.latency) {
    latency.base = base->metrics.latency->p50_ms;
  }
  return latency;
}

const char* status_of(PromptCheck::Change change) {
  return change == PromptCheck::Change::added     ? "added"
         : change == PromptCheck::Change::deleted ? "deleted"
                                                  : "modified";
}

// Every changed prompt by name: its diff, and its check with rows and flips when it was judged.
std::vector<PromptReview> join_reviews(std::vector<PromptChange> changes, const CheckReport& report,
                                       const Snapshot& head_snapshot, std::size_t flips_shown) {
  std::map<std::string, PromptReview> by_name;
  for (PromptChange& change : changes) {
    PromptReview review;
    review.name = change.name;
    review.status = change.status;
    review.change = std::move(change);
    by_name.emplace(review.name, std::move(review));
  }
  for (const PromptCheck& check : report.prompts) {
    PromptReview& review = by_name[check.prompt];
    review.name = check.prompt;
    if (review.status.empty()) {
      review.status = status_of(check.change);
    }
    review.check = check;
    if (!check.candidate) {
      continue;
    }
    review.metrics = metric_rows(check, case_groups(head_snapshot, *check.candidate));
    if (check.baseline) {
      review.flips = flipped_cases(*check.baseline, *check.candidate, flips_shown);
    }
  }
  std::vector<PromptReview> reviews;
  for (auto& [name, review] : by_name) {
    reviews.push_back(std::move(review));
  }
  return reviews;
}

// A row of `side` (0 base, 1 head) for one side's result.
void add_side(EvalReport& report, std::size_t side, const std::string& prompt, const std::string& path,
              const std::string& key, const EvalResult& result) {
  EvalRow row;
  row.target = side;
  row.prompt = prompt;
  row.path = path;
  row.key = key;
  row.suite_from = 1;  // the candidate's dataset and assertions judged both
  report.rows.push_back(std::move(row));
  report.results.emplace(key, result);
}

// The reviews' results as one report over the base and head commits: rows by side, then name.
EvalReport review_eval(const git::Repository& repo, const ReviewReport& review) {
  EvalReport report;
  report.targets = {EvalTarget::at_commit(review.base, repo.read_commit(review.base).subject()),
                    EvalTarget::at_commit(review.head, repo.read_commit(review.head).subject())};
  for (std::size_t side = 0; side < 2; ++side) {
    for (const PromptReview& prompt : review.prompts) {
      if (!prompt.check) {
        continue;
      }
      const PromptCheck& check = *prompt.check;
      const std::optional<EvalResult>& result = side == 0 ? check.baseline : check.candidate;
      const bool renamed = prompt.change && !prompt.change->old_name.empty() && prompt.change->old_prompt;
      const std::string path = side == 0 && renamed ? prompt.change->old_prompt->path : check.path;
      if (result) {
        add_side(report, side, check.prompt, path, side == 0 ? check.baseline_key : check.candidate_key, *result);
      }
    }
  }
  report.real_calls = review.check.real_calls;
  report.cache_hits = review.check.cache_hits;
  report.errors = review.check.errors;
  report.interrupted = review.check.interrupted;
  return report;
}

}  // namespace

std::vector<MetricRow> metric_rows(const PromptCheck& check, const std::vector<std::string>& groups) {
  std::vector<MetricRow> rows;
  const std::optional<EvalResult>& base = check.baseline;
  const std::optional<EvalResult>& head = check.candidate;
  if (!head) {
    return rows;
  }
  std::optional<Flips> flips;
  if (base) {
    flips = promptops::flips(base->case_ids, base->outcomes, head->case_ids, head->outcomes);
  }
  for (const std::string& name : metric_names_for(*head)) {
    MetricRow row = quality_row(name, check, groups, flips);
    // pass_rate says nothing new when the headline (accuracy) equals it on both sides.
    if (name == "pass_rate" && !rows.empty() && rows.front().head == row.head &&
        rows.front().base == row.base) {
      continue;
    }
    rows.push_back(std::move(row));
  }
  for (std::optional<MetricRow> row : {cost_row(base, *head), latency_row(base, *head)}) {
    if (row) {
      rows.push_back(std::move(*row));
    }
  }
  return rows;
}

std::optional<git::Oid> default_base(const git::Repository& repo, const git::Oid& head) {
  for (const char* name : {"refs/remotes/origin/HEAD", "refs/remotes/origin/main",
                           "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master"}) {
    if (const std::optional<git::Oid> tip = repo.resolve(name)) {
      if (const std::optional<git::Oid> base = repo.merge_base(*tip, head)) {
        return base;
      }
    }
  }
  return std::nullopt;
}

ReviewReport run_review(git::Repository& repo, const ReviewRequest& request, EvalServices& services) {
  ReviewReport out;
  out.base = request.base;
  out.head = request.head;
  CheckOptions check_options;
  check_options.side = CheckSide::commit;
  check_options.commit = request.head;
  check_options.against = request.base;
  check_options.offline = request.offline;
  check_options.eval = request.eval;
  out.check = run_check(repo, check_options, services);

  const std::unique_ptr<Snapshot> base_snapshot = commit_snapshot(repo, request.base);
  const std::unique_ptr<Snapshot> head_snapshot = commit_snapshot(repo, request.head);
  std::vector<PromptChange> changes = diff_prompts(*base_snapshot, *head_snapshot, {}, &out.skipped);
  out.prompts = join_reviews(std::move(changes), out.check, *head_snapshot, request.flips_shown);
  out.eval = review_eval(repo, out);
  return out;
}

}  // namespace promptops::workflows
