// SPDX-License-Identifier: MIT
// The call and scoring queue: answers through the cache and the provider, judge calls queued like
// answers, each sample scored once its answer and judges are in.
#include "queue.hpp"

#include "model_graded.hpp"

#include <algorithm>
#include <unordered_set>

#include <promptops/util/error.hpp>

#include "score.hpp"
#include <promptops/util/trace.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

// Under --no-cache nothing is looked up, but identical requests in flight are still sent once:
// the same parts as response_key(), length-prefixed, without the SHA-1.
std::string coalescing_key(const std::string& identity, const ChatRequest& request, const std::string& params_text,
                           int repeat) {
  std::string key;
  const auto add = [&key](std::string_view part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  };
  add(identity);
  add(request.model);
  add(params_text);
  add(std::to_string(repeat));
  for (const Message& message : request.messages) {
    add(message.role);
    add(message.content);
  }
  return key;
}

ConfigError no_price_error(const std::string& model) {
  return ConfigError("model '" + model + "' has no price, and a cost budget needs the price of every model it asks",
                     "add [prices.\"" + model + "\"] with input and output (per million tokens) to .promptops.toml");
}

}  // namespace

std::string response_key(const std::string& identity, const ChatRequest& request, const std::string& params_text,
                         int repeat) {
  const std::string repeat_text = std::to_string(repeat);
  std::vector<std::string_view> parts{"response-1", identity, request.model, params_text, repeat_text};
  parts.reserve(parts.size() + 2 * request.messages.size());
  for (const Message& message : request.messages) {
    parts.push_back(message.role);
    parts.push_back(message.content);
  }
  return content_key(parts);
}

std::optional<ChatResponse> response_from_json(const json& value) {
  try {
    ChatResponse response;
    response.text = value.at("text").get<std::string>();
    response.tokens_in = value.at("tokens_in").get<std::int64_t>();
    response.tokens_out = value.at("tokens_out").get<std::int64_t>();
    response.latency_ms = value.at("latency_ms").get<double>();
    return response;
  } catch (const json::exception&) {
    return std::nullopt;  // an entry from another version: ask again
  }
}

json response_to_json(const ChatResponse& response) {
  return json{{"text", response.text},
              {"tokens_in", response.tokens_in},
              {"tokens_out", response.tokens_out},
              {"latency_ms", response.latency_ms}};
}

EvalQueue::EvalQueue(std::vector<Job*> jobs, RunContext& run) : m_jobs(std::move(jobs)), m_run(run) {}

void EvalQueue::run() {
  if (m_jobs.empty()) {
    return;
  }
  m_running = m_jobs.front()->provider;
  m_run.assertion_services.provider(*m_running).run(*this, m_run.stop);
  // A provider stops asking once next() has said "no more"; judge calls queued after that, and
  // those for other providers, are sent by a run of their own.
  m_judges_only = true;
  while (!m_run.stop.load() && !m_judge_calls.empty() && !budget_spent()) {
    m_running = m_judge_providers.at(m_judge_calls.begin()->first);
    m_run.assertion_services.provider(*m_running).run(*this, m_run.stop);
  }
}

void EvalQueue::rethrow_fatal() const {
  if (m_fatal) {
    std::rethrow_exception(m_fatal);
  }
}

std::optional<std::pair<std::uint64_t, ChatRequest>> EvalQueue::next() {
  if (budget_spent()) {
    drain_without_calls();
    return std::nullopt;
  }
  std::optional<std::pair<std::uint64_t, ChatRequest>> request = next_judge_call();
  if (!request && !m_judges_only) {
    request = next_answer();
  }
  if (request && !fits_budget(request->first, request->second)) {
    drop(request->first);
    if (!m_fatal) {
      m_run.report.budget_reached = true;
      m_run.report.cost_reached = true;
      drain_without_calls();
    }
    return std::nullopt;
  }
  m_run.sent += request ? 1 : 0;
  return request;
}

bool EvalQueue::budget_spent() const {
  return (m_run.max_calls > 0 && m_run.sent >= m_run.max_calls) || m_run.report.cost_reached;
}

// Under a cost budget, whether `request` fits what is left: the spent cost, the estimates of the
// requests in flight and its own (input by estimated_tokens_in(), output at max_tokens or the
// longest answer so far). A model without a price stops the run with a ConfigError.
bool EvalQueue::fits_budget(std::uint64_t id, const ChatRequest& request) {
  if (m_run.max_cost <= 0.0) {
    return true;
  }
  if (m_run.config.prices.find(request.model) == m_run.config.prices.end()) {
    m_fatal = std::make_exception_ptr(no_price_error(request.model));
    m_run.stop = true;
    return false;
  }
  const double estimate = call_cost(m_run.config, request.model, estimated_tokens_in(request),
                                    max_tokens_of(request).value_or(m_run.longest_out));
  if (m_run.report.spent + m_run.in_flight_cost + estimate > m_run.max_cost) {
    return false;
  }
  m_in_flight.at(id).estimate = estimate;
  m_run.in_flight_cost += estimate;
  return true;
}

// A request that is not sent: the samples waiting for it stay unfinished.
void EvalQueue::drop(std::uint64_t id) {
  const auto it = m_in_flight.find(id);
  if (!it->second.judge) {
    m_waiting_by_key.erase(it->second.key);
  }
  m_in_flight.erase(it);
}

// What an ended call cost: its estimate leaves the budget's in-flight sum, its price by the
// tokens it used joins what was spent.
void EvalQueue::settle_cost(const InFlight& call, const ChatResult& result) {
  m_run.in_flight_cost -= call.estimate;
  if (result.ok()) {
    const ChatResponse& response = *result.response;
    m_run.report.spent += call_cost(m_run.config, call.model, response.tokens_in, response.tokens_out);
    m_run.longest_out = std::max(m_run.longest_out, response.tokens_out);
  }
}

// Past --max-calls: the cases whose answers are cached are still scored; every request that
// would be sent is dropped instead (its samples stay unfinished) and the report says so.
void EvalQueue::drain_without_calls() {
  if (!m_judges_only) {
    while (const auto request = next_answer()) {
      const auto it = m_in_flight.find(request->first);
      m_waiting_by_key.erase(it->second.key);
      m_in_flight.erase(it);
      m_run.report.budget_reached = true;
    }
  }
  m_run.report.budget_reached = m_run.report.budget_reached || !m_judge_calls.empty();
}

std::optional<std::pair<std::uint64_t, ChatRequest>> EvalQueue::next_judge_call() {
  const auto it = m_running == nullptr ? m_judge_calls.end() : m_judge_calls.find(m_running->name);
  if (it == m_judge_calls.end() || m_run.stop.load()) {
    return std::nullopt;
  }
  JudgeCall call = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) {
    m_judge_calls.erase(it);
  }
  const std::uint64_t id = m_next_id++;
  m_in_flight[id] = InFlight{std::move(call.key), {}, true, call.request.model, 0.0};
  return std::make_pair(id, std::move(call.request));
}

std::optional<std::pair<std::uint64_t, ChatRequest>> EvalQueue::next_answer() {
  const bool caching = m_run.services.cache->enabled();
  while (!m_run.stop.load()) {
    if (m_job >= m_jobs.size()) {
      return std::nullopt;
    }
    Job& job = *m_jobs[m_job];
    const std::size_t position = m_case;
    const int repeat = m_repeat_index;
    if (++m_repeat_index >= m_run.repeat) {
      m_repeat_index = 0;
      if (++m_case >= job.case_count()) {
        m_case = 0;
        ++m_job;
      }
    }
    std::optional<ChatRequest> request = render(job, job.suite->cases[job.case_index(position)]);
    if (!request) {
      return std::nullopt;
    }
    const Sample sample{&job, position, repeat};
    std::string key = caching ? response_key(job.identity, *request, job.params_text, repeat)
                              : coalescing_key(job.identity, *request, job.params_text, repeat);
    if (caching) {
      if (const auto cached = m_run.services.cache->get("response", key)) {
        if (const auto response = response_from_json(*cached)) {
          ++m_run.report.cache_hits;
          score_when_judged(sample, *response, false);
          continue;
        }
      }
    }
    if (const auto it = m_waiting_by_key.find(key); it != m_waiting_by_key.end()) {
      m_in_flight[it->second].samples.push_back(sample);
      continue;
    }
    const std::uint64_t id = m_next_id++;
    m_waiting_by_key.emplace(key, id);
    m_in_flight[id] = InFlight{std::move(key), {sample}, false, request->model, 0.0};
    return std::make_pair(id, std::move(*request));
  }
  return std::nullopt;
}

// The request of one case, its templates parsed once per job; nullopt (and the run stopped) when
// the case cannot render.
std::optional<ChatRequest> EvalQueue::render(const Job& job, const DatasetCase& c) {
  try {
    return render_request(const_cast<Job&>(job), c);
  } catch (const Error& e) {
    m_fatal = std::make_exception_ptr(ConfigError(job.suite->dataset + ":" + std::to_string(c.line) + ": case '" +
                                                      c.id + "' cannot render prompt '" + job.prompt.name +
                                                      "': " + e.what(),
                                                  e.hint(), e.remedy()));
    m_run.stop = true;
    return std::nullopt;
  }
}

ChatRequest render_request(Job& job, const DatasetCase& c) {
  if (!job.renderer) {
    job.renderer = std::make_unique<PromptRenderer>(job.prompt);
    job.params_text = job.model.params.dump();
  }
  ChatRequest request;
  request.messages = job.renderer->render(c.vars);
  request.model = job.model.name;
  request.params = job.model.params;
  return request;
}

CostEstimate estimate_cost(const std::vector<Job*>& jobs, const RunContext& run) {
  CostEstimate estimate;
  std::unordered_set<std::string> keys;  // identical requests are sent once
  const ResultCache& cache = *run.services.cache;
  for (Job* job : jobs) {
    if (run.config.prices.find(job->model.name) == run.config.prices.end()) {
      throw no_price_error(job->model.name);
    }
    for (std::size_t position = 0; position < job->case_count(); ++position) {
      const ChatRequest request = render_request(*job, job->suite->cases[job->case_index(position)]);
      for (int repeat = 0; repeat < run.repeat; ++repeat) {
        std::string key = response_key(job->identity, request, job->params_text, repeat);
        if ((cache.enabled() && cache.get("response", key)) || !keys.insert(std::move(key)).second) {
          continue;
        }
        const std::int64_t tokens_in = estimated_tokens_in(request);
        const std::optional<std::int64_t> tokens_out = max_tokens_of(request);
        ++estimate.requests;
        estimate.tokens_in += tokens_in;
        estimate.tokens_out += tokens_out.value_or(0);
        estimate.unbounded += tokens_out ? 0 : 1;
        estimate.cost += call_cost(run.config, request.model, tokens_in, tokens_out.value_or(0));
      }
    }
  }
  return estimate;
}

void EvalQueue::done(std::uint64_t id, ChatResult result) {
  const auto it = m_in_flight.find(id);
  if (it == m_in_flight.end()) {
    return;
  }
  InFlight call = std::move(it->second);
  m_in_flight.erase(it);
  settle_cost(call, result);
  if (call.judge) {
    judged(call, result);
    return;
  }
  m_waiting_by_key.erase(call.key);
  answered(std::move(call), result);
}

void EvalQueue::answered(InFlight call, const ChatResult& result) {
  if (result.ok()) {
    ++m_run.report.real_calls;
    const ChatResponse& response = *result.response;
    if (m_run.services.cache->enabled()) {
      m_run.writer.put(std::move(call.key), response_to_json(response));
    }
    for (const Sample& sample : call.samples) {
      score_when_judged(sample, response, true);
    }
    return;
  }
  if (result.error == CallError::cancelled) {
    return;
  }
  if (result.error == CallError::auth) {
    if (!m_fatal) {
      m_fatal = std::make_exception_ptr(
          ProviderError(result.message, "the answers received so far are cached; rerun to resume"));
    }
    m_run.stop = true;
    return;
  }
  failed(call, result);
}

// A call that got no answer: every sample waiting for it is an error, and the provider's first
// cause is kept for the report.
void EvalQueue::failed(const InFlight& call, const ChatResult& result) {
  if (!call.samples.empty()) {
    std::string& cause = m_causes[call.samples.front().job->provider->name];
    if (cause.empty()) {
      cause = !result.cause.empty() ? result.cause : result.message;
    }
  }
  for (const Sample& sample : call.samples) {
    finish(sample, nullptr, false, std::string(call_error_name(result.error)) + ": " + result.message);
  }
}

void EvalQueue::judged(const InFlight& call, const ChatResult& result) {
  std::vector<std::uint64_t> waiters;
  if (const auto it = m_judge_waiters.find(call.key); it != m_judge_waiters.end()) {
    waiters = std::move(it->second);
    m_judge_waiters.erase(it);
  }
  if (result.error == CallError::cancelled) {
    return;  // its samples stay unscored: the run was interrupted
  }
  if (result.error == CallError::auth) {
    if (!m_fatal) {
      m_fatal = std::make_exception_ptr(ProviderError(result.message));
    }
    m_run.stop = true;
    return;
  }
  if (result.ok() && m_run.services.cache->enabled()) {
    m_run.writer.put(call.key, response_to_json(*result.response));
  }
  m_run.assertion_services.set_judged(call.key,
                                      JudgeAnswer{result.ok(), result.ok() ? result.response->text : result.message});
  m_judge_forget[call.key] = !result.ok() || !m_run.services.cache->enabled();
  for (const std::uint64_t waiting_id : waiters) {
    const auto it = m_waiting.find(waiting_id);
    if (it == m_waiting.end() || --it->second.judges > 0) {
      continue;
    }
    Waiting waiting = std::move(it->second);
    m_waiting.erase(it);
    finish(waiting.sample, &waiting.response, waiting.real_call, {});
    release_judges(waiting.keys);
  }
}

// A failed judge answer, or any under --no-cache, is asked again by a later sample, as a judge
// called for each sample would be; a cached one stays known for the run.
void EvalQueue::release_judges(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    const auto ref = m_judge_refs.find(key);
    if (ref == m_judge_refs.end() || --ref->second > 0) {
      continue;
    }
    m_judge_refs.erase(ref);
    if (const auto forget = m_judge_forget.find(key); forget != m_judge_forget.end()) {
      if (forget->second) {
        m_run.assertion_services.forget_judged(key);
      }
      m_judge_forget.erase(forget);
    }
  }
}

// The judge calls the llm-rubric and model-graded assertions of `sample` make for `output`, each
// once. A rubric or judge prompt that cannot be filled, or names no provider, is left to
// evaluate(), which reports it when scored.
std::vector<JudgeCall> EvalQueue::judge_calls(const Sample& sample, std::string_view output) {
  std::vector<JudgeCall> calls;
  Job& job = *sample.job;
  const std::size_t case_index = job.case_index(sample.position);
  std::optional<EvalContext> context;
  std::string input;
  const auto consider = [&](const Assertion& assertion) {
    if (assertion.is_set || (assertion.type != AssertionType::llm_rubric && !is_model_graded(assertion.type))) {
      return;
    }
    try {
      if (!context) {
        context = judge_context(job, case_index, input);
      }
      if (!missing_variable(assertion, context->vars).empty()) {
        return;
      }
      std::optional<JudgeCall> call = judge_call_for(assertion, output, *context);
      if (call && std::none_of(calls.begin(), calls.end(), [&](const JudgeCall& other) { return other.key == call->key; })) {
        calls.push_back(std::move(*call));
      }
    } catch (const Error&) {
    }
  };
  for (const Assertion& assertion : job.suite->asserts) {
    for_each_leaf(assertion, consider);
  }
  for (const Assertion& assertion : job.suite->case_asserts[case_index]) {
    for_each_leaf(assertion, consider);
  }
  return calls;
}

// What a judge prompt is filled from: the case's vars, and its rendered input when an assertion
// reads it (kept in `input`).
EvalContext EvalQueue::judge_context(Job& job, std::size_t case_index, std::string& input) {
  const DatasetCase& c = job.suite->cases[case_index];
  EvalContext context;
  context.vars = make_template_context(c.vars, c.expected);
  if (needs_input(*job.suite, case_index)) {
    if (!job.renderer) {
      job.renderer = std::make_unique<PromptRenderer>(job.prompt);
    }
    input = input_text(job.renderer->render(c.vars));
    context.input = input;
  }
  return context;
}

// The judge call of one assertion, or none when its prompt cannot be filled.
std::optional<JudgeCall> EvalQueue::judge_call_for(const Assertion& assertion, std::string_view output,
                                                   const EvalContext& context) {
  if (assertion.type == AssertionType::llm_rubric) {
    const std::string rubric = assertion.value.is_string()
                                   ? render_template(assertion.value.get<std::string>(), context.vars)
                                   : assertion.value.dump();
    return m_run.assertion_services.judge_call(assertion, rubric, output);
  }
  const FilledPrompt prompt = fill_judge_prompt(assertion, output, context);
  if (!prompt.error.empty()) {
    return std::nullopt;
  }
  return m_run.assertion_services.prompt_call(assertion, prompt.text);
}

void EvalQueue::score_when_judged(const Sample& sample, const ChatResponse& response, bool real_call) {
  m_run.assertion_services.set_current(sample.job->provider, sample.job->model);
  std::vector<JudgeCall> calls = judge_calls(sample, response.text);
  if (calls.empty()) {
    finish(sample, &response, real_call, {});
    return;
  }
  Waiting waiting{sample, response, real_call, 0, {}};
  for (JudgeCall& call : calls) {
    waiting.keys.push_back(call.key);
    ++m_judge_refs[call.key];
    if (m_run.assertion_services.judge_known(call.key)) {
      continue;
    }
    ++waiting.judges;
    std::vector<std::uint64_t>& waiters = m_judge_waiters[call.key];
    waiters.push_back(m_next_waiting);
    if (waiters.size() == 1) {  // the first to need it sends it
      m_judge_providers[call.provider->name] = call.provider;
      m_judge_calls[call.provider->name].push_back(std::move(call));
    }
  }
  if (waiting.judges == 0) {
    finish(sample, &response, real_call, {});
    release_judges(waiting.keys);
    return;
  }
  m_waiting.emplace(m_next_waiting++, std::move(waiting));
}

bool EvalQueue::keeps_records(const Job& job) const {
  return job.records != nullptr || !m_run.services.results_dir.empty();
}

void EvalQueue::finish(const Sample& sample, const ChatResponse* response, bool real_call, const std::string& error) {
  Job& job = *sample.job;
  const std::size_t case_index = job.case_index(sample.position);
  CaseTally& tally = job.tallies[sample.position];
  const DatasetCase c = job.suite->cases[case_index];  // read back once for the record and the score
  std::optional<json> record;
  if (keeps_records(job)) {
    record = case_record(c, case_index, sample.repeat);
  }
  json* out = record ? &*record : nullptr;
  if (response == nullptr) {
    record_error(job, tally, out, error);
  } else {
    score_answer(job, case_index, c, tally, *response, real_call, out);
  }
  ++tally.done;
  if (record) {
    if (job.records != nullptr) {
      job.records->push_back(std::move(*record));
    } else {
      write_record(job, *record);
    }
  }
  ++job.done;
  ++m_run.done;
  if (job.done == job.total) {
    finalize(job);
  }
  report_progress();
}

void EvalQueue::report_progress() {
  if (!m_run.services.progress) {
    return;
  }
  EvalProgress progress;
  progress.done = m_run.done;
  progress.total = m_run.total;
  progress.cache_hits = m_run.report.cache_hits;
  progress.real_calls = m_run.report.real_calls;
  progress.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_run.start).count();
  m_run.services.progress(progress);
}

// Each named metric's score of one sample, into its case's running sums (`tally` is that case's).
void EvalQueue::add_named_tallies(Job& job, const CaseTally& tally,
                                  const std::vector<std::pair<std::string, double>>& named) {
  const auto position = static_cast<std::size_t>(&tally - job.tallies.data());
  for (const auto& [name, score] : named) {
    auto& per_case = job.named_tallies[name];
    per_case.resize(job.tallies.size());
    per_case[position].first += score;
    ++per_case[position].second;
  }
}

// A sample without a judged answer: counted in errors and left out of every metric.
void EvalQueue::record_error(Job& job, CaseTally& tally, json* record, const std::string& error) {
  ++tally.errors;
  ++job.errors;
  ++m_run.report.errors;
  if (record != nullptr) {
    (*record)["error"] = error;
    (*record)["pass"] = false;
    (*record)["score"] = 0.0;
  }
}

// Scores one answer with the suite's and the case's assertions, into the metrics and `record`.
void EvalQueue::score_answer(Job& job, std::size_t case_index, const DatasetCase& c, CaseTally& tally,
                             const ChatResponse& response, bool real_call, json* record) {
  CaseOutcome outcome;
  outcome.tokens_in = response.tokens_in;
  outcome.tokens_out = response.tokens_out;
  outcome.cost = call_cost(m_run.config, job.model.name, response.tokens_in, response.tokens_out);
  outcome.latency_ms = response.latency_ms;
  outcome.had_real_call = real_call;
  EvalContext context;
  context.vars = make_template_context(c.vars, c.expected);
  if (m_run.config.prices.count(job.model.name) != 0) {
    context.cost = outcome.cost;  // unknown otherwise: a cost assertion says so
  }
  context.latency_ms = response.latency_ms;
  context.services = &m_run.assertion_services;
  context.pass_reasons = false;  // apply_assertions() keeps the reasons of failures only
  std::string input;  // rendered again only for a guardrail that judges it
  if (needs_input(*job.suite, case_index)) {
    if (!job.renderer) {
      job.renderer = std::make_unique<PromptRenderer>(job.prompt);
    }
    input = input_text(job.renderer->render(c.vars));
    context.input = input;
  }
  m_run.assertion_services.set_current(job.provider, job.model);
  Verdict verdict = apply_assertions(*job.suite, case_index, response.text, context, c.threshold);
  if (!verdict.error.empty()) {
    // The output could not be judged (a regex limit, say): an error like a missing answer.
    if (record != nullptr) {
      (*record)["output"] = response.text;
      (*record)["reasons"] = std::move(verdict.reasons);
    }
    record_error(job, tally, record, verdict.error);
    if (m_run.report.unjudged++ == 0) {
      m_run.report.unjudged_reason = verdict.error;
    }
    return;
  }
  outcome.pass = verdict.pass;
  outcome.score = verdict.score();
  outcome.named = verdict.named;
  add_named_tallies(job, tally, verdict.named);
  set_labels(outcome, *job.suite, c, response.text, verdict.label_form);
  job.metrics.add(outcome);
  (verdict.pass ? tally.passes : tally.fails) += 1;
  tally.score_sum += outcome.score;
  if (record != nullptr) {
    json& r = *record;
    r["output"] = response.text;
    r["pass"] = verdict.pass;
    r["score"] = outcome.score;
    r["reasons"] = std::move(verdict.reasons);
    r["tokens_in"] = response.tokens_in;
    r["tokens_out"] = response.tokens_out;
    r["latency_ms"] = response.latency_ms;
    r["cost"] = outcome.cost;
    r["cached"] = !real_call;
  }
}

void EvalQueue::write_record(Job& job, const json& record) {
  if (m_run.services.results_dir.empty()) {
    return;
  }
  job.results.append(m_run.services.results_dir, job.key, record.dump(-1, ' ', false, json::error_handler_t::replace));
}

void EvalQueue::finalize(Job& job) {
  EvalResult result = summarize(job, m_run.repeat);
  job.tallies = {};
  if (job.result != nullptr) {  // a trial: in memory only
    *job.result = std::move(result);
    return;
  }
  result.results_file = job.results.finish();
  if (job.errors == 0 && m_run.services.cache->enabled()) {  // --no-cache: put() would drop it
    m_run.services.cache->put("eval", job.key, result.to_json());
  }
  PO_TRACE("eval " + job.prompt.name + " " + job.key.substr(0, 12) + ": " + result.metric + " " +
           std::to_string(result.value));
  m_run.report.results[job.key] = std::move(result);
}

void writer_close_on_fatal(AnswerWriter& writer, const EvalQueue& queue, std::atomic<bool>& stop) {
  try {
    queue.rethrow_fatal();
  } catch (...) {
    writer.close();
    stop = false;
    throw;
  }
}

}  // namespace promptops::eval
