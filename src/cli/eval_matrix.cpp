// SPDX-License-Identifier: MIT
// The experiment matrix rendered: one row per (prompt, column), the same cells in every format.
#include "eval_matrix.hpp"

#include <nlohmann/json.hpp>

#include <promptops/output/table.hpp>

#include "context.hpp"
#include "evaluation.hpp"

namespace promptops::cli {

namespace {

using json = nlohmann::json;

const std::vector<std::string> k_matrix_headers = {"PROMPT", "#",      "VARIANT", "MODEL", "METRIC", "VALUE", "95% CI",
                                            "DELTA",  "P",      "TOKENS",  "COST",  "P50",    "P95",   "NOTE"};

const std::vector<output::Align> k_matrix_align = {
    output::Align::left,  output::Align::right, output::Align::left,  output::Align::left,  output::Align::left,
    output::Align::right, output::Align::left,  output::Align::right, output::Align::right, output::Align::right,
    output::Align::right, output::Align::right, output::Align::right, output::Align::left};

std::string cell_state_word(MatrixCell::State state) {
  switch (state) {
    case MatrixCell::State::evaluated:
      return "";
    case MatrixCell::State::absent:
      return "no such prompt";
    case MatrixCell::State::missing:
      return "not in the cache or notes";
    case MatrixCell::State::unfinished:
      return "unfinished";
  }
  return "";
}

// "baseline", "best", "baseline, best", or why the cell has no result.
std::string matrix_note(const MatrixPrompt& prompt, std::size_t column) {
  std::vector<std::string> words;
  if (prompt.baseline == column) {
    words.emplace_back("baseline");
  }
  if (prompt.best == column) {
    words.emplace_back("best");
  }
  const std::string state = cell_state_word(prompt.cells[column].state);
  if (!state.empty()) {
    words.push_back(state);
  }
  return util::join(words, ", ");
}

std::string ms_text(const std::optional<LatencySummary>& latency, double LatencySummary::*field) {
  return latency ? fixed((*latency).*field, 0) + " ms" : "-";
}

std::vector<std::string> matrix_cells(const MatrixReport& report, const MatrixPrompt& prompt, std::size_t column) {
  const MatrixColumn& col = report.columns[column];
  const MatrixCell& cell = prompt.cells[column];
  std::string model = cell.result ? cell.result->model : col.model.empty() ? "-" : col.model;
  if (!col.params.empty()) {
    model += " " + params_text(col.params);
  }
  std::vector<std::string> cells{prompt.prompt, std::to_string(column + 1), col.variant.label, model};
  if (!cell.result) {
    cells.insert(cells.end(), {"-", "-", "", "", "", "", "", "", ""});
  } else {
    const EvalResult& r = *cell.result;
    cells.push_back(r.metric);
    cells.push_back(fixed(r.value, 3));
    cells.push_back(r.interval ? "[" + fixed(r.interval->low, 2) + ", " + fixed(r.interval->high, 2) + "]" : "");
    cells.push_back(cell.delta ? signed_fixed(*cell.delta, 3) : "");
    cells.push_back(cell.p_value ? p_value_text(*cell.p_value) : "");
    cells.push_back(std::to_string(r.metrics.tokens_in + r.metrics.tokens_out));
    cells.push_back(money(r.metrics.cost));
    cells.push_back(ms_text(r.metrics.latency, &LatencySummary::p50_ms));
    cells.push_back(ms_text(r.metrics.latency, &LatencySummary::p95_ms));
  }
  cells.push_back(matrix_note(prompt, column));
  return cells;
}

json cell_json(const MatrixPrompt& prompt, std::size_t column) {
  const MatrixCell& cell = prompt.cells[column];
  json out = {{"column", column + 1},
              {"state", cell.state == MatrixCell::State::evaluated ? "evaluated" : cell_state_word(cell.state)},
              {"eval_key", cell.key.empty() ? json(nullptr) : json(cell.key)},
              {"baseline", prompt.baseline == column},
              {"best", prompt.best == column},
              {"delta", cell.delta ? json(*cell.delta) : json(nullptr)},
              {"p_value", cell.p_value ? json(*cell.p_value) : json(nullptr)},
              {"test", cell.test.empty() ? json(nullptr) : json(cell.test)}};
  if (cell.result) {
    const EvalResult& r = *cell.result;
    out["model"] = r.model;
    out["metric"] = r.metric;
    out["value"] = r.value;
    out["interval"] = r.interval ? json::array({r.interval->low, r.interval->high}) : json(nullptr);
    out["metrics"] = r.metrics.to_json();
    out["outcomes"] = r.outcomes;
    out["case_ids"] = r.case_ids;
  }
  return out;
}

std::string matrix_json(const MatrixReport& report) {
  json columns = json::array();
  for (std::size_t i = 0; i < report.columns.size(); ++i) {
    const MatrixColumn& column = report.columns[i];
    const EvalTarget& target = column.variant.target;
    columns.push_back({{"column", i + 1},
                       {"label", column.label},
                       {"variant", column.variant.text},
                       {"commit", target.commit ? json(target.commit->hex()) : json(nullptr)},
                       {"model", column.model.empty() ? json(nullptr) : json(column.model)},
                       {"params", column.params},
                       {"prompt", target.only ? json(target.only->prompt) : json(nullptr)}});
  }
  json prompts = json::array();
  for (const MatrixPrompt& prompt : report.prompts) {
    json cells = json::array();
    for (std::size_t i = 0; i < prompt.cells.size(); ++i) {
      if (column_varies(report.columns[i], prompt.prompt)) {
        cells.push_back(cell_json(prompt, i));
      }
    }
    prompts.push_back({{"prompt", prompt.prompt}, {"cells", std::move(cells)}});
  }
  const EvalReport& eval = report.eval;
  return Context::json_text({{"columns", std::move(columns)},
                             {"prompts", std::move(prompts)},
                             {"skipped", eval.skipped},
                             {"summary",
                              {{"evaluations", eval.results.size()},
                               {"real_calls", eval.real_calls},
                               {"cache_hits", eval.cache_hits},
                               {"errors", eval.errors},
                               {"interrupted", eval.interrupted || eval.budget_reached}}}});
}

}  // namespace

std::string matrix_document(const MatrixReport& report, const std::string& format, std::size_t width) {
  if (format == "json") {
    return matrix_json(report);
  }
  std::vector<std::vector<std::string>> rows;
  output::Table table(k_matrix_headers, k_matrix_align);
  for (const MatrixPrompt& prompt : report.prompts) {
    for (std::size_t column = 0; column < prompt.cells.size(); ++column) {
      if (!column_varies(report.columns[column], prompt.prompt)) {
        continue;
      }
      rows.push_back(matrix_cells(report, prompt, column));
      table.add_row(rows.back());
    }
  }
  if (format == "csv") {
    return output::render_csv(k_matrix_headers, rows);
  }
  return format == "markdown" ? table.markdown() : table.render(width);
}

}  // namespace promptops::cli
