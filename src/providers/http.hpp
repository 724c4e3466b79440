// SPDX-License-Identifier: MIT
// HTTP for the API providers: a libcurl multi event loop on one thread, with retries on timers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <promptops/providers/provider.hpp>

namespace promptops::inline providers {

// One POST with a JSON body.
struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"; Content-Type: application/json unless given
  std::string body;
};

// How one request ended, after its retries.
struct HttpResult {
  CallError error = CallError::none;  // none: a 2xx answer is in `body`
  std::string message;                // on failure: one redacted line that says what and where
  std::string cause;                  // on failure: what, without where ("Couldn't connect to server")
  int http_status = 0;                // the last status seen, 0 for none
  std::string url;
  std::string body;
  double latency_ms = 0.0;  // of the attempt that succeeded
  int attempts = 1;

  bool ok() const { return error == CallError::none; }
};

// The caller's side of HttpClient::run, called only on the thread that called run().
class HttpJobs {
 public:
  virtual ~HttpJobs() = default;
  // The next request and an id the caller chooses, or nullopt when there are no more.
  virtual std::optional<std::pair<std::uint64_t, HttpRequest>> next() = 0;
  virtual void done(std::uint64_t id, HttpResult result) = 0;
};

// What the loop needs from the provider's spec.
struct HttpPolicy {
  std::string provider;  // the provider's name, for messages
  std::string secret;    // the key: removed from every message
  std::string key_env;   // where the key comes from, for the advice after a 401/403
  int max_concurrency = 8;
  double timeout_seconds = 60;
  int max_retries = 4;
  double retry_delay_seconds = 0.5;
};

// Sends POST requests with libcurl's multi interface: every transfer of a run shares one thread
// and one connection cache, which outlives the run so that later runs (complete(), embed()) reuse
// warm connections. Retryable failures (429, 5xx, connection errors, timeouts) wait on a timer
// (exponential backoff with equal jitter, or Retry-After) while other requests proceed.
class HttpClient {
 public:
  explicit HttpClient(HttpPolicy policy);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const HttpPolicy& policy() const { return m_policy; }

  // Sends every request of `jobs`, at most policy().max_concurrency at once, until next() has
  // returned nullopt and every request has ended. When `stop` becomes true no request or retry
  // starts, transfers in flight get `grace` to finish, and the rest end as CallError::cancelled.
  // Throws ProviderError only when libcurl itself fails. Safe to call from several threads; a
  // second concurrent run uses a connection cache of its own.
  void run(HttpJobs& jobs, const std::atomic<bool>& stop, std::chrono::milliseconds grace);

 private:
  struct Multi;
  HttpPolicy m_policy;
  std::mutex m_mutex;  // held by the run that uses m_multi
  std::unique_ptr<Multi> m_multi;
};

// The delay a Retry-After header value asks for (delta-seconds or an HTTP-date), capped at 300 s;
// nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value);

}  // namespace promptops::providers
