// SPDX-License-Identifier: MIT
// The answer writer: model answers go to the cache on a thread of their own.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include <promptops/eval/cache.hpp>

namespace promptops::inline eval {

// Writes answers to the cache on a thread of its own, so that creating a file per answer (~0.1-0.3
// ms on ext4) never delays the next request. close() drains the queue: every answer received is
// on disk before run_eval returns, also after an interrupt.
class AnswerWriter {
 public:
  explicit AnswerWriter(ResultCache& cache);
  ~AnswerWriter();
  AnswerWriter(const AnswerWriter&) = delete;
  AnswerWriter& operator=(const AnswerWriter&) = delete;

  // Queues one "response" entry.
  void put(std::string key, nlohmann::json value);

  // Waits for every queued answer; rethrows the first write error.
  void close();

 private:
  void loop();

  ResultCache& m_cache;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::pair<std::string, nlohmann::json>> m_queue;
  bool m_closing = false;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: starts after the members it uses
};

}  // namespace promptops::eval
