// SPDX-License-Identifier: MIT
// A CallQueue for provider tests: hands out fixed requests in order and keeps every result by id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/providers/provider.hpp>

namespace promptops::test {

// Ids are 0, 1, ... in request order; done() CHECKs that no id ends twice.
class Calls final : public CallQueue {
 public:
  explicit Calls(std::vector<ChatRequest> requests) : m_requests(std::move(requests)) {}

  std::optional<std::pair<std::uint64_t, ChatRequest>> next() override {
    ++pulled;
    if (m_next >= m_requests.size()) {
      return std::nullopt;
    }
    const std::uint64_t id = m_next++;
    return std::make_pair(id, m_requests[id]);
  }

  void done(std::uint64_t id, ChatResult result) override {
    CHECK(results.count(id) == 0);
    results.emplace(id, std::move(result));
  }

  std::size_t sent() const { return m_next; }

  std::map<std::uint64_t, ChatResult> results;
  std::size_t pulled = 0;  // calls of next(), including the ones that returned nullopt

 private:
  std::vector<ChatRequest> m_requests;
  std::size_t m_next = 0;
};

}  // namespace promptops::test
