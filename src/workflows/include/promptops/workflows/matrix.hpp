// SPDX-License-Identifier: MIT
// The experiment matrix: prompt variants (the base revision and other references) crossed with
// models, evaluated over the same cases by one run of the engine (the base's dataset and
// assertions judge every column), each column paired with a baseline column.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/util/error.hpp>
#include <promptops/workflows/compare.hpp>

namespace promptops::inline workflows {

// The most columns one matrix may have: each costs a run of every case.
inline constexpr std::size_t k_max_matrix_columns = 1000;

// One column: a variant of the prompts on a model.
struct MatrixColumn {
  CompareSide variant;  // where the prompts are read (target.only: one prompt); the first is the base
  std::string model;    // as given (PROVIDER/NAME or NAME); empty = each prompt's own model
  nlohmann::json params = nlohmann::json::object();  // set over the model's parameters
  std::string label;    // "greet@HEAD~1 (1a2b3c4) · fast-model · temperature=0.7"
};

// What a column holds for one prompt.
struct MatrixCell {
  enum class State { evaluated, absent, missing, unfinished };  // absent: no such prompt there
  State state = State::absent;
  std::optional<EvalResult> result;
  std::string key;  // the evaluation's key ("" when absent)
  // Against the prompt's baseline column, when both are evaluated and this is not the baseline:
  std::optional<double> delta;    // headline value minus the baseline's
  std::optional<double> p_value;  // exact McNemar for pass metrics, else the sign-flip test
  std::string test;               // "McNemar" or "sign-flip"
};

struct MatrixPrompt {
  std::string prompt;
  std::vector<MatrixCell> cells;      // one per column
  std::optional<std::size_t> baseline;  // the column the others are paired with, when evaluated
  std::optional<std::size_t> best;      // the highest headline value, when two or more are evaluated
};

struct MatrixRequest {
  EvalTarget base;                    // the revision (or working tree) every column is judged by
  std::string base_label;             // "HEAD (1a2b3c4)", "working tree"
  std::vector<std::string> variants;  // NAME@REV, NAME, or a revision (as compare's sides)
  std::vector<std::string> models;    // empty = each prompt's own model
  // Model parameters and their values (--set temperature=0,0.7): the columns cross them all.
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> params;
  // Also the [[eval.matrix]] entries at the base, after the crossed columns: .promptops.toml's
  // vary every prompt, a prompt's own vary it alone (its other prompts, revisions or messages).
  bool declared = false;
  std::size_t baseline = 0;           // column index the others are paired with
  EvalOptions options;                // names, cases, vars, repeat, limits; suite_at is set here
};

struct MatrixReport {
  std::vector<MatrixColumn> columns;  // variants (base first) x models x params, variant by variant
  std::vector<MatrixPrompt> prompts;  // in the order the run met them
  EvalReport eval;                    // one row per (column, prompt); targets[i] is column i
};

// Why the variants cannot make one matrix; the CLI words it with its own syntax.
class MatrixVariantsError : public UsageError {
 public:
  enum class Kind {
    two_prompts,     // two variants name different prompts: `prompts` holds both
    names_excluded,  // a variant names prompts[0], and the names given are `names`
    none_declared,   // declared columns were asked for, and neither the config nor the prompts (`names`) have one
  };
  MatrixVariantsError(Kind kind, std::vector<std::string> prompts, std::vector<std::string> names);
  Kind kind;
  std::vector<std::string> prompts;
  std::vector<std::string> names;
};

// Whether `column` evaluates `prompt`: a column of one prompt's [[eval.matrix]] evaluates it alone.
bool column_varies(const MatrixColumn& column, const std::string& prompt);

// The baseline names a column past the last of `columns`; the CLI words it with its own syntax.
class MatrixBaselineError : public UsageError {
 public:
  explicit MatrixBaselineError(std::size_t columns);
  std::size_t columns;
};

// The columns of `request`, resolved. A variant naming a prompt narrows `names` to that prompt;
// variants naming different prompts, or a prompt that `names` leave out, are a
// MatrixVariantsError; a variant that is no prompt or revision is a NotFoundError (as compare's sides).
// Declared columns: ConfigError for a bad entry, MatrixVariantsError (none_declared) when there is none.
std::vector<MatrixColumn> matrix_columns(const git::Repository& repo, const MatrixRequest& request,
                                         std::vector<std::string>& names);

// Resolves the columns, evaluates every column through one run_eval (content keys: a column that
// repeats another's content costs nothing), and pairs each prompt's columns with its baseline.
// Throws as matrix_columns and run_eval do; ConfigError past k_max_matrix_columns (declared entries
// included); MatrixBaselineError for a baseline past the last
// column (the caller can check it first when nothing is declared: matrix_column_count()).
// (1 + variants) x max(1, models) x the product of each parameter's number of values.
std::size_t matrix_column_count(const MatrixRequest& request);
// "temperature=0.7 top_p=1": the parameters as the labels show them.
std::string params_text(const nlohmann::json& params);
MatrixReport run_matrix(const git::Repository& repo, const MatrixRequest& request, EvalServices& services);

}  // namespace promptops::workflows
