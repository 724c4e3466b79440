// SPDX-License-Identifier: MIT
// The experiment matrix: resolve the columns, evaluate them in one run on the base's suite, pair
// each prompt's columns with its baseline. Prints nothing.
#include <promptops/workflows/matrix.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>

#include <promptops/prompt/registry.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>
#include <promptops/workflows/gate.hpp>

namespace promptops::inline workflows {

namespace {

// The one prompt the variants name, if any.
std::optional<std::string> varied_prompt(const std::vector<CompareSide>& variants) {
  std::optional<std::string> prompt;
  for (const CompareSide& variant : variants) {
    if (variant.prompt && prompt && *variant.prompt != *prompt) {
      throw MatrixVariantsError(MatrixVariantsError::Kind::two_prompts, {*prompt, *variant.prompt}, {});
    }
    prompt = variant.prompt ? variant.prompt : prompt;
  }
  return prompt;
}

// Narrows `names` to the prompt the variants vary.
void narrow_names(const std::optional<std::string>& prompt, std::vector<std::string>& names) {
  if (!prompt) {
    return;
  }
  if (!names.empty() && (names.size() != 1 || names.front() != *prompt)) {
    throw MatrixVariantsError(MatrixVariantsError::Kind::names_excluded, {*prompt}, names);
  }
  names = {*prompt};
}

// Every combination of the parameters' values, the last parameter varying fastest; one empty
// object when there are none.
std::vector<nlohmann::json> param_combinations(
    const std::vector<std::pair<std::string, std::vector<nlohmann::json>>>& params) {
  std::vector<nlohmann::json> combinations{nlohmann::json::object()};
  for (const auto& [name, values] : params) {
    std::vector<nlohmann::json> grown;
    for (const nlohmann::json& combination : combinations) {
      for (const nlohmann::json& value : values) {
        nlohmann::json next = combination;
        next[name] = value;
        grown.push_back(std::move(next));
      }
    }
    combinations = std::move(grown);
  }
  return combinations;
}

MatrixCell cell_of(const EvalReport& report, const EvalRow& row, const std::set<std::string>& missing) {
  MatrixCell cell;
  cell.key = row.key;
  if (const auto it = report.results.find(row.key); it != report.results.end()) {
    cell.state = MatrixCell::State::evaluated;
    cell.result = it->second;
  } else {
    cell.state = missing.count(row.key) != 0 ? MatrixCell::State::missing : MatrixCell::State::unfinished;
  }
  return cell;
}

// The column with the highest headline value, when two or more columns are evaluated.
std::optional<std::size_t> best_of(const std::vector<MatrixCell>& cells) {
  std::optional<std::size_t> best;
  std::size_t evaluated = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].result) {
      ++evaluated;
      best = !best || cells[i].result->value > cells[*best].result->value ? std::optional(i) : best;
    }
  }
  return evaluated > 1 ? best : std::nullopt;
}

// Each evaluated cell against the baseline cell: the delta and the paired test's p-value.
void pair_with_baseline(const Snapshot& base, MatrixPrompt& prompt) {
  const MatrixCell& baseline = prompt.cells[*prompt.baseline];
  for (std::size_t i = 0; i < prompt.cells.size(); ++i) {
    MatrixCell& cell = prompt.cells[i];
    if (i == *prompt.baseline || !cell.result) {
      continue;
    }
    cell.delta = cell.result->value - baseline.result->value;
    try {
      const Comparison paired =
          analyse(prompt.prompt, *baseline.result, *cell.result, case_groups(base, *cell.result));
      cell.p_value = paired.mcnemar ? paired.mcnemar->p_value : paired.sign_flip.p_value;
      cell.test = paired.mcnemar ? "McNemar" : "sign-flip";
    } catch (const Error&) {
      // The cases cannot be paired (ids differ): the delta stands alone.
    }
  }
}

std::vector<MatrixPrompt> matrix_prompts(const git::Repository& repo, const MatrixRequest& request,
                                         const EvalReport& report, std::size_t columns) {
  const std::set<std::string> missing(report.missing.begin(), report.missing.end());
  std::vector<MatrixPrompt> prompts;
  for (const EvalRow& row : report.rows) {
    auto it = std::find_if(prompts.begin(), prompts.end(),
                           [&row](const MatrixPrompt& prompt) { return prompt.prompt == row.prompt; });
    if (it == prompts.end()) {
      prompts.push_back(MatrixPrompt{row.prompt, std::vector<MatrixCell>(columns), {}, {}});
      it = std::prev(prompts.end());
    }
    it->cells[row.target] = cell_of(report, row, missing);
  }
  const std::unique_ptr<Snapshot> base =
      request.base.commit ? commit_snapshot(repo, *request.base.commit) : worktree_snapshot(repo);
  for (MatrixPrompt& prompt : prompts) {
    if (prompt.cells[request.baseline].result) {
      prompt.baseline = request.baseline;
      pair_with_baseline(*base, prompt);
    }
    prompt.best = best_of(prompt.cells);
  }
  return prompts;
}

}  // namespace

MatrixVariantsError::MatrixVariantsError(Kind kind_, std::vector<std::string> prompts_, std::vector<std::string> names_)
    : UsageError(kind_ == Kind::two_prompts ? "variants name two prompts" : "a variant's prompt is not among the names",
                 ""),
      kind(kind_),
      prompts(std::move(prompts_)),
      names(std::move(names_)) {}

std::vector<MatrixColumn> matrix_columns(const git::Repository& repo, const MatrixRequest& request,
                                         std::vector<std::string>& names) {
  std::vector<CompareSide> variants{CompareSide{request.base_label, {}, request.base, request.base_label}};
  for (const std::string& text : request.variants) {
    variants.push_back(resolve_side(repo, text));
  }
  narrow_names(varied_prompt(variants), names);
  const std::vector<std::string> models = request.models.empty() ? std::vector<std::string>{""} : request.models;
  const std::vector<nlohmann::json> combinations = param_combinations(request.params);
  std::vector<MatrixColumn> columns;
  for (const CompareSide& variant : variants) {
    for (const std::string& model : models) {
      for (const nlohmann::json& params : combinations) {
        const std::string label = variant.label + (model.empty() ? "" : " · " + model) +
                                  (params.empty() ? "" : " · " + params_text(params));
        MatrixColumn column{variant, model, params, label};
        column.variant.target.model = model;
        column.variant.target.params = params;
        columns.push_back(std::move(column));
      }
    }
  }
  return columns;
}

std::size_t matrix_column_count(const MatrixRequest& request) {
  std::size_t count = (1 + request.variants.size()) * std::max<std::size_t>(1, request.models.size());
  for (const auto& [name, values] : request.params) {
    count *= values.size();
  }
  return count;
}

std::string params_text(const nlohmann::json& params) {
  std::vector<std::string> words;
  for (const auto& [name, value] : params.items()) {
    words.push_back(name + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return util::join(words, " ");
}

MatrixReport run_matrix(const git::Repository& repo, const MatrixRequest& request, EvalServices& services) {
  MatrixReport out;
  EvalOptions options = request.options;
  out.columns = matrix_columns(repo, request, options.names);
  if (request.baseline >= out.columns.size()) {
    throw std::out_of_range("matrix baseline column " + std::to_string(request.baseline) + " of " +
                            std::to_string(out.columns.size()));
  }
  std::vector<EvalTarget> targets;
  for (const MatrixColumn& column : out.columns) {
    targets.push_back(column.variant.target);
  }
  EvalTarget judge = request.base;  // last: its dataset and assertions judge every column
  judge.suite_only = true;
  targets.push_back(judge);
  options.suite_at = SuiteAt::newest;
  out.eval = run_eval(repo, targets, options, services);
  out.prompts = matrix_prompts(repo, request, out.eval, out.columns.size());
  return out;
}

}  // namespace promptops::workflows
