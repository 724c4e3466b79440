// SPDX-License-Identifier: MIT
// The evaluation engine: prompt versions at a list of commits, deduplicated by content, scored
// against one yardstick, cached as answers arrive; gate, review, bisect and optimize call it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/cache.hpp>
#include <promptops/git/git.hpp>
#include <promptops/eval/metrics.hpp>
#include <promptops/git/notes.hpp>
#include <promptops/providers/provider.hpp>
#include <promptops/prompt/registry.hpp>

namespace promptops::inline eval {

// Where to evaluate: a commit, the index, or the working tree.
struct EvalTarget {
  std::optional<git::Oid> commit;  // nullopt = the working tree, or the index when `index` is set
  std::string subject;             // the commit's subject; empty for the working tree and the index
  bool index = false;
  // "PROVIDER/NAME" or "NAME" (the prompt's provider): every prompt at this target runs on this
  // model instead of its own (compare --model). Empty = each prompt's own model.
  std::string model;
  // Set over each prompt's model parameters at this target (the matrix's --set): another
  // evaluation, since the parameters are in the eval key. Empty = the prompts' own.
  nlohmann::json params = nlohmann::json::object();
  // Lends its dataset and assertions (as the newest target, with SuiteAt::newest) and its providers
  // (as the last target) without being evaluated itself: it gets no row (bisect's bad side, once
  // known, also with --no-cache).
  bool suite_only = false;
  // A column of one prompt's [[eval.matrix]]: only that prompt is evaluated here, read from another
  // prompt's file (`read_from`, at this target) and with its messages replaced, when these are set.
  struct OnePrompt {
    std::string prompt;
    std::string read_from;          // empty = the prompt's own file
    std::vector<Message> messages;  // empty = the file's own
  };
  std::optional<OnePrompt> only;

  static EvalTarget at_commit(const git::Oid& id, std::string subject) {
    EvalTarget target;
    target.commit = id;
    target.subject = std::move(subject);
    return target;
  }
  static EvalTarget worktree() { return EvalTarget(); }
  static EvalTarget staged() {
    EvalTarget target;
    target.index = true;
    return target;
  }
};

// Whose dataset and assertions judge each version.
enum class SuiteAt {
  newest,  // the newest target that has the prompt: one yardstick, so versions compare
  each,    // every target its own
};

// The headline metrics a prompt's [eval] metric may name.
const std::vector<std::string>& metric_names();
// Whether `metric` counts passing cases (pass_rate, or its alias accuracy): paired pass/fail
// tests (McNemar) apply to it, a sign-flip test to the others.
bool is_pass_metric(const std::string& metric);

// The named metrics (an assertion's "metric") that `prompt`'s [eval] assert and default_assert
// declare, sorted; a [gate], bisect or [eval] metric may name them besides metric_names(). Bad
// assertions are left out (lint reports them).
std::vector<std::string> named_metrics_of(const Prompt& prompt);

// What notes (refs/notes/promptops, which anyone who can push may write) are to the engine.
enum class NotesPolicy {
  trust,   // a result the cache lacks is taken from the notes of the row's commit
  ignore,  // never a result source (promptops.trustNotes=false): evaluated for real; still written
  verify,  // evaluated for real, then compared with what the notes claim (--verify-notes)
};

// The most samples per case a run takes (--repeat): the CLI checks it where it parses the flag,
// and the engine refuses anything else as a programming error.
inline constexpr int k_max_repeat = 1000;
void check_repeat(int repeat);

// Which cases of each dataset run (the CLI's filter, sample and limit), applied in that order; the
// cases keep their dataset order. An evaluation of a selection has a key of its own and is not
// recorded in notes: it is not the version's result.
struct CaseSelection {
  // By prompt name: only these case ids, before the rest (the CLI's --failing). When set, a prompt
  // not in it has no case selected.
  std::map<std::string, std::set<std::string>> only;
  std::string filter;                 // a PCRE2 pattern searched in each case's id and description
  std::optional<std::size_t> sample;  // then this many of them, drawn at random with `seed`
  std::uint64_t seed = 0;
  std::optional<std::size_t> limit;  // then the first this many
  bool active() const { return !only.empty() || !filter.empty() || sample.has_value() || limit.has_value(); }
  // The selection as text for messages ("failing filter ^a sample 3 seed 0"); empty when not
  // active.
  std::string key_text() const;
  // ... and for the eval key of `prompt`: with the case ids `only` names for it.
  std::string key_text(const std::string& prompt) const;
};

// The case indices of `count` cases of `prompt` that `selection` keeps, in dataset order;
// `id_of(i)` and `description_of(i)` give case i's for `only` and the filter (which searches both,
// joined by a newline). Throws UsageError for a filter that does not compile.
std::vector<std::size_t> select_cases(const CaseSelection& selection, const std::string& prompt, std::size_t count,
                                      const std::function<std::string(std::size_t)>& id_of,
                                      const std::function<std::string(std::size_t)>& description_of);

struct EvalOptions {
  std::vector<std::string> names;  // prompts to evaluate; empty = every prompt with [eval]
  SuiteAt suite_at = SuiteAt::newest;
  int repeat = 1;  // samples per case, 1..k_max_repeat; the repeat index is part of each answer's key
  ProviderOptions provider_options;
  // Results only from the cache and from notes: no case is run, and an evaluation found in
  // neither is listed in EvalReport::missing.
  bool offline = false;
  // With ignore and verify, a cached result that came from notes is not taken either.
  NotesPolicy notes = NotesPolicy::trust;
  CaseSelection cases;  // which cases run; all by default
  // Variables set in every case over the dataset's own values (the CLI's --var); like a
  // selection, such a run has keys of its own and is no version's recorded result.
  nlohmann::json vars = nlohmann::json::object();
  // > 0: send at most this many requests (answers and judge calls; cached answers are free), then
  // score what is cached and stop (EvalReport::budget_reached).
  std::size_t max_calls = 0;
  // > 0: spend at most this much (in the currency of [prices]) on requests. Before each request
  // its cost is estimated (estimated_tokens_in(), max_tokens_of()); it is sent only while what was spent, the
  // estimates of the requests in flight and its own fit. Past that, as max_calls. Every model asked
  // needs a price: one without is a ConfigError before the run (answers) or when its first judge
  // call would be sent.
  double max_cost = 0.0;
};

// What the answers still to request should cost, told before the run when EvalOptions::max_cost
// is set. Judge calls are not in it: they depend on the answers.
struct CostEstimate {
  std::size_t requests = 0;     // answers not in the cache
  std::int64_t tokens_in = 0;   // estimated: one per 4 bytes of the rendered messages
  std::int64_t tokens_out = 0;  // bounded by max_tokens where the model's params set it
  std::size_t unbounded = 0;    // requests without max_tokens: their output is not in `cost`
  double cost = 0.0;
};

// done/total count case samples (cases x repeat) of the evaluations that had to run.
struct EvalProgress {
  std::size_t done = 0;
  std::size_t total = 0;
  std::size_t cache_hits = 0;  // answers taken from the cache
  std::size_t real_calls = 0;  // answers from the provider
  double elapsed_seconds = 0.0;
};

// What the engine needs from its caller.
struct EvalServices {
  ResultCache* cache = nullptr;       // required; a disabled cache is --no-cache
  std::filesystem::path results_dir;  // per-case JSONL files go here; empty = none are written
  // Set by the caller's SIGINT handler (and by the engine itself on an auth error): no new
  // request is sent, answers in flight are waited for briefly and kept. May be null.
  std::atomic<bool>* stop = nullptr;
  // Called on the engine's thread as cases finish (often: throttle it).
  std::function<void(const EvalProgress&)> progress;
  // Called once before the first request when EvalOptions::max_cost is set. May be empty.
  std::function<void(const CostEstimate&)> estimated;
  // Makes a provider; empty = make_provider(spec, options.provider_options). Providers are made
  // only when an answer is missing from the cache, so a fully cached run needs no API key.
  std::function<std::unique_ptr<Provider>(const ProviderSpec&)> make_provider;
  // Called (on the engine's thread) with the problems of a commit's note lines when the engine
  // reads that note and some lines are not well-formed entries; the lines are skipped. May be empty.
  std::function<void(const git::Oid& commit, const std::vector<std::string>& problems)> note_problems;
};

// The result of one evaluation: one prompt content judged by one suite on one model. Identical
// inputs give the same key, so it is computed once however many commits share it.
struct EvalResult {
  std::string key;          // content_key over prompt, model, provider identity, dataset, assertions, repeat
  std::string prompt;       // the prompt's name when it was computed
  std::string model;        // "provider/name"
  std::string dataset;      // repository-relative path
  std::string dataset_sha;  // SHA-1 of its bytes
  std::string metric;       // the headline metric's name
  double value = 0.0;       // the headline metric
  std::optional<Interval> interval;  // 95% interval of the headline metric, when it has one
  Metrics metrics;
  int repeat = 1;
  // Per case in dataset order: 'p' passed, 'f' failed, 'x' flaky (repeats disagree), 'e' no answer.
  std::string outcomes;
  std::vector<std::string> case_ids;  // in dataset order
  std::vector<double> scores;         // mean assertion score per case, in dataset order
  std::vector<std::string> flaky;     // ids of the 'x' cases
  // Per named metric (an assertion's `metric`), its mean score per case in dataset order; null
  // where the case has no assertion of that metric or no answer. Empty when none is named.
  std::map<std::string, std::vector<std::optional<double>>> named_scores;
  std::size_t errors = 0;             // case samples that got no answer (after retries)
  std::int64_t evaluated_at = 0;      // when it was computed (seconds since the epoch)
  std::string results_file;           // per-case JSONL (absolute); empty when not written
  bool reused = false;                // taken whole from the cache: nothing ran
  // Reused and found in the notes of the row's commit, in this run or an earlier one (the cache
  // entry remembers it as "source": "notes"), so never recomputed here.
  bool from_notes = false;

  // The cache value and the notes entry: every field above except reused, from_notes and results_file,
  // with "metrics" as Metrics::to_json() and "interval" as [low, high] or null; "named_scores"
  // only when there are some.
  nlohmann::json to_json() const;
  // Throws Error when `json` lacks a field to_json() writes.
  static EvalResult from_json(const nlohmann::json& json);
};

// A note whose claim differs from the recomputed evaluation of the same eval key.
struct NoteMismatch {
  git::Oid commit;  // the annotated commit
  std::string prompt;
  std::string eval_key;
  std::string metric;
  double noted = 0.0;     // the note's headline value
  double computed = 0.0;  // the evaluation's
  bool outcomes_differ = false;  // the per-case outcomes differ (the values may still agree)
};

// "the note on 1a2b3c4 claims accuracy 1.000 for prompt 'greet', recomputed 0.000".
std::string describe_mismatch(const NoteMismatch& mismatch);

// One (target, prompt) pair and the evaluation that judged it.
struct EvalRow {
  std::size_t target = 0;  // index into EvalReport::targets
  std::string prompt;
  std::string path;            // the prompt file at the target
  std::string key;             // into EvalReport::results
  std::size_t suite_from = 0;  // index of the target whose dataset and assertions were used
  bool duplicate = false;      // another row (earlier in the list) has the same key
};

// A provider that left case samples without an answer (after its retries).
struct ProviderFailure {
  std::string provider;    // its name in [providers]
  std::string endpoint;    // base URL without user info, query or fragment; an exec provider's program
  std::size_t failed = 0;  // case samples without an answer
  std::size_t total = 0;   // case samples it was asked for in this run
  std::string cause;       // the first failure's (ChatResult::cause, else its message); never a key
};

// "200 of 200 cases got no answer from provider 'local' (http://127.0.0.1:8080/v1): Couldn't
// connect to server".
std::string describe_failure(const ProviderFailure& failure);

struct EvalReport {
  std::vector<EvalTarget> targets;
  std::vector<EvalRow> rows;                  // by target, then prompt name
  std::map<std::string, EvalResult> results;  // by key; only complete evaluations
  std::size_t real_calls = 0;                 // model answers received in this run
  std::size_t cache_hits = 0;                 // answers found in the cache
  std::size_t errors = 0;                     // case samples without an answer
  // Of `errors`, samples whose answer an assertion could not judge (a regex limit), and the first
  // reason, such as "regex match limit reached".
  std::size_t unjudged = 0;
  std::string unjudged_reason;
  bool interrupted = false;                   // stopped: rows whose key is not in results are unfinished
  // EvalOptions::max_calls was reached with requests still to send: those rows are unfinished too.
  bool budget_reached = false;
  bool cost_reached = false;  // ... and it was EvalOptions::max_cost that was reached
  double spent = 0.0;         // what this run's requests cost, answers and judge calls, by [prices]
  std::vector<std::string> skipped;           // prompts without [eval] that were not named
  std::vector<std::string> missing;           // offline: keys found neither in the cache nor in notes
  std::size_t from_notes = 0;                 // evaluations taken from notes (now or via the cache)
  // NotesPolicy::verify: the notes whose figures differ from the evaluation's, by commit then key.
  std::vector<NoteMismatch> note_mismatches;
  std::vector<ProviderFailure> provider_failures;  // by provider, in the order they ran
};

// Evaluates the prompts at `targets` (oldest first). Rows follow targets; a prompt absent at a
// target has no row there. Per evaluation: the dataset is rendered case by case, answers come from
// the cache or the provider (requests deduplicated by content, many in flight), are cached as
// they arrive, scored by the assertions, and aggregated; complete evaluations are cached whole
// under kind "eval". An evaluation missing from the cache but recorded in the notes of the row's
// commit (by `eval` here, or by CI and fetched) is taken from there and cached. Case samples whose call
// failed after retries count as errors (outcome 'e'). Providers are the newest target's [providers] (the
// model comes from each version).
//
// Throws NotFoundError for a named prompt that exists at no target; ConfigError for a named
// prompt without [eval], a missing or bad dataset (file:line), bad assertions, an unknown metric
// or provider; ProviderError when the provider rejects the credentials (the run stops at once;
// answers already received stay cached). An interrupt is not an exception: see `interrupted`.
EvalReport run_eval(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                    const EvalOptions& options, EvalServices& services);

// Merges a summary of every complete evaluation without errors into the notes (refs/notes/promptops) of each
// evaluated commit, in one notes commit: the entry is EvalResult::to_json() with "key" set to
// "eval:<prompt>:<eval key>", "type": "eval", "eval_key", "prompt" and "path" of the row. Returns
// the number of entries offered. Throws GitError as git::merge_notes does.
std::size_t record_eval_notes(git::Repository& repo, const EvalReport& report);

// The newest ("evaluated_at") eval entry for `prompt` among a commit's note entries; entries that
// are not well-formed eval results are skipped.
std::optional<EvalResult> latest_eval_note(const std::vector<nlohmann::json>& entries,
                                           const std::string& prompt);

// The last recorded result of each prompt in `names` (every prompt when empty): walking first
// parents from `from`, the newest eval note entry for it on the first commit that has one. Note
// entries that are not well-formed are skipped.
std::map<std::string, EvalResult> last_recorded_results(const git::Repository& repo, const git::Oid& from,
                                                        const std::vector<std::string>& names);

// The eval entries ("type": "eval") of one commit's checked note lines, each as a result whose
// key is its "eval_key" and prompt its "prompt". An eval entry with missing or mistyped fields,
// or whose per-case lists disagree, is skipped and adds "line N: why" to `problems` after the
// lines' own problems.
struct EvalNotes {
  std::vector<EvalResult> results;
  std::vector<std::string> problems;
};
EvalNotes eval_notes(const git::NoteLines& lines);
// The newest ("evaluated_at") of `notes`' results for `prompt`.
std::optional<EvalResult> latest_eval_note(const EvalNotes& notes, const std::string& prompt);

// The recomputed `result` compared with each eval note in `notes` that has its key; one entry per
// note that differs (headline value by more than 1e-9, or per-case outcomes).
std::vector<NoteMismatch> compare_with_notes(const git::Oid& commit, const EvalResult& result,
                                             const EvalNotes& notes);

// What `lint` adds for the evaluation engine: the [eval] assertions of the named prompts (all when
// `names` is empty) parsed as run_eval parses them (unknown types with did-you-mean, bad options,
// regexes, pointers) and an unknown headline metric ("unknown-metric"). Prompts that cannot be
// loaded are skipped: lint() reports them.
std::vector<Diagnostic> lint_eval(const Snapshot& snapshot, const std::vector<std::string>& names);

// The cost of a call from the [prices] table: tokens x price per million; 0 for unknown models.
double call_cost(const Config& config, const std::string& model, std::int64_t tokens_in,
                 std::int64_t tokens_out);
// The tokens of `request` as a budget counts them before it is sent: one per 4 bytes (rounded up)
// of each message's content.
std::int64_t estimated_tokens_in(const ChatRequest& request);
// The output bound of `request`: its params' max_tokens (or max_completion_tokens), or nullopt.
std::optional<std::int64_t> max_tokens_of(const ChatRequest& request);

}  // namespace promptops::eval
