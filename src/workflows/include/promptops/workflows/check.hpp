// SPDX-License-Identifier: MIT
// `check`: lint the prompts a change touches, evaluate the ones whose evaluation changed against
// the baseline, and judge each by its gate. The pre-commit and pre-push hooks and `review` use it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <promptops/config/diagnostic.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/workflows/gate.hpp>

namespace promptops::inline workflows {

enum class CheckSide {
  worktree,  // the working tree, untracked files included
  staged,    // the index: what `git commit` would record
  commit,    // a commit
};

struct CheckOptions {
  CheckSide side = CheckSide::worktree;
  std::optional<git::Oid> commit;  // the candidate when side == commit
  // The baseline. Unset: HEAD for the working tree and the index, the first parent for a commit.
  std::optional<git::Oid> against;
  std::vector<std::string> names;  // only these prompts; empty = every prompt the change touches
  bool offline = false;            // results from the cache and notes only
  EvalOptions eval;                // repeat and provider options (names and offline are set here)
};

struct PromptCheck {
  enum class Change { modified, added, deleted };
  std::string prompt;
  std::string path;  // at the candidate (at the baseline when deleted)
  Change change = Change::modified;
  bool has_eval = false;  // [eval] at the candidate; without it the prompt is only linted
  std::string baseline_key;
  std::string candidate_key;
  std::optional<EvalResult> baseline;
  std::optional<EvalResult> candidate;
  // Why a side has no result: "new prompt: no baseline", "not evaluated (interrupted)", or why the
  // baseline version cannot be judged by the candidate's dataset. Empty for a side that an
  // offline check found in neither the cache nor the notes: `*_uncached`, which the CLI words.
  std::string baseline_problem;
  std::string candidate_problem;
  bool baseline_uncached = false;
  bool candidate_uncached = false;
  std::optional<GateVerdict> verdict;  // when the candidate has a complete result
  GateSpec gate;

  bool failed() const { return verdict && !verdict->passed; }
};

struct CheckReport {
  std::optional<git::Oid> baseline;  // nullopt: no baseline commit (an unborn branch, a root commit)
  std::string baseline_label;        // "HEAD (abc1234)", "abc1234"
  std::string candidate_label;       // "index", "working tree", "abc1234"
  std::vector<Diagnostic> lint;      // findings in the touched prompts and the config
  std::vector<PromptCheck> prompts;  // touched prompts whose evaluation changed, by name
  std::size_t unchanged = 0;         // touched prompts whose evaluation inputs did not change
  std::size_t real_calls = 0;
  std::size_t cache_hits = 0;
  std::size_t errors = 0;  // case samples without an answer
  bool interrupted = false;
  std::vector<ProviderFailure> provider_failures;  // why `errors`, per provider
  std::vector<NoteMismatch> note_mismatches;       // NotesPolicy::verify: notes that the runs contradict

  bool lint_failed() const;
  bool gate_failed() const;
  // A prompt that could not be judged: candidate missing (offline) or with errors.
  bool incomplete() const;
};

// Runs the check. The touched prompts are those whose file changed, those whose dataset changed,
// and all of them when .promptops.toml changed; with nothing touched it returns at once (what the
// pre-commit hook needs to be cheap). Evaluations come from the cache, then from notes, then from
// the provider (not with `offline`), baseline and candidate judged by the candidate's suite, and
// are recorded in the notes of evaluated commits. Throws as run_eval does; a baseline version
// that cannot be rendered with the candidate's dataset is not an error (baseline_problem).
CheckReport run_check(git::Repository& repo, const CheckOptions& options, EvalServices& services);

// One ref that `git push` is about to send (a line of the pre-push hook's standard input).
struct PushedRef {
  std::string local_ref;            // "refs/heads/main"
  git::Oid local;                   // what is pushed (never the zero id: a deletion is not checked)
  std::optional<git::Oid> remote;   // the remote's tip; nullopt (or the zero id) for a new branch
};

// The baseline of a pushed ref: the remote's tip when this repository has that commit; else,
// for a ref new on the remote (or a tip not fetched), where it leaves the remote's default branch
// (the merge base with the first of REMOTE/HEAD, REMOTE/main, REMOTE/master that exists among
// the remote-tracking refs); nullopt when none is known.
std::optional<git::Oid> push_base(const git::Repository& repo, const std::string& remote, const PushedRef& ref);

struct PushCheckReport {
  // Every checked ref's report in one: labels joined by ", ", prompts and lint concatenated,
  // counts added.
  CheckReport combined;
  std::vector<std::string> unchecked;  // the local refs that have no base (push_base() nullopt)
};

// pre-push: each pushed ref checked as a commit against its push_base(); `base` gives the
// evaluation options (side, commit and against are set here). Throws as run_check does.
PushCheckReport run_push_check(git::Repository& repo, const std::string& remote, const std::vector<PushedRef>& refs,
                               const CheckOptions& base, EvalServices& services);

// What the pre-commit hook's launcher needs to answer "nothing to check" without loading the core
// (see src/launcher/): a staged path matters when it is the config, has a dataset extension or lies
// under a prompt root. That is a superset of what run_check() reads for the index (patterns,
// hidden paths and which prompt names a dataset are not considered), so a hook the launcher
// answers alone is one where run_check() would have found nothing to do.
struct StagedPathFilter {
  std::string config_path;              // ".promptops.toml"
  std::string config_entry;             // its index entry, "<mode in octal> <blob hex>", or "none"
  std::vector<std::string> roots;       // root_dirs() of the index's config; "" is the whole tree
  std::vector<std::string> extensions;  // dataset_extensions()
};

// The filter for the index as it is now; nullopt when the index's config has errors (each hook
// must then report them) or the index cannot be read (a bare repository, merge conflicts).
std::optional<StagedPathFilter> staged_path_filter(const git::Repository& repo);

}  // namespace promptops::workflows
