// SPDX-License-Identifier: MIT
// `git promptops bisect NAME`: the first commit where a prompt's metric went bad, explained (both
// sides with intervals, the flipped cases, the prompt diff); and `bisect-run NAME`, the test that
// `git bisect run` calls per commit (exit 0 good, 1 bad, 125 cannot be tested).
#include <cstdio>
#include <memory>

#include <promptops/workflows/bisect.hpp>
#include <promptops/util/error.hpp>
#include <promptops/workflows/prompt_diff.hpp>

#include "check_report.hpp"
#include "common.hpp"
#include "diff_text.hpp"
#include "evaluation.hpp"
#include "flip_cases.hpp"
#include "remedies.hpp"
#include <promptops/output/markdown.hpp>
#include <promptops/output/table.hpp>
#include <promptops/output/terminal.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;
using Verdict = BisectVersion::Verdict;

struct BisectCommandOptions {
  std::string name;
  std::string good;
  std::string bad;
  std::string metric;
  std::optional<double> threshold;
  std::optional<double> max_drop;
  bool significant = false;
  std::string suite_at = "bad";
  bool all = false;
  bool verify = false;
  bool no_cache = false;
  std::string format;
};

// Everything shown about one drop.
struct DropView {
  const BisectDrop* drop = nullptr;
  git::Commit commit;  // the first bad commit
  std::optional<PromptChange> change;
  FlippedCases flips;
};

const char* verdict_word(Verdict verdict) {
  switch (verdict) {
    case Verdict::good:
      return "good";
    case Verdict::bad:
      return "bad";
    case Verdict::untestable:
      return "untestable";
    case Verdict::unknown:
      break;
  }
  return "not evaluated";
}

// "0.250 [0.07, 0.59]"
std::string value_text(const BisectReport& report, const BisectVersion& version) {
  if (!version.result) {
    return "-";
  }
  std::optional<Interval> interval;
  const double value = metric_value(version.result->metrics, report.metric, &interval);
  return fixed(value, 3) + interval_suffix(report.metric == "macro_f1" ? std::nullopt : interval);
}

double value_of(const BisectReport& report, const BisectVersion& version) {
  return metric_value(version.result->metrics, report.metric, nullptr);
}

std::string person_text(const git::Person& person) { return person.name + " <" + person.email + ">"; }

std::vector<DropView> drop_views(git::Repository& repo, const BisectReport& report,
                                 const std::string& format) {
  std::vector<DropView> views;
  for (const BisectDrop& drop : report.drops) {
    DropView view;
    view.drop = &drop;
    const BisectVersion& bad = report.versions[drop.first_bad];
    const BisectVersion& good = report.versions[drop.last_good];
    view.commit = repo.read_commit(bad.commit);
    git::Commit mailmapped = view.commit;
    mailmapped.author = repo.mailmap(view.commit.author);
    view.commit = std::move(mailmapped);
    if (!drop.ambiguous) {  // an end taken as given has no result: no flips
      const std::vector<git::Oid> parents = repo.parents(bad.commit);
      if (!parents.empty()) {
        const auto before = commit_snapshot(repo, parents.front());
        const auto after = commit_snapshot(repo, bad.commit);
        std::vector<std::string> skipped;
        for (PromptChange& change : diff_prompts(*before, *after, {report.prompt}, &skipped)) {
          if (change.name == report.prompt) {
            view.change = std::move(change);
          }
        }
      }
      if (good.result && bad.result) {
        view.flips = flipped_cases(*good.result, *bad.result, format == "json" ? 0 : k_max_flips_shown);
      }
    }
    views.push_back(std::move(view));
  }
  return views;
}

std::size_t count_sources(const BisectReport& report, const std::string& source) {
  std::size_t n = 0;
  for (const BisectVersion& version : report.versions) {
    n += version.source == source ? 1 : 0;
  }
  return n;
}

std::size_t unevaluated(const BisectReport& report) {
  std::size_t n = 0;
  for (const BisectVersion& version : report.versions) {
    n += !version.result && version.verdict != Verdict::untestable && version.source != "given" ? 1 : 0;
  }
  return n;
}

// "searched 9 versions in 23 commits (12 touched greet's files): 3 evaluated, 1 from the cache, 0
// from notes; 24 model calls"
std::string summary_line(const BisectReport& report) {
  return "searched " + util::plural(report.versions.size(), "version") + " in " +
         util::plural(report.commits_walked, "commit") + " (" + std::to_string(report.candidates) +
         " touched its files): " + std::to_string(report.evaluations) + " evaluated, " +
         std::to_string(count_sources(report, "cache")) + " from the cache, " +
         std::to_string(count_sources(report, "notes")) + " from notes; " +
         util::plural(report.real_calls, "model call");
}

// The honest caveat of a binary search.
std::string caveat(const BisectReport& report) {
  if (report.non_monotonic) {
    return "results already known contradict this boundary (a version bad before it or good after it): the "
           "prompt "
           "went bad more than once (--all lists every drop)";
  }
  const std::size_t left = unevaluated(report);
  if (left == 0) {
    return "";
  }
  return "binary search assumes the prompt stays bad once it goes bad: " + util::plural(left, "version") +
         (left == 1 ? " was" : " were") +
         " not evaluated and may hide other drops (--all evaluates every one)";
}

std::string versions_table(const BisectReport& report) {
  output::Table table({"COMMIT", "VERDICT", report.metric, "FROM", "SUBJECT"},
                      {output::Align::left, output::Align::left, output::Align::right, output::Align::left,
                       output::Align::left});
  for (std::size_t i = 0; i < report.versions.size(); ++i) {
    const BisectVersion& version = report.versions[i];
    if (!version.result && version.verdict != Verdict::untestable && version.source != "given") {
      continue;
    }
    std::string subject = version.subject;
    if (i == 0) {
      subject += " (good side)";
    } else if (i + 1 == report.versions.size()) {
      subject += " (bad side)";
    }
    if (version.verdict == Verdict::untestable) {
      subject += ": " + one_line_excerpt(version.problem, 80);
    }
    table.add_row({version.commit.short_hex(), verdict_word(version.verdict), value_text(report, version),
                   version.source.empty() ? "-" : version.source, subject});
  }
  return table.render();
}

std::string drop_text(const BisectReport& report, const DropView& view, diff::Markers markers) {
  const BisectDrop& drop = *view.drop;
  const BisectVersion& good = report.versions[drop.last_good];
  const BisectVersion& bad = report.versions[drop.first_bad];
  std::string out;
  if (drop.ambiguous) {
    out += "the first bad commit is one of these (the ones between could not be evaluated):\n";
    for (std::size_t i = drop.last_good + 1; i <= drop.first_bad; ++i) {
      const BisectVersion& version = report.versions[i];
      out +=
          "  " + version.commit.hex() + " " + version.subject + " (" + verdict_word(version.verdict) + ")\n";
    }
    out += "  last good: " + good.commit.short_hex() + " " + report.metric + " " + value_text(report, good) +
           "\n";
    return out;
  }
  out += bad.commit.hex() + " is the first bad commit for " + report.prompt + "\n";
  out += "  subject:  " + view.commit.subject() + "\n";
  out += "  author:   " + person_text(view.commit.author) + "\n";
  out += "  date:     " + format_iso_date(view.commit.author) + "\n";
  out += "  " + report.metric + ": " + value_text(report, good) + " at " + good.commit.short_hex() + " → " +
         value_text(report, bad) +
         (good.result && bad.result
              ? " (" + signed_fixed(value_of(report, bad) - value_of(report, good), 3) + ")"
              : " (" + std::string(good.result ? "the bad side" : "the good side") +
                    " taken as given, not evaluated: --verify evaluates it)") +
         "\n";
  if (bad.judged) {
    for (const MetricCheck& check : bad.judged->checks) {
      if (check.p_value) {
        out += "  p-value:  " + p_value_text(*check.p_value) + " (" +
               (check.test == "mcnemar" ? "McNemar" : "sign-flip test") + ", " + check.metric + ")\n";
      }
    }
  }
  if (!drop.changed.empty()) {
    out += "  changed:  " + util::join(drop.changed, ", ") + "\n";
  }
  out += "  flipped:  " + std::to_string(view.flips.pass_to_fail) + " pass → fail, " +
         std::to_string(view.flips.fail_to_pass) + " fail → pass\n";
  for (const FlipCase& flip : view.flips.cases) {
    out += flip_text(flip, "    ");
  }
  if (view.flips.total() > view.flips.cases.size()) {
    out += "    (" + std::to_string(view.flips.total() - view.flips.cases.size()) +
           " more; --format json lists all)\n";
  }
  if (view.change) {
    out += "  prompt diff:\n";
    for (const std::string& line : change_lines(*view.change, markers)) {
      out += "    " + line + "\n";
    }
  }
  return out;
}

std::string render_text(const BisectReport& report, const std::vector<DropView>& views, diff::Markers markers,
                        bool all) {
  std::string out;
  if (!report.regression) {
    const BisectVersion& bad = report.versions.back();
    return report.prompt + " is not bad at " + report.bad.short_hex() + ": " + report.metric + " " +
           value_text(report, bad) + " (bad means " + describe_criterion(report) + ")\n";
  }
  if (all) {
    out += report.prompt + ": " + util::plural(views.size(), "drop") + " between " + report.good.short_hex() +
           " and " + report.bad.short_hex() + "\n\n";
  }
  for (std::size_t i = 0; i < views.size(); ++i) {
    out += (i > 0 ? "\n" : "") + drop_text(report, views[i], markers);
  }
  out += "\nbad means " + describe_criterion(report) + "\n";
  out += "\n" + versions_table(report);
  return out;
}

std::string render_markdown(const BisectReport& report, const std::vector<DropView>& views) {
  std::string out = "## Bisect: `" + output::md_cell(report.prompt) + "` (" + report.metric + ")\n\n";
  if (!report.regression) {
    return out + "Not bad at `" + report.bad.short_hex() + "`: " + report.metric + " " +
           value_text(report, report.versions.back()) + " (bad means " + output::md_cell(describe_criterion(report)) +
           ").\n";
  }
  for (const DropView& view : views) {
    const BisectDrop& drop = *view.drop;
    const BisectVersion& good = report.versions[drop.last_good];
    const BisectVersion& bad = report.versions[drop.first_bad];
    if (drop.ambiguous) {
      out += "The first bad commit is one of these (the ones between could not be evaluated):\n\n";
      for (std::size_t i = drop.last_good + 1; i <= drop.first_bad; ++i) {
        const BisectVersion& version = report.versions[i];
        out += "- `" + version.commit.short_hex() + "` " + output::md_cell(version.subject) + " (" +
               verdict_word(version.verdict) + ")\n";
      }
      out += "\n";
      continue;
    }
    out += "**First bad commit:** `" + bad.commit.short_hex() + "` " + output::md_cell(view.commit.subject()) +
           " — " + output::md_cell(view.commit.author.name) + ", " + format_iso_date(view.commit.author) + "\n\n";
    out += "| | commit | " + report.metric + " |\n|---|---|---:|\n";
    out += "| last good | `" + good.commit.short_hex() + "` | " + value_text(report, good) + " |\n";
    out += "| first bad | `" + bad.commit.short_hex() + "` | " + value_text(report, bad) + " |\n\n";
    if (!drop.changed.empty()) {
      out += "Changed: " + output::md_cell(util::join(drop.changed, ", ")) + "\n\n";
    }
    const std::string flips = flips_markdown(view.flips);
    if (!flips.empty()) {
      out += flips + "\n";
    }
    if (view.change) {
      out += "<details><summary>Prompt diff</summary>\n\n```\n";
      for (const std::string& line : change_lines(*view.change, diff::Markers::plain)) {
        out += line + "\n";
      }
      out += "```\n\n</details>\n\n";
    }
  }
  out += "Bad means " + output::md_cell(describe_criterion(report)) + ". " + output::md_cell(summary_line(report)) + ".\n";
  const std::string note = caveat(report);
  if (!note.empty()) {
    out += "\n> " + output::md_cell(note) + "\n";
  }
  return out;
}

json version_json(const BisectReport& report, const BisectVersion& version) {
  json out = {{"commit", version.commit.hex()},
              {"subject", version.subject},
              {"commits", version.commits},
              {"key", version.key.empty() ? json(nullptr) : json(version.key)},
              {"verdict", verdict_word(version.verdict)},
              {"source", version.source.empty() ? json(nullptr) : json(version.source)},
              {"problem", version.problem.empty() ? json(nullptr) : json(version.problem)}};
  if (version.result) {
    std::optional<Interval> interval;
    out["value"] = metric_value(version.result->metrics, report.metric, &interval);
    out["interval"] = interval_json(interval);
  } else {
    out["value"] = nullptr;
    out["interval"] = nullptr;
  }
  return out;
}

json render_json(const BisectReport& report, const std::vector<DropView>& views,
                 const std::string& suite_at) {
  json versions = json::array();
  for (const BisectVersion& version : report.versions) {
    versions.push_back(version_json(report, version));
  }
  json drops = json::array();
  for (const DropView& view : views) {
    const BisectDrop& drop = *view.drop;
    json first_bad = version_json(report, report.versions[drop.first_bad]);
    first_bad["author"] = person_json(view.commit.author);
    first_bad["date"] = format_iso_date(view.commit.author);
    first_bad["index"] = drop.first_bad;
    json last_good = version_json(report, report.versions[drop.last_good]);
    last_good["index"] = drop.last_good;
    json flips = json::array();
    for (const FlipCase& flip : view.flips.cases) {
      flips.push_back(flip_json(flip));
    }
    json diff_lines = json::array();
    if (view.change) {
      for (const std::string& line : change_lines(*view.change, diff::Markers::plain)) {
        diff_lines.push_back(line);
      }
    }
    drops.push_back({{"last_good", std::move(last_good)},
                     {"first_bad", std::move(first_bad)},
                     {"ambiguous", drop.ambiguous},
                     {"changed", drop.changed},
                     {"verdict", report.versions[drop.first_bad].judged
                                     ? verdict_json(*report.versions[drop.first_bad].judged)
                                     : json(nullptr)},
                     {"pass_to_fail", view.flips.pass_to_fail},
                     {"fail_to_pass", view.flips.fail_to_pass},
                     {"flips", std::move(flips)},
                     {"diff", std::move(diff_lines)}});
  }
  return {{"prompt", report.prompt},
          {"path", report.path},
          {"metric", report.metric},
          {"criterion",
           {{"kind", report.criterion_kind},
            {"text", describe_criterion(report)},
            {"min", report.gate.min},
            {"max_drop", report.gate.max_drop},
            {"significant", report.significant},
            {"confidence", report.gate.confidence}}},
          {"suite_at", suite_at},
          {"good", report.good.hex()},
          {"bad", report.bad.hex()},
          {"commits_walked", report.commits_walked},
          {"candidates", report.candidates},
          {"walk_seconds", report.walk_seconds},
          {"regression", report.regression},
          {"versions", std::move(versions)},
          {"unevaluated", unevaluated(report)},
          {"drops", std::move(drops)},
          {"evaluations", report.evaluations},
          {"real_calls", report.real_calls},
          {"cache_hits", report.cache_hits}};
}

git::Oid resolve_side(Context& context, const std::string& name, const std::string& rev) {
  const ResolvedReference ref = resolve_reference(context.repo(), Reference{name, rev});
  return *ref.commit;
}

// The criterion's flags, checked where they are parsed (CLI11 already rejects --threshold with
// --max-drop). `run`: bisect-run, which needs a criterion, and --good for --max-drop.
void validate_criterion(const std::optional<double>& threshold, const std::optional<double>& max_drop,
                        bool significant, bool has_good, bool run) {
  if (run && !threshold && !max_drop) {
    throw UsageError("bisect-run needs one criterion: --threshold X, or --max-drop D with --good REV");
  }
  if (run && max_drop && !has_good) {
    throw UsageError("--max-drop needs the good side to measure the drop from: --good REV");
  }
  if (significant && !max_drop) {
    throw UsageError("--significant goes with --max-drop",
                     run ? "" : "git promptops bisect NAME --max-drop 0.05 --significant");
  }
}

void run_bisect_command(Context& context, const BisectCommandOptions& options) {
  validate_criterion(options.threshold, options.max_drop, options.significant, !options.good.empty(), false);
  const std::string name = prompt_name_argument(options.name, "use --good REV and --bad REV for the range");
  git::Repository& repo = context.repo();
  BisectOptions bisect;
  bisect.prompt = name;
  bisect.bad = resolve_side(context, name, options.bad.empty() ? "HEAD" : options.bad);
  if (!options.good.empty()) {
    bisect.good = resolve_side(context, name, options.good);
  }
  bisect.metric = options.metric;
  bisect.criterion.threshold = options.threshold;
  bisect.criterion.max_drop = options.max_drop;
  bisect.criterion.significant = options.significant;
  bisect.suite_at = options.suite_at == "each" ? SuiteAt::each : SuiteAt::newest;
  bisect.all = options.all;
  bisect.verify = options.verify;
  bisect.eval.provider_options = provider_options_for(repo);
  bisect.eval.notes = notes_policy(repo, false);
  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  const BisectReport report = run_bisect(repo, bisect, session.services());
  session.clear_progress();
  RunEnd end;  // an interrupted bisect prints no report: its search did not finish
  end.interrupted = report.interrupted;
  end.answers = report.real_calls;
  const ExitCode verdict = run_exit(end, report.regression ? ExitCode::negative : ExitCode::ok);
  const std::vector<DropView> views = drop_views(repo, report, options.format);
  if (options.format == "json") {
    context.out_json(render_json(report, views, options.suite_at));
  } else if (options.format == "markdown") {
    context.out(render_markdown(report, views));
  } else {
    context.out(render_text(
        report, views, context.stdout_color() ? diff::Markers::color : diff::Markers::plain, options.all));
    std::fflush(stdout);  // the report first, then the summary, also when both go to one pipe
    std::fprintf(stderr, "%s\n", summary_line(report).c_str());
    const std::string note = options.all ? "" : caveat(report);
    if (!note.empty() && report.regression) {
      std::fprintf(stderr, "%s\n", note.c_str());
    }
  }
  context.exit_status = verdict;
}

// --- bisect-run ------------------------------------------------------------------------------------

struct BisectRunOptions {
  std::string name;
  std::string good;
  std::string metric;
  std::optional<double> threshold;
  std::optional<double> max_drop;
  bool significant = false;
  bool no_cache = false;
};

// An error that must stop `git bisect run` rather than mark the commit bad (any status from 1 to
// 127 but 125 would): a provider failure, a bad good side.
class StopBisect : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::git_fatal; }
};

void run_bisect_run(Context& context, const BisectRunOptions& options) {
  validate_criterion(options.threshold, options.max_drop, options.significant, !options.good.empty(), true);
  try {
    const std::string name = prompt_name_argument(options.name, "bisect-run tests HEAD; give --good REV");
    git::Repository& repo = context.repo();
    const git::Oid head = context.head();
    std::optional<git::Oid> good;
    if (!options.good.empty()) {
      good = resolve_commit(context, options.good);
    }
    BisectCriterion criterion;
    criterion.threshold = options.threshold;
    criterion.max_drop = options.max_drop;
    criterion.significant = options.significant;
    EvalOptions eval;
    eval.provider_options = provider_options_for(repo);
    eval.notes = notes_policy(repo, false);
    EvalSession session(repo, !options.no_cache, false);
    const BisectRunResult run =
        bisect_one(repo, name, head, good, options.metric, criterion, eval, session.services());
    if (run.interrupted) {
      throw InterruptedError("interrupted: answers received so far are cached");
    }
    if (run.untestable) {
      context.out("untestable: " + head.short_hex() + ": " + run.problem + "\n");
      context.exit_status = ExitCode::untestable;
      return;
    }
    BisectReport described;  // only for describe_criterion
    if (options.threshold) {
      described.gate.min[run.metric] = *options.threshold;
      described.criterion_kind = "threshold";
    } else {
      described.gate.max_drop[run.metric] = *options.max_drop;
      described.criterion_kind = "max_drop";
      described.significant = options.significant;
    }
    std::optional<Interval> interval;
    const double value = metric_value(run.result->metrics, run.metric, &interval);
    std::string line = std::string(run.bad ? "bad" : "good") + ": " + name + " at " + head.short_hex() +
                       ": " + run.metric + " " + fixed(value, 3) + interval_suffix(interval);
    if (run.good) {
      line += " (good side " + good->short_hex() + ": " +
              fixed(metric_value(run.good->metrics, run.metric, nullptr), 3) + ")";
    }
    context.out(line + "; bad means " + describe_criterion(described) + "\n");
    if (run.bad) {
      context.exit_status = ExitCode::negative;
    }
  } catch (const Error& error) {
    if (error.exit_code() != ExitCode::error) {
      throw;
    }
    const std::string hint = hint_line(error);
    throw StopBisect(error.what(), hint.empty() ? "exit 128 stops git bisect run; fix this and run it again" : hint);
  } catch (const std::exception& error) {
    // Not a verdict on this commit: anything from 1 to 127 but 125 would mark it bad.
    throw StopBisect(error.what(), "exit 128 stops git bisect run");
  }
}

}  // namespace

void add_bisect(CLI::App& app, Context& context) {
  auto options = std::make_shared<BisectCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "bisect", "find the first commit where a prompt's metric went bad, in O(log versions) evaluations");
  command->add_option("name", options->name, "the prompt, e.g. support/classify")->required();
  command->add_option("--good", options->good,
                      "a good point: vN, an alias or a revision (default: the prompt's oldest version)");
  command->add_option("--bad", options->bad, "a bad point: vN, an alias or a revision (default: HEAD)");
  command->add_option("--metric", options->metric,
                      "the metric that decides (default: the prompt's headline)");
  auto* threshold =
      command->add_option("--threshold", options->threshold, "bad when the metric is below this value");
  auto* max_drop = command->add_option("--max-drop", options->max_drop,
                                       "bad when the metric fell by more than this from the good side");
  threshold->excludes(max_drop);
  command->add_flag("--significant", options->significant,
                    "with --max-drop: only a drop that the paired test finds significant (as the gate)");
  command
      ->add_option("--suite-at", options->suite_at,
                   "whose dataset and assertions judge each version: bad (one yardstick, default) or each")
      ->check(CLI::IsMember({"bad", "each"}));
  command->add_flag("--all", options->all, "evaluate every version and list every drop");
  command->add_flag("--verify", options->verify,
                    "evaluate the good and the bad side before searching (default: take them as given, as git "
                    "bisect does, unless already cached)");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  add_format_option(*command, options->format, {"text", "json", "markdown"});
  command->callback([&context, options] { run_bisect_command(context, *options); });
}

void add_bisect_run(CLI::App& app, Context& context) {
  auto options = std::make_shared<BisectRunOptions>();
  CLI::App* command = app.add_subcommand(
      "bisect-run", "test HEAD for git bisect run: exit 0 good, 1 bad, 125 when it cannot be evaluated");
  command->add_option("name", options->name, "the prompt, e.g. support/classify")->required();
  auto* threshold =
      command->add_option("--threshold", options->threshold, "bad when the metric is below this value");
  auto* max_drop = command->add_option("--max-drop", options->max_drop,
                                       "bad when the metric fell by more than this from --good");
  threshold->excludes(max_drop);
  command->add_option("--good", options->good, "the good revision that --max-drop measures from");
  command->add_option("--metric", options->metric,
                      "the metric that decides (default: the prompt's headline)");
  command->add_flag("--significant", options->significant,
                    "with --max-drop: only a drop that the paired test finds significant");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  command->callback([&context, options] { run_bisect_run(context, *options); });
}

}  // namespace promptops::cli
