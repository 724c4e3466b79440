// SPDX-License-Identifier: MIT
// compare: two references evaluated on the same cases (B's dataset and assertions judge both),
// paired case by case, with the paired statistics and the cases whose outcome differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <promptops/eval/case_records.hpp>
#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/eval/statistics.hpp>

namespace promptops::inline workflows {

inline constexpr std::size_t k_compare_resamples = 10000;  // bootstrap and sign-flip draws
inline constexpr std::uint64_t k_compare_seed = 1;
inline constexpr double k_compare_confidence = 0.95;

// One side as the user named it and where it is evaluated.
struct CompareSide {
  std::string text;                   // as written
  std::optional<std::string> prompt;  // NAME and NAME@REV name one prompt; a revision names none
  EvalTarget target;
  std::string label;  // "greet@v1 (1a2b3c4)", "greet (working tree)", "main (1a2b3c4)"
};

// NAME@REV, NAME (a prompt of the working tree; HEAD in a bare repository) or a revision. A word
// that is both a prompt and a revision is the prompt (NAME@REV or refs/heads/NAME say otherwise).
// Throws NotFoundError with "did you mean" when it is none of them.
CompareSide resolve_side(const git::Repository& repo, const std::string& text);

// Why two resolved sides cannot be compared; the CLI words it with its own syntax.
class CompareSidesError : public UsageError {
 public:
  enum class Kind {
    one_prompt,         // one side names a prompt, the other a revision
    different_prompts,  // both name a prompt, not the same one
    names_with_prompt,  // prompt names were given beside sides that name a prompt
    same,               // the same point, and B runs on no other model
  };
  CompareSidesError(Kind kind, CompareSide a, CompareSide b);
  Kind kind;
  CompareSide a;
  CompareSide b;
};

// Throws CompareSidesError when `a` and `b` (with prompt names `named`, B on `model` when set)
// are not a comparison.
void check_sides(const CompareSide& a, const CompareSide& b, const std::vector<std::string>& named,
                 const std::string& model);

// Which prompts two revisions compare: those named, else every prompt at both with [eval] at B.
struct PromptSelection {
  std::vector<std::string> names;
  std::vector<std::string> only_in_a;
  std::vector<std::string> only_in_b;
  std::vector<std::string> skipped;  // at both, without [eval] at B
};

// A case whose outcome differs: 'p', 'f', 'x' or 'e' on each side.
struct Difference {
  std::string id;
  char a = 'e';
  char b = 'e';
};

// One prompt at A and at B.
struct Comparison {
  enum class Side { evaluated, missing, unfinished };  // missing: offline; unfinished: interrupted
  std::string prompt;
  std::optional<EvalResult> a;
  std::optional<EvalResult> b;
  Side a_state = Side::evaluated;
  Side b_state = Side::evaluated;
  std::optional<Flips> flips;
  std::optional<McNemar> mcnemar;  // pass/fail metrics only
  BootstrapResult bootstrap;       // of the mean case scores: their interval
  SignFlipResult sign_flip;        // of the mean case scores: their p-value
  bool too_few_cases = false;      // the headline dropped, but no outcome of the changed cases is significant
  bool grouped = false;
  std::size_t paired = 0;
  std::vector<Difference> differences;  // in B's case order
  std::map<std::string, CaseRecord> records_a;
  std::map<std::string, CaseRecord> records_b;

  bool complete() const { return a.has_value() && b.has_value(); }
};

// The cases of `a` and `b` paired by id whose outcome differs, in b's case order.
std::vector<Difference> differing_cases(const EvalResult& a, const EvalResult& b);

// Pairs two complete evaluations of `prompt` (`groups_b`: case_groups() of b) and computes the
// flips, McNemar (for pass_rate and accuracy), the bootstrap interval and sign-flip p-value of
// the mean case scores, the verdict "too few cases" and the differing cases with their records.
Comparison analyse(const std::string& prompt, EvalResult a, EvalResult b, const std::vector<std::string>& groups_b);

struct CompareRequest {
  std::string a;                   // as written
  std::string b;
  std::vector<std::string> names;  // with two revisions: the prompts to compare (empty = all)
  std::string model;               // B runs on it instead of its own; empty = its own
  bool offline = false;            // results from the cache and notes only
  ProviderOptions provider_options;
  NotesPolicy notes = NotesPolicy::trust;
  // Called once the sides and prompts are known, before any evaluation (may be empty).
  std::function<void(const CompareSide& a, const CompareSide& b, const PromptSelection&)> selected;
};

struct CompareReport {
  CompareSide a;
  CompareSide b;
  PromptSelection selection;
  std::vector<Comparison> comparisons;  // per selected prompt, in selection order
  std::vector<std::string> missing;     // offline: "greet at A (greet@v1 (1a2b3c4))"
  std::size_t real_calls = 0;
  std::size_t cache_hits = 0;
  std::size_t errors = 0;  // case samples without an answer
  bool interrupted = false;
  EvalReport eval;  // the run behind the comparisons: rows at A, then at B
};

// Resolves both sides, checks them, selects the prompts, evaluates them at A and B (B's suite
// judges both; the notes of evaluated commits are recorded unless offline) and pairs each
// prompt's two results. Nothing is evaluated when no prompt is selected. Throws as resolve_side,
// check_sides and run_eval do.
CompareReport run_compare(git::Repository& repo, const CompareRequest& request, EvalServices& services);

}  // namespace promptops::workflows
