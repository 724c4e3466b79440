// SPDX-License-Identifier: MIT
// The engine's side of llm-rubric, similar and exec assertions, and the providers it has made.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <promptops/eval/assertions.hpp>
#include <promptops/eval/eval.hpp>

namespace promptops::inline eval {

// Where a provider's answers come from, for cache keys: the kind and base URL, or for exec the
// command plus the SHA-1 of its program when that is a regular file (so editing the script asks
// again) that the user trusts us to read: inside the work tree, or anywhere when
// options.exec_trusted. Never the key or header values.
std::string provider_identity(const ProviderSpec& spec, const ProviderOptions& options);

// One call that an llm-rubric assertion needs: to which provider, its cache key, the request.
struct JudgeCall {
  const ProviderSpec* provider = nullptr;
  std::string key;
  ChatRequest request;
};

// A judge's answer (ok: its text) or why there is none (the call's failure message).
struct JudgeAnswer {
  bool ok = false;
  std::string text;
};

// Makes providers on first use and answers the assertions that need a model or a process. Judge
// answers and embeddings are cached like model answers. Used on the engine's thread only. The
// engine queues judge calls like answers (judge_call(), set_judged()), so that llm_rubric() finds
// its answer ready; it calls the judge itself only when nobody did.
class RunnerServices final : public AssertionServices {
 public:
  RunnerServices(EvalServices& services, const Config& providers_config, const ProviderOptions& options);

  // The provider for `spec`, made on first use (may throw ConfigError: a missing key, no trust).
  Provider& provider(const ProviderSpec& spec);
  // The provider and model of the case being scored: the judge's defaults.
  void set_current(const ProviderSpec* provider, const ModelSpec& model);

  // The call llm_rubric() makes for this assertion, rubric and output. Throws ConfigError as
  // llm_rubric() does (no provider, no model).
  JudgeCall judge_call(const Assertion& assertion, std::string_view rubric, std::string_view output) const;
  // The call judge() makes for a model-graded assertion's filled judge prompt.
  JudgeCall prompt_call(const Assertion& assertion, std::string_view prompt) const;
  // Whether the answer to judge call `key` is known: given to set_judged(), or cached (then it is
  // kept for llm_rubric()).
  bool judge_known(const std::string& key);
  // The answer to the judge call `key`, for llm_rubric() to read.
  void set_judged(const std::string& key, JudgeAnswer answer);
  void forget_judged(const std::string& key);

  AssertionResult llm_rubric(const Assertion& assertion, std::string_view rubric, std::string_view output,
                             const EvalContext& context) const override;
  AssertionResult similar(const Assertion& assertion, std::string_view reference, std::string_view output,
                          const EvalContext& context) const override;
  AssertionResult exec(const Assertion& assertion, std::string_view command, std::string_view output,
                       const EvalContext& context) const override;
  AssertionResult moderation(const Assertion& assertion, std::string_view text,
                             const EvalContext& context) const override;
  std::optional<std::string> judge(const Assertion& assertion, std::string_view prompt,
                                   std::string& failure) const override;

 private:
  JudgeCall judge_messages(const Assertion& assertion, std::string_view system, std::string user) const;
  std::optional<std::string> answer_of(const JudgeCall& call, std::string& failure) const;
  const ProviderSpec& named_provider(const Assertion& assertion) const;

  EvalServices& m_services;
  const Config& m_config;
  ProviderOptions m_options;
  std::map<std::string, std::unique_ptr<Provider>> m_providers;  // by provider name
  const ProviderSpec* m_current_provider = nullptr;
  const ModelSpec* m_current_model = nullptr;
  std::unordered_map<std::string, JudgeAnswer> m_judged;  // by judge key
};

}  // namespace promptops::eval
