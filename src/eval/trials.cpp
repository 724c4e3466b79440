// SPDX-License-Identifier: MIT
// Trials: the optimizer's view of one prompt's evaluation. A suite loaded once, then chosen cases
// run for candidate prompts and models, and single questions asked, all through the cache.
#include <promptops/eval/trials.hpp>

#include <atomic>
#include <map>

#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "answer_writer.hpp"
#include "job.hpp"
#include "plan.hpp"
#include "queue.hpp"
#include "score.hpp"
#include "services.hpp"
#include "suite.hpp"
#include <promptops/util/sha1.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

// One request for Provider::run.
class OneRequest final : public CallQueue {
 public:
  explicit OneRequest(ChatRequest request) : m_request(std::move(request)) {}
  std::optional<std::pair<std::uint64_t, ChatRequest>> next() override {
    if (m_sent) {
      return std::nullopt;
    }
    m_sent = true;
    return std::make_pair(std::uint64_t{1}, m_request);
  }
  void done(std::uint64_t /*id*/, ChatResult result) override { m_result = std::move(result); }
  const std::optional<ChatResult>& result() const { return m_result; }

 private:
  ChatRequest m_request;
  bool m_sent = false;
  std::optional<ChatResult> m_result;
};

}  // namespace

struct Trials::Impl {
  Impl(EvalServices& services_in, Config config_in, TrialOptions options_in)
      : services(services_in),
        config(std::move(config_in)),
        options(std::move(options_in)),
        runner_services(services, config, options.provider_options) {}

  const ProviderSpec& provider_of(const ModelSpec& spec) const {
    const auto it = config.providers.find(spec.provider);
    if (it == config.providers.end()) {
      throw ConfigError("model '" + model_label(spec) + "' names provider '" + spec.provider +
                            "', which .promptops.toml does not define",
                        "add [providers." + spec.provider + "] with kind and base_url to .promptops.toml");
    }
    return it->second;
  }
  const std::string& identity_of(const ProviderSpec& spec) {
    auto it = identities.find(spec.name);
    if (it == identities.end()) {
      it = identities.emplace(spec.name, provider_identity(spec, options.provider_options)).first;
    }
    return it->second;
  }

  EvalServices& services;
  Config config;
  TrialOptions options;
  RunnerServices runner_services;
  Prompt prompt;
  ModelSpec model;
  Suite suite;
  // The suite's cases read back once for cases(): the optimizer's datasets are small, and it
  // reads them over and over.
  std::vector<DatasetCase> cases;
  std::vector<std::size_t> dataset_ends;
  std::size_t own_dataset_calls = 0;
  std::map<std::string, std::string> identities;
  std::atomic<bool> local_stop{false};
  std::atomic<bool>& stop() { return services.stop != nullptr ? *services.stop : local_stop; }
};

Trials::Trials(const git::Repository& repo, const git::Oid& base, const std::string& name,
               TrialOptions options, EvalServices& services) {
  if (services.cache == nullptr) {
    throw Error("trials need a cache");
  }
  check_repeat(options.repeat);
  const std::unique_ptr<Snapshot> snapshot = commit_snapshot(repo, base);
  ParsedConfig parsed = load_config(*snapshot);
  throw_first_error(parsed.diagnostics);
  m_impl = std::make_unique<Impl>(services, std::move(parsed.config), std::move(options));
  Impl& impl = *m_impl;
  std::vector<std::string> names;
  const PromptFile* found = nullptr;
  const std::vector<PromptFile> files = find_prompts(*snapshot, impl.config);
  for (const PromptFile& file : files) {
    names.push_back(file.name);
    if (file.name == name) {
      found = &file;
    }
  }
  if (found == nullptr) {
    const std::string close = did_you_mean(name, names);
    throw NotFoundError(
        "no prompt named '" + name + "' at " + snapshot->label(),
        close.empty() ? "run 'git promptops list' to see the prompts" : "did you mean '" + close + "'?");
  }
  impl.prompt = load_prompt(*snapshot, *found);
  if (!impl.prompt.eval.present) {
    throw ConfigError(impl.prompt.path + ": prompt '" + name + "' has no [eval] section",
                      "add [eval] with dataset = \"evals/" + name + ".jsonl\" to " + impl.prompt.path);
  }
  impl.model = impl.prompt.effective_model(impl.config);
  if (impl.model.provider.empty() || impl.model.name.empty()) {
    throw ConfigError(impl.prompt.path + ": prompt '" + name + "' names no model" +
                          (impl.model.provider.empty() ? " provider" : ""),
                      "set [model] provider and name in the prompt, or [defaults.model] in .promptops.toml");
  }
  impl.provider_of(impl.model);
  std::unique_ptr<Suite> own = load_suite(*snapshot, impl.prompt);
  parse_cases(*own);
  for (std::size_t i = 0; i < own->cases.size(); ++i) {
    impl.own_dataset_calls += promptops::calls_per_sample(*own, i) * static_cast<std::size_t>(impl.options.repeat);
  }
  // The final evaluation runs the prompt's own dataset, so its cases must render too.
  std::vector<Diagnostic> unrenderable = check_case_variables(impl.prompt, own->cases, own->dataset, 0);
  if (impl.options.datasets.empty()) {
    impl.suite = std::move(*own);
    impl.dataset_ends.push_back(impl.suite.cases.size());
  } else {
    Suite& suite = impl.suite;
    set_assertions(suite, impl.prompt);
    suite.asserts = own->asserts;  // as load_suite() read them, with their judge prompts
    suite.judge_prompts = own->judge_prompts;
    std::vector<std::string> paths;
    std::string bytes;
    for (const auto& [path, text] : impl.options.datasets) {
      const std::size_t begin = suite.cases.size();
      add_cases(suite, path, text);
      const std::vector<Diagnostic> bad = check_case_variables(impl.prompt, suite.cases, path, begin);
      unrenderable.insert(unrenderable.end(), bad.begin(), bad.end());
      impl.dataset_ends.push_back(suite.cases.size());
      paths.push_back(path);
      bytes += util::sha1_hex(text);
    }
    suite.dataset = util::join(paths, " + ");
    suite.dataset_sha = util::sha1_hex(bytes);
    find_labels(suite);
    suite.parsed = true;
  }
  throw_case_errors(unrenderable);
  impl.cases.reserve(impl.suite.cases.size());
  for (std::size_t i = 0; i < impl.suite.cases.size(); ++i) {
    impl.cases.push_back(impl.suite.cases[i]);
  }
  if (!impl.options.provider_options.exec_trusted) {
    require_no_exec(impl.suite, impl.prompt);
  }
}

Trials::~Trials() = default;

const Prompt& Trials::prompt() const { return m_impl->prompt; }
const ModelSpec& Trials::model() const { return m_impl->model; }
const std::string& Trials::metric() const { return m_impl->suite.metric; }
const std::string& Trials::dataset() const { return m_impl->suite.dataset; }
const std::vector<DatasetCase>& Trials::cases() const { return m_impl->cases; }
int Trials::repeat() const { return m_impl->options.repeat; }

std::size_t Trials::calls_per_sample(std::size_t index) const {
  return promptops::calls_per_sample(m_impl->suite, index);
}
const std::vector<std::size_t>& Trials::dataset_ends() const { return m_impl->dataset_ends; }
std::size_t Trials::own_dataset_calls() const { return m_impl->own_dataset_calls; }

ModelSpec Trials::resolve_model(const std::string& spec) const {
  ModelSpec model = m_impl->model;
  if (!spec.empty()) {
    override_model(model, spec, m_impl->config, m_impl->config);
  }
  m_impl->provider_of(model);
  return model;
}

void Trials::set_expected(std::size_t index, json expected) {
  m_impl->cases.at(index).expected = expected;
  m_impl->suite.cases.set_expected(index, expected);
  find_labels(m_impl->suite);
}

TrialResult Trials::run(const Prompt& prompt, const ModelSpec& model,
                        const std::vector<std::size_t>& indices) {
  Impl& impl = *m_impl;
  TrialResult out;
  if (indices.empty()) {
    return out;
  }
  const ProviderSpec& provider = impl.provider_of(model);
  std::vector<json> records;
  std::optional<EvalResult> result;
  Job job;
  job.prompt = prompt;
  job.model = model;
  job.provider = &provider;
  job.identity = impl.identity_of(provider);
  job.suite = &impl.suite;
  job.cases = indices;
  job.total = indices.size() * static_cast<std::size_t>(impl.options.repeat);
  job.tallies.resize(indices.size());
  job.records = &records;
  job.result = &result;
  EvalReport report;
  std::atomic<bool>& stop = impl.stop();
  AnswerWriter writer(*impl.services.cache);
  RunContext run{impl.services, stop, report, impl.config, impl.runner_services, writer, impl.options.repeat,
                 job.total};
  EvalQueue queue({&job}, run);
  queue.run();
  writer_close_on_fatal(writer, queue, stop);
  writer.close();
  out.real_calls = report.real_calls;
  out.cache_hits = report.cache_hits;
  out.interrupted = !result.has_value();
  if (result) {
    out.result = std::move(*result);
  }
  std::map<std::size_t, TrialCase> by_index;
  for (const json& record : records) {
    const auto index = record.at("index").get<std::size_t>();
    auto [it, first] = by_index.try_emplace(index);
    TrialCase& c = it->second;
    if (first) {
      c.index = index;
      c.pass = true;
    }
    if (record.contains("error")) {
      c.error = record.at("error").get<std::string>();
      c.pass = false;
      continue;
    }
    if (c.output.empty()) {
      c.output = record.at("output").get<std::string>();
    }
    if (!record.at("pass").get<bool>() && c.pass) {
      c.pass = false;
      c.reasons = record.at("reasons").get<std::vector<std::string>>();
    }
  }
  for (std::size_t position = 0; position < indices.size(); ++position) {
    TrialCase c = by_index.count(indices[position]) != 0 ? by_index.at(indices[position]) : TrialCase{};
    c.index = indices[position];
    if (out.result.scores.size() == indices.size()) {
      c.score = out.result.scores[position];
    }
    out.cases.push_back(std::move(c));
  }
  return out;
}

AskResult Trials::ask(const ModelSpec& model, std::vector<Message> messages, int sample) {
  Impl& impl = *m_impl;
  const ProviderSpec& provider = impl.provider_of(model);
  ChatRequest request;
  request.messages = std::move(messages);
  request.model = model.name;
  request.params = model.params;
  const std::string key = response_key(impl.identity_of(provider), request, request.params.dump(), sample);
  AskResult out;
  if (const auto cached = impl.services.cache->get("response", key)) {
    if (auto response = response_from_json(*cached)) {
      out.response = std::move(response);
      out.cached = true;
      return out;
    }
  }
  std::atomic<bool>& stop = impl.stop();
  if (stop.load()) {
    return out;
  }
  OneRequest queue(std::move(request));
  impl.runner_services.provider(provider).run(queue, stop);
  const std::optional<ChatResult>& result = queue.result();
  if (!result || result->error == CallError::cancelled) {
    return out;
  }
  if (!result->ok()) {
    if (result->error == CallError::auth) {
      stop = true;
    }
    throw ProviderError(result->message, "answers received so far are cached; rerun to resume");
  }
  const ChatResponse& response = *result->response;
  if (impl.services.cache->enabled()) {
    impl.services.cache->put("response", key, response_to_json(response));
  }
  out.response = response;
  return out;
}

}  // namespace promptops::eval
