// SPDX-License-Identifier: MIT
// optimize's write-back: the winner's file, its commit (on a new branch or the current one) with a
// message that gives the evidence, and its evaluation on the prompt's own dataset in the notes.
#include <promptops/workflows/optimize.hpp>

#include <algorithm>
#include <ctime>

#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt_edit.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline workflows {

std::string optimize_branch_name(const std::string& prompt, std::int64_t now) {
  const auto seconds = static_cast<std::time_t>(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  return "promptops/optimize/" + prompt + "-" + stamp;
}

std::string optimize_commit_message(const OptimizeResult& result) {
  const Candidate& before = result.pool.front();
  const Candidate& after = result.pool[result.best];
  const Message& message = result.prompt.messages[result.message];
  const std::string what = result.prompt.has_template_key ? "template" : message.role + " message";
  std::string text = "optimize " + result.prompt.name + ": " + result.metric + " " +
                     util::fixed(before.value, 3) + " -> " + util::fixed(after.value, 3) +
                     " on validation\n\n";
  text += "Reflective optimization rewrote the " + what + " of " + result.prompt.path + " for " +
          result.model + ".\nJudged on " + std::to_string(result.val.size()) + " validation cases of " +
          result.dataset + " (" + std::to_string(result.train.size()) + " other cases trained):\n\n";
  text += "  before: " + metric_with_interval(result.metric, before.value, before.interval) +
          " (the version at " + result.base.short_hex() + ")\n";
  text += "  after:  " + metric_with_interval(result.metric, after.value, after.interval) + " (candidate " +
          lineage(result) + ")\n\n";
  text += "The search used " + std::to_string(result.calls) + " of " + std::to_string(result.budget) +
          " model calls (" + std::to_string(result.reserved) +
          " more kept for the evaluation on the whole dataset, in this commit's notes) in " +
          std::to_string(result.iterations) + " iterations: " + std::to_string(result.proposed) +
          " candidates proposed, " + std::to_string(result.rejected) + " rejected before evaluation, " +
          std::to_string(result.not_better) + " no better on their minibatch, " +
          std::to_string(result.pool.size() - 1) + " kept.\n\n";
  text += "Promptops-Optimized-From: " + result.base.hex() + "\n";
  text += "Promptops-Metric: " + result.metric + " " + util::fixed(before.value, 3) + " -> " +
          util::fixed(after.value, 3) + "\n";
  return text;
}

std::string rewritten_file(const OptimizeResult& result, const OptimizeOptions& options) {
  const Prompt& prompt = result.prompt;
  std::string text = replace_message_content(result.file_text, prompt, result.message, result.pool[result.best].text);
  if (options.target_model.empty()) {
    return text;
  }
  ParsedPrompt reparsed = parse_prompt(text, prompt.path, prompt.name);
  if (!reparsed.prompt) {
    throw Error("internal: the rewritten " + prompt.path + " does not parse");
  }
  const std::size_t slash = result.model.find('/');
  const std::string provider = result.model.substr(0, slash);
  const std::string name = result.model.substr(slash + 1);
  // The provider is written only when it differs from the one the prompt already gets (from its
  // own [model] or the config's defaults).
  return replace_model(text, *reparsed.prompt, provider == result.prompt_provider ? "" : provider, name);
}

namespace {

// The winner's commit, on the current branch or on a new one named by the time.
WrittenBack commit_winner(git::Repository& repo, const OptimizeResult& result, const std::string& text,
                          const WriteBack& how) {
  const Prompt& prompt = result.prompt;
  WrittenBack out;
  out.message = optimize_commit_message(result);
  if (how.on_head && repo.has_local_changes(prompt.path)) {
    throw LocalChangesError(prompt.path);
  }
  out.commit = repo.create_file_commit(result.base, prompt.path, text, out.message);
  if (how.on_head) {
    repo.advance_head(out.commit, result.base, prompt.path);
    out.branch = repo.head_ref();
    if (out.branch.rfind("refs/heads/", 0) == 0) {
      out.branch = out.branch.substr(11);
    }
    return out;
  }
  // A second run within the same second gets "-2", and so on, rather than an error.
  const std::string stamped = optimize_branch_name(prompt.name, how.now);
  out.branch = stamped;
  for (int n = 2; repo.resolve("refs/heads/" + out.branch); ++n) {
    out.branch = stamped + "-" + std::to_string(n);
  }
  repo.create_branch(out.branch, out.commit);
  out.new_branch = true;
  return out;
}

// The winner's evaluation on the prompt's own dataset at its commit, recorded in the notes.
void evaluate_winner(git::Repository& repo, const OptimizeResult& result, const OptimizeOptions& options,
                     WrittenBack& out, EvalServices& services) {
  const Prompt& prompt = result.prompt;
  EvalOptions eval;
  eval.names = {prompt.name};
  eval.repeat = options.repeat;
  eval.provider_options = options.provider_options;
  const std::string eval_hint = "run: git promptops eval " + out.commit.short_hex() + " -- " + prompt.name;
  EvalReport report;
  try {
    report =
        run_eval(repo, {EvalTarget::at_commit(out.commit, out.message.substr(0, out.message.find('\n')))},
                 eval, services);
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& e) {
    // The commit stands; say so, so that a rerun does not optimize on top of it.
    const std::string message = std::string(e.what()) + " (the commit " + out.commit.short_hex() +
                                " is made; its evaluation on the whole dataset and notes are not)";
    if (e.exit_code() == ExitCode::git_fatal) {
      throw GitError(message, eval_hint);
    }
    throw Error(message, eval_hint);
  }
  out.final_calls = report.real_calls;
  if (report.interrupted) {
    throw InterruptedError("interrupted during the evaluation of " + out.commit.short_hex() +
                               " on the whole dataset: the commit is made, its notes are not",
                           eval_hint);
  }
  record_eval_notes(repo, report);
}

}  // namespace

WrittenBack write_back(git::Repository& repo, const OptimizeResult& result, const OptimizeOptions& options,
                       const WriteBack& how, EvalServices& services) {
  const std::string text = rewritten_file(result, options);
  WrittenBack out = commit_winner(repo, result, text, how);
  evaluate_winner(repo, result, options, out, services);
  return out;
}

}  // namespace promptops::workflows
