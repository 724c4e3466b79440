// SPDX-License-Identifier: MIT
// A provider for tests: answers with a function on the calling thread, one request at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <promptops/providers/provider.hpp>

namespace promptops {

// identity() is "function:<name>". calls() counts the requests answered, and max_depth() the
// deepest run() seen: 2 or more means a request was made from inside a completion callback.
class FunctionProvider : public Provider {
 public:
  using Answer = std::function<ChatResult(const ChatRequest&)>;
  FunctionProvider(ProviderSpec spec, Answer answer) : Provider(std::move(spec)), m_answer(std::move(answer)) {}

  void run(CallQueue& queue, const std::atomic<bool>& stop, std::chrono::milliseconds /*grace*/) override {
    ++m_depth;
    m_max_depth = std::max(m_max_depth, m_depth);
    while (!stop.load()) {
      std::optional<std::pair<std::uint64_t, ChatRequest>> item = queue.next();
      if (!item) {
        break;
      }
      ++m_calls;
      ChatResult result = m_answer(item->second);
      queue.done(item->first, std::move(result));
    }
    --m_depth;
  }
  std::string identity() const override { return "function:" + spec().name; }
  std::size_t calls() const { return m_calls; }
  int max_depth() const { return m_max_depth; }

 private:
  Answer m_answer;
  std::size_t m_calls = 0;
  int m_depth = 0;
  int m_max_depth = 0;
};

}  // namespace promptops
