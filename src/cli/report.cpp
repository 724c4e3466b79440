// SPDX-License-Identifier: MIT
// `git promptops report [RANGE | REV] [-- NAME...] [-o FILE]`: the HTML page of the evaluations
// already recorded, from the cache and the notes; it never calls a model.
#include <promptops/eval/eval.hpp>
#include <promptops/git/history.hpp>
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

#include "common.hpp"
#include "eval_targets.hpp"
#include "evaluation.hpp"
#include "html_page.hpp"

namespace promptops::cli {

namespace {

// Without a range: this many first-parent commits up to HEAD.
constexpr std::size_t k_default_commits = 10;

struct ReportOptions {
  std::string range;
  std::vector<std::string> names;
  std::string output;
};

// The commits of the page: those of the range or revision, else the last k_default_commits of HEAD.
std::vector<EvalTarget> report_targets(Context& context, const std::string& spec) {
  if (!spec.empty()) {
    return resolve_targets(context, spec);
  }
  git::Repository& repo = context.repo();
  std::vector<git::Oid> chain = git::first_parent_chain(repo, context.head(), std::nullopt);
  if (chain.size() > k_default_commits) {
    chain.resize(k_default_commits);
  }
  std::vector<EvalTarget> targets;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    targets.push_back(EvalTarget::at_commit(*it, repo.read_commit(*it).subject()));
  }
  return targets;
}

void run_report(Context& context, const ReportOptions& options) {
  const EvalArguments arguments = eval_arguments(context, options.range, options.names, "report");
  git::Repository& repo = context.repo();
  const std::vector<EvalTarget> targets = report_targets(context, arguments.spec);

  EvalOptions eval_options;
  eval_options.names = arguments.names;
  eval_options.offline = true;  // results from the cache and the notes only: no case runs
  eval_options.provider_options = provider_options_for(repo);
  eval_options.notes = notes_policy(repo, false);
  EvalSession session(repo, true, false);
  const EvalReport report = run_eval_explained(repo, targets, eval_options, session.services(), arguments.spec);

  const std::string page = html_page(repo, report, "git-promptops report", command_line("report", arguments));
  if (options.output.empty() || options.output == "-") {
    context.out(page);
  } else {
    util::write_file_atomic(options.output, page);
  }
  if (const std::size_t missing = report.missing.size(); missing > 0) {
    context.warn(util::plural(missing, "evaluation") +
                 (missing == 1 ? " is neither cached nor noted and shows" : " are neither cached nor noted and show") +
                 " as not evaluated; git promptops eval " + (arguments.spec.empty() ? "HEAD" : arguments.spec) +
                 (missing == 1 ? " records it" : " records them"));
  }
}

}  // namespace

void add_report(CLI::App& app, Context& context) {
  auto options = std::make_shared<ReportOptions>();
  CLI::App* command = app.add_subcommand(
      "report", "write the HTML page of recorded evaluations: trend over versions, columns, cases (no model call)");
  command->add_option("range", options->range,
                      "A..B (the first-parent commits of B since A) or one revision; default: the last 10 "
                      "commits of HEAD");
  command->add_option("names", options->names, "after --: the prompts to show (default: every prompt with [eval])");
  command->add_option("-o,--output", options->output, "write the page to FILE (default: stdout)");
  command->callback([&context, options] { run_report(context, *options); });
}

}  // namespace promptops::cli
