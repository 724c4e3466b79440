// SPDX-License-Identifier: MIT
// `git promptops optimize NAME`: reflective prompt evolution on the prompt as committed at HEAD; the
// winner becomes a commit on a new branch (or, with --commit, on the current one) with its
// evaluation in the commit's notes.
#include <chrono>
#include <cstdio>
#include <memory>

#include <promptops/util/error.hpp>
#include <promptops/workflows/optimize.hpp>

#include "common.hpp"
#include "evaluation.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/handle.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;

struct OptimizeCommandOptions {
  std::string name;
  std::size_t budget = 200;
  std::string reflection_model;
  std::string target_model;
  std::string reference_model;
  std::optional<double> train;
  std::string train_set;
  std::string val_set;
  std::size_t minibatch = 3;
  std::uint64_t seed = 0;
  bool commit = false;
  std::string log;
};

std::pair<std::string, std::string> read_dataset_option(const char* flag, const std::string& path) {
  const std::optional<std::string> text = util::read_file(path);
  if (!text) {
    throw UsageError(std::string("cannot read ") + flag + " " + path,
                     "give the path of a .jsonl, .json or .csv dataset");
  }
  return {path, *text};
}

// The options' ranges, checked where the flags are known (the workflow checks them too, flag-free).
void check_search_flags(const OptimizeCommandOptions& options) {
  if (options.minibatch == 0) {
    throw UsageError("--minibatch must be at least 1");
  }
  if (options.train && !(*options.train > 0.0 && *options.train < 1.0)) {
    throw UsageError("--train must be a fraction between 0 and 1, such as 0.5");
  }
  if (!options.reference_model.empty() && options.target_model.empty()) {
    throw UsageError(
        "--reference-model needs --target-model: the reference's outputs label the cases for the target");
  }
}

OptimizeOptions workflow_options(git::Repository& repo, const std::string& name,
                                 const OptimizeCommandOptions& options) {
  OptimizeOptions run;
  run.name = name;
  run.budget = options.budget;
  run.reflection_model = options.reflection_model;
  run.target_model = options.target_model;
  run.reference_model = options.reference_model;
  run.train_fraction = options.train.value_or(0.5);
  if (!options.train_set.empty()) {
    run.train_set = read_dataset_option("--train-set", options.train_set);
    run.val_set = read_dataset_option("--val-set", options.val_set);
  }
  run.minibatch = options.minibatch;
  run.seed = options.seed;
  run.provider_options = provider_options_for(repo);
  return run;
}

// Runs `step`, naming this command's flags in the workflow's errors about what they set.
template <typename Step>
auto naming_flags(Step&& step) {
  try {
    return step();
  } catch (const BudgetTooSmallError& e) {
    throw UsageError("--budget " + std::to_string(e.budget) + " is too small: " + budget_breakdown(e.plan),
                     "use --budget " + std::to_string(e.plan.minimum()) + " or more (a few times that finds more)");
  } catch (const EmptySplitError& e) {
    throw UsageError("--train " + util::shortest(e.fraction) + " of " + std::to_string(e.cases) + " cases in " +
                         e.dataset + " leaves no " + (e.no_training ? "training" : "validation") + " case",
                     "add cases, or give --train-set FILE --val-set FILE");
  } catch (const LocalChangesError& e) {
    throw Error(e.path + " has local changes, which --commit would overwrite",
                "commit or stash them first, or leave out --commit to get a new branch");
  }
}

// The --log sink: one JSON line per candidate, flushed as it comes.
using LogFile = util::Handle<std::FILE, std::fclose>;

LogFile open_log(const std::string& path) {
  if (path.empty()) {
    return LogFile();
  }
  std::FILE* log = std::fopen(path.c_str(), "w");
  if (log == nullptr) {
    throw UsageError("cannot write --log " + path, "give a path in a directory that exists");
  }
  return LogFile(log);
}

OptimizeCallbacks callbacks_for(std::FILE* log) {
  OptimizeCallbacks callbacks;
  callbacks.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  if (log != nullptr) {
    callbacks.log = [log](const json& record) {
      const std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      std::fwrite(line.data(), 1, line.size(), log);
      std::fflush(log);
    };
  }
  return callbacks;
}

// The report up to its calls line: the headline, before, after and the search.
std::string search_text(const OptimizeResult& result) {
  const Candidate& before = result.pool.front();
  const Candidate& after = result.pool[result.best];
  std::string text = result.prompt.name + ": " + result.metric + " " + fixed(before.value, 3) + " -> " +
                     fixed(after.value, 3) + " on " + std::to_string(result.val.size()) + " validation cases";
  text += result.improved() ? " (" + signed_fixed(after.value - before.value, 3) + ")\n" : "\n";
  text += "  before  " + metric_with_interval(result.metric, before.value, before.interval) +
          "  the version at " + result.base.short_hex() + "\n";
  if (result.improved()) {
    text += "  after   " + metric_with_interval(result.metric, after.value, after.interval) + "  candidate " +
            lineage(result) + "\n";
  }
  text += "  search  " + std::to_string(result.iterations) + " iterations, " +
          std::to_string(result.proposed) + " proposed: " + std::to_string(result.rejected) + " rejected, " +
          std::to_string(result.not_better) + " not better, " + std::to_string(result.pool.size() - 1) +
          " kept\n";
  return text;
}

std::string written_text(const OptimizeResult& result, const WrittenBack& written) {
  std::string text = "  calls   " + std::to_string(result.calls + written.final_calls) + " of " +
                     std::to_string(result.budget) + " (" +
                     std::to_string(result.real_calls + written.final_calls) + " sent); " +
                     std::to_string(written.final_calls) + " of them evaluated the winner on the whole dataset\n";
  if (!written.new_branch) {
    return text + "committed " + written.commit.short_hex() + " on " + written.branch + "\n";
  }
  text += "committed " + written.commit.short_hex() + " on new branch " + written.branch + "\n";
  text += "  review: git promptops diff HEAD " + written.branch + "\n";
  text += "  take:   git merge " + written.branch + "\n";
  return text;
}

void run_optimize(Context& context, const OptimizeCommandOptions& options) {
  const std::string name = prompt_name_argument(options.name, "optimize starts from the version at HEAD");
  if (options.train_set.empty() != options.val_set.empty()) {
    throw UsageError("--train-set and --val-set go together", "give both files, or --train FRACTION");
  }
  if (!options.train_set.empty() && options.train) {
    throw UsageError("--train FRACTION and --train-set FILE exclude each other", "give one of them");
  }
  git::Repository& repo = context.repo();
  if (options.commit && repo.is_bare()) {
    throw UsageError("--commit needs a working tree, and this repository is bare",
                     "leave out --commit: the result goes on a new branch");
  }
  const git::Oid head = context.head();
  const OptimizeOptions run = workflow_options(repo, name, options);
  if (options.commit) {  // before any model call
    naming_flags([&] { refuse_local_changes(repo, head, name); });
  }
  const LogFile log = open_log(options.log);
  check_search_flags(options);

  EvalSession session(repo, true, false);
  const OptimizeResult result =
      naming_flags([&] { return optimize(repo, head, run, session.services(), callbacks_for(log.get())); });
  if (result.interrupted) {
    throw InterruptedError(
        "interrupted after " + std::to_string(result.calls) + " model calls: no commit was made",
        "every answer received is cached; run the same command to resume where it stopped");
  }
  std::string text = search_text(result);
  if (!result.improved()) {
    text += "  calls   " + std::to_string(result.calls) + " of " + std::to_string(result.budget) + " (" +
            std::to_string(result.real_calls) + " sent)\n";
    text += "no candidate beat the current version; nothing was committed\n";
    context.out(text);
    context.exit_status = ExitCode::negative;
    return;
  }
  WriteBack how;
  how.on_head = options.commit;
  how.now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const WrittenBack written = naming_flags([&] { return write_back(repo, result, run, how, session.services()); });
  context.out(text + written_text(result, written));
}

}  // namespace

void add_optimize(CLI::App& app, Context& context) {
  auto options = std::make_shared<OptimizeCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "optimize", "improve a prompt by reflective evolution and commit the winner for review");
  command->add_option("name", options->name, "the prompt, e.g. support/classify")->required();
  command
      ->add_option("--budget", options->budget,
                   "model calls to spend at most, cached ones included (default 200)")
      ->check(CLI::Range(1, 1000000));
  command->add_option("--reflection-model", options->reflection_model,
                      "PROVIDER/NAME or NAME that proposes new text (default: the prompt's model)");
  command->add_option("--target-model", options->target_model,
                      "PROVIDER/NAME or NAME to optimize for; the commit also sets it as the prompt's model");
  command->add_option("--reference-model", options->reference_model,
                      "with --target-model: its answers are the expected values of cases that have none");
  auto* train = command->add_option("--train", options->train,
                                    "the fraction of the dataset's cases (by group) that trains; the rest "
                                    "validates (default 0.5)");
  auto* train_set =
      command->add_option("--train-set", options->train_set, "a dataset file of training cases");
  command->add_option("--val-set", options->val_set, "a dataset file of validation cases");
  train->excludes(train_set);
  command->add_option("--minibatch", options->minibatch, "training cases per reflection (default 3)")
      ->check(CLI::Range(1, k_max_repeat));
  command->add_option("--seed", options->seed,
                      "seeds the split, the parents and the minibatches (default 0)");
  command->add_flag(
      "--commit", options->commit,
      "commit on the current branch and update the file (refused when it has local changes; no git hooks "
      "run, as with git commit --no-verify)");
  command->add_option("--log", options->log,
                      "write every candidate with its scores and lineage to FILE as JSONL");
  command->callback([&context, options] { run_optimize(context, *options); });
}

}  // namespace promptops::cli
