// SPDX-License-Identifier: MIT
// `git promptops review [BASE..HEAD]`: one report for a pull request: per changed prompt the
// semantic diff, each metric before → after with its interval and p-value, the flipped cases with
// their outputs, cost and latency, and the gate's verdict. Text, Markdown (a PR comment) or JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <promptops/case_records.hpp>
#include <promptops/check.hpp>
#include <promptops/dataset.hpp>
#include <promptops/error.hpp>
#include <promptops/prompt_diff.hpp>
#include <promptops/statistics.hpp>

#include "cli/check_report.hpp"
#include "cli/common.hpp"
#include "cli/diff_text.hpp"
#include "cli/evaluation.hpp"
#include "cli/flip_cases.hpp"
#include "output/terminal.hpp"
#include "util/strings.hpp"

namespace promptops::cli {

namespace {

using json = nlohmann::json;

constexpr std::size_t k_max_flips_shown = 10;

struct ReviewOptions {
  std::string range;
  bool offline = false;
  bool no_cache = false;
  std::string format;
};

// One row of the metrics table.
struct MetricRow {
  std::string name;
  std::optional<double> base;
  std::optional<double> head;
  std::optional<Interval> base_interval;
  std::optional<Interval> head_interval;
  std::optional<double> p_value;
  std::string test;
  double smallest_p = 1.0;  // of the paired test, with the cases that changed
  bool too_few = false;     // it dropped, and no outcome of the changed cases could be significant
  bool money = false;   // cost: "$0.0123"
  bool millis = false;  // latency: "412 ms"
};

struct PromptReview {
  std::string name;
  std::string status;  // modified | added | deleted | renamed
  std::optional<PromptChange> change;
  const PromptCheck* check = nullptr;  // null when its evaluation did not change
  std::vector<MetricRow> metrics;
  FlippedCases flips;
};

// The default base: where HEAD leaves the remote's default branch (or the local main/master).
git::Oid default_base(git::Repository& repo, const git::Oid& head) {
  for (const char* name : {"refs/remotes/origin/HEAD", "refs/remotes/origin/main",
                           "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master"}) {
    if (const std::optional<git::Oid> tip = repo.resolve(name)) {
      if (const std::optional<git::Oid> base = repo.merge_base(*tip, head)) {
        return *base;
      }
    }
  }
  throw UsageError("cannot tell which branch this change goes into (no origin/HEAD, main or master)",
                   "name the base: git promptops review main..HEAD");
}

std::string number(double value, const MetricRow& row) {
  if (row.money) {
    return money(value);
  }
  if (row.millis) {
    return fixed(value, 0) + " ms";
  }
  return fixed(value, 3);
}

std::string delta_text(const MetricRow& row) {
  const double delta = *row.head - *row.base;
  if (row.millis) {
    return signed_fixed(delta, 0) + " ms";
  }
  if (row.money) {
    return (delta > 0   ? "+$"
            : delta < 0 ? "-$"
                        : "$") +
           fixed(std::abs(delta), std::abs(delta) < 0.01 ? 5 : 4);
  }
  return signed_fixed(delta, 3);
}

std::string interval_text(const std::optional<Interval>& interval) {
  return interval ? "[" + fixed(interval->low, 2) + ", " + fixed(interval->high, 2) + "]" : "";
}

std::string p_text(const MetricRow& row) {
  if (!row.p_value) {
    return "";
  }
  const std::string text = *row.p_value == 0.0 ? "< 0.0001" : p_value_text(*row.p_value);
  return std::string(text) + (row.test == "mcnemar" ? " (McNemar)" : " (sign-flip)");
}

std::vector<MetricRow> metric_rows(const PromptCheck& check, const std::vector<std::string>& groups) {
  std::vector<MetricRow> rows;
  const std::optional<EvalResult>& base = check.baseline;
  const std::optional<EvalResult>& head = check.candidate;
  if (!head) {
    return rows;
  }
  std::vector<std::string> names = {head->metric};
  for (const char* extra : {"pass_rate", "mean_score"}) {
    if (std::find(names.begin(), names.end(), extra) == names.end()) {
      names.emplace_back(extra);
    }
  }
  std::optional<Flips> flips;
  if (base) {
    flips = promptops::flips(base->case_ids, base->outcomes, head->case_ids, head->outcomes);
  }
  for (const std::string& name : names) {
    MetricRow row;
    row.name = name;
    row.head = metric_value(head->metrics, name, &row.head_interval);
    if (base) {
      row.base = metric_value(base->metrics, name, &row.base_interval);
      if (name == "mean_score") {
        const PairedCases paired = paired_cases(*base, *head, groups, false);
        const SignFlipResult test = paired_sign_flip(paired.a, paired.b, paired.groups);
        row.p_value = test.p_value;
        row.test = "sign_flip";
        row.smallest_p = test.min_p_value;
      } else if (name == "pass_rate" || name == "accuracy") {
        const McNemar test = mcnemar_exact(flips->pass_to_fail.size(), flips->fail_to_pass.size());
        row.p_value = test.p_value;
        row.test = "mcnemar";
        row.smallest_p = smallest_p_value(test.b + test.c);
      }
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
    // pass_rate says nothing new when the headline (accuracy) equals it on both sides.
    if (name == "pass_rate" && !rows.empty() && rows.front().head == row.head &&
        rows.front().base == row.base) {
      continue;
    }
    rows.push_back(std::move(row));
  }
  MetricRow cost;
  cost.name = "cost";
  cost.money = true;
  cost.head = head->metrics.cost;
  if (base) {
    cost.base = base->metrics.cost;
  }
  if (cost.head != 0.0 || cost.base.value_or(0.0) != 0.0) {
    rows.push_back(cost);
  }
  if (head->metrics.latency) {
    MetricRow latency;
    latency.name = "latency p50";
    latency.millis = true;
    latency.head = head->metrics.latency->p50_ms;
    if (base && base->metrics.latency) {
      latency.base = base->metrics.latency->p50_ms;
    }
    rows.push_back(latency);
  }
  return rows;
}

double confidence_of(const PromptReview& review) {
  return review.check != nullptr && review.check->verdict ? review.check->verdict->confidence : 0.95;
}

std::string gate_word(const PromptReview& review) {
  if (review.check == nullptr) {
    return review.status == "deleted" ? "deleted" : "evaluation unchanged";
  }
  if (!review.check->has_eval) {
    return "no [eval]";
  }
  if (!review.check->verdict) {
    return "not judged";
  }
  return review.check->verdict->passed ? "passes" : "FAILS";
}

std::string render_markdown(const std::string& title, const CheckReport& report,
                            const std::vector<PromptReview>& reviews) {
  std::string out = "## " + title + "\n\n";
  const bool failed = report.lint_failed() || report.gate_failed();
  out += std::string(failed ? "❌ **Gate failed**" : "✅ **Gate passed**") + " · " +
         std::to_string(reviews.size()) + " prompt" + (reviews.size() == 1 ? "" : "s") + " changed · " +
         std::to_string(report.real_calls) + " model calls, " + std::to_string(report.cache_hits) +
         " cached answers\n";
  if (report.lint_failed()) {
    out += "\n**Lint errors:**\n\n";
    for (const Diagnostic& d : report.lint) {
      out += "- `" + md_cell(d.format()) + "`\n";
    }
  }
  for (const PromptReview& review : reviews) {
    out += "\n### `" + review.name + "` (" + review.status + ") — " + gate_word(review) + "\n\n";
    if (!review.metrics.empty()) {
      out += "| metric | before | after | change | p |\n|---|---:|---:|---:|---|\n";
      for (const MetricRow& row : review.metrics) {
        const std::string before =
            row.base
                ? number(*row.base, row) + (row.base_interval ? " " + interval_text(row.base_interval) : "")
                : "–";
        const std::string after =
            row.head
                ? number(*row.head, row) + (row.head_interval ? " " + interval_text(row.head_interval) : "")
                : "–";
        const std::string change = row.base && row.head ? delta_text(row) : "";
        const std::string p =
            p_text(row) + (row.too_few ? " — " + too_few_cases_text(confidence_of(review)) : std::string());
        out += "| " + row.name + " | " + before + " | " + after + " | " + change + " | " + p + " |\n";
      }
    }
    if (review.check != nullptr && review.check->verdict) {
      out += "\nGate:\n";
      for (const MetricCheck& check : review.check->verdict->checks) {
        out += std::string("- ") + (check.failed ? "❌ " : "✅ ") +
               md_cell(describe_metric(check, review.check->verdict->confidence)) + "\n";
      }
    }
    if (review.check != nullptr) {
      for (const std::string* problem : {&review.check->baseline_problem, &review.check->candidate_problem}) {
        if (!problem->empty()) {
          out += "\n> " + *problem + "\n";
        }
      }
    }
    if (!review.flips.cases.empty()) {
      out += "\n" + flips_markdown(review.flips);
    }
    if (review.change) {
      out += "\n<details><summary>Prompt diff</summary>\n\n```\n";
      for (const std::string& line : change_lines(*review.change, diff::Markers::plain)) {
        out += line + "\n";
      }
      out += "```\n\n</details>\n";
    }
  }
  return out;
}

std::string render_text(const std::string& title, const CheckReport& report,
                        const std::vector<PromptReview>& reviews, diff::Markers markers) {
  std::string out = title + "\n";
  const bool failed = report.lint_failed() || report.gate_failed();
  out += std::string("gate: ") + (failed ? "FAILED" : "passed") + "\n";
  for (const Diagnostic& d : report.lint) {
    out += d.format() + " [" + d.code + "]\n";
  }
  for (const PromptReview& review : reviews) {
    out += "\nprompt " + review.name + " (" + review.status + "): " + gate_word(review) + "\n";
    for (const MetricRow& row : review.metrics) {
      const auto side = [&row](double value, const std::optional<Interval>& interval) {
        return number(value, row) + (interval ? " " + interval_text(interval) : "");
      };
      out += "  " + row.name + ": " + (row.base ? side(*row.base, row.base_interval) + " → " : "") +
             side(*row.head, row.head_interval);
      if (row.base) {
        out += " (" + delta_text(row) + ")";
      }
      const std::string p = p_text(row);
      out += p.empty() ? "" : ", p " + (p.starts_with("<") ? p : "= " + p);
      out += (row.too_few ? "; " + too_few_cases_text(confidence_of(review)) : std::string()) + "\n";
    }
    if (review.check != nullptr && review.check->verdict) {
      for (const MetricCheck& check : review.check->verdict->checks) {
        out += std::string(check.failed ? "  ✗ gate: " : "  gate: ") +
               describe_metric(check, review.check->verdict->confidence) + "\n";
      }
    }
    if (review.check != nullptr) {
      for (const std::string* problem : {&review.check->baseline_problem, &review.check->candidate_problem}) {
        if (!problem->empty()) {
          out += "  " + *problem + "\n";
        }
      }
    }
    for (const FlipCase& flip : review.flips.cases) {
      out += flip_text(flip, "  ");
    }
    if (review.change) {
      for (const std::string& line : change_lines(*review.change, markers)) {
        out += "  " + line + "\n";
      }
    }
  }
  return out;
}

json render_json(const std::optional<git::Oid>& base, const git::Oid& head, const CheckReport& report,
                 const std::vector<PromptReview>& reviews) {
  json prompts = json::array();
  for (const PromptReview& review : reviews) {
    json metrics = json::array();
    for (const MetricRow& row : review.metrics) {
      const auto interval = [](const std::optional<Interval>& i) {
        return i ? json::array({i->low, i->high}) : json(nullptr);
      };
      metrics.push_back({{"metric", row.name},
                         {"before", row.base ? json(*row.base) : json(nullptr)},
                         {"after", row.head ? json(*row.head) : json(nullptr)},
                         {"before_interval", interval(row.base_interval)},
                         {"after_interval", interval(row.head_interval)},
                         {"p_value", row.p_value ? json(*row.p_value) : json(nullptr)},
                         {"test", row.test.empty() ? json(nullptr) : json(row.test)},
                         {"too_few_cases", row.too_few}});
    }
    json flips = json::array();
    for (const FlipCase& flip : review.flips.cases) {
      flips.push_back(flip_json(flip));
    }
    json diff_lines = json::array();
    if (review.change) {
      for (const std::string& line : change_lines(*review.change, diff::Markers::plain)) {
        diff_lines.push_back(line);
      }
    }
    prompts.push_back(
        {{"prompt", review.name},
         {"status", review.status},
         {"gate", gate_word(review)},
         {"verdict", review.check != nullptr && review.check->verdict ? verdict_json(*review.check->verdict)
                                                                      : json(nullptr)},
         {"metrics", metrics},
         {"flips", flips},
         {"diff", diff_lines}});
  }
  return {{"base", base ? json(base->hex()) : json(nullptr)},
          {"head", head.hex()},
          {"passed", !report.lint_failed() && !report.gate_failed()},
          {"prompts", prompts},
          {"real_calls", report.real_calls},
          {"cache_hits", report.cache_hits}};
}

void run_review(Context& context, const ReviewOptions& options) {
  git::Repository& repo = context.repo();
  git::Oid head;
  std::optional<git::Oid> base;
  const std::size_t dots = options.range.find("..");
  if (options.range.empty()) {
    head = context.head();
    base = default_base(repo, head);
  } else if (dots == std::string::npos) {
    head = context.head();
    base = repo.merge_base(resolve_commit(context, options.range), head);
  } else {
    const std::string left = options.range.substr(0, dots);
    const std::string right = options.range.substr(dots + 2);
    if (right.starts_with(".")) {
      throw UsageError("review takes BASE..HEAD, not '" + options.range + "'",
                       "git promptops review main..HEAD");
    }
    head = resolve_commit(context, right.empty() ? "HEAD" : right);
    const git::Oid left_id = resolve_commit(context, left.empty() ? "HEAD" : left);
    base = repo.merge_base(left_id, head);
    if (!base) {
      throw UsageError("'" + left + "' and '" + right + "' share no history",
                       "review a branch against the one it came from");
    }
  }

  CheckOptions check_options;
  check_options.side = CheckSide::commit;
  check_options.commit = head;
  check_options.against = base;
  check_options.offline = options.offline;
  check_options.eval.provider_options = provider_options_for(repo);
  check_options.eval.notes = notes_policy(repo, false);
  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  const CheckReport report = run_check(repo, check_options, session.services());
  session.clear_progress();

  const auto base_snapshot = commit_snapshot(repo, *base);
  const auto head_snapshot = commit_snapshot(repo, head);
  std::vector<std::string> skipped;
  std::vector<PromptChange> changes = diff_prompts(*base_snapshot, *head_snapshot, {}, &skipped);
  for (const std::string& message : skipped) {
    context.warn(message);
  }

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
      review.status = check.change == PromptCheck::Change::added     ? "added"
                      : check.change == PromptCheck::Change::deleted ? "deleted"
                                                                     : "modified";
    }
    review.check = &check;
    if (!check.candidate) {
      continue;
    }
    review.metrics = metric_rows(check, case_groups(*head_snapshot, *check.candidate));
    if (check.baseline) {
      review.flips =
          flipped_cases(*check.baseline, *check.candidate, options.format == "json" ? 0 : k_max_flips_shown);
    }
  }
  std::vector<PromptReview> reviews;
  for (auto& [name, review] : by_name) {
    reviews.push_back(std::move(review));
  }

  const std::string title = "Prompt review: " + base->short_hex() + ".." + head.short_hex();
  if (options.format == "json") {
    context.out_json(render_json(base, head, report, reviews));
  } else if (options.format == "markdown") {
    context.out(render_markdown(title, report, reviews));
  } else {
    context.out(render_text(title, report, reviews,
                            context.stdout_color() ? diff::Markers::color : diff::Markers::plain));
  }
  if (report.interrupted) {
    throw InterruptedError("interrupted: answers received so far are cached; run the same command to resume");
  }
  if (report.errors > 0) {
    throw ProviderError(std::to_string(report.errors) + " case" + (report.errors == 1 ? "" : "s") +
                            " got no answer from the provider, so the review is incomplete",
                        "run the same command again to retry them; answers already received are cached");
  }
}

}  // namespace

void add_review(CLI::App& app, Context& context) {
  auto options = std::make_shared<ReviewOptions>();
  CLI::App* command = app.add_subcommand(
      "review", "report a change for review: prompt diffs, metrics with p-values, flipped cases, the gate");
  command->add_option("range", options->range,
                      "BASE..HEAD (default: from where HEAD leaves origin's default branch, main or master)");
  command->add_flag("--offline", options->offline,
                    "use results already in the cache or notes; make no model call");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  add_format_option(*command, options->format, {"text", "markdown", "json"});
  command->callback([&context, options] { run_review(context, *options); });
}

}  // namespace promptops::cli
