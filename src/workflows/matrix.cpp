// SPDX-License-Identifier: MIT
// The experiment matrix: resolve the columns, evaluate them in one run on the base's suite, pair
// each prompt's columns with its baseline. Prints nothing.
#include <promptops/workflows/matrix.hpp>

#include <algorithm>
#include <memory>
#include <set>

#include <promptops/config/diagnostic.hpp>
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

std::unique_ptr<Snapshot> base_snapshot(const git::Repository& repo, const MatrixRequest& request) {
  return request.base.commit ? commit_snapshot(repo, *request.base.commit) : worktree_snapshot(repo);
}

// A declared entry's variant: NAME@REV, NAME (a prompt at the base), or a revision (as --variant).
CompareSide declared_variant(const git::Repository& repo, const MatrixRequest& request, const MatrixEntry& entry,
                             const std::vector<PromptFile>& base_prompts) {
  if (entry.variant.empty()) {
    return CompareSide{request.base_label, {}, request.base, request.base_label};
  }
  const bool at_base = entry.variant.find('@') == std::string::npos &&
                       std::any_of(base_prompts.begin(), base_prompts.end(),
                                   [&entry](const PromptFile& file) { return file.name == entry.variant; });
  if (at_base) {
    return CompareSide{entry.variant, entry.variant, request.base, entry.variant + " at " + request.base_label};
  }
  if (entry.variant.find('@') != std::string::npos) {
    try {
      return resolve_side(repo, entry.variant);  // NAME@REV
    } catch (const NotFoundError& e) {
      throw NotFoundError(entry.where.format() + ": " + e.what(), e.hint(), e.remedy());
    }
  }
  // A word that is no prompt at the base is a revision, never a prompt of the working tree.
  const std::optional<git::Oid> id = repo.resolve(entry.variant);
  if (!id) {
    throw NotFoundError(entry.where.format() + ": no prompt at " + request.base_label + " or revision named '" +
                            entry.variant + "'",
                        "a variant is a prompt's NAME at the evaluated revision, NAME@REV or a revision");
  }
  return CompareSide{entry.variant, {}, EvalTarget::at_commit(*id, repo.read_commit(*id).subject()),
                     entry.variant + " (" + id->short_hex() + ")"};
}

// "greet@HEAD~1 (1a2b3c4) · fast-model · temperature=0.7": what the column varies.
std::string column_label(const std::string& variant, const std::string& model, const nlohmann::json& params) {
  return variant + (model.empty() ? "" : " · " + model) + (params.empty() ? "" : " · " + params_text(params));
}

// One [[eval.matrix]] entry as a column: of every prompt (.promptops.toml's, `prompt` unset) or of
// one prompt. Throws ConfigError for an entry of .promptops.toml whose variant names a prompt.
MatrixColumn declared_column(const git::Repository& repo, const MatrixRequest& request, const MatrixEntry& entry,
                             const std::optional<std::string>& prompt, const std::vector<PromptFile>& base_prompts) {
  CompareSide variant = declared_variant(repo, request, entry, base_prompts);
  if (variant.prompt && !prompt) {
    throw ConfigError(entry.where.format() + ": variant '" + entry.variant + "' is a prompt, and an entry of " +
                          entry.where.file + " varies every prompt",
                      "give a revision here, or put the entry in the prompt's own [[eval.matrix]]");
  }
  if (!entry.label.empty()) {
    variant.label = entry.label;
  } else if (!entry.messages.empty()) {
    variant.label += " · messages of " + entry.where.format();
  }
  MatrixColumn column{variant, entry.model, entry.params, column_label(variant.label, entry.model, entry.params)};
  column.variant.target.model = entry.model;
  column.variant.target.params = entry.params;
  if (prompt) {
    EvalTarget::OnePrompt only{*prompt, variant.prompt.value_or(*prompt), {}};
    only.read_from = only.read_from == *prompt ? "" : only.read_from;
    for (const auto& [role, content] : entry.messages) {
      only.messages.push_back(Message{role, content, entry.where});
    }
    column.variant.target.only = std::move(only);
  }
  return column;
}

// The [[eval.matrix]] columns at the base: .promptops.toml's (every prompt), then each named
// prompt's own, in name order. Throws MatrixVariantsError when there is none.
std::vector<MatrixColumn> declared_columns(const git::Repository& repo, const MatrixRequest& request,
                                           const std::vector<std::string>& names) {
  const std::unique_ptr<Snapshot> base = base_snapshot(repo, request);
  ParsedConfig parsed = load_config(*base);
  throw_first_error(parsed.diagnostics);
  const std::vector<PromptFile> prompts = find_prompts(*base, parsed.config);
  std::vector<MatrixColumn> columns;
  for (const MatrixEntry& entry : parsed.config.matrix) {
    columns.push_back(declared_column(repo, request, entry, std::nullopt, prompts));
  }
  for (const PromptFile& file : prompts) {
    if (names.empty() || std::find(names.begin(), names.end(), file.name) != names.end()) {
      for (const MatrixEntry& entry : load_prompt(*base, file).eval.matrix) {
        columns.push_back(declared_column(repo, request, entry, file.name, prompts));
      }
    }
  }
  if (columns.empty()) {
    throw MatrixVariantsError(MatrixVariantsError::Kind::none_declared, {}, names);
  }
  return columns;
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
  const std::unique_ptr<Snapshot> base = base_snapshot(repo, request);
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

namespace {

std::string variants_problem(MatrixVariantsError::Kind kind) {
  switch (kind) {
    case MatrixVariantsError::Kind::two_prompts:
      return "variants name two prompts";
    case MatrixVariantsError::Kind::names_excluded:
      return "a variant's prompt is not among the names";
    case MatrixVariantsError::Kind::none_declared:
      break;
  }
  return "no [[eval.matrix]] entry is declared";
}

}  // namespace

MatrixBaselineError::MatrixBaselineError(std::size_t columns_)
    : UsageError("the baseline is past the last of " + std::to_string(columns_) + " columns", ""), columns(columns_) {}

MatrixVariantsError::MatrixVariantsError(Kind kind_, std::vector<std::string> prompts_, std::vector<std::string> names_)
    : UsageError(variants_problem(kind_), ""),
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
        MatrixColumn column{variant, model, params, column_label(variant.label, model, params)};
        column.variant.target.model = model;
        column.variant.target.params = params;
        columns.push_back(std::move(column));
      }
    }
  }
  if (request.declared) {
    for (MatrixColumn& column : declared_columns(repo, request, names)) {
      columns.push_back(std::move(column));
    }
  }
  return columns;
}

bool column_varies(const MatrixColumn& column, const std::string& prompt) {
  return !column.variant.target.only || column.variant.target.only->prompt == prompt;
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
  if (out.columns.size() > k_max_matrix_columns) {
    throw ConfigError("the matrix would have " + std::to_string(out.columns.size()) + " columns, more than " +
                          std::to_string(k_max_matrix_columns),
                      "declare fewer [[eval.matrix]] entries, or vary fewer things per run");
  }
  if (request.baseline >= out.columns.size()) {
    throw MatrixBaselineError(out.columns.size());
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
