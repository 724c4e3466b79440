// SPDX-License-Identifier: MIT
// `git promptops eval [RANGE | REV] [-- NAME...]`: evaluate prompts per commit, report, record notes.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/history.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/workflows/matrix.hpp>

#include <promptops/output/html_report.hpp>
#include <promptops/output/table.hpp>
#include <promptops/output/terminal.hpp>
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>
#include "check_report.hpp"
#include "common.hpp"
#include "eval_matrix.hpp"
#include "eval_targets.hpp"
#include "html_page.hpp"
#include "evaluation.hpp"

namespace promptops::cli {

namespace {

using json = nlohmann::json;

struct EvalCommandOptions {
  std::string range;
  std::vector<std::string> names;
  std::string suite_at = "newest";
  int repeat = 1;
  bool no_cache = false;
  bool verify_notes = false;
  std::string format;
  int max_concurrency = 0;
  std::string filter;
  std::size_t sample = 0;
  std::uint64_t seed = 0;
  std::size_t limit = 0;
  std::size_t max_calls = 0;
  double max_cost = 0.0;
  bool failing = false;
  bool sample_set = false;  // --sample given
  bool limit_set = false;   // --limit given
  std::vector<std::string> outputs;  // -o FILE...
  std::vector<std::string> vars;     // --var NAME=VALUE...
  std::vector<std::string> models;    // --model A,B...: the matrix's models
  std::vector<std::string> variants;  // --variant REF...: the matrix's other variants
  std::vector<std::string> sets;      // --set NAME=V1,V2...: the matrix's model parameters
  bool declared = false;              // --matrix: also the [[eval.matrix]] columns
  std::size_t baseline = 1;           // --baseline N: the matrix column the others are paired with
};

// --var NAME=VALUE... as an object of strings. Throws UsageError for one without '=' or a name.
json vars_of(const std::vector<std::string>& assignments) {
  json vars = json::object();
  for (const std::string& assignment : assignments) {
    const std::size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw UsageError("--var '" + assignment + "' is not NAME=VALUE", "write --var city=Paris");
    }
    vars[assignment.substr(0, equals)] = assignment.substr(equals + 1);
  }
  return vars;
}

struct Line {
  const EvalRow* row;
  const EvalTarget* target;
  std::string version;
  const EvalResult* result;  // null: unfinished
  std::optional<double> delta;
  std::size_t calls = 0;  // real calls made for it in this run
};

std::vector<Line> report_lines(git::Repository& repo, const EvalReport& report) {
  const std::vector<std::string> versions = version_labels(repo, report);
  std::vector<Line> lines;
  std::map<std::string, std::pair<std::string, const EvalResult*>>
      previous;  // by prompt: last row's key, result
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const EvalRow& row = report.rows[i];
    Line line{&row, &report.targets[row.target], versions[i], nullptr, std::nullopt, 0};
    if (const auto it = report.results.find(row.key); it != report.results.end()) {
      line.result = &it->second;
      if (!row.duplicate && !it->second.reused) {
        line.calls = it->second.metrics.real_calls;
      }
      // Against the previous row of the prompt unless it is the same evaluation (an unchanged
      // commit); a revert to an earlier content does show its change.
      const auto prev = previous.find(row.prompt);
      if (prev != previous.end() && prev->second.first != row.key && prev->second.second != nullptr) {
        const EvalResult& before = *prev->second.second;
        if (before.errors == 0 && it->second.errors == 0 && before.metric == it->second.metric) {
          line.delta = it->second.value - before.value;
        }
      }
    }
    previous[row.prompt] = {row.key, line.result};
    lines.push_back(line);
  }
  return lines;
}

std::string commit_label(const EvalTarget& target) {
  return target.commit ? target.commit->short_hex() : "worktree";
}

std::string interval_text(const EvalResult& result) {
  return result.interval ? "[" + fixed(result.interval->low, 2) + ", " + fixed(result.interval->high, 2) + "]"
                         : "";
}

json line_json(const Line& line) {
  json out = {{"commit", line.target->commit ? json(line.target->commit->hex()) : json(nullptr)},
              {"subject", line.target->subject},
              {"prompt", line.row->prompt},
              {"path", line.row->path},
              {"version", line.version},
              {"eval_key", line.row->key},
              {"duplicate", line.row->duplicate},
              {"finished", line.result != nullptr}};
  if (line.result != nullptr) {
    const EvalResult& r = *line.result;
    out["metric"] = r.metric;
    out["value"] = r.value;
    out["interval"] = r.interval ? json::array({r.interval->low, r.interval->high}) : json(nullptr);
    out["delta"] = line.delta ? json(*line.delta) : json(nullptr);
    out["reused"] = r.reused || line.row->duplicate;
    out["source"] = source_of(r);
    out["calls"] = line.calls;
    out["model"] = r.model;
    out["dataset"] = r.dataset;
    out["repeat"] = r.repeat;
    out["metrics"] = r.metrics.to_json();
    out["outcomes"] = r.outcomes;
    out["case_ids"] = r.case_ids;
    out["flaky"] = r.flaky;
    out["errors"] = r.errors;
    out["results_file"] = r.results_file.empty() ? json(nullptr) : json(r.results_file);
  }
  return out;
}

std::vector<std::string> row_cells(const Line& line) {
  std::vector<std::string> cells{commit_label(*line.target), line.row->prompt, line.version};
  if (line.result == nullptr) {
    cells.insert(cells.end(), {"-", "unfinished", "", "", "", ""});
  } else {
    const EvalResult& r = *line.result;
    cells.push_back(r.metric);
    cells.push_back(fixed(r.value, 3));
    cells.push_back(r.errors > 0 ? std::to_string(r.errors) + " without answer" : interval_text(r));
    cells.push_back(line.delta ? signed_fixed(*line.delta, 3) : "");
    cells.push_back(line.row->duplicate ? "same" : r.from_notes ? "notes" : std::to_string(line.calls));
    cells.push_back(money(r.metrics.cost));
  }
  cells.push_back(line.target->commit ? line.target->subject : "(working tree)");
  return cells;
}

const std::vector<std::string> k_headers = {"COMMIT", "PROMPT", "VERSION", "METRIC", "VALUE",
                                            "95% CI", "DELTA",  "CALLS",   "COST",   "SUBJECT"};

// The named metrics (assertions' `metric`) of the finished lines, one row per line and name.
const std::vector<std::string> k_named_headers = {"COMMIT", "PROMPT", "VERSION", "NAMED METRIC", "VALUE", "95% CI",
                                                  "CASES"};

std::vector<std::vector<std::string>> named_rows(const std::vector<Line>& lines) {
  std::vector<std::vector<std::string>> rows;
  for (const Line& line : lines) {
    if (line.result == nullptr) {
      continue;
    }
    for (const auto& [name, metric] : line.result->metrics.named) {
      rows.push_back({commit_label(*line.target), line.row->prompt, line.version, name, fixed(metric.mean, 3),
                      "[" + fixed(metric.ci.low, 2) + ", " + fixed(metric.ci.high, 2) + "]",
                      std::to_string(metric.cases)});
    }
  }
  return rows;
}

// The failure reasons per case index, from the per-case results file when there is one.
std::map<std::size_t, std::string> failure_reasons(const EvalResult& result) {
  std::map<std::size_t, std::string> reasons;
  if (result.results_file.empty()) {
    return reasons;
  }
  std::ifstream in(result.results_file);
  std::string text;
  while (std::getline(in, text)) {
    const json record = json::parse(text, nullptr, false);
    if (record.is_discarded() || record.value("pass", true)) {
      continue;
    }
    const std::size_t index = record.value("index", std::size_t{0});
    std::string reason = record.contains("error") ? record["error"].get<std::string>() : "";
    if (reason.empty() && record.contains("reasons") && !record["reasons"].empty()) {
      reason = record["reasons"][0].get<std::string>();
    }
    reasons.emplace(index, reason);
  }
  return reasons;
}

std::string junit(const std::vector<Line>& lines) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"git-promptops eval\">\n";
  for (const Line& line : lines) {
    if (line.result == nullptr) {
      continue;
    }
    const EvalResult& r = *line.result;
    std::size_t failures = 0;
    std::size_t errors = 0;
    for (const char c : r.outcomes) {
      failures += (c == 'f' || c == 'x') ? 1 : 0;
      errors += c == 'e' ? 1 : 0;
    }
    const std::string model = line.target->model.empty() ? "" : " on " + line.target->model;
    const std::string suite = line.row->prompt + "@" + commit_label(*line.target) + model;
    out += "  <testsuite name=\"" + output::html_escape(suite) + "\" tests=\"" + std::to_string(r.outcomes.size()) +
           "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) + "\">\n";
    out += "    <properties><property name=\"" + output::html_escape(r.metric) + "\" value=\"" + fixed(r.value, 4) +
           "\"/></properties>\n";
    const std::map<std::size_t, std::string> reasons =
        failures + errors > 0 ? failure_reasons(r) : decltype(reasons){};
    for (std::size_t i = 0; i < r.outcomes.size(); ++i) {
      const std::string name = i < r.case_ids.size() ? r.case_ids[i] : std::to_string(i);
      out += "    <testcase classname=\"" + output::html_escape(line.row->prompt) + "\" name=\"" + output::html_escape(name) +
             "\"";
      const char c = r.outcomes[i];
      if (c == 'p') {
        out += "/>\n";
        continue;
      }
      const auto reason = reasons.find(i);
      std::string message = reason != reasons.end() ? reason->second : "";
      if (c == 'x') {
        message = "flaky: outcomes differ across repeats" + (message.empty() ? "" : "; " + message);
      }
      out += ">\n      <" + std::string(c == 'e' ? "error" : "failure") + " message=\"" +
             output::html_escape(message) + "\"/>\n";
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string markdown(const std::vector<Line>& lines) {
  std::string out = "| " + util::join(k_headers, " | ") + " |\n|";
  for (std::size_t i = 0; i < k_headers.size(); ++i) {
    out += (i >= 4 && i <= 8) ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const Line& line : lines) {
    std::vector<std::string> cells = row_cells(line);
    for (std::string& cell : cells) {
      cell = util::replace_all(cell, "|", "\\|");
    }
    cells[0] = "`" + cells[0] + "`";
    out += "| " + util::join(cells, " | ") + " |\n";
  }
  const std::vector<std::vector<std::string>> named = named_rows(lines);
  if (!named.empty()) {
    out += "\n| " + util::join(k_named_headers, " | ") + " |\n| --- | --- | --- | --- | ---: | --- | ---: |\n";
    for (std::vector<std::string> cells : named) {
      for (std::string& cell : cells) {
        cell = util::replace_all(cell, "|", "\\|");
      }
      cells[0] = "`" + cells[0] + "`";
      out += "| " + util::join(cells, " | ") + " |\n";
    }
  }
  return out;
}

// The named metrics' table after the main one, when some evaluation has any.
void print_named_metrics(Context& context, const std::vector<Line>& lines) {
  const std::vector<std::vector<std::string>> rows = named_rows(lines);
  if (rows.empty()) {
    return;
  }
  output::Table table(k_named_headers, {output::Align::left, output::Align::left, output::Align::left,
                                        output::Align::left, output::Align::right, output::Align::left,
                                        output::Align::right});
  for (const std::vector<std::string>& row : rows) {
    table.add_row(row);
  }
  context.out("\n" + table.render(output::terminal_width(stdout)));
}

// Prints the report in `format` on stdout; for text, the flaky cases and the summary on stderr.
// The report as a document of `format` (json, junit, markdown, csv; text: the table alone, at
// `width` columns, 0 = unbounded), for stdout and for -o files.
std::string report_document(const std::vector<Line>& lines, const EvalReport& report,
                            const std::string& format, std::size_t width) {
  if (format == "json") {
    json rows = json::array();
    for (const Line& line : lines) {
      rows.push_back(line_json(line));
    }
    json mismatches = json::array();
    for (const NoteMismatch& mismatch : report.note_mismatches) {
      mismatches.push_back(mismatch_json(mismatch));
    }
    return Context::json_text({{"rows", rows},
                               {"skipped", report.skipped},
                               {"note_mismatches", mismatches},
                               {"summary",
                                {{"evaluations", report.results.size()},
                                 {"real_calls", report.real_calls},
                                 {"cache_hits", report.cache_hits},
                                 {"errors", report.errors},
                                 {"interrupted", report.interrupted || report.budget_reached}}}});
  }
  if (format == "junit") {
    return junit(lines);
  }
  if (format == "markdown") {
    return markdown(lines);
  }
  if (format == "csv") {
    std::vector<std::vector<std::string>> rows;
    for (const Line& line : lines) {
      rows.push_back(row_cells(line));
    }
    return output::render_csv(k_headers, rows);
  }
  output::Table table(k_headers, {output::Align::left, output::Align::left, output::Align::left,
                                  output::Align::left, output::Align::right, output::Align::left,
                                  output::Align::right, output::Align::right, output::Align::right});
  for (const Line& line : lines) {
    table.add_row(row_cells(line));
  }
  return table.render(width);
}

// -o FILE: the format its extension names; empty when the extension is not one of them.
std::string format_of_output(const std::string& path) {
  static const std::map<std::string, std::string> by_extension{{".json", "json"}, {".md", "markdown"},
                                                               {".csv", "csv"},   {".xml", "junit"},
                                                               {".txt", "text"},  {".html", "html"}};
  const auto it = by_extension.find(std::filesystem::path(path).extension().string());
  return it == by_extension.end() ? std::string() : it->second;
}

// Checks every -o file's extension before anything runs.
void check_outputs(const std::vector<std::string>& outputs) {
  for (const std::string& path : outputs) {
    if (format_of_output(path).empty()) {
      throw UsageError("-o " + path + ": the extension names no report format",
                       "use .json, .md (markdown), .csv, .xml (JUnit), .txt (the table) or .html (the page)");
    }
  }
}

// The report in `format`: the HTML page (`command` made it), or report_document()'s formats.
// With a matrix, its table stands for the rows in every format but junit and html.
std::string eval_document(git::Repository& repo, const EvalReport& report, const std::string& format,
                          const std::string& command, const MatrixReport* matrix) {
  if (format == "html") {
    return html_page(repo, report, "git-promptops eval", command);
  }
  if (matrix != nullptr && format != "junit") {
    return matrix_document(*matrix, format, 0);
  }
  return report_document(report_lines(repo, report), report, format, 0);
}

// Writes the report to each -o file in the format of its extension, each file whole or not at all.
void write_outputs(git::Repository& repo, const EvalReport& report, const std::vector<std::string>& outputs,
                   const std::string& command, const MatrixReport* matrix) {
  for (const std::string& path : outputs) {
    util::write_file_atomic(path, eval_document(repo, report, format_of_output(path), command, matrix));
  }
}

// For text, the flaky cases and the summary on stderr.
void print_run_summary(Context& context, const EvalReport& report) {
  for (const auto& [key, result] : report.results) {
    if (!result.flaky.empty()) {
      context.warn("prompt '" + result.prompt + "': " + util::plural(result.flaky.size(), "flaky case") +
                   " (outcomes differ across repeats): " + util::join(result.flaky, ", "));
    }
  }
  std::fflush(stdout);  // the table first, then the summary, also when both go to one pipe
  std::size_t reused = 0;
  for (const auto& [key, result] : report.results) {
    reused += result.reused ? 1 : 0;
  }
  const std::string from_notes =
      report.from_notes > 0 ? ", " + std::to_string(report.from_notes) + " from notes" : std::string();
  std::fprintf(stderr, "%s (%zu from the cache%s), %s, %s\n",
               util::plural(report.results.size(), "evaluation").c_str(), reused - report.from_notes,
               from_notes.c_str(), util::plural(report.real_calls, "model call").c_str(),
               util::plural(report.cache_hits, "cached answer").c_str());
}

// The report on stdout in `format`; `matrix`, when set, is what the rows were evaluated for.
void print_eval_report(Context& context, git::Repository& repo, const EvalReport& report,
                       const std::string& format, const std::string& command, const MatrixReport* matrix) {
  if (format != "text") {
    context.out(eval_document(repo, report, format, command, matrix));
    return;
  }
  if (report.rows.empty()) {
    context.warn(report.skipped.empty()
                     ? "no prompts to evaluate"
                     : "no prompt has an [eval] section (" + util::join(report.skipped, ", ") + ")");
  } else if (matrix != nullptr) {
    context.out(matrix_document(*matrix, format, output::terminal_width(stdout)));
  } else {
    const std::vector<Line> lines = report_lines(repo, report);
    context.out(report_document(lines, report, format, output::terminal_width(stdout)));
    print_named_metrics(context, lines);
  }
  print_run_summary(context, report);
}

std::string money_or_zero(double value) { return value == 0.0 ? "$0" : money(value); }

// "eval: 10 requests to send, estimated $0.0050 (50 tokens in, at most 300 out) of --max-cost $0.0200"
std::string estimate_text(const CostEstimate& estimate, double budget) {
  std::string tokens = std::to_string(estimate.tokens_in) + " tokens in";
  if (estimate.unbounded > 0) {
    tokens += "; the output of " + std::to_string(estimate.unbounded) + " is not bounded by max_tokens";
  } else {
    tokens += ", at most " + std::to_string(estimate.tokens_out) + " out";
  }
  return "eval: " + util::plural(estimate.requests, "request") + " to send, estimated " +
         money_or_zero(estimate.cost) + " (" + tokens + ") of --max-cost " + money(budget);
}

// The exit of eval: interrupted 130, cases that could not be judged or answered 2, note mismatches
// (--verify-notes) 1.
void finish_eval(Context& context, const EvalReport& report, const EvalCommandOptions& options) {
  if (report.cost_reached) {
    throw Error("stopped at --max-cost " + money(options.max_cost) + ": " + money_or_zero(report.spent) +
                    " spent; " + util::plural(report.real_calls, "answer") +
                    " received in this run are kept in the cache, and the unfinished rows have no result",
                "run the same command with a larger --max-cost (or none) to go on from the cache");
  }
  if (report.budget_reached) {
    throw Error("stopped at --max-calls " + std::to_string(options.max_calls) + ": " +
                    util::plural(report.real_calls, "answer") +
                    " received in this run are kept in the cache, and the unfinished rows have no result",
                "run the same command with a larger --max-calls (or none) to go on from the cache");
  }
  RunEnd end;
  end.interrupted = report.interrupted;
  end.answers = report.real_calls;
  end.unanswered = report.errors > report.unjudged ? report.errors - report.unjudged : 0;
  end.failures = report.provider_failures;
  for (const auto& [key, result] : report.results) {
    if (result.errors > 0 && !result.results_file.empty()) {
      end.results_files.push_back(result.results_file);
    }
  }
  const ExitCode verdict = report.note_mismatches.empty() ? ExitCode::ok : ExitCode::negative;
  context.exit_status = run_exit(end, verdict, [&report] {
    if (report.unjudged > 0 && report.unjudged == report.errors) {
      throw Error(util::plural(report.unjudged, "case") + " could not be judged: " + report.unjudged_reason +
                      " (see the per-case results)",
                  "fix the assertion; a regular expression that reaches a limit needs less backtracking");
    }
  });
  report_note_mismatches(report.note_mismatches);
}

// --failing: per prompt (those named, else every prompt with a recorded result), the ids of the
// cases that did not pass in its last recorded result on HEAD's first-parent history; a prompt
// none of whose cases failed is left out.
std::map<std::string, std::set<std::string>> failing_cases(const git::Repository& repo,
                                                           const std::vector<std::string>& names) {
  const std::optional<git::Oid> head = repo.head();
  const std::map<std::string, EvalResult> recorded =
      head ? last_recorded_results(repo, *head, names) : std::map<std::string, EvalResult>();
  for (const std::string& name : names) {
    if (recorded.count(name) == 0) {
      throw NotFoundError("--failing: prompt '" + name + "' has no recorded result to take its failing cases from",
                          "run git promptops eval -- " + name + " first: it records each result in notes");
    }
  }
  if (recorded.empty()) {
    throw NotFoundError("--failing: no prompt has a recorded result to take its failing cases from",
                        "run git promptops eval first: it records each result in notes");
  }
  std::map<std::string, std::set<std::string>> failing;
  for (const auto& [name, result] : recorded) {
    for (std::size_t i = 0; i < result.case_ids.size() && i < result.outcomes.size(); ++i) {
      if (result.outcomes[i] != 'p') {
        failing[name].insert(result.case_ids[i]);
      }
    }
  }
  return failing;
}

EvalOptions eval_options_of(git::Repository& repo, const EvalCommandOptions& options,
                            const EvalArguments& arguments) {
  EvalOptions eval_options;
  eval_options.names = arguments.names;
  eval_options.suite_at = options.suite_at == "each" ? SuiteAt::each : SuiteAt::newest;
  eval_options.repeat = options.repeat;
  eval_options.provider_options = provider_options_for(repo);
  eval_options.notes = notes_policy(repo, options.verify_notes);
  eval_options.provider_options.max_concurrency = options.max_concurrency;
  eval_options.max_calls = options.max_calls;
  eval_options.max_cost = options.max_cost;
  eval_options.vars = vars_of(options.vars);
  eval_options.cases.filter = options.filter;
  if (options.sample_set) {
    eval_options.cases.sample = options.sample;
    eval_options.cases.seed = options.seed;
  }
  if (options.limit_set) {
    eval_options.cases.limit = options.limit;
  }
  if (options.failing) {
    eval_options.cases.only = failing_cases(repo, arguments.names);
    eval_options.names.clear();
    for (const auto& [name, ids] : eval_options.cases.only) {
      eval_options.names.push_back(name);
    }
  }
  return eval_options;
}

bool is_matrix(const EvalCommandOptions& options) {
  return !options.models.empty() || !options.variants.empty() || !options.sets.empty() || options.declared;
}

// One --set value: a JSON number, boolean or null as such (temperature=0.7), anything else a string.
nlohmann::json param_value(const std::string& text) {
  const nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  return !value.is_discarded() && (value.is_number() || value.is_boolean() || value.is_null())
             ? value
             : nlohmann::json(text);
}

// --set temperature=0,0.7 --set top_p=1: each parameter with its values, in order, each once.
// Throws UsageError for a word without NAME=, an empty value, or a parameter set twice.
std::vector<std::pair<std::string, std::vector<nlohmann::json>>> params_of(const std::vector<std::string>& words) {
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> params;
  for (const std::string& word : words) {
    const std::size_t equals = word.find('=');
    const std::string name = word.substr(0, equals);
    const auto same = [&name](const auto& param) { return param.first == name; };
    if (equals == std::string::npos || name.empty() || std::any_of(params.begin(), params.end(), same)) {
      throw UsageError("--set '" + word + "' is not NAME=VALUE[,VALUE...] of a parameter not set yet",
                       "write --set temperature=0,0.7 (one --set per parameter, commas between values)");
    }
    std::vector<nlohmann::json> values;
    for (const std::string& text : util::split(word.substr(equals + 1), ',')) {
      if (text.empty()) {
        throw UsageError("--set '" + word + "' has an empty value",
                         "write --set temperature=0,0.7 (commas between values, none at the ends)");
      }
      if (std::find(values.begin(), values.end(), param_value(text)) == values.end()) {
        values.push_back(param_value(text));
      }
    }
    params.emplace_back(name, std::move(values));
  }
  return params;
}

// --model A,B --model C: the models in order, each once. Throws UsageError for an empty one.
std::vector<std::string> models_of(const std::vector<std::string>& words) {
  std::vector<std::string> models;
  for (const std::string& word : words) {
    for (const std::string& model : util::split(word, ',')) {
      if (model.empty()) {
        throw UsageError("--model '" + word + "' has an empty model name",
                         "write --model PROVIDER/NAME,NAME (commas between models, none at the ends)");
      }
      if (std::find(models.begin(), models.end(), model) == models.end()) {
        models.push_back(model);
      }
    }
  }
  return models;
}

constexpr std::size_t k_max_columns = k_max_matrix_columns;

UsageError baseline_past_end(std::size_t baseline, std::size_t columns) {
  return UsageError("--baseline " + std::to_string(baseline) + " is past the last column (" + std::to_string(columns) +
                        ")",
                    "name a column by its number in the table, 1 to " + std::to_string(columns));
}

// The matrix at the one target `spec` names: its request, from the flags.
MatrixRequest matrix_request(const EvalCommandOptions& options, const std::string& spec,
                             const std::vector<EvalTarget>& targets, EvalOptions eval_options) {
  if (targets.size() != 1 || spec.find("..") != std::string::npos) {
    throw UsageError("a matrix (--model, --variant, --set, --matrix) is of one revision, and '" + spec + "' is a range",
                     "give one revision (git promptops eval HEAD --model A,B), or no revision for the working tree");
  }
  if (options.suite_at == "each") {
    throw UsageError("--suite-at each does not go with a matrix (--model, --variant, --set, --matrix)",
                     "the matrix judges every column by the base revision's dataset and assertions");
  }
  MatrixRequest request;
  request.base = targets.front();
  request.base_label =
      request.base.commit ? (spec.empty() ? "HEAD" : spec) + " (" + request.base.commit->short_hex() + ")"
                          : "working tree";
  request.variants = options.variants;
  request.models = models_of(options.models);
  request.params = params_of(options.sets);
  const std::size_t columns = matrix_column_count(request);
  if (columns > k_max_columns) {
    throw UsageError("the matrix would have " + std::to_string(columns) + " columns, more than " +
                         std::to_string(k_max_columns),
                     "vary fewer models, variants or parameter values per run");
  }
  if (options.baseline > columns && !options.declared) {
    throw baseline_past_end(options.baseline, columns);
  }
  request.declared = options.declared;
  request.baseline = options.baseline - 1;
  request.options = std::move(eval_options);
  return request;
}

// run_matrix, with the variants' problem in this command's syntax.
MatrixReport run_matrix_explained(const git::Repository& repo, const MatrixRequest& request,
                                  EvalServices& services) {
  try {
    return run_matrix(repo, request, services);
  } catch (const MatrixBaselineError& e) {
    throw baseline_past_end(request.baseline + 1, e.columns);
  } catch (const MatrixVariantsError& e) {
    if (e.kind == MatrixVariantsError::Kind::none_declared) {
      throw UsageError("--matrix found no [[eval.matrix]] entry in .promptops.toml or " +
                           (e.names.empty() ? std::string("any prompt") : util::join(e.names, ", ")),
                       "declare columns as [[eval.matrix]] tables (model, params, variant, messages), or vary "
                       "with --model, --variant and --set");
    }
    if (e.kind == MatrixVariantsError::Kind::two_prompts) {
      throw UsageError("--variant names two prompts ('" + e.prompts[0] + "' and '" + e.prompts[1] + "')",
                       "vary one prompt per run (--variant " + e.prompts[0] +
                           "@REV), or give revisions to vary every prompt");
    }
    throw UsageError("--variant varies prompt '" + e.prompts[0] + "' but -- names " + util::join(e.names, ", "),
                     "drop the names after --, or give the variant as a revision to vary every prompt");
  }
}

// " --model A,B --variant REF --baseline N" as given, for the command that reproduces the page.
std::string matrix_flags(const EvalCommandOptions& options) {
  std::string out;
  if (!options.models.empty()) {
    out += " --model " + util::join(models_of(options.models), ",");
  }
  for (const std::string& variant : options.variants) {
    out += " --variant " + variant;
  }
  for (const std::string& set : options.sets) {
    out += " --set " + set;
  }
  if (options.declared) {
    out += " --matrix";
  }
  if (options.baseline != 1) {
    out += " --baseline " + std::to_string(options.baseline);
  }
  return out;
}

void run_eval_command(Context& context, const EvalCommandOptions& options) {
  check_outputs(options.outputs);
  const EvalArguments arguments = eval_arguments(context, options.range, options.names, "eval");
  const std::string& spec = arguments.spec;
  git::Repository& repo = context.repo();
  std::vector<EvalTarget> targets;
  try {
    targets = resolve_targets(context, spec);
  } catch (const NotFoundError& e) {
    if (arguments.before == 1 && spec.find("..") == std::string::npos && arguments.after_dashes == 0) {
      throw NotFoundError(e.what(),
                          "to evaluate a prompt by name, put it after --: git promptops eval -- " + spec);
    }
    throw;
  }
  if (targets.empty()) {
    context.warn("no commits in '" + spec + "': nothing to evaluate");
    return;
  }
  EvalOptions eval_options = eval_options_of(repo, options, arguments);
  if (options.failing && eval_options.cases.only.empty()) {
    context.out("no case failed in the last recorded results: nothing to run\n");
    return;
  }
  const bool matrix_run = is_matrix(options);
  std::optional<MatrixRequest> request;
  if (matrix_run) {
    request = matrix_request(options, spec, targets, eval_options);
  }

  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  session.services().estimated = [&session, &options](const CostEstimate& estimate) {
    session.clear_progress();
    std::fprintf(stderr, "%s\n", estimate_text(estimate, options.max_cost).c_str());
  };
  std::optional<MatrixReport> matrix;
  EvalReport report;
  if (request) {
    matrix = run_matrix_explained(repo, *request, session.services());
    report = matrix->eval;
  } else {
    report = run_eval_explained(repo, targets, eval_options, session.services(), spec);
  }
  session.clear_progress();

  if (!eval_options.cases.active() && eval_options.vars.empty()) {  // a selection or --var: not the
    record_eval_notes(repo, report);                                // version's result on its suite
  }

  const std::string command = command_line("eval", arguments) + (matrix_run ? matrix_flags(options) : "");
  const MatrixReport* shown = matrix ? &*matrix : nullptr;
  print_eval_report(context, repo, report, options.format, command, shown);
  write_outputs(repo, report, options.outputs, command, shown);
  finish_eval(context, report, options);
}

}  // namespace

void add_eval(CLI::App& app, Context& context) {
  auto options = std::make_shared<EvalCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "eval", "evaluate prompts at a range of commits (A..B), one revision, or the working tree");
  command->add_option(
      "range", options->range,
      "A..B (the first-parent commits of B since A), one revision, or nothing for the working tree");
  command->add_option("names", options->names,
                      "after --: the prompts to evaluate (default: every prompt with [eval])");
  command
      ->add_option("--suite-at", options->suite_at,
                   "whose dataset and assertions judge each version: newest (one yardstick, default) or each")
      ->check(CLI::IsMember({"newest", "each"}));
  command->add_option("--repeat", options->repeat, "sample each case this many times and report flaky cases")
      ->check(CLI::Range(1, k_max_repeat));
  command->add_flag(
      "--no-cache", options->no_cache,
      "ask the model again: answers and results are neither read from nor written to the cache");
  command->add_flag("--verify-notes", options->verify_notes,
                    "do not take results from notes: evaluate for real, and exit 1 naming each note whose "
                    "figures differ");
  command
      ->add_option("-j,--max-concurrency", options->max_concurrency,
                   "requests in flight per provider, instead of each provider's max_concurrency")
      ->check(CLI::Range(1, 1024));
  command->add_option("--filter", options->filter,
                      "run only the cases whose id or description this regular expression (PCRE2) finds");
  command
      ->add_option("--sample", options->sample,
                   "run a random N of the cases (after --filter), the same N for the same --seed")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()))
      ->each([options](const std::string&) { options->sample_set = true; });
  command->add_option("--seed", options->seed, "the seed of --sample (default 0)")->needs("--sample");
  command->add_option("--limit", options->limit, "run only the first N cases (after --filter and --sample)")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()))
      ->each([options](const std::string&) { options->limit_set = true; });
  command->add_flag("--failing", options->failing,
                    "run only the cases that did not pass in each prompt's last recorded result (its newest "
                    "note on HEAD's history)");
  command
      ->add_option("--max-cost", options->max_cost,
                   "spend at most USD on requests, by the [prices] table (estimated before each "
                   "request is sent), then stop with status 2")
      ->check(CLI::PositiveNumber)
      ->type_name("USD");
  command
      ->add_option("--max-calls", options->max_calls,
                   "send at most N requests (answers and judge calls; cached answers are free), then stop "
                   "with status 2")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()));
  command->add_option("--var", options->vars,
                      "NAME=VALUE: set this variable in every case, over the dataset's value (repeatable)");
  command->add_option("-o,--output", options->outputs,
                      "also write the report to FILE, in the format its extension names: .json .md .csv .xml "
                      ".txt .html (repeatable)");
  command->add_option("--model", options->models,
                      "the matrix: run on each of these models (PROVIDER/NAME or NAME, comma-separated or "
                      "repeated) instead of the prompt's own");
  command->add_option("--variant", options->variants,
                      "the matrix: also evaluate this variant, NAME@REV or a revision, on the same cases "
                      "(repeatable)");
  command
      ->add_option("--set", options->sets,
                   "the matrix: NAME=V1,V2 runs each value of this model parameter (temperature, "
                   "max_tokens, ...) over the model's own (repeatable: the columns cross them)");
  command->add_flag("--matrix", options->declared,
                    "the matrix: also run the [[eval.matrix]] columns that .promptops.toml (every prompt) and "
                    "each prompt (itself alone) declare");
  command
      ->add_option("--baseline", options->baseline,
                   "the matrix: pair every column with column N of the table (default 1)")
      ->check(CLI::Range(std::size_t{1}, k_max_columns));
  add_format_option(*command, options->format, {"text", "json", "junit", "markdown", "csv", "html"});
  command->callback([&context, options] { run_eval_command(context, *options); });
}

}  // namespace promptops::cli
