// SPDX-License-Identifier: MIT
// `git promptops check [--staged | --worktree | REV] [--against REF]` and the hidden
// `git promptops hook pre-commit | pre-push` that the installed shims run.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <promptops/workflows/check.hpp>
#include <promptops/util/error.hpp>

#include "check_report.hpp"
#include "common.hpp"
#include "evaluation.hpp"
#include <promptops/output/terminal.hpp>
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

struct CheckCommandOptions {
  std::string rev;
  bool staged = false;
  bool worktree = false;
  std::string against;
  bool offline = false;
  bool no_cache = false;
  bool verify_notes = false;
  std::string format;
};

CheckOptions base_options(Context& context, bool verify_notes = false) {
  CheckOptions options;
  git::Repository& repo = context.repo();
  options.eval.provider_options = provider_options_for(repo);
  options.eval.notes = notes_policy(repo, verify_notes);
  return options;
}

// The per-case results files of the evaluations that left cases without an answer.
std::vector<std::string> unanswered_files(const CheckReport& report) {
  std::vector<std::string> files;
  for (const PromptCheck& prompt : report.prompts) {
    for (const std::optional<EvalResult>* result : {&prompt.baseline, &prompt.candidate}) {
      if (*result && (*result)->errors > 0 && !(*result)->results_file.empty()) {
        files.push_back((*result)->results_file);
      }
    }
  }
  return files;
}

// Prints the report and sets the exit status: 1 for lint errors, a failed gate or (--verify-notes)
// a note that the evaluation contradicts, 2 when a prompt could not be judged because answers are
// missing, 130 when interrupted.
void finish(Context& context, const CheckReport& report, const std::string& format, const char* bypass) {
  if (format == "json") {
    context.out_json(check_json(report));
  } else {
    context.out(check_text(report, bypass));
  }
  RunEnd end;
  end.interrupted = report.interrupted;
  if (!end.interrupted) {
    report_note_mismatches(report.note_mismatches);
  }
  const bool failed = report.lint_failed() || report.gate_failed() || !report.note_mismatches.empty();
  // A failed lint or gate is the verdict even when some cases got no answer: it cannot pass.
  end.unanswered = failed ? 0 : report.errors;
  end.failures = report.provider_failures;
  end.results_files = unanswered_files(report);
  end.consequence = ", so the gate could not be judged";
  context.exit_status = run_exit(end, failed ? ExitCode::negative : ExitCode::ok);
}

void run_check_command(Context& context, const CheckCommandOptions& command) {
  if (static_cast<int>(command.staged) + static_cast<int>(command.worktree) +
          static_cast<int>(!command.rev.empty()) >
      1) {
    throw UsageError("check takes one of --staged, --worktree or a revision",
                     "git promptops check --staged, or git promptops check HEAD");
  }
  git::Repository& repo = context.repo();
  CheckOptions options = base_options(context, command.verify_notes);
  if (command.staged) {
    options.side = CheckSide::staged;
  } else if (!command.rev.empty()) {
    options.side = CheckSide::commit;
    options.commit = resolve_commit(context, command.rev);
  }
  if (!command.against.empty()) {
    options.against = resolve_commit(context, command.against);
  }
  options.offline = command.offline;
  EvalSession session(repo, !command.no_cache, command.format == "text" && output::is_terminal(stderr));
  const CheckReport report = run_check(repo, options, session.services());
  session.clear_progress();
  finish(context, report, command.format, nullptr);
}

// Writes what the launcher needs to answer the next no-op pre-commit hook without the core
// (src/launcher/noop_hook.cpp reads it): <git-dir>/promptops/pre-commit-filter, one record per
// line after a version line. Left alone when it already says the same; removed when the index's
// config has errors, so every hook reports them.
void remember_staged_filter(const git::Repository& repo) {
  const std::filesystem::path file = repo.git_dir() / "promptops" / "pre-commit-filter";
  const std::optional<StagedPathFilter> filter = staged_path_filter(repo);
  std::string record;
  if (filter) {
    record = "config " + filter->config_entry + " " + filter->config_path + "\n";
    for (const std::string& root : filter->roots) {
      record += "root " + root + "\n";
    }
    for (const std::string& extension : filter->extensions) {
      record += "extension " + extension + "\n";
    }
  }
  // A path with a line break in it cannot be written one per line: no record, as for errors.
  const auto lines = [&] { return static_cast<std::size_t>(std::count(record.begin(), record.end(), '\n')); };
  if (!filter || lines() != 1 + filter->roots.size() + filter->extensions.size()) {
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    return;
  }
  record = "git-promptops pre-commit filter 1\n" + record;
  if (util::read_file(file) == record) {
    return;
  }
  try {
    util::write_file_atomic(file, record, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                            util::Sync::none);
  } catch (const Error&) {
    // Only a shortcut is lost (a read-only .git, a full disk): the hook itself has passed.
  }
}

// The pushed refs, as git gives them on the pre-push hook's stdin: "<local ref> <local sha>
// <remote ref> <remote sha>" per line. Deletions (a zero local sha) and malformed lines are skipped.
std::vector<PushedRef> read_pushed_refs(std::istream& in) {
  std::vector<PushedRef> refs;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string local_ref, local_sha, remote_ref, remote_sha;
    if (!(fields >> local_ref >> local_sha >> remote_ref >> remote_sha)) {
      continue;
    }
    const std::optional<git::Oid> local = git::Oid::parse(local_sha);
    if (!local || local->is_zero()) {
      continue;  // a deletion
    }
    refs.push_back(PushedRef{local_ref, *local, git::Oid::parse(remote_sha)});
  }
  return refs;
}

void run_hook(Context& context, const std::string& hook, const std::vector<std::string>& arguments) {
  git::Repository& repo = context.repo();
  if (hook == "pre-commit") {
    CheckOptions options = base_options(context);
    options.side = CheckSide::staged;
    EvalSession session(repo, true, output::is_terminal(stderr));
    const CheckReport report = run_check(repo, options, session.services());
    session.clear_progress();
    remember_staged_filter(repo);
    if (report.prompts.empty() && report.lint.empty()) {
      return;  // nothing relevant staged: say nothing
    }
    finish(context, report, "text", "git commit --no-verify");
    return;
  }
  if (hook != "pre-push") {
    throw UsageError("unknown hook '" + hook + "'", "the hooks are pre-commit and pre-push");
  }
  const std::string remote = arguments.empty() ? "origin" : arguments.front();
  const std::vector<PushedRef> refs = read_pushed_refs(std::cin);
  if (refs.empty()) {
    return;  // only deletions: nothing to check
  }
  EvalSession session(repo, true, output::is_terminal(stderr));
  const PushCheckReport pushed = run_push_check(repo, remote, refs, base_options(context), session.services());
  session.clear_progress();
  for (const std::string& ref : pushed.unchecked) {
    context.warn("pre-push: no base to compare " + ref + " with (fetch " + remote + " first); not checked");
  }
  const CheckReport& combined = pushed.combined;
  if (combined.prompts.empty() && combined.lint.empty()) {
    return;
  }
  finish(context, combined, "text", "git push --no-verify");
}

}  // namespace

void add_check(CLI::App& app, Context& context) {
  auto options = std::make_shared<CheckCommandOptions>();
  CLI::App* command = app.add_subcommand("check",
                                         "lint the prompts a change touches and gate the changed ones "
                                         "against a baseline; exit 1 on a regression");
  command->add_option("rev", options->rev,
                      "check this commit against its first parent (default: the working tree)");
  command->add_flag("--staged", options->staged,
                    "check the index (what git commit would record) against HEAD");
  command->add_flag("--worktree", options->worktree, "check the working tree against HEAD (the default)");
  command->add_option("--against", options->against,
                      "the baseline revision (default: HEAD, or REV's first parent)");
  command->add_flag(
      "--offline", options->offline,
      "gate on results already in the cache or notes; make no model call and list what was not checked");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  command->add_flag("--verify-notes", options->verify_notes,
                    "do not take results from notes: evaluate for real, and exit 1 naming each note whose "
                    "figures differ");
  add_format_option(*command, options->format, {"text", "json"});
  command->callback([&context, options] { run_check_command(context, *options); });
}

void add_hook(CLI::App& app, Context& context) {
  auto hook = std::make_shared<std::string>();
  auto arguments = std::make_shared<std::vector<std::string>>();
  CLI::App* command = app.add_subcommand("hook", "run a git hook (the installed shims call this)");
  command->group("");  // hidden from --help: users run `hooks install`
  command->add_option("hook", *hook, "pre-commit or pre-push")->required();
  command->add_option("arguments", *arguments, "the hook's own arguments, as git passes them");
  command->callback([&context, hook, arguments] { run_hook(context, *hook, *arguments); });
}

}  // namespace promptops::cli
