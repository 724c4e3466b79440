// SPDX-License-Identifier: MIT
// The HTML page of an evaluation report: the model output/html_report.hpp renders, filled from the
// rows, their results, their per-case records and the prompt's text at each commit.
#include "html_page.hpp"

#include <map>
#include <unordered_map>

#include <promptops/diff/diff.hpp>
#include <promptops/eval/case_records.hpp>
#include <promptops/eval/statistics.hpp>
#include <promptops/output/html_report.hpp>
#include <promptops/util/error.hpp>
#include <promptops/workflows/matrix.hpp>

#include "eval_targets.hpp"

namespace promptops::cli {

namespace {

using output::HtmlCase;
using output::HtmlCell;
using output::HtmlColumn;
using output::HtmlPoint;
using output::HtmlSection;

// One row of a prompt with what the page needs of it.
struct PromptRow {
  const EvalRow* row;
  const EvalTarget* target;
  std::string version;       // "v3"
  const EvalResult* result;  // null: not evaluated
};

std::string short_commit(const EvalTarget& target) {
  return target.commit ? target.commit->short_hex() : std::string("worktree");
}

std::string column_label(const PromptRow& row) {
  const nlohmann::json& params = row.target->params;
  return row.version + " (" + short_commit(*row.target) + ")" + (row.result ? " · " + row.result->model : "") +
         (params.empty() ? "" : " · " + params_text(params));
}

std::string eval_command(const PromptRow& row) {
  const std::string model = row.target->model.empty() ? "" : "--model " + row.target->model + " ";
  std::string sets;
  for (const auto& [name, value] : row.target->params.items()) {
    sets += "--set " + params_text({{name, value}}) + " ";
  }
  return "git promptops eval " + (row.target->commit ? row.target->commit->short_hex() + " " : std::string()) +
         model + sets + "-- " + row.row->prompt;
}

// The rows of each prompt, in the order prompts first appear.
std::vector<std::pair<std::string, std::vector<PromptRow>>> rows_by_prompt(git::Repository& repo,
                                                                          const EvalReport& report) {
  const std::vector<std::string> versions = version_labels(repo, report);
  std::vector<std::pair<std::string, std::vector<PromptRow>>> prompts;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const EvalRow& row = report.rows[i];
    const auto found = report.results.find(row.key);
    const PromptRow entry{&row, &report.targets[row.target], versions[i],
                          found == report.results.end() ? nullptr : &found->second};
    const auto [it, added] = index.emplace(row.prompt, prompts.size());
    if (added) {
      prompts.emplace_back(row.prompt, std::vector<PromptRow>());
    }
    prompts[it->second].second.push_back(entry);
  }
  return prompts;
}

std::vector<HtmlPoint> history_of(git::Repository& repo, const std::string& prompt,
                                  const std::vector<PromptRow>& rows) {
  std::map<git::Oid, std::vector<std::string>> aliases;
  for (const git::Alias& alias : repo.aliases(prompt)) {
    aliases[alias.commit].push_back(alias.name);
  }
  std::vector<HtmlPoint> points;
  for (const PromptRow& row : rows) {
    HtmlPoint point;
    point.label = row.version;
    point.title = short_commit(*row.target) + " " + row.target->subject;
    if (row.target->commit) {
      if (const auto it = aliases.find(*row.target->commit); it != aliases.end()) {
        point.aliases = it->second;
      }
    }
    if (row.result) {
      point.value = row.result->value;
      if (row.result->interval) {
        point.interval = output::HtmlInterval{row.result->interval->low, row.result->interval->high};
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

// The exact McNemar p of `result` against `baseline` on the cases both answered; nullopt when the
// outcomes cannot be paired.
std::optional<double> paired_p(const EvalResult& baseline, const EvalResult& result) {
  try {
    const Flips pairs = flips(baseline.case_ids, baseline.outcomes, result.case_ids, result.outcomes);
    return mcnemar_exact(pairs.pass_to_fail.size(), pairs.fail_to_pass.size()).p_value;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::vector<HtmlColumn> columns_of(const std::vector<PromptRow>& rows) {
  std::vector<HtmlColumn> columns;
  const EvalResult* baseline = nullptr;
  for (const PromptRow& row : rows) {
    HtmlColumn column;
    column.label = column_label(row);
    column.key = row.row->key;
    column.command = eval_command(row);
    if (!row.result) {
      column.missing = "not evaluated: run " + column.command;
      columns.push_back(std::move(column));
      continue;
    }
    const EvalResult& result = *row.result;
    column.metric = result.metric;
    column.value = result.value;
    if (result.interval) {
      column.interval = output::HtmlInterval{result.interval->low, result.interval->high};
    }
    column.cases = result.metrics.cases;
    column.passed = result.metrics.passed;
    column.tokens_in = result.metrics.tokens_in;
    column.tokens_out = result.metrics.tokens_out;
    column.cost = result.metrics.cost;
    if (result.metrics.latency) {
      column.p50_ms = result.metrics.latency->p50_ms;
      column.p95_ms = result.metrics.latency->p95_ms;
    }
    if (baseline == nullptr) {
      baseline = &result;
      column.baseline = true;
    } else {
      column.delta = result.value - baseline->value;
      column.p_value = paired_p(*baseline, result);
    }
    columns.push_back(std::move(column));
  }
  HtmlColumn* best = nullptr;
  std::size_t valued = 0;
  for (HtmlColumn& column : columns) {
    if (column.value) {
      ++valued;
      best = best == nullptr || *column.value > *best->value ? &column : best;
    }
  }
  if (valued > 1) {
    best->best = true;
  }
  return columns;
}

// The newest distinct evaluations of the rows, oldest first, at most k_html_case_columns.
std::vector<const PromptRow*> case_columns_of(const std::vector<PromptRow>& rows) {
  std::vector<const PromptRow*> chosen;
  for (auto it = rows.rbegin(); it != rows.rend() && chosen.size() < k_html_case_columns; ++it) {
    const bool seen = std::any_of(chosen.begin(), chosen.end(),
                                  [&](const PromptRow* row) { return row->row->key == it->row->key; });
    if (it->result != nullptr && !seen) {
      chosen.push_back(&*it);
    }
  }
  return {chosen.rbegin(), chosen.rend()};
}

// Every case of the chosen columns, in the newest column's order and then the others'.
std::vector<HtmlCase> cases_of(const std::vector<const PromptRow*>& columns) {
  std::vector<std::string> order;
  std::unordered_map<std::string, std::size_t> position;
  for (auto it = columns.rbegin(); it != columns.rend(); ++it) {
    for (const std::string& id : (*it)->result->case_ids) {
      if (position.emplace(id, order.size()).second) {
        order.push_back(id);
      }
    }
  }
  std::vector<HtmlCase> cases(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    cases[i].id = order[i];
    cases[i].cells.resize(columns.size());
  }
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const EvalResult& result = *columns[c]->result;
    const std::map<std::string, CaseRecord> records = read_case_records(result);
    for (std::size_t k = 0; k < result.case_ids.size() && k < result.outcomes.size(); ++k) {
      HtmlCase& row = cases[position.at(result.case_ids[k])];
      HtmlCell& cell = row.cells[c];
      cell.outcome = result.outcomes[k];
      if (const auto record = records.find(result.case_ids[k]); record != records.end()) {
        cell.output = record->second.output;
        cell.reasons = record->second.reasons;
        cell.error = record->second.error;
        if (row.description.empty()) {
          row.description = record->second.description;
        }
      }
    }
  }
  return cases;
}

// The prompt's text at a row's commit; nullopt for the working tree or where it is absent.
std::optional<std::string> prompt_text(git::Repository& repo, const PromptRow& row) {
  if (!row.target->commit) {
    return std::nullopt;
  }
  const std::optional<git::TreeEntry> entry = repo.entry_at(*row.target->commit, row.row->path);
  return entry && entry->is_blob() ? std::optional<std::string>(repo.read_blob(entry->id)) : std::nullopt;
}

std::optional<output::HtmlFlips> flips_of(git::Repository& repo, const std::vector<const PromptRow*>& columns) {
  if (columns.size() < 2) {
    return std::nullopt;
  }
  const PromptRow& from = *columns[columns.size() - 2];
  const PromptRow& to = *columns.back();
  output::HtmlFlips out;
  out.from = column_label(from);
  out.to = column_label(to);
  try {
    const Flips pairs =
        flips(from.result->case_ids, from.result->outcomes, to.result->case_ids, to.result->outcomes);
    out.pass_to_fail = pairs.pass_to_fail;
    out.fail_to_pass = pairs.fail_to_pass;
  } catch (const Error&) {
    return std::nullopt;
  }
  const std::optional<std::string> before = prompt_text(repo, from);
  const std::optional<std::string> after = prompt_text(repo, to);
  if (before && after && *before != *after) {
    for (const diff::Run& run : diff::word_diff(*before, *after)) {
      const char kind = run.kind == diff::RunKind::insert ? '+' : run.kind == diff::RunKind::remove ? '-' : '=';
      out.prompt_diff.push_back(output::HtmlDiffRun{kind, run.text});
    }
  }
  return out;
}

}  // namespace

std::string html_page(git::Repository& repo, const EvalReport& report, const std::string& title,
                      const std::string& command, const std::vector<std::string>& notes) {
  output::HtmlReport page;
  page.title = title;
  page.command = command;
  page.notes = notes;
  for (const auto& [prompt, rows] : rows_by_prompt(repo, report)) {
    HtmlSection section;
    section.prompt = prompt;
    section.history = history_of(repo, prompt, rows);
    section.columns = columns_of(rows);
    for (const HtmlColumn& column : section.columns) {
      section.metric = section.metric.empty() ? column.metric : section.metric;
    }
    const std::vector<const PromptRow*> case_columns = case_columns_of(rows);
    for (const PromptRow* row : case_columns) {
      section.case_columns.push_back(column_label(*row));
    }
    section.cases = cases_of(case_columns);
    section.flips = flips_of(repo, case_columns);
    page.sections.push_back(std::move(section));
  }
  return output::render_html(page);
}

}  // namespace promptops::cli
