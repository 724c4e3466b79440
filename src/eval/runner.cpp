// SPDX-License-Identifier: MIT
// The evaluation engine: plan (targets x prompts -> content-keyed evaluations), then stream every
// case through the cache and the provider, score it and aggregate, keeping answers as they come.
#include <promptops/eval.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include <promptops/assertions.hpp>
#include <promptops/dataset.hpp>
#include <promptops/error.hpp>
#include <promptops/notes.hpp>
#include <promptops/registry.hpp>
#include <promptops/trials.hpp>

#include "eval/services.hpp"
#include "eval/unicode.hpp"
#include "util/sha1.hpp"
#include "util/strings.hpp"
#include "util/trace.hpp"

namespace promptops {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string> k_metric_names{"pass_rate", "accuracy", "macro_f1", "mean_score"};
constexpr std::size_t k_max_label_length = 100;

// The dataset and assertions that judge a prompt.
constexpr std::size_t k_max_labels = 50;
constexpr const char* k_other_label = "(other)";

struct Suite {
  std::size_t from = 0;  // target index
  std::string prompt;    // whose [eval] it is, for messages
  std::string dataset;
  std::string dataset_sha;
  std::string text;  // the dataset's bytes until parse_cases() (a cached result never parses)
  bool parsed = false;
  std::vector<DatasetCase> cases;
  // The distinct expected labels when every case expects a short one-line string and there are
  // at most k_max_labels of them: then the suite is a classification and gets label metrics.
  std::set<std::string> labels;
  std::vector<Assertion> asserts;                    // the prompt's [eval] assert
  std::vector<std::vector<Assertion>> case_asserts;  // each case's own "assert"
  json asserts_json;
  std::string metric;
};

struct Target {
  std::unique_ptr<Snapshot> snapshot;
  Config config;
  std::map<std::string, PromptFile> files;  // by prompt name
};

// What one case accumulated over its repeats.
struct CaseTally {
  std::uint16_t passes = 0;
  std::uint16_t fails = 0;
  std::uint16_t errors = 0;
  std::uint16_t done = 0;
  double score_sum = 0.0;
};

// One evaluation to compute.
struct Job {
  std::string key;
  Prompt prompt;
  ModelSpec model;
  const ProviderSpec* provider = nullptr;
  std::string identity;
  const Suite* suite = nullptr;
  // Which of the suite's cases run, by index, in this order; empty = all of them.
  std::vector<std::size_t> cases;
  std::size_t total = 0;  // samples
  std::size_t done = 0;
  std::vector<CaseTally> tallies;               // by position in the cases run
  std::vector<json>* records = nullptr;         // also keeps each case record here (trials)
  std::optional<EvalResult>* result = nullptr;  // where finalize() puts the result; null = the report

  std::size_t case_count() const { return cases.empty() ? suite->cases.size() : cases.size(); }
  std::size_t case_index(std::size_t position) const { return cases.empty() ? position : cases[position]; }
  MetricsAccumulator metrics;
  std::size_t errors = 0;
  std::FILE* results = nullptr;
  fs::path results_path;
};

std::string first_error(const std::vector<Diagnostic>& diagnostics, std::string* hint) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::error) {
      *hint = d.hint;
      return d.located_message();
    }
  }
  return {};
}

void throw_first_error(const std::vector<Diagnostic>& diagnostics) {
  std::string hint;
  const std::string message = first_error(diagnostics, &hint);
  if (!message.empty()) {
    throw ConfigError(message, hint);
  }
}

// What decides the rendered messages: the messages (or template) and the variables' defaults.
std::string prompt_content(const Prompt& prompt) {
  json messages = json::array();
  for (const Message& message : prompt.messages) {
    messages.push_back({message.role, message.content});
  }
  json vars = json::object();
  for (const VarSpec& var : prompt.vars) {
    vars[var.name] = var.default_value ? json(*var.default_value) : json(nullptr);
  }
  return json{{"messages", messages}, {"vars", vars}}.dump();
}

std::string model_label(const ModelSpec& model) { return model.provider + "/" + model.name; }

// Finds the suite's labels: the distinct expected values when every case expects a short one-line
// string and there are at most k_max_labels of them.
void find_labels(Suite& suite) {
  suite.labels.clear();
  for (const DatasetCase& c : suite.cases) {
    if (!c.expected.is_string()) {
      suite.labels.clear();
      return;
    }
    const std::string& expected = c.expected.get_ref<const std::string&>();
    if (expected.size() > k_max_label_length || expected.find('\n') != std::string::npos) {
      suite.labels.clear();
      return;
    }
    suite.labels.insert(expected);
    if (suite.labels.size() > k_max_labels) {
      suite.labels.clear();
      return;
    }
  }
}

// An error for each variable that an assertion uses and a case does not define (which would
// render as nothing, so that `contains "{{missing}}"` passed every output). The prompt's
// assertions are reported at the first case that lacks the variable, with a count of the others.
std::vector<Diagnostic> undefined_variables(const std::vector<Assertion>& prompt_asserts,
                                            const std::vector<DatasetCase>& cases,
                                            const std::vector<std::vector<Assertion>>& case_asserts,
                                            const std::string& dataset) {
  std::vector<Diagnostic> out;
  const auto report = [&](const DatasetCase& c, const Assertion& assertion, const std::string& name,
                          std::size_t others) {
    const bool own = assertion.where.file == dataset && assertion.where.line == c.line;
    std::string message = "case '" + c.id + "' does not define variable '" + name + "' used by " +
                          (own ? "its own assertion" : "the assertion at " + assertion.where.format());
    if (others > 0) {
      message += " (nor do " + std::to_string(others) + " other cases)";
    }
    out.push_back(Diagnostic{Severity::error, Location{dataset, c.line, 0}, "undefined-variable", message,
                             "add \"" + name + "\" to the case's vars, or remove {{" + name + "}} from the assertion"});
  };
  for (const Assertion& assertion : prompt_asserts) {
    for (const std::string& name : assertion.variables) {
      const DatasetCase* first = nullptr;
      std::size_t others = 0;
      for (const DatasetCase& c : cases) {
        const bool defined = name == "expected" ? !c.expected.is_null() || (c.vars.is_object() && c.vars.contains(name))
                                                : c.vars.is_object() && c.vars.contains(name);
        if (defined) {
          continue;
        }
        if (first == nullptr) {
          first = &c;
        } else {
          ++others;
        }
      }
      if (first != nullptr) {
        report(*first, assertion, name, others);
      }
    }
  }
  for (std::size_t i = 0; i < cases.size() && i < case_asserts.size(); ++i) {
    const json context = make_template_context(cases[i].vars, cases[i].expected);
    for (const Assertion& assertion : case_asserts[i]) {
      if (const std::string name = missing_variable(assertion, context); !name.empty()) {
        report(cases[i], assertion, name, 0);
      }
    }
  }
  return out;
}

// How many cases that cannot render one error lists before "N more".
constexpr std::size_t k_max_case_errors = 20;

// Throws one ConfigError naming every case in `errors`, one per line (up to k_max_case_errors), so
// that a bad case at line 9,000 stops the run before the first model call; nothing when empty.
void throw_case_errors(const std::vector<Diagnostic>& errors) {
  std::vector<std::string> lines;
  std::set<std::string> seen;  // two models of one prompt and suite give the same errors
  for (const Diagnostic& d : errors) {
    std::string line = d.located_message();
    if (seen.insert(line).second) {
      lines.push_back(std::move(line));
    }
  }
  if (lines.empty()) {
    return;
  }
  const std::size_t total = lines.size();
  if (total > k_max_case_errors) {
    lines.resize(k_max_case_errors);
    lines.push_back(std::to_string(total - k_max_case_errors) +
                    " more cases cannot render ('git promptops lint' lists them all)");
  }
  // One line per case: the command line reports each as an error of its own.
  throw ConfigError(util::join(lines, "\n"), errors.front().hint + "; nothing was sent to the model");
}

// Adds parsed cases and their own assertions to `suite`. Throws ConfigError at file:line.
void add_cases(Suite& suite, const std::string& path, std::string_view text) {
  ParsedDataset parsed = parse_dataset(text, path);
  throw_first_error(parsed.diagnostics);
  if (parsed.cases.empty()) {
    throw ConfigError(path + ": dataset of prompt '" + suite.prompt + "' has no cases",
                      "add one JSON object per line: {\"vars\": {...}, \"expected\": ...}");
  }
  for (DatasetCase& c : parsed.cases) {
    ParsedAssertions own = parse_assertions(c.asserts, Location{path, c.line, 0});
    throw_first_error(own.diagnostics);
    suite.case_asserts.push_back(std::move(own.assertions));
    suite.cases.push_back(std::move(c));
  }
}

// Parses the dataset of `suite` once, when some case must run. Throws ConfigError at file:line.
void parse_cases(Suite& suite) {
  if (suite.parsed) {
    return;
  }
  add_cases(suite, suite.dataset, suite.text);
  throw_first_error(undefined_variables(suite.asserts, suite.cases, suite.case_asserts, suite.dataset));
  suite.text = {};
  suite.text.shrink_to_fit();
  find_labels(suite);
  suite.parsed = true;
}

// The cache key of one answer: where it comes from, the model, its parameters, the rendered
// messages and the repeat index.
std::string response_key(const std::string& identity, const ChatRequest& request, int repeat) {
  std::vector<std::string> parts{"response-1", identity, request.model, request.params.dump(),
                                 std::to_string(repeat)};
  for (const Message& message : request.messages) {
    parts.push_back(message.role);
    parts.push_back(message.content);
  }
  return content_key({parts.begin(), parts.end()});
}

// A cached answer; nullopt for an entry written by another version.
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

// The assertions and headline metric of `prompt`'s [eval]. Throws ConfigError.
void set_assertions(Suite& suite, const Prompt& prompt) {
  const EvalSpec& eval = prompt.eval;
  suite.prompt = prompt.name;
  ParsedAssertions asserts = parse_assertions(eval.asserts, eval.where);
  throw_first_error(asserts.diagnostics);
  suite.asserts = std::move(asserts.assertions);
  suite.asserts_json = eval.asserts;
  suite.metric = eval.metric.empty() ? "pass_rate" : eval.metric;
  if (std::find(k_metric_names.begin(), k_metric_names.end(), suite.metric) == k_metric_names.end()) {
    const std::string close = did_you_mean(suite.metric, k_metric_names);
    throw ConfigError(
        eval.where.format() + ": unknown metric '" + suite.metric + "' in [eval] of prompt '" + prompt.name +
            "'",
        close.empty() ? "use one of: " + util::join(k_metric_names, ", ") : "did you mean '" + close + "'?");
  }
}

// The suite of `prompt`'s [eval] at `snapshot`, its dataset read but not parsed. Throws ConfigError.
std::unique_ptr<Suite> load_suite(const Snapshot& snapshot, const Prompt& prompt) {
  auto suite = std::make_unique<Suite>();
  const EvalSpec& eval = prompt.eval;
  suite->dataset = eval.dataset;
  if (eval.dataset.empty()) {
    throw ConfigError(eval.where.format() + ": [eval] of prompt '" + prompt.name + "' has no dataset",
                      "add dataset = \"evals/" + prompt.name + ".jsonl\" to [eval] in " + prompt.path);
  }
  const std::optional<std::string> path = repository_path(eval.dataset);
  if (!path) {
    throw ConfigError(eval.where.format() + ": dataset '" + eval.dataset + "' of prompt '" + prompt.name +
                          "' is outside the repository",
                      "give a path relative to the repository root in [eval] dataset of " + prompt.path);
  }
  SnapshotFile file = snapshot.fetch(*path, size_limit(FileRole::dataset));
  if (file.refused()) {
    throw ConfigError(eval.where.format() + ": " + file.problem(FileRole::dataset, eval.dataset) + " (" +
                          snapshot.label() + ")",
                      file.hint(FileRole::dataset));
  }
  if (file.kind != SnapshotFile::Kind::file) {
    throw ConfigError(eval.where.format() + ": dataset '" + eval.dataset + "' of prompt '" + prompt.name +
                          "' does not exist at " + snapshot.label(),
                      "create it, or fix [eval] dataset in " + prompt.path);
  }
  suite->dataset_sha = util::sha1_hex(file.content);
  suite->text = std::move(file.content);
  set_assertions(*suite, prompt);
  return suite;
}

bool is_exec(const Assertion& assertion) { return assertion.type == AssertionType::exec; }

// An exec scorer runs a command from a tracked file: refused before any model call unless trusted.
void require_no_exec(const Suite& suite, const Prompt& prompt) {
  const auto refuse = [&](const Assertion& assertion) {
    throw ConfigError(
        prompt.path + ": an exec assertion of prompt '" + prompt.name + "' runs `" +
            (assertion.value.is_string() ? assertion.value.get<std::string>() : assertion.value.dump()) +
            "` but this repository is not trusted to run commands",
        "read the command, then run: git config promptops.trustExec true");
  };
  for (const Assertion& assertion : suite.asserts) {
    if (is_exec(assertion)) {
      refuse(assertion);
    }
  }
  for (const std::vector<Assertion>& own : suite.case_asserts) {
    for (const Assertion& assertion : own) {
      if (is_exec(assertion)) {
        refuse(assertion);
      }
    }
  }
}

// Applies a target's model ("PROVIDER/NAME", or "NAME" on the prompt's provider): the prefix is a
// provider only when one of that name is defined, since model names may contain '/'.
void override_model(ModelSpec& model, const std::string& spec, const Config& providers, const Config& own) {
  const std::size_t slash = spec.find('/');
  if (slash != std::string::npos) {
    const std::string provider = spec.substr(0, slash);
    if (providers.providers.count(provider) != 0 || own.providers.count(provider) != 0) {
      model.provider = provider;
      model.name = spec.substr(slash + 1);
      return;
    }
  }
  model.name = spec;
}

class Planner {
 public:
  Planner(const git::Repository& repo, const std::vector<EvalTarget>& targets, const EvalOptions& options)
      : m_repo(repo), m_eval_targets(targets), m_options(options) {}

  void load_targets() {
    for (const EvalTarget& target : m_eval_targets) {
      Target t;
      t.snapshot = target.commit  ? commit_snapshot(m_repo, *target.commit)
                   : target.index ? index_snapshot(m_repo)
                                  : worktree_snapshot(m_repo);
      ParsedConfig parsed = load_config(*t.snapshot);
      throw_first_error(parsed.diagnostics);
      t.config = std::move(parsed.config);
      for (PromptFile& file : find_prompts(*t.snapshot, t.config)) {
        std::string name = file.name;
        t.files.emplace(std::move(name), std::move(file));
      }
      m_targets.push_back(std::move(t));
    }
  }

  std::vector<std::string> names() const {
    std::vector<std::string> all;
    for (const Target& t : m_targets) {
      for (const auto& [name, file] : t.files) {
        all.push_back(name);
      }
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    if (m_options.names.empty()) {
      return all;
    }
    for (const std::string& name : m_options.names) {
      if (!std::binary_search(all.begin(), all.end(), name)) {
        const std::string close = did_you_mean(name, all);
        throw NotFoundError(
            "no prompt named '" + name + "' at the evaluated commits",
            close.empty() ? "run 'git promptops list' to see the prompts" : "did you mean '" + close + "'?");
      }
    }
    std::vector<std::string> named = m_options.names;
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    return named;
  }

  Suite& suite(std::size_t target, const Prompt& prompt) {
    const auto id = std::make_pair(target, prompt.name);
    if (const auto it = m_suites.find(id); it != m_suites.end()) {
      return *it->second;
    }
    std::unique_ptr<Suite> suite = load_suite(*m_targets[target].snapshot, prompt);
    suite->from = target;
    Suite& out = *suite;
    m_suites.emplace(id, std::move(suite));
    return out;
  }

  std::vector<Target>& targets() { return m_targets; }

 private:
  const git::Repository& m_repo;
  const std::vector<EvalTarget>& m_eval_targets;
  const EvalOptions& m_options;
  std::vector<Target> m_targets;
  std::map<std::pair<std::size_t, std::string>, std::unique_ptr<Suite>> m_suites;
};

// Writes answers to the cache on a thread of its own, so that creating a file per answer (~0.1-0.3
// ms on ext4) never delays the next request. close() drains the queue: every answer received is
// on disk before run_eval returns, also after an interrupt.
class AnswerWriter {
 public:
  explicit AnswerWriter(ResultCache& cache) : m_cache(cache), m_thread([this] { loop(); }) {}
  ~AnswerWriter() {
    try {
      close();
    } catch (const std::exception&) {
      // reported by the close() that the run calls; a destructor must not throw
    }
  }
  AnswerWriter(const AnswerWriter&) = delete;
  AnswerWriter& operator=(const AnswerWriter&) = delete;

  void put(std::string key, json value) {
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      m_queue.emplace_back(std::move(key), std::move(value));
    }
    m_wake.notify_one();
  }

  // Waits for every queued answer; rethrows the first write error.
  void close() {
    {
      const std::lock_guard<std::mutex> lock(m_mutex);
      m_closing = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) {
      m_thread.join();
    }
    if (m_error) {
      std::exception_ptr error = std::exchange(m_error, nullptr);
      std::rethrow_exception(error);
    }
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
      m_wake.wait(lock, [this] { return m_closing || !m_queue.empty(); });
      if (m_queue.empty()) {
        return;
      }
      std::deque<std::pair<std::string, json>> batch;
      batch.swap(m_queue);
      lock.unlock();
      for (const auto& [key, value] : batch) {
        try {
          m_cache.put("response", key, value);
        } catch (const std::exception&) {
          if (!m_error) {
            m_error = std::current_exception();
          }
        }
      }
      lock.lock();
    }
  }

  ResultCache& m_cache;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::pair<std::string, json>> m_queue;
  bool m_closing = false;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: starts after the members it uses
};

// A job's answers for one provider, fed to Provider::run.
class Queue final : public CallQueue {
 public:
  Queue(std::vector<Job*> jobs, EvalServices& services, std::atomic<bool>& stop, EvalReport& report,
        const Config& providers_config, RunnerServices& assertion_services, int repeat, std::size_t& done,
        std::size_t total, AnswerWriter& writer)
      : m_jobs(std::move(jobs)),
        m_services(services),
        m_stop(stop),
        m_report(report),
        m_config(providers_config),
        m_assertion_services(assertion_services),
        m_repeat(repeat),
        m_done(done),
        m_total(total),
        m_writer(writer),
        m_start(std::chrono::steady_clock::now()) {}

  std::optional<std::pair<std::uint64_t, ChatRequest>> next() override {
    while (!m_stop.load()) {
      if (m_job >= m_jobs.size()) {
        return std::nullopt;
      }
      Job& job = *m_jobs[m_job];
      const std::size_t position = m_case;
      const std::size_t case_index = job.case_index(position);
      const int repeat = m_repeat_index;
      if (++m_repeat_index >= m_repeat) {
        m_repeat_index = 0;
        if (++m_case >= job.case_count()) {
          m_case = 0;
          ++m_job;
        }
      }
      const DatasetCase& c = job.suite->cases[case_index];
      ChatRequest request;
      try {
        request.messages = render_prompt(job.prompt, c.vars);
      } catch (const Error& e) {
        m_fatal = std::make_exception_ptr(ConfigError(job.suite->dataset + ":" + std::to_string(c.line) +
                                                          ": case '" + c.id + "' cannot render prompt '" +
                                                          job.prompt.name + "': " + e.what(),
                                                      e.hint()));
        m_stop = true;
        return std::nullopt;
      }
      request.model = job.model.name;
      request.params = job.model.params;
      const std::string key = response_key(job.identity, request, repeat);
      const Sample sample{&job, position, repeat};
      if (const auto cached = m_services.cache->get("response", key)) {
        if (const auto response = response_from_json(*cached)) {
          ++m_report.cache_hits;
          finish(sample, &*response, false, {});
          continue;
        }
      }
      if (const auto it = m_waiting_by_key.find(key); it != m_waiting_by_key.end()) {
        m_in_flight[it->second].samples.push_back(sample);
        continue;
      }
      const std::uint64_t id = m_next_id++;
      m_in_flight[id] = InFlight{key, {sample}};
      m_waiting_by_key[key] = id;
      return std::make_pair(id, std::move(request));
    }
    return std::nullopt;
  }

  void done(std::uint64_t id, ChatResult result) override {
    const auto it = m_in_flight.find(id);
    if (it == m_in_flight.end()) {
      return;
    }
    InFlight call = std::move(it->second);
    m_in_flight.erase(it);
    m_waiting_by_key.erase(call.key);
    if (result.ok()) {
      ++m_report.real_calls;
      const ChatResponse& response = *result.response;
      if (m_services.cache->enabled()) {
        m_writer.put(call.key, json{{"text", response.text},
                                    {"tokens_in", response.tokens_in},
                                    {"tokens_out", response.tokens_out},
                                    {"latency_ms", response.latency_ms}});
      }
      for (const Sample& sample : call.samples) {
        finish(sample, &response, true, {});
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
      m_stop = true;
      return;
    }
    if (!call.samples.empty()) {
      const std::string& provider = call.samples.front().job->provider->name;
      std::string& cause = m_report_causes[provider];
      if (cause.empty()) {
        cause = !result.cause.empty() ? result.cause : result.message;
      }
    }
    for (const Sample& sample : call.samples) {
      finish(sample, nullptr, false, std::string(call_error_name(result.error)) + ": " + result.message);
    }
  }

  // The first failure's cause per provider name.
  const std::map<std::string, std::string>& causes() const { return m_report_causes; }

  // The first fatal error (auth, a case that cannot render), rethrown after run().
  void rethrow_fatal() const {
    if (m_fatal) {
      std::rethrow_exception(m_fatal);
    }
  }

 private:
  struct Sample {
    Job* job;
    std::size_t position;  // in the job's cases
    int repeat;
  };
  struct InFlight {
    std::string key;
    std::vector<Sample> samples;
  };

  void finish(const Sample& sample, const ChatResponse* response, bool real_call, const std::string& error) {
    Job& job = *sample.job;
    const std::size_t case_index = job.case_index(sample.position);
    const DatasetCase& c = job.suite->cases[case_index];
    CaseTally& tally = job.tallies[sample.position];
    json record = {{"index", case_index},     {"id", c.id},     {"line", c.line},
                   {"repeat", sample.repeat}, {"vars", c.vars}, {"expected", c.expected}};
    if (!c.description.empty()) {
      record["description"] = c.description;
    }
    if (!c.metadata.is_null()) {
      record["metadata"] = c.metadata;
    }
    if (!c.other_keys.is_null()) {
      record["other_keys"] = c.other_keys;
    }
    if (response == nullptr) {
      record_error(job, tally, record, error);
    } else {
      score_answer(job, case_index, tally, *response, real_call, record);
    }
    ++tally.done;
    if (job.records != nullptr) {
      job.records->push_back(std::move(record));
    } else {
      write_record(job, record);
    }
    ++job.done;
    ++m_done;
    if (job.done == job.total) {
      finalize(job);
    }
    if (m_services.progress) {
      EvalProgress progress;
      progress.done = m_done;
      progress.total = m_total;
      progress.cache_hits = m_report.cache_hits;
      progress.real_calls = m_report.real_calls;
      progress.elapsed_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
      m_services.progress(progress);
    }
  }

  // A sample without a judged answer: counted in errors and left out of every metric.
  void record_error(Job& job, CaseTally& tally, json& record, const std::string& error) {
    ++tally.errors;
    ++job.errors;
    ++m_report.errors;
    record["error"] = error;
    record["pass"] = false;
    record["score"] = 0.0;
  }

  // Scores one answer with the suite's and the case's assertions, into the metrics and `record`.
  void score_answer(Job& job, std::size_t case_index, CaseTally& tally, const ChatResponse& response,
                    bool real_call, json& record) {
    const DatasetCase& c = job.suite->cases[case_index];
    CaseOutcome outcome;
    outcome.tokens_in = response.tokens_in;
    outcome.tokens_out = response.tokens_out;
    outcome.cost = call_cost(m_config, job.model.name, response.tokens_in, response.tokens_out);
    outcome.latency_ms = response.latency_ms;
    outcome.had_real_call = real_call;
    EvalContext context;
    context.vars = make_template_context(c.vars, c.expected);
    if (m_config.prices.count(job.model.name) != 0) {
      context.cost = outcome.cost;  // unknown otherwise: a cost assertion says so
    }
    context.latency_ms = response.latency_ms;
    context.services = &m_assertion_services;
    m_assertion_services.set_current(job.provider, job.model);
    json reasons = json::array();
    bool pass = true;
    double score_sum = 0.0;
    std::size_t count = 0;
    TextForm label_form;  // labels compare as the equals assertions do
    std::string assertion_error;
    const auto score = [&](const Assertion& assertion) {
      const AssertionResult result = evaluate(assertion, response.text, context);
      pass = pass && result.pass;
      score_sum += result.score;
      ++count;
      if (!result.pass) {
        reasons.push_back(result.reason);
      }
      if (result.error && assertion_error.empty()) {
        assertion_error = result.reason;
      }
      if (assertion.type == AssertionType::equals) {
        label_form.fold_case = label_form.fold_case || assertion.ignore_case;
        label_form.nfc = label_form.nfc || assertion.normalize;
      }
    };
    for (const Assertion& assertion : job.suite->asserts) {
      score(assertion);
    }
    for (const Assertion& assertion : job.suite->case_asserts[case_index]) {
      score(assertion);
    }
    if (count == 0 && !c.expected.is_null()) {
      score(implicit_equals());
    }
    if (!assertion_error.empty()) {
      // The output could not be judged (a regex limit, say): an error like a missing answer.
      record["output"] = response.text;
      record["reasons"] = std::move(reasons);
      record_error(job, tally, record, assertion_error);
      if (m_report.unjudged++ == 0) {
        m_report.unjudged_reason = assertion_error;
      }
      return;
    }
    outcome.pass = pass;
    outcome.score = count == 0 ? 1.0 : score_sum / static_cast<double>(count);
    const std::set<std::string>& labels = job.suite->labels;
    if (!labels.empty()) {
      const std::string& expected = c.expected.get_ref<const std::string&>();
      outcome.expected_label = expected;
      outcome.predicted_label = std::string(util::trim(response.text));
      if ((label_form.fold_case || label_form.nfc) &&
          comparable_text(outcome.predicted_label, label_form) == comparable_text(expected, label_form)) {
        outcome.predicted_label = expected;
      }
      if (labels.count(outcome.predicted_label) == 0) {
        outcome.predicted_label = k_other_label;  // free text never grows the confusion matrix
      }
    }
    job.metrics.add(outcome);
    (pass ? tally.passes : tally.fails) += 1;
    tally.score_sum += outcome.score;
    record["output"] = response.text;
    record["pass"] = pass;
    record["score"] = outcome.score;
    record["reasons"] = std::move(reasons);
    record["tokens_in"] = response.tokens_in;
    record["tokens_out"] = response.tokens_out;
    record["latency_ms"] = response.latency_ms;
    record["cost"] = outcome.cost;
    record["cached"] = !real_call;
  }

  // `equals` against the case's expected value (a {{expected}} template), when it has no assertion.
  static const Assertion& implicit_equals() {
    static const Assertion assertion = [] {
      std::vector<Diagnostic> ignored;
      return *parse_assertion(json{{"type", "equals"}, {"value", "{{expected}}"}, {"trim", true}}, Location{},
                              ignored);
    }();
    return assertion;
  }

  void write_record(Job& job, const json& record) {
    if (m_services.results_dir.empty()) {
      return;
    }
    if (job.results == nullptr) {
      std::error_code ec;
      fs::create_directories(m_services.results_dir, ec);
      job.results_path = m_services.results_dir / (job.key + ".jsonl");
      job.results = std::fopen((job.results_path.string() + ".partial").c_str(), "w");
      if (job.results == nullptr) {
        throw Error("cannot write " + job.results_path.string() + ".partial");
      }
    }
    const std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), job.results);
  }

  void finalize(Job& job) {
    EvalResult result;
    result.key = job.key;
    result.prompt = job.prompt.name;
    result.model = model_label(job.model);
    result.dataset = job.suite->dataset;
    result.dataset_sha = job.suite->dataset_sha;
    result.metric = job.suite->metric;
    result.metrics = job.metrics.metrics();
    result.value = metric_value(result.metrics, result.metric, &result.interval);
    result.repeat = m_repeat;
    result.errors = job.errors;
    result.evaluated_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (std::size_t i = 0; i < job.tallies.size(); ++i) {
      const CaseTally& tally = job.tallies[i];
      const DatasetCase& c = job.suite->cases[job.case_index(i)];
      char outcome = 'p';
      if (tally.errors > 0) {
        outcome = 'e';
      } else if (tally.passes > 0 && tally.fails > 0) {
        outcome = 'x';
        result.flaky.push_back(c.id);
      } else if (tally.fails > 0) {
        outcome = 'f';
      }
      result.outcomes.push_back(outcome);
      result.case_ids.push_back(c.id);
      result.scores.push_back(tally.done == 0 ? 0.0 : tally.score_sum / static_cast<double>(tally.done));
    }
    if (job.result != nullptr) {  // a trial: in memory only
      job.tallies = {};
      *job.result = std::move(result);
      return;
    }
    if (job.results != nullptr) {
      std::fclose(job.results);
      job.results = nullptr;
      std::error_code ec;
      fs::rename(job.results_path.string() + ".partial", job.results_path, ec);
      if (!ec) {
        result.results_file = job.results_path.string();
      }
    }
    if (job.errors == 0) {
      m_services.cache->put("eval", job.key, result.to_json());
    }
    PO_TRACE("eval " + job.prompt.name + " " + job.key.substr(0, 12) + ": " + result.metric + " " +
             std::to_string(result.value));
    job.tallies = {};
    m_report.results[job.key] = std::move(result);
  }

  std::vector<Job*> m_jobs;
  EvalServices& m_services;
  std::atomic<bool>& m_stop;
  EvalReport& m_report;
  const Config& m_config;
  RunnerServices& m_assertion_services;
  int m_repeat;
  std::size_t& m_done;
  std::size_t m_total;
  AnswerWriter& m_writer;
  std::chrono::steady_clock::time_point m_start;
  std::size_t m_job = 0;
  std::size_t m_case = 0;
  int m_repeat_index = 0;
  std::uint64_t m_next_id = 1;
  std::unordered_map<std::uint64_t, InFlight> m_in_flight;
  std::unordered_map<std::string, std::uint64_t> m_waiting_by_key;
  std::exception_ptr m_fatal;
  std::map<std::string, std::string> m_report_causes;
};

// Answers received before a fatal error are kept, then the error is thrown. The queue raised the
// stop flag to end the run; it is lowered again, so that the caller may run again (check does).
void writer_close_on_fatal(AnswerWriter& writer, const Queue& queue, std::atomic<bool>& stop) {
  try {
    queue.rethrow_fatal();
  } catch (...) {
    writer.close();
    stop = false;
    throw;
  }
}

// The dataset's own assertions and the variables every assertion needs from its cases. The
// dataset's other problems are lint()'s.
void lint_case_assertions(const Snapshot& snapshot, const EvalSpec& eval, const std::vector<Assertion>& prompt_asserts,
                          std::vector<Diagnostic>& out) {
  if (eval.dataset.empty()) {
    return;
  }
  // A missing, refused (link, special file, too large) or escaping dataset is lint()'s to report.
  const SnapshotFile file = snapshot.fetch(eval.dataset, size_limit(FileRole::dataset));
  if (file.kind != SnapshotFile::Kind::file) {
    return;
  }
  const ParsedDataset parsed = parse_dataset(file.content, eval.dataset);
  std::vector<std::vector<Assertion>> case_asserts;
  for (const DatasetCase& c : parsed.cases) {
    ParsedAssertions own = parse_assertions(c.asserts, Location{eval.dataset, c.line, 0});
    out.insert(out.end(), own.diagnostics.begin(), own.diagnostics.end());
    case_asserts.push_back(std::move(own.assertions));
  }
  const std::vector<Diagnostic> undefined =
      undefined_variables(prompt_asserts, parsed.cases, case_asserts, eval.dataset);
  out.insert(out.end(), undefined.begin(), undefined.end());
}

}  // namespace

const std::vector<std::string>& metric_names() { return k_metric_names; }

std::vector<Diagnostic> lint_eval(const Snapshot& snapshot, const std::vector<std::string>& names) {
  std::vector<Diagnostic> out;
  const ParsedConfig config = load_config(snapshot);
  for (const PromptFile& file : find_prompts(snapshot, config.config)) {
    if (!names.empty() && std::find(names.begin(), names.end(), file.name) == names.end()) {
      continue;
    }
    std::optional<Prompt> prompt;
    try {
      prompt = load_prompt(snapshot, file);
    } catch (const Error&) {
      continue;
    }
    if (!prompt->eval.present) {
      continue;
    }
    const EvalSpec& eval = prompt->eval;
    ParsedAssertions asserts = parse_assertions(eval.asserts, eval.where);
    out.insert(out.end(), asserts.diagnostics.begin(), asserts.diagnostics.end());
    lint_case_assertions(snapshot, eval, asserts.assertions, out);
    if (!eval.metric.empty() &&
        std::find(k_metric_names.begin(), k_metric_names.end(), eval.metric) == k_metric_names.end()) {
      const std::string close = did_you_mean(eval.metric, k_metric_names);
      Diagnostic d;
      d.severity = Severity::error;
      d.where = eval.where;
      d.code = "unknown-metric";
      d.message = "unknown metric '" + eval.metric + "' in [eval]";
      d.hint =
          close.empty() ? "use one of: " + util::join(k_metric_names, ", ") : "did you mean '" + close + "'?";
      out.push_back(std::move(d));
    }
  }
  return out;
}

double call_cost(const Config& config, const std::string& model, std::int64_t tokens_in,
                 std::int64_t tokens_out) {
  const auto it = config.prices.find(model);
  if (it == config.prices.end()) {
    return 0.0;
  }
  return (static_cast<double>(tokens_in) * it->second.input +
          static_cast<double>(tokens_out) * it->second.output) /
         1e6;
}

json EvalResult::to_json() const {
  return {{"key", key},
          {"prompt", prompt},
          {"model", model},
          {"dataset", dataset},
          {"dataset_sha", dataset_sha},
          {"metric", metric},
          {"value", value},
          {"interval", interval ? json::array({interval->low, interval->high}) : json(nullptr)},
          {"metrics", metrics.to_json()},
          {"repeat", repeat},
          {"outcomes", outcomes},
          {"case_ids", case_ids},
          {"scores", scores},
          {"flaky", flaky},
          {"errors", errors},
          {"evaluated_at", evaluated_at}};
}

EvalResult EvalResult::from_json(const json& in) {
  try {
    EvalResult out;
    out.key = in.at("key").get<std::string>();
    out.prompt = in.at("prompt").get<std::string>();
    out.model = in.at("model").get<std::string>();
    out.dataset = in.at("dataset").get<std::string>();
    out.dataset_sha = in.at("dataset_sha").get<std::string>();
    out.metric = in.at("metric").get<std::string>();
    out.value = in.at("value").get<double>();
    if (const json& interval = in.at("interval"); !interval.is_null()) {
      out.interval = Interval{interval.at(0).get<double>(), interval.at(1).get<double>()};
    }
    out.metrics = Metrics::from_json(in.at("metrics"));
    out.repeat = in.at("repeat").get<int>();
    out.outcomes = in.at("outcomes").get<std::string>();
    out.case_ids = in.at("case_ids").get<std::vector<std::string>>();
    out.scores = in.at("scores").get<std::vector<double>>();
    out.flaky = in.at("flaky").get<std::vector<std::string>>();
    out.errors = in.at("errors").get<std::size_t>();
    out.evaluated_at = in.at("evaluated_at").get<std::int64_t>();
    return out;
  } catch (const json::exception& e) {
    throw Error(std::string("unreadable evaluation result: ") + e.what());
  }
}

namespace {

// Where a provider sends its requests, as safe to print: the base URL without user info, query or
// fragment (which may carry a key), or an exec command's program.
std::string endpoint_of(const ProviderSpec& spec) {
  if (spec.kind == "exec") {
    return spec.command.empty() ? "exec" : spec.command.front();
  }
  std::string url = spec.base_url.substr(0, spec.base_url.find_first_of("?#"));
  const std::size_t scheme = url.find("://");
  const std::size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = url.find('@', host);
  if (at != std::string::npos && at < url.find('/', host)) {
    url.erase(host, at + 1 - host);
  }
  return url;
}

// Adds the provider's failure to the report when some of its case samples got no answer.
void add_failure(EvalReport& report, const ProviderSpec& spec, const std::vector<Job*>& jobs,
                 const std::map<std::string, std::string>& causes) {
  ProviderFailure failure;
  failure.provider = spec.name;
  failure.endpoint = endpoint_of(spec);
  for (const Job* job : jobs) {
    failure.failed += job->errors;
    failure.total += job->total;
  }
  if (failure.failed == 0) {
    return;
  }
  const auto cause = causes.find(spec.name);
  failure.cause = cause != causes.end() ? cause->second : "no answer";
  report.provider_failures.push_back(std::move(failure));
}

// The whole evaluation `key` from the cache: nullopt when it is not there, is unreadable (an entry
// from another version of the tool), or came from notes that `policy` does not trust.
std::optional<EvalResult> cached_result(const EvalServices& services, const std::string& key, NotesPolicy policy) {
  const std::optional<json> cached = services.cache->get("eval", key);
  if (!cached) {
    return std::nullopt;
  }
  EvalResult result;
  try {
    result = EvalResult::from_json(*cached);
  } catch (const Error&) {
    return std::nullopt;
  }
  result.from_notes = cached->is_object() && cached->value("source", json()) == "notes";
  if (result.from_notes && policy != NotesPolicy::trust) {
    return std::nullopt;
  }
  result.reused = true;
  if (!services.results_dir.empty()) {
    const fs::path results_file = services.results_dir / (key + ".jsonl");
    std::error_code ec;
    if (fs::exists(results_file, ec)) {
      result.results_file = results_file.string();
    }
  }
  return result;
}

}  // namespace

EvalReport run_eval(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                    const EvalOptions& options, EvalServices& services) {
  if (services.cache == nullptr) {
    throw Error("run_eval needs a cache");
  }
  if (options.repeat < 1 || options.repeat > 1000) {
    throw UsageError("--repeat must be from 1 to 1000");
  }
  EvalReport report;
  report.targets = targets;
  if (targets.empty()) {
    return report;
  }
  Planner planner(repo, targets, options);
  planner.load_targets();
  std::vector<Target>& loaded = planner.targets();
  const Config& providers_config = loaded.back().config;

  std::map<std::string, std::unique_ptr<Job>> jobs;  // by key
  std::vector<Job*> order;
  std::set<std::string> seen_keys;
  const std::vector<std::string> names = planner.names();
  const bool named = !options.names.empty();
  std::vector<std::vector<EvalRow>> rows_by_target(loaded.size());
  std::map<std::string, std::string> identities;  // by provider name
  std::map<git::Oid, EvalNotes> notes;  // read once per commit, when needed
  const auto notes_of = [&](const git::Oid& commit) -> const EvalNotes& {
    auto it = notes.find(commit);
    if (it == notes.end()) {
      it = notes.emplace(commit, eval_notes(git::read_note_lines(repo, commit))).first;
      if (!it->second.problems.empty() && services.note_problems) {
        services.note_problems(commit, it->second.problems);
      }
    }
    return it->second;
  };
  const auto noted_result = [&](const git::Oid& commit, const std::string& key) -> std::optional<EvalResult> {
    for (const EvalResult& result : notes_of(commit).results) {
      if (result.key == key) {
        return result;
      }
    }
    return std::nullopt;
  };
  for (const std::string& name : names) {
    // The newest target that has the prompt holds the yardstick.
    std::optional<std::size_t> newest;
    for (std::size_t i = loaded.size(); i-- > 0;) {
      if (loaded[i].files.count(name) != 0) {
        newest = i;
        break;
      }
    }
    if (!newest) {
      continue;
    }
    const Prompt newest_prompt = load_prompt(*loaded[*newest].snapshot, loaded[*newest].files.at(name));
    if (!newest_prompt.eval.present && options.suite_at == SuiteAt::newest) {
      if (named) {
        throw ConfigError(newest_prompt.path + ": prompt '" + name + "' has no [eval] section",
                          "add [eval] with dataset = \"evals/" + name + ".jsonl\" to " + newest_prompt.path);
      }
      report.skipped.push_back(name);
      continue;
    }
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      const auto file = loaded[i].files.find(name);
      if (file == loaded[i].files.end() || targets[i].suite_only) {
        continue;
      }
      Prompt prompt = i == *newest ? newest_prompt : load_prompt(*loaded[i].snapshot, file->second);
      const std::size_t suite_from = options.suite_at == SuiteAt::newest ? *newest : i;
      const Prompt& suite_prompt = suite_from == i ? prompt : newest_prompt;
      if (!suite_prompt.eval.present) {
        continue;  // --suite-at each, and this version has no [eval]
      }
      Suite& suite = planner.suite(suite_from, suite_prompt);
      ModelSpec model = prompt.effective_model(loaded[i].config);
      if (!targets[i].model.empty()) {
        override_model(model, targets[i].model, providers_config, loaded[i].config);
      }
      if (model.provider.empty() || model.name.empty()) {
        throw ConfigError(
            prompt.path + ": prompt '" + name + "' names no model" +
                (model.provider.empty() ? " provider" : ""),
            "set [model] provider and name in the prompt, or [defaults.model] in .promptops.toml");
      }
      const ProviderSpec* provider = nullptr;
      for (const Config* config :
           std::initializer_list<const Config*>{&providers_config, &loaded[i].config}) {
        if (const auto it = config->providers.find(model.provider); it != config->providers.end()) {
          provider = &it->second;
          break;
        }
      }
      if (provider == nullptr) {
        throw ConfigError(prompt.path + ": prompt '" + name + "' uses provider '" + model.provider +
                              "', which .promptops.toml does not define",
                          "add [providers." + model.provider + "] with kind and base_url to .promptops.toml");
      }
      // Once per provider: an exec identity reads and hashes the script.
      auto identity_it = identities.find(provider->name);
      if (identity_it == identities.end()) {
        identity_it =
            identities.emplace(provider->name, provider_identity(*provider, options.provider_options))
                .first;
      }
      const std::string& identity = identity_it->second;
      const std::string key = content_key(
          {"eval-1", prompt_content(prompt), identity, model.name, model.params.dump(), suite.dataset,
           suite.dataset_sha, suite.asserts_json.dump(), suite.metric, std::to_string(options.repeat)});
      EvalRow row;
      row.target = i;
      row.prompt = name;
      row.path = prompt.path;
      row.key = key;
      row.suite_from = suite_from;
      row.duplicate = !seen_keys.insert(key).second;
      rows_by_target[i].push_back(row);
      if (row.duplicate) {
        continue;
      }
      if (std::optional<EvalResult> cached = cached_result(services, key, options.notes)) {
        cached->prompt = name;
        report.from_notes += cached->from_notes ? 1 : 0;
        report.results[key] = std::move(*cached);
        continue;
      }
      // --no-cache asks the model again.
      if (targets[i].commit && services.cache->enabled() && options.notes == NotesPolicy::trust) {
        if (std::optional<EvalResult> noted = noted_result(*targets[i].commit, key)) {
          noted->prompt = name;
          json entry = noted->to_json();
          entry["source"] = "notes";  // so that a later run that does not trust notes can tell
          services.cache->put("eval", key, entry);
          noted->reused = true;
          noted->from_notes = true;
          report.results[key] = std::move(*noted);
          ++report.from_notes;
          continue;
        }
      }
      if (options.offline) {
        report.missing.push_back(key);
        continue;
      }
      parse_cases(suite);
      if (!options.provider_options.exec_trusted) {
        require_no_exec(suite, suite_prompt);
      }
      auto job = std::make_unique<Job>();
      job->key = key;
      job->prompt = std::move(prompt);
      job->model = std::move(model);
      job->provider = provider;
      job->identity = identity;
      job->suite = &suite;
      job->total = suite.cases.size() * static_cast<std::size_t>(options.repeat);
      job->tallies.resize(suite.cases.size());
      order.push_back(job.get());
      jobs[key] = std::move(job);
    }
  }
  for (std::vector<EvalRow>& rows : rows_by_target) {
    for (EvalRow& row : rows) {
      report.rows.push_back(std::move(row));
    }
  }

  // Every case of every job must render before anything is sent.
  std::vector<Diagnostic> unrenderable;
  for (const Job* job : order) {
    const std::vector<Diagnostic> found =
        check_case_variables(job->prompt, job->suite->cases, job->suite->dataset);
    unrenderable.insert(unrenderable.end(), found.begin(), found.end());
  }
  throw_case_errors(unrenderable);

  // Run the jobs, one provider after another.
  std::atomic<bool> local_stop{false};
  std::atomic<bool>& stop = services.stop != nullptr ? *services.stop : local_stop;
  std::size_t total = 0;
  for (const Job* job : order) {
    total += job->total;
  }
  RunnerServices assertion_services(services, providers_config, options.provider_options);
  std::map<std::string, std::vector<Job*>> by_provider;
  std::vector<std::string> provider_order;
  for (Job* job : order) {
    if (by_provider.count(job->provider->name) == 0) {
      provider_order.push_back(job->provider->name);
    }
    by_provider[job->provider->name].push_back(job);
  }
  // Every provider is made (keys read, trust checked) before the first request of any of them.
  for (const std::string& name : provider_order) {
    assertion_services.provider(*by_provider[name].front()->provider);
  }
  std::size_t done = 0;
  AnswerWriter writer(*services.cache);
  for (const std::string& name : provider_order) {
    if (stop.load()) {
      break;
    }
    std::vector<Job*>& group = by_provider[name];
    Provider& provider = assertion_services.provider(*group.front()->provider);
    Queue queue(group, services, stop, report, providers_config, assertion_services, options.repeat, done,
                total, writer);
    provider.run(queue, stop);
    add_failure(report, *group.front()->provider, group, queue.causes());
    writer_close_on_fatal(writer, queue, stop);
  }
  writer.close();
  for (const auto& [key, job] : jobs) {
    if (job->results != nullptr) {
      std::fclose(job->results);  // unfinished: the .partial file stays for inspection
      job->results = nullptr;
    }
  }
  report.interrupted = stop.load() && std::any_of(order.begin(), order.end(),
                                                  [](const Job* job) { return job->done < job->total; });
  if (options.notes == NotesPolicy::verify) {
    for (const EvalRow& row : report.rows) {
      const auto result = report.results.find(row.key);
      const std::optional<git::Oid>& commit = report.targets[row.target].commit;
      if (commit && result != report.results.end() && !result->second.from_notes && result->second.errors == 0) {
        for (NoteMismatch& mismatch : compare_with_notes(*commit, result->second, notes_of(*commit))) {
          report.note_mismatches.push_back(std::move(mismatch));
        }
      }
    }
  }
  return report;
}

// ---- Trials ----

namespace {

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

bool model_graded(const Assertion& assertion) {
  return assertion.type == AssertionType::llm_rubric || assertion.type == AssertionType::similar;
}

// 1 + the model-graded assertions that judge case `index`.
std::size_t suite_calls_per_sample(const Suite& suite, std::size_t index) {
  std::size_t calls = 1;
  for (const Assertion& assertion : suite.asserts) {
    calls += model_graded(assertion) ? 1 : 0;
  }
  for (const Assertion& assertion : suite.case_asserts.at(index)) {
    calls += model_graded(assertion) ? 1 : 0;
  }
  return calls;
}

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
  if (options.repeat < 1 || options.repeat > 1000) {
    throw UsageError("--repeat must be from 1 to 1000");
  }
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
    impl.own_dataset_calls += suite_calls_per_sample(*own, i) * static_cast<std::size_t>(impl.options.repeat);
  }
  // The final evaluation runs the prompt's own dataset, so its cases must render too.
  std::vector<Diagnostic> unrenderable = check_case_variables(impl.prompt, own->cases, own->dataset);
  if (impl.options.datasets.empty()) {
    impl.suite = std::move(*own);
    impl.dataset_ends.push_back(impl.suite.cases.size());
  } else {
    Suite& suite = impl.suite;
    set_assertions(suite, impl.prompt);
    std::vector<std::string> paths;
    std::string bytes;
    for (const auto& [path, text] : impl.options.datasets) {
      const std::size_t begin = suite.cases.size();
      add_cases(suite, path, text);
      const std::vector<Diagnostic> bad = check_case_variables(
          impl.prompt, std::span<const DatasetCase>(suite.cases).subspan(begin), path);
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
  if (!impl.options.provider_options.exec_trusted) {
    require_no_exec(impl.suite, impl.prompt);
  }
}

Trials::~Trials() = default;

const Prompt& Trials::prompt() const { return m_impl->prompt; }
const ModelSpec& Trials::model() const { return m_impl->model; }
const std::string& Trials::metric() const { return m_impl->suite.metric; }
const std::string& Trials::dataset() const { return m_impl->suite.dataset; }
const std::vector<DatasetCase>& Trials::cases() const { return m_impl->suite.cases; }
int Trials::repeat() const { return m_impl->options.repeat; }

std::size_t Trials::calls_per_sample(std::size_t index) const {
  return suite_calls_per_sample(m_impl->suite, index);
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
  m_impl->suite.cases.at(index).expected = std::move(expected);
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
  std::size_t done = 0;
  std::atomic<bool>& stop = impl.stop();
  AnswerWriter writer(*impl.services.cache);
  Queue queue({&job}, impl.services, stop, report, impl.config, impl.runner_services, impl.options.repeat,
              done, job.total, writer);
  impl.runner_services.provider(provider).run(queue, stop);
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
  const std::string key = response_key(impl.identity_of(provider), request, sample);
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
    impl.services.cache->put("response", key,
                             json{{"text", response.text},
                                  {"tokens_in", response.tokens_in},
                                  {"tokens_out", response.tokens_out},
                                  {"latency_ms", response.latency_ms}});
  }
  out.response = response;
  return out;
}

}  // namespace promptops
