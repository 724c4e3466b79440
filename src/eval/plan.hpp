// SPDX-License-Identifier: MIT
// Planning: targets x prompts -> content-keyed evaluations. Each (target, prompt) gets a row and an
// eval key; a duplicate key is computed once; a key whose result is cached, or in the target's
// notes, is reused; the rest become jobs for the call queue.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/git/notes.hpp>
#include <promptops/prompt/registry.hpp>

#include "job.hpp"
#include "suite.hpp"

namespace promptops::inline eval {

// One evaluated version of the tree: its snapshot, config and prompts.
struct Target {
  std::unique_ptr<Snapshot> snapshot;
  Config config;
  std::map<std::string, PromptFile> files;  // by prompt name
};

// The content key of one evaluation: everything that decides its result.
std::string eval_key(const Prompt& prompt, const std::string& identity, const ModelSpec& model,
                     const Suite& suite, int repeat, const CaseSelection& selection = {});

// Applies a target's model ("PROVIDER/NAME", or "NAME" on the prompt's provider): the prefix is a
// provider only when one of that name is defined, since model names may contain '/'.
void override_model(ModelSpec& model, const std::string& spec, const Config& providers, const Config& own);

// The whole evaluation `key` from the cache: nullopt when it is not there, is unreadable (an entry
// from another version of the tool), or came from notes that `policy` does not trust.
std::optional<EvalResult> cached_result(const EvalServices& services, const std::string& key, NotesPolicy policy);

class Planner {
 public:
  Planner(const git::Repository& repo, const std::vector<EvalTarget>& targets, const EvalOptions& options,
          EvalServices& services);

  // Reads every target's snapshot, config and prompt list. Throws ConfigError for a bad config.
  void load_targets();
  // The rows of `report` (in target order), results reused from the cache and notes, the keys
  // missing offline; returns the jobs left to run, in plan order. Throws ConfigError,
  // NotFoundError (an unknown --name).
  std::vector<Job*> plan(EvalReport& report);
  // Adds to `report` every difference between a fresh result and the commit's notes
  // (NotesPolicy::verify).
  void verify_notes(EvalReport& report);

  // The providers' config: the newest target's.
  const Config& providers_config() const { return m_targets.back().config; }
  std::vector<Target>& targets() { return m_targets; }
  // The prompt names to evaluate: every prompt of every target, or the named ones. Throws
  // NotFoundError for a name no target has.
  std::vector<std::string> names() const;
  // The suite of `prompt` at target `target`, loaded once.
  Suite& suite(std::size_t target, const Prompt& prompt);

 private:
  void plan_prompt(const std::string& name, std::vector<std::vector<EvalRow>>& rows, EvalReport& report);
  void plan_version(const std::string& name, std::size_t i, std::size_t newest, const Prompt& newest_prompt,
                    std::vector<std::vector<EvalRow>>& rows, EvalReport& report);
  ModelSpec model_of(const Prompt& prompt, std::size_t i) const;
  const ProviderSpec& provider_of(const Prompt& prompt, const ModelSpec& model, std::size_t i) const;
  const std::string& identity_of(const ProviderSpec& provider);
  bool reuse_known(const std::string& key, const std::string& name, std::size_t i, EvalReport& report);
  const EvalNotes& notes_of(const git::Oid& commit);
  void add_job(std::string key, Prompt prompt, ModelSpec model, const ProviderSpec& provider, Suite& suite,
               std::vector<std::size_t> cases);

  const git::Repository& m_repo;
  const std::vector<EvalTarget>& m_eval_targets;
  const EvalOptions& m_options;
  EvalServices& m_services;
  std::vector<Target> m_targets;
  std::map<std::pair<std::size_t, std::string>, std::unique_ptr<Suite>> m_suites;
  std::map<std::string, std::string> m_identities;  // by provider name
  std::map<git::Oid, EvalNotes> m_notes;            // read once per commit, when needed
  std::set<std::string> m_seen_keys;
  std::map<std::string, std::unique_ptr<Job>> m_jobs;  // by key
  std::vector<Job*> m_order;
};

}  // namespace promptops::eval
