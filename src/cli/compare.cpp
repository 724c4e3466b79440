// SPDX-License-Identifier: MIT
// `git promptops compare A B [-- NAME...] [--model MODEL]`: two references evaluated on the same
// cases (B's dataset and assertions judge both), with paired statistics and the cases that differ.
// The comparison is the compare workflow's; this file parses, calls it and renders the report.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include <promptops/eval/case_records.hpp>
#include <promptops/workflows/compare.hpp>
#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/eval/statistics.hpp>

#include <promptops/output/html_report.hpp>

#include "common.hpp"
#include "evaluation.hpp"
#include "html_page.hpp"
#include <promptops/output/markdown.hpp>
#include <promptops/output/terminal.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;

constexpr std::size_t k_excerpt = 80;

struct CompareCommandOptions {
  std::string a;
  std::string b;
  std::vector<std::string> names;
  std::string model;
  bool offline = false;
  bool no_cache = false;
  std::string format;
};

using Side = CompareSide;

// --- formatting ---------------------------------------------------------------------------------

// p-values: 4 decimals, scientific below 0.0001 (as check prints them).
std::string latency_text(const EvalResult& result) {
  return result.metrics.latency ? fixed(result.metrics.latency->p50_ms, 0) + " ms" : "-";
}

std::string value_text(const EvalResult& result) {
  std::string out = fixed(result.value, 3);
  if (result.interval) {
    out += " [" + fixed(result.interval->low, 2) + ", " + fixed(result.interval->high, 2) + "]";
  }
  return out;
}

std::string bootstrap_interval(const BootstrapResult& result) {
  return "[" + signed_fixed(result.low, 3) + ", " + signed_fixed(result.high, 3) + "]";
}

std::string mcnemar_text(const McNemar& test) {
  return "p = " + p_value_text(test.p_value) + " (pass→fail " + std::to_string(test.b) + ", fail→pass " +
         std::to_string(test.c) + ")";
}

std::string bootstrap_value_text(const Comparison& comparison) {
  const BootstrapResult& boot = comparison.bootstrap;
  return fixed(boot.mean_a, 3) + " → " + fixed(boot.mean_b, 3) + " (" + signed_fixed(boot.delta, 3) + " " +
         bootstrap_interval(boot) + ", p = " + p_value_text(comparison.sign_flip.p_value) +
         " by sign-flip test" + (comparison.grouped ? " of groups" : "") + ")";
}

// A case's JSON value on one line: strings as they are, anything else as compact JSON.
std::string json_excerpt(const json& value) {
  return one_line_excerpt(value.is_string() ? value.get<std::string>() : value.dump(), k_excerpt);
}

std::string output_excerpt(const CaseRecord& record) {
  if (!record.error.empty()) {
    return one_line_excerpt("(no answer: " + record.error + ")", k_excerpt);
  }
  return one_line_excerpt(record.output, k_excerpt);
}

std::string differ_heading(const Comparison& comparison) {
  const std::size_t n = comparison.differences.size();
  const std::size_t total = comparison.b->case_ids.size();
  return std::to_string(n) + " of " + util::plural(total, "case") +
         (n == 1 ? " differs" : " differ");
}

std::string row(const std::string& label, const std::string& text) {
  return "  " + label + std::string(label.size() < 13 ? 13 - label.size() : 1, ' ') + text + "\n";
}

std::string comparison_text(const Comparison& c, const Side& a, const Side& b) {
  std::string out = c.prompt + ": " + a.label + " → " + b.label + "\n";
  out += row("model", c.a->model + " → " + c.b->model);
  out += row(c.b->metric, value_text(*c.a) + " → " + value_text(*c.b) + " (" +
                              signed_fixed(c.b->value - c.a->value, 3) + ")");
  if (c.mcnemar) {
    out += row("McNemar", mcnemar_text(*c.mcnemar));
  }
  out += row("mean score", bootstrap_value_text(c));
  if (c.too_few_cases) {
    out += row("", too_few_cases_text(k_compare_confidence));
  }
  out += row("cost", money(c.a->metrics.cost) + " → " + money(c.b->metrics.cost));
  out += row("p50 latency", latency_text(*c.a) + " → " + latency_text(*c.b));
  for (const auto& [side, result] : {std::pair{"A", c.a}, std::pair{"B", c.b}}) {
    if (result->errors > 0) {
      out += row("", std::string(side) + ": " + util::plural(result->errors, "case sample") +
                         " without an answer, left out of the pairing");
    }
  }
  if (c.differences.empty()) {
    out += "  no case differs (" + std::to_string(c.b->case_ids.size()) + " cases)\n";
    return out;
  }
  out += "  " + differ_heading(c) + ":\n";
  std::size_t width = 0;
  for (const Difference& d : c.differences) {
    width = std::max(width, d.id.size());
  }
  for (const Difference& d : c.differences) {
    out += "    " + d.id + std::string(width - d.id.size() + 2, ' ') + output::outcome_word(d.a) + " → " +
           output::outcome_word(d.b) + "\n";
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    if (any == nullptr) {
      continue;
    }
    if (!any->description.empty()) {
      out += "      case      " + one_line_excerpt(any->description, k_excerpt) + "\n";
    }
    out += "      vars      " + json_excerpt(any->vars) + "\n";
    if (!any->expected.is_null()) {
      out += "      expected  " + json_excerpt(any->expected) + "\n";
    }
    if (record_a != c.records_a.end()) {
      out += "      A         " + output_excerpt(record_a->second) + "\n";
    }
    if (record_b != c.records_b.end()) {
      out += "      B         " + output_excerpt(record_b->second) + "\n";
    }
  }
  return out;
}

std::string comparison_markdown(const Comparison& c, const Side& a, const Side& b) {
  std::string out = "### " + output::md_code(c.prompt) + ": " + output::md_cell(a.label) + " → " + output::md_cell(b.label) + "\n\n";
  out += "| | A | B | Δ |\n| --- | ---: | ---: | ---: |\n";
  out += "| " + c.b->metric + " | " + value_text(*c.a) + " | " + value_text(*c.b) + " | " +
         signed_fixed(c.b->value - c.a->value, 3) + " |\n";
  out += "| mean score | " + fixed(c.bootstrap.mean_a, 3) + " | " + fixed(c.bootstrap.mean_b, 3) + " | " +
         signed_fixed(c.bootstrap.delta, 3) + " " + bootstrap_interval(c.bootstrap) + " |\n";
  out += "| model | " + output::md_code(c.a->model) + " | " + output::md_code(c.b->model) + " | |\n";
  out += "| cost | " + money(c.a->metrics.cost) + " | " + money(c.b->metrics.cost) + " | |\n";
  out += "| p50 latency | " + latency_text(*c.a) + " | " + latency_text(*c.b) + " | |\n\n";
  std::vector<std::string> tests;
  if (c.mcnemar) {
    tests.push_back("McNemar " + mcnemar_text(*c.mcnemar));
  }
  tests.push_back("sign-flip test of the mean score" +
                  std::string(c.grouped ? " (groups flipped together)" : "") +
                  ": p = " + p_value_text(c.sign_flip.p_value));
  if (c.too_few_cases) {
    tests.push_back(too_few_cases_text(k_compare_confidence));
  }
  out += util::join(tests, " · ") + "\n\n";
  if (c.differences.empty()) {
    return out + "No case differs (" + std::to_string(c.b->case_ids.size()) + " cases).\n";
  }
  out += "**" + differ_heading(c) + "**\n\n";
  out +=
      "| case | A | B | vars | expected | A output | B output |\n"
      "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const Difference& d : c.differences) {
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    std::vector<std::string> cells = {output::md_code(d.id), output::outcome_word(d.a), output::outcome_word(d.b)};
    cells.push_back(any != nullptr ? output::md_code(json_excerpt(any->vars)) : "");
    cells.push_back(any != nullptr && !any->expected.is_null() ? output::md_code(json_excerpt(any->expected)) : "");
    cells.push_back(record_a != c.records_a.end() ? output::md_cell(output_excerpt(record_a->second)) : "");
    cells.push_back(record_b != c.records_b.end() ? output::md_cell(output_excerpt(record_b->second)) : "");
    out += "| " + util::join(cells, " | ") + " |\n";
  }
  return out;
}

json side_json(const std::optional<EvalResult>& result) {
  if (!result) {
    return nullptr;
  }
  return {{"key", result->key},
          {"model", result->model},
          {"dataset", result->dataset},
          {"value", result->value},
          {"interval",
           result->interval ? json::array({result->interval->low, result->interval->high}) : json(nullptr)},
          {"cases", result->metrics.cases},
          {"passed", result->metrics.passed},
          {"mean_score", result->metrics.mean_score},
          {"errors", result->errors},
          {"cost", result->metrics.cost},
          {"latency_p50_ms", result->metrics.latency ? json(result->metrics.latency->p50_ms) : json(nullptr)},
          {"outcomes", result->outcomes},
          {"case_ids", result->case_ids},
          {"results_file", result->results_file.empty() ? json(nullptr) : json(result->results_file)}};
}

json record_json(const std::map<std::string, CaseRecord>& records, const std::string& id) {
  const auto it = records.find(id);
  if (it == records.end()) {
    return nullptr;
  }
  const CaseRecord& r = it->second;
  return {{"output", r.error.empty() ? json(r.output) : json(nullptr)},
          {"error", r.error.empty() ? json(nullptr) : json(r.error)},
          {"pass", r.pass},
          {"score", r.score},
          {"reasons", r.reasons},
          {"latency_ms", r.latency_ms ? json(*r.latency_ms) : json(nullptr)},
          {"cost", r.cost}};
}

// Why a comparison is incomplete: "A not in the cache or notes (--offline); B unfinished (interrupted)".
std::string problem_text(const Comparison& c) {
  std::vector<std::string> problems;
  for (const auto& [side, state] : {std::pair{"A", c.a_state}, std::pair{"B", c.b_state}}) {
    if (state == Comparison::Side::missing) {
      problems.push_back(std::string(side) + " not in the cache or notes (--offline)");
    } else if (state == Comparison::Side::unfinished) {
      problems.push_back(std::string(side) + " unfinished (interrupted)");
    }
  }
  return util::join(problems, "; ");
}

json comparison_json(const Comparison& c) {
  const std::string problem = problem_text(c);
  json out = {{"prompt", c.prompt},
              {"a", side_json(c.a)},
              {"b", side_json(c.b)},
              {"problem", problem.empty() ? json(nullptr) : json(problem)}};
  if (!c.complete()) {
    out["metric"] = nullptr;
    return out;
  }
  out["metric"] = c.b->metric;
  out["delta"] = c.b->value - c.a->value;
  out["mcnemar"] = c.mcnemar ? json{{"pass_to_fail", c.mcnemar->b},
                                    {"fail_to_pass", c.mcnemar->c},
                                    {"p_value", c.mcnemar->p_value}}
                             : json(nullptr);
  out["bootstrap"] = {{"metric", "mean_score"},
                      {"mean_a", c.bootstrap.mean_a},
                      {"mean_b", c.bootstrap.mean_b},
                      {"delta", c.bootstrap.delta},
                      {"low", c.bootstrap.low},
                      {"high", c.bootstrap.high},
                      {"p_value", c.bootstrap.p_value},
                      {"resamples", c.bootstrap.resamples},
                      {"seed", k_compare_seed},
                      {"grouped", c.grouped}};
  out["sign_flip"] = {{"metric", "mean_score"},           {"p_value", c.sign_flip.p_value},
                      {"clusters", c.sign_flip.clusters}, {"discordant", c.sign_flip.discordant},
                      {"exact", c.sign_flip.exact},       {"resamples", c.sign_flip.resamples}};
  out["too_few_cases"] = c.too_few_cases;
  out["pairs"] = {{"paired", c.paired},
                  {"both_pass", c.flips->both_pass},
                  {"both_fail", c.flips->both_fail},
                  {"pass_to_fail", c.flips->pass_to_fail},
                  {"fail_to_pass", c.flips->fail_to_pass},
                  {"skipped", c.flips->skipped}};
  json differences = json::array();
  for (const Difference& d : c.differences) {
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    differences.push_back({{"id", d.id},
                           {"a", output::outcome_word(d.a)},
                           {"b", output::outcome_word(d.b)},
                           {"vars", any != nullptr ? any->vars : json(nullptr)},
                           {"expected", any != nullptr ? any->expected : json(nullptr)},
                           {"a_record", record_json(c.records_a, d.id)},
                           {"b_record", record_json(c.records_b, d.id)}});
  }
  out["differences"] = std::move(differences);
  return out;
}

json side_json(const Side& side) {
  return {{"reference", side.text},
          {"label", side.label},
          {"prompt", side.prompt ? json(*side.prompt) : json(nullptr)},
          {"commit", side.target.commit ? json(side.target.commit->hex()) : json(nullptr)},
          {"model", side.target.model.empty() ? json(nullptr) : json(side.target.model)}};
}

// --- the command --------------------------------------------------------------------------------

// A and B before "--", prompt names after it.
CompareRequest compare_request(Context& context, const CompareCommandOptions& options) {
  const Positionals split = split_positionals(context, {&options.a, &options.b}, options.names);
  const std::vector<std::string>& positionals = split.words;
  if (split.before < 2) {
    throw UsageError("compare takes two references, A and B",
                     "git promptops compare NAME@v1 NAME@v2, git promptops compare main feature, or "
                     "git promptops compare NAME NAME --model MODEL");
  }
  if (split.before > 2) {
    throw UsageError("compare takes two references, got '" + positionals[2] + "' too",
                     "put prompt names after --: git promptops compare " + positionals[0] + " " +
                         positionals[1] + " -- " + positionals[2]);
  }
  CompareRequest request;
  request.a = positionals[0];
  request.b = positionals[1];
  request.names.assign(positionals.begin() + 2, positionals.end());
  request.model = options.model;
  request.offline = options.offline;
  request.provider_options = provider_options_for(context.repo());
  request.notes = notes_policy(context.repo(), false);
  if (options.format == "text") {
    request.selected = [&context](const Side&, const Side&, const PromptSelection& selection) {
      for (const auto& [what, list] :
           {std::pair{"only in A", &selection.only_in_a}, std::pair{"only in B", &selection.only_in_b},
            std::pair{"no [eval] at B", &selection.skipped}}) {
        if (!list->empty()) {
          context.warn(std::string("not compared (") + what + "): " + util::join(*list, ", "));
        }
      }
    };
  }
  return request;
}

// The sides' problem in this command's syntax, with the fix.
[[noreturn]] void throw_sides_usage(const CompareSidesError& e) {
  const Side& a = e.a;
  const Side& b = e.b;
  switch (e.kind) {
    case CompareSidesError::Kind::one_prompt: {
      const Side& with = a.prompt ? a : b;
      const Side& without = a.prompt ? b : a;
      throw UsageError(
          std::string(a.prompt ? "A" : "B") + " names the prompt '" + *with.prompt + "' and " +
              (a.prompt ? "B" : "A") + " ('" + without.text + "') does not",
          "name it on both sides: git promptops compare " +
              (a.prompt ? a.text + " " + *a.prompt + "@" + b.text : *b.prompt + "@" + a.text + " " + b.text));
    }
    case CompareSidesError::Kind::different_prompts:
      throw UsageError("A and B name different prompts ('" + *a.prompt + "' and '" + *b.prompt + "')",
                       "compare two versions of one prompt (git promptops compare " + *b.prompt + "@v1 " +
                           *b.prompt + "@v2) or one prompt on another model (--model)");
    case CompareSidesError::Kind::names_with_prompt:
      throw UsageError("prompt names after -- go with two revisions, not with " + a.text + " and " + b.text,
                       "git promptops compare " + a.text + " " + b.text);
    case CompareSidesError::Kind::same:
      break;
  }
  throw UsageError("A and B are the same (" + a.label + ")",
                   "compare two versions (NAME@v1 NAME@v2), two revisions, or add --model MODEL to run B "
                   "on another model");
}

json report_json(const CompareReport& report) {
  json prompts = json::array();
  for (const Comparison& comparison : report.comparisons) {
    prompts.push_back(comparison_json(comparison));
  }
  return {{"a", side_json(report.a)},
          {"b", side_json(report.b)},
          {"prompts", std::move(prompts)},
          {"only_in_a", report.selection.only_in_a},
          {"only_in_b", report.selection.only_in_b},
          {"skipped", report.selection.skipped},
          {"missing", report.missing},
          {"summary",
           {{"real_calls", report.real_calls},
            {"cache_hits", report.cache_hits},
            {"errors", report.errors},
            {"interrupted", report.interrupted}}}};
}

// "git promptops compare A B --model M -- NAME...": what made the page.
std::string compare_command(const CompareCommandOptions& options) {
  std::string command = "git promptops compare " + options.a + " " + options.b;
  if (!options.model.empty()) {
    command += " --model " + options.model;
  }
  if (!options.names.empty()) {
    command += " -- " + util::join(options.names, " ");
  }
  return command;
}

void print_report(Context& context, const CompareReport& report, const CompareCommandOptions& options) {
  const std::string& format = options.format;
  if (format == "json") {
    context.out_json(report_json(report));
    return;
  }
  if (format == "html") {
    context.out(html_page(context.repo(), report.eval, "git-promptops compare", compare_command(options)));
    return;
  }
  std::vector<std::string> blocks;
  for (const Comparison& comparison : report.comparisons) {
    if (comparison.complete()) {
      blocks.push_back(format == "markdown" ? comparison_markdown(comparison, report.a, report.b)
                                            : comparison_text(comparison, report.a, report.b));
    }
  }
  context.out(util::join(blocks, "\n"));
  if (format == "text") {
    std::fflush(stdout);  // the report first, then the summary, also when both go to one pipe
    std::fprintf(stderr, "%s, %s\n", util::plural(report.real_calls, "model call").c_str(),
                 util::plural(report.cache_hits, "cached answer").c_str());
  }
}

void run_compare(Context& context, const CompareCommandOptions& options) {
  const CompareRequest request = compare_request(context, options);
  git::Repository& repo = context.repo();
  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  CompareReport report;
  try {
    report = promptops::run_compare(repo, request, session.services());
  } catch (const CompareSidesError& e) {
    throw_sides_usage(e);
  }
  session.clear_progress();
  if (report.selection.names.empty()) {
    if (options.format == "json") {
      context.out_json(report_json(report));
    } else {
      context.warn("no prompt with an [eval] section at both " + report.a.label + " and " + report.b.label +
                   ": nothing to compare");
    }
    return;
  }
  print_report(context, report, options);
  RunEnd end;
  end.interrupted = report.interrupted;
  end.answers = report.real_calls;
  context.exit_status = run_exit(end, ExitCode::ok, [&report] {
    if (!report.missing.empty()) {
      throw Error("not in the cache or notes (--offline): " + util::join(report.missing, ", "),
                  "run the same command without --offline to evaluate them");
    }
    if (report.errors > 0) {
      throw ProviderError(util::plural(report.errors, "case") +
                              " got no answer from the provider (see the per-case results)",
                          "run the same command again to retry them; answers already received are cached");
    }
  });
}

}  // namespace

void add_compare(CLI::App& app, Context& context) {
  auto options = std::make_shared<CompareCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "compare", "A/B two references on the same cases (B's dataset judges both) with paired statistics");
  command->add_option("A", options->a,
                      "NAME@REV (vN, an alias or a revision), NAME (the working tree) or a revision");
  command->add_option("B", options->b, "the same forms; B's dataset and assertions judge both sides");
  command->add_option("names", options->names,
                      "after --, with two revisions: the prompts to compare (default: every prompt at both)");
  command->add_option(
      "--model", options->model,
      "run B on this model instead of its own: PROVIDER/NAME or NAME (the prompt's provider)");
  command->add_flag("--offline", options->offline,
                    "use only results in the cache or notes; make no model call and name what is missing");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  add_format_option(*command, options->format, {"text", "json", "markdown", "html"});
  command->callback([&context, options] { run_compare(context, *options); });
}

}  // namespace promptops::cli
