// SPDX-License-Identifier: MIT
// Trials: versions of one prompt that exist only in memory, judged case by case on chosen cases of
// its suite through the engine's cache and providers (optimize's engine).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/prompt/dataset.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/providers/provider.hpp>

namespace promptops::inline eval {

struct TrialOptions {
  // Datasets that judge instead of the prompt's [eval] dataset, as (path for messages, bytes): their
  // cases one file after the other. The prompt's assertions and metric still apply.
  std::vector<std::pair<std::string, std::string>> datasets;
  int repeat = 1;
  ProviderOptions provider_options;
};

// One case of a trial.
struct TrialCase {
  std::size_t index = 0;             // into Trials::cases()
  std::string output;                // the (first) answer; empty when there was none
  bool pass = false;                 // every sample passed every assertion
  double score = 0.0;                // mean assertion score over the samples
  std::vector<std::string> reasons;  // why assertions failed (first sample that failed)
  std::string error;                 // the call's failure when there was no answer
};

struct TrialResult {
  std::vector<TrialCase> cases;  // in the order they were asked for
  // The metrics over these cases (no key, no results file); the headline is the prompt's metric.
  EvalResult result;
  std::size_t real_calls = 0;  // answers from the provider
  std::size_t cache_hits = 0;  // answers from the cache
  bool interrupted = false;    // stopped before every case was answered: `result` is empty
};

// A reply to one request made outside a dataset (the reflection and reference models).
struct AskResult {
  std::optional<ChatResponse> response;  // nullopt when interrupted
  bool cached = false;
};

class Trials {
 public:
  // The prompt `name` as committed at `base`, the suite that judges it and the providers of base's
  // .promptops.toml. Throws NotFoundError for an unknown prompt, ConfigError as run_eval does (no
  // [eval], a bad dataset at file:line, bad assertions, an unknown provider).
  Trials(const git::Repository& repo, const git::Oid& base, const std::string& name, TrialOptions options,
         EvalServices& services);
  ~Trials();
  Trials(const Trials&) = delete;
  Trials& operator=(const Trials&) = delete;

  const Prompt& prompt() const;        // the version at base
  const ModelSpec& model() const;      // its effective model
  const std::string& metric() const;   // the headline metric
  const std::string& dataset() const;  // the judging dataset(s), for messages
  const std::vector<DatasetCase>& cases() const;
  // The model requests one sample of a case costs: 1 plus the model-graded assertions (llm-rubric,
  // similar) that judge it.
  std::size_t calls_per_sample(std::size_t index) const;
  int repeat() const;
  // Where each dataset's cases end in cases() (one entry per dataset, in order).
  const std::vector<std::size_t>& dataset_ends() const;
  // The model requests an evaluation of the prompt's own [eval] dataset costs (what `eval` of a
  // commit with this prompt would send when nothing is cached), also when other datasets judge.
  std::size_t own_dataset_calls() const;

  // "PROVIDER/NAME", or "NAME" on the prompt's provider, with the prompt's parameters; empty = the
  // prompt's model (ConfigError for an unknown provider).
  ModelSpec resolve_model(const std::string& spec) const;

  // What case `index` is judged against when its row has no expected value (reference outputs):
  // labels and the implicit `equals` follow it.
  void set_expected(std::size_t index, nlohmann::json expected);

  // Runs `prompt` (any version of it) on `model` over the cases at `indices`, answers from the cache
  // or the provider, many in flight. Throws ProviderError when the provider rejects the
  // credentials, ConfigError when a case cannot render.
  TrialResult run(const Prompt& prompt, const ModelSpec& model, const std::vector<std::size_t>& indices);

  // One request through the cache (the same key scheme as a case's answer, so a rerun is free).
  // `sample` tells repeats of the same request apart: sample n of a question is its own answer
  // (as a case's repeat index is), so asking again gets a fresh one, and the same n again on a
  // rerun. Throws ProviderError when it fails after retries.
  AskResult ask(const ModelSpec& model, std::vector<Message> messages, int sample = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace promptops::eval
