// SPDX-License-Identifier: MIT
// The libcurl multi event loop behind the HTTP API providers: one thread, many
// transfers, a shared connection cache, and retries that wait on timers instead of threads.
#include "http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <random>

#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>

#include "backends.hpp"
#include <promptops/util/strings.hpp>
#include <promptops/util/trace.hpp>

#ifndef PROMPTOPS_VERSION
#define PROMPTOPS_USER_AGENT "git-promptops"
#else
#define PROMPTOPS_USER_AGENT "git-promptops/" PROMPTOPS_VERSION
#endif

namespace promptops::inline providers {

namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// How long the loop sleeps at most, so that `stop` is seen within this time.
constexpr Millis k_transfer_poll_interval{50};
constexpr double k_max_wait_seconds = 300.0;

void init_curl() {
  static std::once_flag once;
  static CURLcode status = CURLE_OK;
  std::call_once(once, [] { status = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (status != CURLE_OK) {
    throw ProviderError(std::string("cannot start libcurl: ") + curl_easy_strerror(status));
  }
}

void check(CURLMcode code, const char* what) {
  if (code != CURLM_OK) {
    throw ProviderError(std::string("libcurl failed (") + what + "): " + curl_multi_strerror(code));
  }
}

// One request through its attempts. The easy handle is made once and re-added for each retry.
struct Transfer {
  std::uint64_t id = 0;
  HttpRequest request;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  CURLM* multi = nullptr;  // set while the transfer is in the multi handle
  char error_buffer[CURL_ERROR_SIZE] = {};
  // Of the current attempt.
  std::string response;
  bool too_large = false;
  std::string retry_after;
  std::string retry_after_ms;
  std::string location;
  // Between attempts.
  int retries = 0;
  bool waiting = false;
  Clock::time_point ready_at;
  HttpResult last_failure;

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (multi != nullptr) {
      curl_multi_remove_handle(multi, easy);
    }
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
    curl_slist_free_all(header_list);
  }

  bool running() const { return multi != nullptr; }

  void reset_attempt() {
    response.clear();
    too_large = false;
    retry_after.clear();
    retry_after_ms.clear();
    location.clear();
    error_buffer[0] = '\0';
  }
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->response.size() + bytes > k_max_answer_bytes) {
    transfer->too_large = true;
    return 0;
  }
  transfer->response.append(data, bytes);
  return bytes;
}

std::size_t read_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after "100 Continue", say)
    transfer->retry_after.clear();
    transfer->retry_after_ms.clear();
    transfer->location.clear();
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return bytes;
  }
  const std::string name = util::to_lower(util::trim(line.substr(0, colon)));
  const std::string value(util::trim(line.substr(colon + 1)));
  if (name == "retry-after") {
    transfer->retry_after = value;
  } else if (name == "retry-after-ms") {
    transfer->retry_after_ms = value;
  } else if (name == "location") {
    transfer->location = value;
  }
  return bytes;
}

template <class T>
void set(CURL* easy, CURLoption option, T value) {
  const CURLcode code = curl_easy_setopt(easy, option, value);
  if (code != CURLE_OK) {
    throw ProviderError(std::string("libcurl failed (setting an option): ") + curl_easy_strerror(code));
  }
}

void configure(Transfer& transfer, const HttpPolicy& policy) {
  transfer.easy = curl_easy_init();
  if (transfer.easy == nullptr) {
    throw ProviderError("libcurl failed: curl_easy_init returned nothing");
  }
  std::vector<std::string> headers = transfer.request.headers;
  const bool has_type = std::any_of(headers.begin(), headers.end(), [](const std::string& header) {
    return util::to_lower(header.substr(0, 13)) == "content-type:";
  });
  if (!has_type) {
    headers.emplace_back("Content-Type: application/json");
  }
  headers.emplace_back("Expect:");  // no "100 Continue" round trip for large bodies
  for (const std::string& header : headers) {
    curl_slist* appended = curl_slist_append(transfer.header_list, header.c_str());
    if (appended == nullptr) {
      throw ProviderError("libcurl failed: cannot build the request headers");
    }
    transfer.header_list = appended;
  }
  CURL* easy = transfer.easy;
  set(easy, CURLOPT_URL, transfer.request.url.c_str());
  set(easy, CURLOPT_POST, 1L);
  set(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(transfer.request.body.size()));
  set(easy, CURLOPT_POSTFIELDS, transfer.request.body.data());
  set(easy, CURLOPT_HTTPHEADER, transfer.header_list);
  set(easy, CURLOPT_USERAGENT, PROMPTOPS_USER_AGENT);
  set(easy, CURLOPT_NOSIGNAL, 1L);
  set(easy, CURLOPT_FOLLOWLOCATION, 0L);  // a key must not follow a redirect to another host
  set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_ACCEPT_ENCODING, "");
  set(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (policy.timeout_seconds > 0) {
    set(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(std::llround(policy.timeout_seconds * 1000.0)));
  }
  set(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);
  set(easy, CURLOPT_WRITEFUNCTION, &write_body);
  set(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set(easy, CURLOPT_HEADERFUNCTION, &read_header);
  set(easy, CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
}

// Failures that another attempt may not meet: the connection broke or never came up.
bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
      return true;
    default:
      return false;
  }
}

// The server's own words from an error body: OpenAI's, Azure's, Anthropic's and Google's
// {"error": {"message"}},
// {"error": "..."} (Ollama), {"message"} or {"detail"} (vLLM, FastAPI); else the body's first line.
std::string server_message(const std::string& body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  std::string text;
  if (!parsed.is_discarded() && parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_object()) {
      const auto message = error->find("message");
      if (message != error->end() && message->is_string()) {
        text = message->get<std::string>();
      }
    } else if (error != parsed.end() && error->is_string()) {
      text = error->get<std::string>();
    }
    for (const char* key : {"message", "detail"}) {
      const auto field = parsed.find(key);
      if (text.empty() && field != parsed.end() && field->is_string()) {
        text = field->get<std::string>();
      }
    }
    if (text.empty()) {
      text = dump_json(parsed);
    }
  } else {
    text = body;
  }
  return first_line(text);
}

// The `@type` suffix of a Google API error detail ("type.googleapis.com/google.rpc.RetryInfo").
bool google_detail_is(const nlohmann::json& detail, std::string_view type) {
  const auto found = detail.is_object() ? detail.find("@type") : detail.end();
  if (found == detail.end() || !found->is_string()) {
    return false;
  }
  const std::string& name = found->get_ref<const std::string&>();
  return name.size() >= type.size() && name.compare(name.size() - type.size(), type.size(), type) == 0;
}

// error.details of a Google API error body ({"error": {"code", "message", "status", "details"}}),
// or null.
const nlohmann::json* google_details(const nlohmann::json& body) {
  const auto error = body.is_object() ? body.find("error") : body.end();
  if (error == body.end() || !error->is_object()) {
    return nullptr;
  }
  const auto details = error->find("details");
  return details != error->end() && details->is_array() ? &*details : nullptr;
}

// A Google API's ErrorInfo reason ("API_KEY_INVALID"), or "".
std::string google_error_reason(const nlohmann::json& body) {
  if (const nlohmann::json* details = google_details(body)) {
    for (const nlohmann::json& detail : *details) {
      if (google_detail_is(detail, "google.rpc.ErrorInfo") && detail.contains("reason") &&
          detail["reason"].is_string()) {
        return detail["reason"].get<std::string>();
      }
    }
  }
  return {};
}

// The wait a Google API's RetryInfo asks for ({"retryDelay": "34.4s"}: a protobuf duration), which
// Gemini sends in the body of a 429 instead of a Retry-After header; capped like Retry-After.
std::optional<std::chrono::milliseconds> google_retry_delay(const nlohmann::json& body) {
  const nlohmann::json* details = google_details(body);
  if (details == nullptr) {
    return std::nullopt;
  }
  for (const nlohmann::json& detail : *details) {
    if (!google_detail_is(detail, "google.rpc.RetryInfo") || !detail.contains("retryDelay") ||
        !detail["retryDelay"].is_string()) {
      continue;
    }
    const std::string text = detail["retryDelay"].get<std::string>();
    if (text.size() < 2 || text.back() != 's') {
      return std::nullopt;
    }
    const std::string number = text.substr(0, text.size() - 1);
    if (!std::all_of(number.begin(), number.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
      return std::nullopt;
    }
    char* end = nullptr;
    const double seconds = std::strtod(number.c_str(), &end);
    if (end == nullptr || *end != '\0') {
      return std::nullopt;
    }
    return Millis(std::llround(std::min(seconds, k_max_wait_seconds) * 1000.0));
  }
  return std::nullopt;
}

struct Outcome {
  HttpResult result;
  bool retryable = false;
  std::optional<Millis> wait;  // what the server asked for with Retry-After
};

double curl_seconds(CURL* easy, CURLINFO info) {
  curl_off_t micros = 0;
  curl_easy_getinfo(easy, info, &micros);
  return static_cast<double>(micros) / 1e6;
}

class Loop {
 public:
  Loop(CURLM* multi, const HttpPolicy& policy, HttpJobs& jobs, const std::atomic<bool>& stop, Millis grace)
      : m_multi(multi),
        m_policy(policy),
        m_jobs(jobs),
        m_stop(stop),
        m_grace(grace),
        m_random(std::random_device{}()) {}

  void run() {
    const std::size_t limit = static_cast<std::size_t>(std::max(1, m_policy.max_concurrency));
    // Requests waiting for a retry do not hold a slot, but the queue is not drained behind them.
    const std::size_t backlog = 2 * limit;
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (!m_stopping && m_stop.load()) {
        begin_stop(now);
      }
      if (m_stopping && now >= m_deadline) {
        cancel_running();
      }
      if (!m_stopping) {
        start_due_retries(now, limit);
        while (!m_exhausted && running() < limit && m_transfers.size() < backlog) {
          std::optional<std::pair<std::uint64_t, HttpRequest>> item = m_jobs.next();
          if (!item) {
            m_exhausted = true;
            break;
          }
          start_new(item->first, std::move(item->second));
        }
      }
      if (!m_finished.empty()) {
        int sending = 0;
        check(curl_multi_perform(m_multi, &sending), "perform");
        deliver();
        continue;  // done() may have asked to stop
      }
      if (m_transfers.empty() && (m_exhausted || m_stopping)) {
        return;
      }
      int still_running = 0;
      check(curl_multi_perform(m_multi, &still_running), "perform");
      if (collect() > 0) {
        continue;  // free slots: start the next requests before sleeping
      }
      check(curl_multi_poll(m_multi, nullptr, 0, wait_ms(Clock::now()), nullptr), "poll");
    }
  }

 private:
  std::size_t running() const {
    return static_cast<std::size_t>(
        std::count_if(m_transfers.begin(), m_transfers.end(),
                      [](const std::unique_ptr<Transfer>& t) { return t->running(); }));
  }

  void start_new(std::uint64_t id, HttpRequest request) {
    auto transfer = std::make_unique<Transfer>();
    transfer->id = id;
    transfer->request = std::move(request);
    configure(*transfer, m_policy);
    m_transfers.push_back(std::move(transfer));
    start(*m_transfers.back());
  }

  void start(Transfer& transfer) {
    transfer.reset_attempt();
    transfer.waiting = false;
    check(curl_multi_add_handle(m_multi, transfer.easy), "add");
    transfer.multi = m_multi;
  }

  void start_due_retries(Clock::time_point now, std::size_t limit) {
    for (const std::unique_ptr<Transfer>& transfer : m_transfers) {
      if (running() >= limit) {
        return;
      }
      if (transfer->waiting && transfer->ready_at <= now) {
        start(*transfer);
      }
    }
  }

  // Reads the finished transfers; returns how many finished.
  int collect() {
    int finished = 0;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(m_multi, &left)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;  // read before the handle is removed
      const auto found = std::find_if(m_transfers.begin(), m_transfers.end(),
                                      [easy](const std::unique_ptr<Transfer>& t) { return t->easy == easy; });
      if (found == m_transfers.end()) {
        continue;
      }
      Transfer& transfer = **found;
      check(curl_multi_remove_handle(m_multi, easy), "remove");
      transfer.multi = nullptr;
      ended(transfer, code);
      ++finished;
    }
    return finished;
  }

  void ended(Transfer& transfer, CURLcode code) {
    Outcome outcome = classify(transfer, code);
    trace(transfer, outcome.result);
    if (outcome.result.ok()) {
      finish(transfer, std::move(outcome.result));
      return;
    }
    const bool retries_left = transfer.retries < m_policy.max_retries;
    if (outcome.retryable && retries_left && !m_stopping) {
      const Millis wait = outcome.wait ? *outcome.wait : backoff(transfer.retries);
      ++transfer.retries;
      transfer.waiting = true;
      transfer.ready_at = Clock::now() + wait;
      transfer.last_failure = std::move(outcome.result);
      return;
    }
    HttpResult result = std::move(outcome.result);
    if (outcome.retryable && retries_left) {
      result.message = "cancelled before retrying: " + result.message;
      result.error = CallError::cancelled;
    } else {
      result.message += retries_suffix(result.attempts);
    }
    finish(transfer, std::move(result));
  }

  Outcome classify(Transfer& transfer, CURLcode code) {
    Outcome outcome;
    HttpResult& result = outcome.result;
    const std::string& url = transfer.request.url;
    result.url = url;
    result.attempts = transfer.retries + 1;
    long status = 0;
    curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
    result.http_status = static_cast<int>(status);

    if (code != CURLE_OK) {
      if (code == CURLE_OPERATION_TIMEDOUT) {
        result.error = CallError::timeout;
        result.cause = "timed out after " + format_seconds(m_policy.timeout_seconds);
        result.message = result.cause + " waiting for " + url;
      } else if (transfer.too_large) {
        result.error = CallError::network;
        result.message = "the answer from " + url + " is larger than " + std::string(k_max_answer_text) +
                         ", the limit for one answer";
        result.cause = "the answer is larger than " + std::string(k_max_answer_text);
      } else {
        result.error = CallError::network;
        const std::string detail =
            transfer.error_buffer[0] != '\0' ? std::string(transfer.error_buffer) : curl_easy_strerror(code);
        result.message = "network error from " + url + ": " + first_line(detail);
        result.cause = curl_easy_strerror(code);  // without the timings the detail may hold
      }
      outcome.retryable = is_transient(code) && !transfer.too_large;
      result.message = redact(std::move(result.message), m_policy.secret);
      result.cause = redact(std::move(result.cause), m_policy.secret);
      return outcome;
    }

    if (status >= 200 && status < 300) {
      result.body = std::move(transfer.response);
      const double seconds = curl_seconds(transfer.easy, CURLINFO_TOTAL_TIME_T) -
                             curl_seconds(transfer.easy, CURLINFO_PRETRANSFER_TIME_T);
      result.latency_ms = std::max(0.0, seconds * 1000.0);
      return outcome;
    }

    const std::string said = server_message(transfer.response);
    const std::string head = "HTTP " + std::to_string(status) + " from " + url;
    const nlohmann::json error_body = nlohmann::json::parse(transfer.response, nullptr, false);
    // Google's APIs answer a key they do not know with 400 and the reason API_KEY_INVALID.
    if (status == 401 || status == 403 ||
        (status == 400 && google_error_reason(error_body) == "API_KEY_INVALID")) {
      result.error = CallError::auth;
      result.message = "authentication failed for provider '" + m_policy.provider + "' (" + head + ")";
      if (!said.empty()) {
        result.message += ": " + said;
      }
      result.message += m_policy.key_env.empty() ? "; no key is sent: set api_key_env for this provider"
                                                 : "; check the key in $" + m_policy.key_env;
    } else {
      if (status == 429) {
        result.error = CallError::rate_limited;
        outcome.retryable = true;
      } else if (status >= 500 && status <= 599) {
        result.error = CallError::server;
        outcome.retryable = true;
      } else {
        result.error = CallError::rejected;
      }
      result.message = head;
      result.cause = "HTTP " + std::to_string(status);
      if (status >= 300 && status < 400) {
        result.cause += ": redirected (redirects are not followed)";
        result.message += ": redirected to " +
                          (transfer.location.empty() ? "another URL" : transfer.location) +
                          " (redirects are not followed)";
      } else if (!said.empty()) {
        result.message += ": " + said;
        result.cause += ": " + said;
      }
      if (outcome.retryable) {
        // retry-after-ms (Azure OpenAI, OpenAI) is the more precise of the two when both come.
        if (!transfer.retry_after_ms.empty()) {
          char* end = nullptr;
          const double millis = std::strtod(transfer.retry_after_ms.c_str(), &end);
          if (end != nullptr && *end == '\0' && millis >= 0) {
            outcome.wait = Millis(std::llround(std::min(millis, k_max_wait_seconds * 1000.0)));
          }
        }
        if (!outcome.wait) {
          outcome.wait = parse_retry_after(transfer.retry_after);
        }
        if (!outcome.wait) {
          outcome.wait = google_retry_delay(error_body);
        }
      }
    }
    result.message = redact(std::move(result.message), m_policy.secret);
    result.cause = redact(std::move(result.cause), m_policy.secret);
    return outcome;
  }

  // retry_delay * 2^retries, with equal jitter: half of it for sure, the other half at random.
  Millis backoff(int retries) {
    const double full = std::min(m_policy.retry_delay_seconds * std::ldexp(1.0, retries), k_max_wait_seconds);
    if (!(full > 0)) {
      return Millis(0);
    }
    std::uniform_real_distribution<double> jitter(0.0, full / 2);
    return Millis(std::llround((full / 2 + jitter(m_random)) * 1000.0));
  }

  void begin_stop(Clock::time_point now) {
    m_stopping = true;
    m_deadline = now + m_grace;
    for (;;) {
      const auto waiting = std::find_if(m_transfers.begin(), m_transfers.end(),
                                        [](const std::unique_ptr<Transfer>& t) { return t->waiting; });
      if (waiting == m_transfers.end()) {
        return;
      }
      HttpResult result = std::move((*waiting)->last_failure);
      result.error = CallError::cancelled;
      result.message = "cancelled before retrying: " + result.message;
      finish(**waiting, std::move(result));
    }
  }

  void cancel_running() {
    for (;;) {
      const auto found = std::find_if(m_transfers.begin(), m_transfers.end(),
                                      [](const std::unique_ptr<Transfer>& t) { return t->running(); });
      if (found == m_transfers.end()) {
        return;
      }
      HttpResult result;
      result.url = (*found)->request.url;
      result.attempts = (*found)->retries + 1;
      result.error = CallError::cancelled;
      result.message = "cancelled before an answer arrived from " + result.url;
      PO_TRACE(redact("http POST " + result.url + " cancelled", m_policy.secret));
      finish(**found, std::move(result));
    }
  }

  // Forgets the transfer (leaving the multi handle first), then reports it.
  void finish(Transfer& transfer, HttpResult result) {
    const auto found =
        std::find_if(m_transfers.begin(), m_transfers.end(),
                     [&transfer](const std::unique_ptr<Transfer>& t) { return t.get() == &transfer; });
    const std::uint64_t id = transfer.id;
    m_transfers.erase(found);
    m_finished.emplace_back(id, std::move(result));
  }

  // Hands the finished requests to the caller. The loop calls it after refilling the free slots
  // and sending, so that scoring answers never delays the next requests.
  void deliver() {
    std::vector<std::pair<std::uint64_t, HttpResult>> batch;
    batch.swap(m_finished);
    for (auto& [id, result] : batch) {
      m_jobs.done(id, std::move(result));
    }
  }

  int wait_ms(Clock::time_point now) const {
    Millis wait = k_transfer_poll_interval;
    for (const std::unique_ptr<Transfer>& transfer : m_transfers) {
      if (transfer->waiting) {
        wait = std::min(wait, std::chrono::ceil<Millis>(transfer->ready_at - now));
      }
    }
    if (m_stopping) {
      wait = std::min(wait, std::chrono::ceil<Millis>(m_deadline - now));
    }
    return static_cast<int>(std::max<Millis::rep>(0, wait.count()));
  }

  // Method, URL, status and timing only; the URL is redacted in case a key was put in it.
  void trace(const Transfer& transfer, const HttpResult& result) const {
    PO_TRACE(redact(
        "http POST " + transfer.request.url + " -> " +
            (result.http_status != 0 ? std::to_string(result.http_status)
                                     : std::string(call_error_name(result.error))) +
            " (attempt " + std::to_string(result.attempts) + ")" +
            (result.ok() ? ", " + std::to_string(std::llround(result.latency_ms)) + " ms" : std::string()),
        m_policy.secret));
  }

  CURLM* m_multi;
  const HttpPolicy& m_policy;
  HttpJobs& m_jobs;
  const std::atomic<bool>& m_stop;
  Millis m_grace;
  std::mt19937_64 m_random;
  std::vector<std::unique_ptr<Transfer>> m_transfers;
  std::vector<std::pair<std::uint64_t, HttpResult>> m_finished;  // ended, not yet handed to done()
  bool m_exhausted = false;
  bool m_stopping = false;
  Clock::time_point m_deadline;
};

}  // namespace

struct HttpClient::Multi {
  CURLM* handle = nullptr;

  explicit Multi(int max_connections) {
    init_curl();
    handle = curl_multi_init();
    if (handle == nullptr) {
      throw ProviderError("cannot start libcurl: curl_multi_init returned nothing");
    }
    // One connection per request in flight, kept open between requests and between runs.
    const long connections = std::max(1, max_connections);
    check(curl_multi_setopt(handle, CURLMOPT_MAX_HOST_CONNECTIONS, connections), "setting connection limits");
    check(curl_multi_setopt(handle, CURLMOPT_MAXCONNECTS, connections), "setting connection limits");
  }
  ~Multi() { curl_multi_cleanup(handle); }
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;
};

HttpClient::HttpClient(HttpPolicy policy) : m_policy(std::move(policy)) {}

HttpClient::~HttpClient() = default;

void HttpClient::run(HttpJobs& jobs, const std::atomic<bool>& stop, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(m_mutex, std::try_to_lock);
  std::unique_ptr<Multi> own;
  Multi* multi = nullptr;
  if (lock.owns_lock()) {
    if (!m_multi) {
      m_multi = std::make_unique<Multi>(m_policy.max_concurrency);
    }
    multi = m_multi.get();
  } else {
    own = std::make_unique<Multi>(m_policy.max_concurrency);
    multi = own.get();
  }
  Loop loop(multi->handle, m_policy, jobs, stop, grace);
  loop.run();
}

std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
  const std::string text(util::trim(value));
  if (text.empty()) {
    return std::nullopt;
  }
  double seconds = 0;
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    char* end = nullptr;
    seconds = std::strtod(text.c_str(), &end);
    if (end == nullptr || *end != '\0') {
      return std::nullopt;
    }
  } else {
    const std::time_t when = curl_getdate(text.c_str(), nullptr);
    if (when == -1) {
      return std::nullopt;
    }
    seconds = std::max(0.0, std::difftime(when, std::time(nullptr)));
  }
  return Millis(std::llround(std::min(seconds, k_max_wait_seconds) * 1000.0));
}

}  // namespace promptops::providers
