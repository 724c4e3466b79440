// SPDX-License-Identifier: MIT
// What eval and report share: the positional words (a range or revision, then prompt names after
// --), the commits they name, the version label of each row, and run_eval with its errors explained.
#pragma once

#include <string>
#include <vector>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>

#include "context.hpp"

namespace promptops::cli {

// The positional words of eval and report: at most one range or revision before "--", prompt names after it.
struct EvalArguments {
  std::string spec;                // the range or revision ("" = the working tree)
  std::vector<std::string> names;  // the prompts to evaluate (empty = all)
  std::size_t before = 0;          // words before "--"
  std::size_t after_dashes = 0;    // words after "--"
};

// The positional words of `command` (eval, report). Throws UsageError for two ranges.
EvalArguments eval_arguments(const Context& context, const std::string& range, const std::vector<std::string>& names,
                             const std::string& command);

// "git promptops COMMAND SPEC -- NAME...": the words, without the flags (a --var may hold anything).
std::string command_line(const std::string& command, const EvalArguments& arguments);

// The commits (oldest first) of "A..B", "A..", or one revision; nothing = the working tree.
std::vector<EvalTarget> resolve_targets(Context& context, const std::string& spec);

// The version numbers of each row ("v3"; "worktree"; "-" when the prompt has no version there),
// by prompt along the newest commit's first-parent history.
std::vector<std::string> version_labels(git::Repository& repo, const EvalReport& report);

// run_eval, with a config or provider error explained when it comes from a committed
// .promptops.toml that the working tree has changed.
EvalReport run_eval_explained(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                              const EvalOptions& options, EvalServices& services, const std::string& spec);

}  // namespace promptops::cli
