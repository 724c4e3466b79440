// SPDX-License-Identifier: MIT
// The positional words, targets and version labels of eval and report.
#include "eval_targets.hpp"

#include <algorithm>
#include <map>

#include <promptops/git/history.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/util/error.hpp>
#include <promptops/util/strings.hpp>

#include "common.hpp"

namespace promptops::cli {

namespace {

// A hint for a config or provider error when the newest target is a commit whose
// .promptops.toml differs from the working tree's: the commit's config is the one read, so an
// edit the user has not committed yet is not in effect. Empty otherwise.
std::string uncommitted_config_hint(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                                    const std::string& spec) {
  if (targets.empty() || !targets.back().commit || repo.is_bare()) {
    return {};
  }
  const char* const k_config = ".promptops.toml";
  const std::optional<std::string> committed = commit_snapshot(repo, *targets.back().commit)->read(k_config);
  const std::optional<std::string> working = worktree_snapshot(repo)->read(k_config);
  if (committed == working) {
    return {};
  }
  return std::string(k_config) + " in the working tree differs from " + targets.back().commit->short_hex() +
         "'s, and 'eval " + spec + "' reads the committed one: commit it (git commit " + k_config +
         ") or evaluate the working tree (git promptops eval)";
}

}  // namespace


EvalArguments eval_arguments(const Context& context, const std::string& range, const std::vector<std::string>& names,
                             const std::string& command) {
  // Arguments after "--" are prompt names; before it, at most one range or revision. The parser
  // fills `range` first whichever side of "--" it came from, so count what followed "--".
  std::vector<std::string> positionals = names;
  if (!range.empty()) {
    positionals.insert(positionals.begin(), range);
  }
  std::size_t after_dashes = positionals.size();
  const auto dashes = std::find(context.args.begin(), context.args.end(), "--");
  if (dashes != context.args.end()) {
    after_dashes = std::min(positionals.size(), static_cast<std::size_t>(context.args.end() - dashes - 1));
  } else if (positionals.size() > 1) {
    throw UsageError(
        command + " takes one range or revision, got '" + positionals[1] + "' too",
        "put prompt names after --: git promptops " + command + " " + positionals[0] + " -- " + positionals[1]);
  } else {
    after_dashes = 0;
  }
  const std::size_t before = positionals.size() - after_dashes;
  if (before > 1) {
    throw UsageError(
        command + " takes one range or revision, got '" + positionals[1] + "' too",
        "put prompt names after --: git promptops " + command + " " + positionals[0] + " -- " + positionals[1]);
  }
  EvalArguments arguments;
  arguments.spec = before == 1 ? positionals[0] : "";
  arguments.names.assign(positionals.begin() + static_cast<std::ptrdiff_t>(before), positionals.end());
  arguments.before = before;
  arguments.after_dashes = after_dashes;
  return arguments;
}

std::string command_line(const std::string& command, const EvalArguments& arguments) {
  std::string line = "git promptops " + command + (arguments.spec.empty() ? "" : " " + arguments.spec);
  if (!arguments.names.empty()) {
    line += " -- " + util::join(arguments.names, " ");
  }
  return line;
}

// The commits (oldest first) of "A..B", "A..", or one revision; nothing = the working tree.
std::vector<EvalTarget> resolve_targets(Context& context, const std::string& spec) {
  std::vector<EvalTarget> targets;
  if (spec.empty()) {
    git::Repository& repo = context.repo();
    if (!repo.is_bare()) {
      targets.push_back(EvalTarget::worktree());
      return targets;
    }
    const git::Oid head = context.head();
    targets.push_back(EvalTarget::at_commit(head, repo.read_commit(head).subject()));
    return targets;
  }
  git::Repository& repo = context.repo();
  const std::size_t dots = spec.find("..");
  if (dots == std::string::npos) {
    const git::Oid id = resolve_commit(context, spec);
    targets.push_back(EvalTarget::at_commit(id, repo.read_commit(id).subject()));
    return targets;
  }
  if (spec.compare(dots, 3, "...") == 0) {
    throw UsageError("symmetric ranges ('" + spec + "') are not supported",
                     "use A..B: the first-parent commits of B since A");
  }
  const std::string from = spec.substr(0, dots);
  const std::string to = spec.substr(dots + 2);
  if (from.empty()) {
    throw UsageError("range '" + spec + "' has no start", "write A..B, for example HEAD~3..HEAD");
  }
  const git::Oid tip = resolve_commit(context, to.empty() ? "HEAD" : to);
  const git::Oid start = resolve_commit(context, from);
  // As git does, A..B excludes what A reaches: along B's first parents that is the merge base.
  const std::optional<git::Oid> stop = repo.merge_base(start, tip);
  std::vector<git::Oid> chain = git::first_parent_chain(repo, tip, stop);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    targets.push_back(EvalTarget::at_commit(*it, repo.read_commit(*it).subject()));
  }
  return targets;
}

// The version numbers of each row, by prompt along the newest commit's first-parent history.
std::vector<std::string> version_labels(git::Repository& repo, const EvalReport& report) {
  std::vector<std::string> labels(report.rows.size());
  std::optional<git::Oid> tip;
  for (const EvalTarget& target : report.targets) {
    if (target.commit) {
      tip = target.commit;
    }
  }
  std::map<std::string, std::vector<PromptVersion>> versions;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const EvalRow& row = report.rows[i];
    const EvalTarget& target = report.targets[row.target];
    if (!target.commit || !tip) {
      labels[i] = "worktree";
      continue;
    }
    auto it = versions.find(row.prompt);
    if (it == versions.end()) {
      std::vector<PromptVersion> list;
      try {
        list = prompt_versions(repo, *tip, row.prompt);
      } catch (const NotFoundError&) {
      }
      it = versions.emplace(row.prompt, std::move(list)).first;
    }
    const int number = version_at(repo, it->second, row.path, *target.commit);
    labels[i] = number > 0 ? "v" + std::to_string(number) : "-";
  }
  return labels;
}

EvalReport run_eval_explained(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                              const EvalOptions& options, EvalServices& services, const std::string& spec) {
  const auto joined = [](const std::string& hint, const std::string& more) {
    return hint.empty() ? more : hint + "; " + more;
  };
  try {
    return run_eval(repo, targets, options, services);
  } catch (const ConfigError& error) {
    const std::string more = uncommitted_config_hint(repo, targets, spec);
    if (more.empty()) {
      throw;
    }
    throw ConfigError(error.what(), joined(error.hint(), more), error.remedy());
  } catch (const ProviderError& error) {
    const std::string more = uncommitted_config_hint(repo, targets, spec);
    if (more.empty()) {
      throw;
    }
    throw ProviderError(error.what(), joined(error.hint(), more), error.remedy());
  }
}


}  // namespace promptops::cli
