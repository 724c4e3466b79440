// SPDX-License-Identifier: MIT
// optimize: reflective prompt evolution (GEPA-style) on the evaluation engine, and the write-back of
// the winner as a commit that changes only the optimized text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/eval/metrics.hpp>
#include <promptops/prompt/prompt.hpp>

namespace promptops::inline workflows {

struct OptimizeOptions {
  std::string name;              // the prompt
  std::size_t budget = 200;      // model calls of every kind, answered by the cache or not
  std::string reflection_model;  // "PROVIDER/NAME" or "NAME"; empty = the prompt's model
  std::string target_model;      // candidates run on this model; empty = the prompt's
  std::string reference_model;   // its outputs are the expected values of cases without one
  double train_fraction = 0.5;   // of the prompt's dataset, by group, the rest validates
  // Both set: these datasets (path for messages, bytes) train and validate instead of a split.
  std::optional<std::pair<std::string, std::string>> train_set;
  std::optional<std::pair<std::string, std::string>> val_set;
  std::size_t minibatch = 3;
  std::uint64_t seed = 0;
  int repeat = 1;
  ProviderOptions provider_options;
};

// One version of the optimized text: the current one (id 0) or a proposal.
struct Candidate {
  std::size_t id = 0;
  std::optional<std::size_t> parent;
  std::string text;
  std::vector<double> val_scores;  // per validation case (1/0, or the score for mean_score)
  double value = 0.0;              // the headline metric on the validation set
  std::optional<Interval> interval;
};

struct OptimizeResult {
  git::Oid base;
  Prompt prompt;                // the version at base
  std::string file_text;        // its file as committed at base: what the write-back edits
  std::size_t message = 0;      // index of the optimized message in prompt.messages
  std::string model;            // "provider/name" the candidates ran on
  std::string prompt_provider;  // the provider of the prompt's own model (its [model] or the defaults)
  std::string metric;
  std::string dataset;  // what judged them
  std::vector<std::size_t> train;
  std::vector<std::size_t> val;
  std::vector<std::string> val_ids;
  std::vector<Candidate> pool;  // the seed first, then every accepted proposal
  std::size_t best = 0;         // index into pool
  std::size_t iterations = 0;
  std::size_t proposed = 0;    // proposals the reflection model made
  std::size_t rejected = 0;    // refused before any evaluation call (variables, lint, duplicate)
  std::size_t not_better = 0;  // no better than their parent on the minibatch
  std::size_t budget = 0;
  std::size_t calls = 0;       // counted against the budget so far
  std::size_t real_calls = 0;  // of which the provider answered (the rest came from the cache)
  std::size_t reserved = 0;    // kept for the winner's evaluation on the whole dataset
  bool interrupted = false;

  bool improved() const { return best != 0; }
};

struct OptimizeCallbacks {
  std::function<void(const std::string&)> progress;  // one line per step, for stderr
  std::function<void(const nlohmann::json&)> log;    // one record per candidate (--log)
};

// The seeded generator of optimize's draws (splitmix64): the same seed, the same split, parents
// and minibatches on every machine.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  std::size_t below(std::size_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x = next();
    while (x >= limit) {
      x = next();
    }
    return static_cast<std::size_t>(x % n);
  }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      std::swap(items[i - 1], items[below(i)]);
    }
  }

 private:
  std::uint64_t m_state;
};

// The Pareto front of candidates by their per-case validation scores (scores[c][j]: candidate c on
// case j, every row as long): the candidates best (ties included) on at least one case that no such
// candidate dominates (no worse on every case and better on one), each with the number of cases it
// is best on, in pool order. {0, 1} when no case exists.
std::vector<std::pair<std::size_t, std::size_t>> pareto_front(const std::vector<std::vector<double>>& scores);

// Splits the cases 0..groups.size()-1 (groups[i]: case i's dataset group, empty for none) into
// training and validation: whole groups, in an order shuffled by `random`, go to training until it
// holds round(fraction x cases), the rest validate. Both sorted.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_by_group(
    const std::vector<std::string>& groups, double fraction, SplitMix64& random);

// The message that optimize rewrites: the template (or a text prompt's body), else the first system
// message, else the first user message.
std::size_t optimized_message(const Prompt& prompt);

// The text of the first fenced code block of `answer` (``` or ~~~, any info string), or the whole
// answer trimmed when it has none.
std::string extract_proposal(const std::string& answer);

// Why `text` cannot replace message `index` of `prompt`: a template error, a variable that is
// neither declared nor used by the current version, or a required variable (declared required
// without a default, or used undeclared) that the current version uses and the proposal drops.
// Empty when it can.
std::string check_proposal(const Prompt& prompt, std::size_t index, const std::string& text);

// What the search must be able to pay for, in model calls counted against the budget.
struct BudgetPlan {
  std::size_t reference = 0;   // the reference model answers the cases without an expected value
  std::size_t validation = 0;  // one candidate on every validation case
  std::size_t iteration = 0;   // the dearest iteration: a reflection, parent and proposal on the
                               // dearest minibatch, and the proposal's validation
  std::size_t reserved = 0;    // the winner's evaluation on the prompt's own dataset
  std::size_t val_cases = 0;

  // The seed's validation, one iteration and the winner's evaluation (and the reference's labels).
  std::size_t minimum() const { return reference + validation + iteration + reserved; }
};

// The plan for cases that cost case_calls[i] calls each (samples included): `train` and `val`
// index them, `unlabeled` are the cases the reference model labels, `own_dataset_calls` is what an
// evaluation of the prompt's own dataset costs, of which the validation cases' answers are already
// cached when `validation_in_own_dataset`.
BudgetPlan plan_budget(const std::vector<std::size_t>& case_calls, const std::vector<std::size_t>& train,
                       const std::vector<std::size_t>& val, const std::vector<std::size_t>& unlabeled,
                       std::size_t minibatch, std::size_t own_dataset_calls, bool validation_in_own_dataset);

// "4 calls score the current version on 4 validation cases, one iteration takes up to 17 and the
// winner's evaluation on the whole dataset 0" (the reference's calls first when there are any).
std::string budget_breakdown(const BudgetPlan& plan);

// The budget cannot pay for plan.minimum(). The CLI names its flag in the message it shows.
class BudgetTooSmallError : public UsageError {
 public:
  BudgetTooSmallError(std::size_t budget, const BudgetPlan& plan);
  std::size_t budget;
  BudgetPlan plan;
};

// A split by fraction left one side without a case.
class EmptySplitError : public UsageError {
 public:
  EmptySplitError(double fraction, std::size_t cases, std::string dataset, bool no_training);
  double fraction;
  std::size_t cases;
  std::string dataset;  // the judging dataset, for messages
  bool no_training;     // else no validation case
};

// The file the write-back would commit has local changes in the working tree.
class LocalChangesError : public Error {
 public:
  explicit LocalChangesError(const std::string& path);
  std::string path;
};

// The parent of the next proposal: a candidate of the Pareto front of `pool` by validation scores,
// drawn with a chance proportional to the cases it is best on.
std::size_t draw_parent(const std::vector<Candidate>& pool, SplitMix64& random);

// Passes over the training cases, each in a newly shuffled order: minibatches are their next cases.
class TrainingPasses {
 public:
  explicit TrainingPasses(std::vector<std::size_t> train) : m_order(std::move(train)), m_next(m_order.size()) {}
  // The next `size` distinct cases (size <= the training cases); a pass that runs out is reshuffled.
  std::vector<std::size_t> next_minibatch(std::size_t size, SplitMix64& random);

 private:
  std::vector<std::size_t> m_order;
  std::size_t m_next;
};

// Why a proposal does not get evaluated: the same text as an earlier candidate (`texts`), what
// check_proposal() says, or the rewritten file (result.file_text) not parsing. Empty when it does.
std::string proposal_problem(const OptimizeResult& result, const std::set<std::string>& texts,
                             const std::string& text);

// The ids of the winner's ancestry, seed first: "0 -> 2 -> 5".
std::string lineage(const OptimizeResult& result);

// "accuracy 0.750 [0.409, 0.935]": the metric, its value and interval, three decimals.
std::string metric_with_interval(const std::string& metric, double value, const std::optional<Interval>& interval);

// Runs the search on the prompt as committed at `base`. Throws BudgetTooSmallError when the budget
// cannot pay for the seed's validation, one iteration and the final evaluation, EmptySplitError
// when a split by fraction leaves a side empty, UsageError for options out of range (which the CLI
// checks first), ConfigError/NotFoundError/ProviderError as the engine does.
OptimizeResult optimize(const git::Repository& repo, const git::Oid& base, const OptimizeOptions& options,
                        EvalServices& services, const OptimizeCallbacks& callbacks);

// Refuses, before any model call, to optimize onto a file with local changes (LocalChangesError):
// the prompt `name`'s file at `head`, when such a prompt exists there.
void refuse_local_changes(const git::Repository& repo, const git::Oid& head, const std::string& name);

// Where and how the winner is written back.
struct WriteBack {
  bool on_head = false;  // on the current branch, working tree and index updated
  std::int64_t now = 0;  // seconds since the epoch, for the branch name
};

struct WrittenBack {
  git::Oid commit;
  std::string branch;           // the branch it is on, without refs/heads/
  bool new_branch = false;      // `branch` was made for it (else it is the current branch)
  std::string message;          // the commit message
  std::size_t final_calls = 0;  // model answers the winner's evaluation on the whole dataset needed
};

// The commit message for `result` (a summary line, the change and its evidence, trailers).
std::string optimize_commit_message(const OptimizeResult& result);

// "promptops/optimize/<name>-<UTC yyyymmdd-hhmmss>" (write_back adds "-2", "-3"... when it exists)
std::string optimize_branch_name(const std::string& prompt, std::int64_t now);

// The prompt file with the winner's text (and, with a target model, that model): what is committed.
std::string rewritten_file(const OptimizeResult& result, const OptimizeOptions& options);

// Commits the winner, then evaluates it on the prompt's own dataset at the new commit and records
// the evaluation in the commit's notes (run_eval + record_eval_notes). Throws GitError (the branch
// exists, HEAD moved) or LocalChangesError without having changed anything the user had.
WrittenBack write_back(git::Repository& repo, const OptimizeResult& result, const OptimizeOptions& options,
                       const WriteBack& how, EvalServices& services);

}  // namespace promptops::workflows
