// SPDX-License-Identifier: MIT
// The engine's side of llm-rubric, similar and exec assertions, and the providers it has made.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <promptops/assertions.hpp>
#include <promptops/eval.hpp>

namespace promptops {

// Where a provider's answers come from, for cache keys: the kind and base URL, or for exec the
// command plus the SHA-1 of its program when that is a regular file (so editing the script asks
// again) that the user trusts us to read: inside the work tree, or anywhere when
// options.exec_trusted. Never the key or header values.
std::string provider_identity(const ProviderSpec& spec, const ProviderOptions& options);

// Makes providers on first use and answers the assertions that need a model or a process. Judge
// answers and embeddings are cached like model answers. Used on the engine's thread only.
class RunnerServices final : public AssertionServices {
 public:
  RunnerServices(EvalServices& services, const Config& providers_config, const ProviderOptions& options);

  // The provider for `spec`, made on first use (may throw ConfigError: a missing key, no trust).
  Provider& provider(const ProviderSpec& spec);
  // The provider and model of the case being scored: the judge's defaults.
  void set_current(const ProviderSpec* provider, const ModelSpec& model);

  AssertionResult llm_rubric(const Assertion& assertion, std::string_view rubric, std::string_view output,
                             const EvalContext& context) const override;
  AssertionResult similar(const Assertion& assertion, std::string_view reference, std::string_view output,
                          const EvalContext& context) const override;
  AssertionResult exec(const Assertion& assertion, std::string_view command, std::string_view output,
                       const EvalContext& context) const override;

 private:
  const ProviderSpec& named_provider(const Assertion& assertion) const;

  EvalServices& m_services;
  const Config& m_config;
  ProviderOptions m_options;
  std::map<std::string, std::unique_ptr<Provider>> m_providers;  // by provider name
  const ProviderSpec* m_current_provider = nullptr;
  ModelSpec m_current_model;
};

}  // namespace promptops
