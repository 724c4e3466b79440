// SPDX-License-Identifier: MIT
// Helpers shared by the subcommands: dates, snapshots at a revision, JSON of git objects.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/providers/provider.hpp>
#include <promptops/prompt/registry.hpp>

#include "context.hpp"

namespace promptops::cli {

// "2026-11-23 14:05" in the person's own time zone.
std::string format_date(const git::Person& person);
// "2026-11-23T14:05:00+01:00".
std::string format_iso_date(const git::Person& person);

// The snapshot a listing command reads: the working tree when `revision` is empty (HEAD in a
// bare repository), else that commit. Throws NotFoundError for an unknown revision.
std::unique_ptr<Snapshot> snapshot_at(Context& context, const std::string& revision);

// The commit `revision` names (HEAD gives git's "no commits yet" error in an empty repository).
// Throws NotFoundError with "did you mean" for an unknown revision.
git::Oid resolve_commit(Context& context, const std::string& revision);
// Whether the user trusts this repository's exec providers and scorers: `promptops.trustExec` in
// their own git config (a clone cannot set it; tracked files are never read for it).
bool exec_trusted(const git::Repository& repo);
// The provider options the user's own git config gives this repository: the work tree for exec
// commands, exec_trusted(), and the hosts trusted with keys (every `promptops.trustSecret` value).
ProviderOptions provider_options_for(const git::Repository& repo);
// Whether the user lets notes stand in for evaluations: `promptops.trustNotes` in their own git
// config, true unless set to false (CI that gates on fetched notes sets it to false).
bool notes_trusted(const git::Repository& repo);
// The engine's notes policy: verify with --verify-notes, else ignore when notes are not trusted.
NotesPolicy notes_policy(const git::Repository& repo, bool verify);
// Warns on stderr, once per commit per process however often its note is read, that the
// malformed lines of the note on `commit` are ignored (the first three problems named).
void warn_note_problems(const git::Oid& commit, const std::vector<std::string>& problems);
// The note mismatches of --verify-notes as "git-promptops: error: ..." lines on stderr.
void report_note_mismatches(const std::vector<NoteMismatch>& mismatches);
// How a command that ran evaluations ended, for run_exit().
struct RunEnd {
  bool interrupted = false;
  // The answers received in this run (all kept in the cache): the interrupt message counts them
  // when known, else it says "answers received so far are cached".
  std::optional<std::size_t> answers;
  std::size_t unanswered = 0;              // cases that got no answer from a provider
  std::vector<ProviderFailure> failures;   // why, per provider (throw_unanswered names each)
  std::vector<std::string> results_files;  // the per-case results of the evaluations that left some
  std::string consequence;                 // after the error, e.g. ", so the gate could not be judged"
};

// The exit of a command that ran evaluations, decided in the same order everywhere: interrupted
// -> throws InterruptedError (130); then `own_errors` runs (a command's own exit-2 errors, such
// as eval's cases that could not be judged; may be empty); then unanswered cases -> throws
// ProviderError (2) through throw_unanswered; otherwise returns `verdict` (ok, or negative for
// a "no"), which the caller stores in Context::exit_status.
ExitCode run_exit(const RunEnd& end, ExitCode verdict, const std::function<void()>& own_errors = {});

// "run" (evaluated in this run), "cache" or "notes": where a result's figures came from.
const char* source_of(const EvalResult& result);

// A prompt name given where no @REV belongs (log, alias). Throws UsageError for NAME@REV.
std::string prompt_name_argument(const std::string& text, const char* instead);

// The number of the version of a prompt that `commit` holds: the version made at that commit,
// else the newest version with the same content (blob) as the file at `commit` that `commit`
// descends from (any with that content when none is an ancestor); 0 when none.
int version_at(const git::Repository& repo, const std::vector<PromptVersion>& versions,
               const std::string& path, const git::Oid& commit);

// The positional words of a command whose own slots (revisions, references) come before "--" and
// prompt names after it: the slots' words in order, then the names, and how many of them were
// before "--". CLI11 fills the slots first whichever side of "--" a word was on, so the split is
// recovered from where "--" is in the raw arguments.
struct Positionals {
  std::vector<std::string> words;
  std::size_t before = 0;
};
Positionals split_positionals(const Context& context, std::initializer_list<const std::string*> slots,
                              const std::vector<std::string>& names);

// {"name": ..., "email": ...}
nlohmann::json person_json(const git::Person& person);

// How many flipped cases a text or markdown report lists (JSON lists them all).
constexpr std::size_t k_max_flips_shown = 10;

// " [0.07, 0.59]": an interval after a value, with its leading space; empty without one.
std::string interval_suffix(const std::optional<Interval>& interval);

}  // namespace promptops::cli
