// SPDX-License-Identifier: MIT
// The call and scoring queue: feeds every case of a provider's jobs to Provider::run (through the
// cache), queues the judge calls that llm-rubric needs like any other call, scores each answer
// when it and its judges are in, and finishes a job when its last sample is scored.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <promptops/eval/eval.hpp>
#include <promptops/providers/provider.hpp>

#include "answer_writer.hpp"
#include "job.hpp"
#include "services.hpp"

namespace promptops::inline eval {

// The cache key of one answer: where it comes from, the model, its parameters, the rendered
// messages and the repeat index. `params_text` is request.params.dump().
std::string response_key(const std::string& identity, const ChatRequest& request, const std::string& params_text,
                         int repeat);
// A cached answer; nullopt for an entry written by another version.
std::optional<ChatResponse> response_from_json(const nlohmann::json& value);
// The cache entry of an answer.
nlohmann::json response_to_json(const ChatResponse& response);

// What a run shares between its queues (one per provider): services, counters and the writer.
struct RunContext {
  EvalServices& services;
  std::atomic<bool>& stop;
  EvalReport& report;
  const Config& config;  // providers and prices
  RunnerServices& assertion_services;
  AnswerWriter& writer;
  int repeat = 1;
  std::size_t total = 0;  // samples of every job of the run
  std::size_t done = 0;
  std::size_t max_calls = 0;  // > 0: no request (answer or judge) is sent past this many (--max-calls)
  std::size_t sent = 0;       // requests sent so far
  double max_cost = 0.0;        // > 0: the cost budget (EvalOptions::max_cost)
  double in_flight_cost = 0.0;  // estimated cost of the requests in flight
  std::int64_t longest_out = 0;  // the most output tokens of an answer so far: the estimate without max_tokens
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

class EvalQueue final : public CallQueue {
 public:
  EvalQueue(std::vector<Job*> jobs, RunContext& run);

  // Runs every sample of the jobs on their provider, then the judge calls still waiting on the
  // provider each names; returns when every call has ended or the run was stopped.
  void run();

  std::optional<std::pair<std::uint64_t, ChatRequest>> next() override;
  void done(std::uint64_t id, ChatResult result) override;

  // The first failure's cause per provider name.
  const std::map<std::string, std::string>& causes() const { return m_causes; }
  // The first fatal error (auth, a case that cannot render), rethrown after run().
  void rethrow_fatal() const;

 private:
  struct Sample {
    Job* job;
    std::size_t position;  // in the job's cases
    int repeat;
  };
  struct InFlight {
    std::string key;
    std::vector<Sample> samples;  // empty for a judge call
    bool judge = false;
    std::string model;      // whose price the answer costs
    double estimate = 0.0;  // its estimated cost, under a cost budget
  };
  // An answer whose judges are not all in yet.
  struct Waiting {
    Sample sample;
    ChatResponse response;
    bool real_call = false;
    std::size_t judges = 0;          // calls still out
    std::vector<std::string> keys;  // every judge call it reads, held until it is scored
  };

  std::optional<std::pair<std::uint64_t, ChatRequest>> next_judge_call();
  bool budget_spent() const;
  bool fits_budget(std::uint64_t id, const ChatRequest& request);
  void drop(std::uint64_t id);
  void settle_cost(const InFlight& call, const ChatResult& result);
  void drain_without_calls();
  std::optional<std::pair<std::uint64_t, ChatRequest>> next_answer();
  std::optional<ChatRequest> render(const Job& job, const DatasetCase& c);
  void answered(InFlight call, const ChatResult& result);
  void judged(const InFlight& call, const ChatResult& result);
  void failed(const InFlight& call, const ChatResult& result);
  // Scores the answer now, or once the judge calls it needs are in.
  void score_when_judged(const Sample& sample, const ChatResponse& response, bool real_call);
  std::vector<JudgeCall> judge_calls(const Sample& sample, std::string_view output);
  EvalContext judge_context(Job& job, std::size_t case_index, std::string& input);
  std::optional<JudgeCall> judge_call_for(const Assertion& assertion, std::string_view output,
                                          const EvalContext& context);
  void finish(const Sample& sample, const ChatResponse* response, bool real_call, const std::string& error);
  void record_error(Job& job, CaseTally& tally, nlohmann::json* record, const std::string& error);
  void add_named_tallies(Job& job, const CaseTally& tally, const std::vector<std::pair<std::string, double>>& named);
  void score_answer(Job& job, std::size_t case_index, const DatasetCase& c, CaseTally& tally,
                    const ChatResponse& response, bool real_call, nlohmann::json* record);
  void write_record(Job& job, const nlohmann::json& record);
  void release_judges(const std::vector<std::string>& keys);
  void finalize(Job& job);
  void report_progress();
  bool keeps_records(const Job& job) const;

  std::vector<Job*> m_jobs;
  RunContext& m_run;
  const ProviderSpec* m_running = nullptr;  // whose run() is asking
  bool m_judges_only = false;
  std::size_t m_job = 0;
  std::size_t m_case = 0;
  int m_repeat_index = 0;
  std::uint64_t m_next_id = 1;
  std::unordered_map<std::uint64_t, InFlight> m_in_flight;
  std::unordered_map<std::string, std::uint64_t> m_waiting_by_key;  // answers in flight
  std::map<std::string, std::deque<JudgeCall>> m_judge_calls;     // not sent yet, by provider name
  std::map<std::string, const ProviderSpec*> m_judge_providers;
  std::unordered_map<std::uint64_t, Waiting> m_waiting;                       // by waiting id
  std::unordered_map<std::string, std::vector<std::uint64_t>> m_judge_waiters;  // by judge key
  std::unordered_map<std::string, std::size_t> m_judge_refs;  // waiting samples that read a judge key
  std::unordered_map<std::string, bool> m_judge_forget;       // keys to drop when unread (a failure, --no-cache)
  std::uint64_t m_next_waiting = 1;
  std::exception_ptr m_fatal;
  std::map<std::string, std::string> m_causes;
};

// The request of case `c` of `job`, its templates parsed once per job. Throws what rendering throws.
ChatRequest render_request(Job& job, const DatasetCase& c);

// What the answers of `jobs` not in the cache will cost (CostEstimate); a ConfigError when a
// job's model has no price.
CostEstimate estimate_cost(const std::vector<Job*>& jobs, const RunContext& run);

// Answers received before a fatal error are kept, then the error is thrown. The queue raised the
// stop flag to end the run; it is lowered again, so that the caller may run again (check does).
void writer_close_on_fatal(AnswerWriter& writer, const EvalQueue& queue, std::atomic<bool>& stop);

}  // namespace promptops::eval
