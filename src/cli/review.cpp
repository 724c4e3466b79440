// SPDX-License-Identifier: MIT
// `git promptops review [BASE..HEAD]`: one report for a pull request: per changed prompt the
// semantic diff, each metric before → after with its interval and p-value, the flipped cases with
// their outputs, cost and latency, and the gate's verdict. Text, Markdown (a PR comment) or JSON.
// The report is the review workflow's; this file parses the range, calls it and renders.
#include <cmath>
#include <tuple>
#include <utility>

#include <promptops/workflows/check.hpp>
#include <promptops/util/error.hpp>
#include <promptops/workflows/prompt_diff.hpp>
#include <promptops/workflows/review.hpp>

#include "check_report.hpp"
#include "html_page.hpp"
#include "common.hpp"
#include "diff_text.hpp"
#include "evaluation.hpp"
#include "flip_cases.hpp"
#include <promptops/output/markdown.hpp>
#include <promptops/output/terminal.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;

struct ReviewOptions {
  std::string range;
  bool offline = false;
  bool no_cache = false;
  std::string format;
};

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

std::string p_text(const MetricRow& row) {
  if (!row.p_value) {
    return "";
  }
  const std::string text = *row.p_value == 0.0 ? "< 0.0001" : p_value_text(*row.p_value);
  return std::string(text) + (row.test == "mcnemar" ? " (McNemar)" : " (sign-flip)");
}

double confidence_of(const PromptReview& review) {
  return review.check && review.check->verdict ? review.check->verdict->confidence : 0.95;
}

std::string gate_word(const PromptReview& review) {
  if (!review.check) {
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
         util::plural(reviews.size(), "prompt") + " changed · " +
         std::to_string(report.real_calls) + " model calls, " + std::to_string(report.cache_hits) +
         " cached answers\n";
  if (report.lint_failed()) {
    out += "\n**Lint errors:**\n\n";
    for (const Diagnostic& d : report.lint) {
      out += "- `" + output::md_cell(d.format()) + "`\n";
    }
  }
  for (const PromptReview& review : reviews) {
    out += "\n### `" + review.name + "` (" + review.status + ") — " + gate_word(review) + "\n\n";
    if (!review.metrics.empty()) {
      out += "| metric | before | after | change | p |\n|---|---:|---:|---:|---|\n";
      for (const MetricRow& row : review.metrics) {
        const std::string before =
            row.base ? number(*row.base, row) + interval_suffix(row.base_interval) : "–";
        const std::string after =
            row.head ? number(*row.head, row) + interval_suffix(row.head_interval) : "–";
        const std::string change = row.base && row.head ? delta_text(row) : "";
        const std::string p =
            p_text(row) + (row.too_few ? " — " + too_few_cases_text(confidence_of(review)) : std::string());
        out += "| " + row.name + " | " + before + " | " + after + " | " + change + " | " + p + " |\n";
      }
    }
    if (review.check && review.check->verdict) {
      out += "\nGate:\n";
      for (const MetricCheck& check : review.check->verdict->checks) {
        out += std::string("- ") + (check.failed ? "❌ " : "✅ ") +
               output::md_cell(describe_metric(check, review.check->verdict->confidence)) + "\n";
      }
    }
    if (review.check) {
      for (const std::string& problem : {baseline_problem(*review.check), candidate_problem(*review.check)}) {
        if (!problem.empty()) {
          out += "\n> " + problem + "\n";
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

// The page's lines under its title: the verdict, lint errors, each prompt's gate and problems.
std::vector<std::string> review_notes(const CheckReport& report, const std::vector<PromptReview>& reviews) {
  const bool failed = report.lint_failed() || report.gate_failed();
  std::vector<std::string> notes{std::string(failed ? "Gate FAILED" : "Gate passed") + " · " +
                                 util::plural(reviews.size(), "prompt") + " changed · " +
                                 std::to_string(report.real_calls) + " model calls, " +
                                 std::to_string(report.cache_hits) + " cached answers"};
  for (const Diagnostic& d : report.lint) {
    notes.push_back(d.format());
  }
  for (const PromptReview& review : reviews) {
    notes.push_back(review.name + " (" + review.status + "): " + gate_word(review));
    if (review.check && review.check->verdict) {
      for (const MetricCheck& check : review.check->verdict->checks) {
        notes.push_back(review.name + ": " + (check.failed ? "fails " : "passes ") +
                        describe_metric(check, review.check->verdict->confidence));
      }
    }
    if (review.check) {
      for (const std::string& problem : {baseline_problem(*review.check), candidate_problem(*review.check)}) {
        if (!problem.empty()) {
          notes.push_back(review.name + ": " + problem);
        }
      }
    }
  }
  return notes;
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
        return number(value, row) + interval_suffix(interval);
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
    if (review.check && review.check->verdict) {
      for (const MetricCheck& check : review.check->verdict->checks) {
        out += std::string(check.failed ? "  ✗ gate: " : "  gate: ") +
               describe_metric(check, review.check->verdict->confidence) + "\n";
      }
    }
    if (review.check) {
      for (const std::string& problem : {baseline_problem(*review.check), candidate_problem(*review.check)}) {
        if (!problem.empty()) {
          out += "  " + problem + "\n";
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
         {"verdict", review.check && review.check->verdict ? verdict_json(*review.check->verdict)
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

// BASE..HEAD, HEAD.. or ..HEAD (either end defaults to HEAD), a revision (its merge base with
// HEAD), or nothing (where HEAD leaves the default branch): the two commits reviewed.
std::pair<git::Oid, git::Oid> review_range(Context& context, const std::string& range) {
  git::Repository& repo = context.repo();
  const std::size_t dots = range.find("..");
  if (range.empty()) {
    const git::Oid head = context.head();
    const std::optional<git::Oid> base = default_base(repo, head);
    if (!base) {
      throw UsageError("cannot tell which branch this change goes into (no origin/HEAD, main or master)",
                       "name the base: git promptops review main..HEAD");
    }
    return {*base, head};
  }
  if (dots == std::string::npos) {
    const git::Oid head = context.head();
    const std::optional<git::Oid> base = repo.merge_base(resolve_commit(context, range), head);
    if (!base) {
      throw UsageError("'" + range + "' and 'HEAD' share no history", "review a branch against the one it came from");
    }
    return {*base, head};
  }
  const std::string left = range.substr(0, dots);
  const std::string right = range.substr(dots + 2);
  if (right.starts_with(".")) {
    throw UsageError("review takes BASE..HEAD, not '" + range + "'", "git promptops review main..HEAD");
  }
  const git::Oid head = resolve_commit(context, right.empty() ? "HEAD" : right);
  const git::Oid left_id = resolve_commit(context, left.empty() ? "HEAD" : left);
  const std::optional<git::Oid> base = repo.merge_base(left_id, head);
  if (!base) {
    throw UsageError("'" + left + "' and '" + right + "' share no history",
                     "review a branch against the one it came from");
  }
  return {*base, head};
}

void run_review(Context& context, const ReviewOptions& options) {
  git::Repository& repo = context.repo();
  ReviewRequest request;
  std::tie(request.base, request.head) = review_range(context, options.range);
  request.offline = options.offline;
  request.flips_shown = options.format == "json" ? 0 : k_max_flips_shown;
  request.eval.provider_options = provider_options_for(repo);
  request.eval.notes = notes_policy(repo, false);
  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  const ReviewReport review = promptops::run_review(repo, request, session.services());
  session.clear_progress();
  for (const std::string& message : review.skipped) {
    context.warn(message);
  }

  const CheckReport& report = review.check;
  const std::string title = "Prompt review: " + review.base.short_hex() + ".." + review.head.short_hex();
  if (options.format == "json") {
    context.out_json(render_json(review.base, review.head, report, review.prompts));
  } else if (options.format == "markdown") {
    context.out(render_markdown(title, report, review.prompts));
  } else if (options.format == "html") {
    const std::string command = "git promptops review " + review.base.short_hex() + ".." + review.head.short_hex();
    context.out(html_page(repo, review.eval, title, command, review_notes(report, review.prompts)));
  } else {
    context.out(render_text(title, report, review.prompts,
                            context.stdout_color() ? diff::Markers::color : diff::Markers::plain));
  }
  RunEnd end;
  end.interrupted = report.interrupted;
  context.exit_status = run_exit(end, ExitCode::ok, [&report] {
    if (report.errors > 0) {
      throw ProviderError(util::plural(report.errors, "case") +
                              " got no answer from the provider, so the review is incomplete",
                          "run the same command again to retry them; answers already received are cached");
    }
  });
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
  add_format_option(*command, options->format, {"text", "markdown", "json", "html"});
  command->callback([&context, options] { run_review(context, *options); });
}

}  // namespace promptops::cli
