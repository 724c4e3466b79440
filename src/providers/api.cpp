// SPDX-License-Identifier: MIT
// The HTTP API providers' shared run(): chat calls through HttpClient, answers checked and parsed.
#include "api.hpp"

#include <algorithm>
#include <utility>

#include "backends.hpp"

namespace promptops::inline providers {

namespace {

HttpPolicy policy_of(const ProviderSpec& spec, const std::string& key) {
  HttpPolicy policy;
  policy.provider = spec.name;
  policy.secret = key;
  policy.key_env = spec.secret_env();
  policy.max_concurrency = spec.max_concurrency;
  policy.timeout_seconds = spec.timeout_seconds;
  policy.max_retries = std::max(0, spec.max_retries);
  policy.retry_delay_seconds = spec.retry_delay_seconds;
  return policy;
}

// CallQueue in, HttpJobs out.
class ChatJobs final : public HttpJobs {
 public:
  ChatJobs(const ApiProvider& provider, CallQueue& queue) : m_provider(provider), m_queue(queue) {}

  std::optional<std::pair<std::uint64_t, HttpRequest>> next() override {
    std::optional<std::pair<std::uint64_t, ChatRequest>> item = m_queue.next();
    if (!item) {
      return std::nullopt;
    }
    return std::make_pair(item->first, m_provider.chat_request(item->second));
  }

  void done(std::uint64_t id, HttpResult result) override {
    m_queue.done(id, m_provider.chat_result(std::move(result)));
  }

 private:
  const ApiProvider& m_provider;
  CallQueue& m_queue;
};

}  // namespace

ApiProvider::ApiProvider(ProviderSpec spec, std::string key)
    : Provider(std::move(spec)), m_key(std::move(key)), m_client(policy_of(this->spec(), m_key)) {}

void ApiProvider::run(CallQueue& queue, const std::atomic<bool>& stop, std::chrono::milliseconds grace) {
  ChatJobs jobs(*this, queue);
  m_client.run(jobs, stop, grace);
}

ChatResult ApiProvider::chat_result(HttpResult http) const {
  ChatResult result;
  result.http_status = http.http_status;
  if (!http.ok()) {
    result.error = http.error;
    result.message = std::move(http.message);
    result.cause = std::move(http.cause);
    return result;
  }
  const nlohmann::json body = nlohmann::json::parse(http.body, nullptr, false);
  if (body.is_discarded()) {
    const std::string start = first_line(http.body, 80);
    return malformed(http, start.empty() ? "the body is empty" : "the body is not JSON: " + start);
  }
  ParsedAnswer answer = parse_chat(body);
  if (!answer.response && answer.withheld) {
    result.error = CallError::rejected;
    result.message = redact(
        "answer withheld by " + http.url + ": " + answer.problem + retries_suffix(http.attempts), m_key);
    result.cause = redact("answer withheld: " + answer.problem, m_key);
    return result;
  }
  if (!answer.response) {
    return malformed(http, answer.problem);
  }
  answer.response->latency_ms = http.latency_ms;
  answer.response->attempts = http.attempts;
  result.response = std::move(answer.response);
  return result;
}

ChatResult ApiProvider::malformed(const HttpResult& http, const std::string& why) const {
  ChatResult result;
  result.http_status = http.http_status;
  result.error = CallError::malformed;
  result.message =
      redact("malformed answer from " + http.url + ": " + why + retries_suffix(http.attempts), m_key);
  result.cause = redact("malformed answer: " + why, m_key);
  return result;
}

std::vector<std::string> ApiProvider::configured_headers() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : spec().headers) {
    // "Name;" is how libcurl sends a header with an empty value ("Name:" would remove it).
    out.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  return out;
}

std::vector<std::string> ApiProvider::headers(std::string_view header, std::string_view prefix) const {
  std::vector<std::string> out = configured_headers();
  if (!m_key.empty()) {
    if (spec().api_key_header.empty()) {
      out.push_back(std::string(header) + ": " + std::string(prefix) + m_key);
    } else {
      out.push_back(spec().api_key_header + ": " + m_key);
    }
  }
  return out;
}

std::int64_t usage_count(const nlohmann::json& body, const char* name) {
  const auto usage = body.find("usage");
  if (usage == body.end() || !usage->is_object()) {
    return 0;
  }
  const auto count = usage->find(name);
  if (count == usage->end() || !count->is_number_integer()) {
    return 0;
  }
  return count->get<std::int64_t>();
}

}  // namespace promptops::providers
