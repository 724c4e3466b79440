// SPDX-License-Identifier: MIT
// The answer writer's thread: drains queued answers into the cache.
#include "answer_writer.hpp"

namespace promptops::inline eval {

AnswerWriter::AnswerWriter(ResultCache& cache) : m_cache(cache), m_thread([this] { loop(); }) {}

AnswerWriter::~AnswerWriter() {
  try {
    close();
  } catch (const std::exception&) {
    // reported by the close() that the run calls; a destructor must not throw
  }
}

void AnswerWriter::put(std::string key, nlohmann::json value) {
  {
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_queue.emplace_back(std::move(key), std::move(value));
  }
  m_wake.notify_one();
}

void AnswerWriter::close() {
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

void AnswerWriter::loop() {
  std::unique_lock<std::mutex> lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_closing || !m_queue.empty(); });
    if (m_queue.empty()) {
      return;
    }
    std::deque<std::pair<std::string, nlohmann::json>> batch;
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

}  // namespace promptops::eval
