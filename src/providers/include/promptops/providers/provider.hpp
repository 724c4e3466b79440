// SPDX-License-Identifier: MIT
// Model providers, the only network code: one interface and five backends (openai, anthropic,
// azure, gemini, exec), with retries, backoff and secrets kept out of every message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/config/config.hpp>
#include <promptops/prompt/prompt.hpp>

namespace promptops::inline providers {

// One chat call: rendered messages, the model and the parameters passed through as written
// (temperature, max_tokens, top_p, seed, stop, response_format...).
struct ChatRequest {
  std::vector<Message> messages;
  std::string model;
  nlohmann::json params = nlohmann::json::object();
};

struct ChatResponse {
  std::string text;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double latency_ms = 0.0;  // of the attempt that succeeded: from sending to the last byte
  int attempts = 1;         // 1 + retries
};

enum class CallError {
  none,
  auth,          // 401/403: the run must stop
  rate_limited,  // 429 after every retry
  server,        // 5xx after every retry
  network,       // connection refused, reset, dropped, DNS... after every retry
  timeout,       // the provider's timeout, after every retry
  malformed,     // a 2xx answer that is not the JSON the API promises (not retried)
  rejected,      // another 4xx: bad model name or parameters (not retried)
  exec_failed,   // an exec command that exited non-zero, was killed or could not start
  cancelled,     // stopped by Ctrl-C before an answer arrived
};

// "auth", "rate-limited", ...
std::string_view call_error_name(CallError error);

struct ChatResult {
  std::optional<ChatResponse> response;  // set on success
  CallError error = CallError::none;
  std::string message;  // on failure: one line such as "HTTP 500 from http://host/v1/chat/completions:
                        // upstream overloaded (after 4 retries)"; never holds the key
  int http_status = 0;  // the last status seen, 0 for none
  // On failure: what went wrong without where or how often ("Couldn't connect to server",
  // "HTTP 503: overloaded"); empty when the message is all there is. Never holds the key.
  std::string cause;
  bool ok() const { return response.has_value(); }
};

// One answer of a moderations endpoint (OpenAI's POST /moderations) for one input.
struct Moderation {
  bool flagged = false;                    // the endpoint's overall verdict
  std::map<std::string, bool> categories;  // category name -> flagged
  std::map<std::string, double> scores;    // category name -> score in [0, 1]
};

// The caller's side of Provider::run: where requests come from and where results go. Both are
// called only on the thread that called run().
class CallQueue {
 public:
  virtual ~CallQueue() = default;
  // The next request and an id the caller chooses, or nullopt when there are no more.
  virtual std::optional<std::pair<std::uint64_t, ChatRequest>> next() = 0;
  // The end of one request (success, failure after retries, or cancelled).
  virtual void done(std::uint64_t id, ChatResult result) = 0;
};

// What a provider needs from outside its config section.
struct ProviderOptions {
  // The user trusts this repository's exec commands (git config promptops.trustExec, read by the
  // caller from the user's own config, never from a tracked file).
  bool exec_trusted = false;
  // Where the user lets keys go beyond the well-known pairs and loopback (git config
  // promptops.trustSecret, read by the caller from the user's own config): "VARIABLE@HOST" for
  // https://HOST, "VARIABLE@http://HOST" for plain http too. See judge_secret().
  std::vector<std::string> trusted_secrets;
  std::filesystem::path workdir;  // where exec commands run; empty = the current directory
  int max_concurrency = 0;        // > 0: requests in flight per provider, instead of its own setting
  // Reads an environment variable; the default reads the process environment.
  std::function<std::optional<std::string>(const std::string&)> getenv;
};

class Provider {
 public:
  virtual ~Provider() = default;

  const ProviderSpec& spec() const { return m_spec; }

  // Where answers come from, for cache keys: the kind and the base URL or command. Never the key
  // or header values.
  virtual std::string identity() const;

  // Sends the requests of `queue` with at most spec().max_concurrency in flight, retrying 429,
  // 5xx, connection errors and timeouts up to spec().max_retries times with exponential backoff
  // (spec().retry_delay_seconds, doubled each time, with jitter) that honours Retry-After, until
  // next() has returned nullopt and every request has ended. When `stop` becomes true no new
  // request is sent, requests in flight get up to `grace` to finish, and the rest end as
  // CallError::cancelled. Failures are results, not exceptions; run() throws only for a bug-level
  // problem such as libcurl failing to start.
  virtual void run(CallQueue& queue, const std::atomic<bool>& stop,
                   std::chrono::milliseconds grace = std::chrono::milliseconds(2000)) = 0;

  // One request, synchronously, with the same retries (the judge of llm-rubric).
  ChatResult complete(const ChatRequest& request);

  // Embeddings of `inputs` from the provider's embeddings endpoint (for `similar`), in order.
  // `model` empty = spec().embedding_model or "text-embedding-3-small". Throws ProviderError when
  // the kind has none (anthropic, exec) or the call fails after retries.
  virtual std::vector<std::vector<double>> embed(const std::vector<std::string>& inputs,
                                                 const std::string& model);

  // The moderations endpoint's verdict on `input` (for `moderation`). `model` empty = the
  // endpoint's default. Throws ProviderError when the kind has none (anthropic, exec) or the call
  // fails after retries.
  virtual Moderation moderate(const std::string& input, const std::string& model);

 protected:
  explicit Provider(ProviderSpec spec) : m_spec(std::move(spec)) {}

 private:
  ProviderSpec m_spec;
};

// The provider `spec` describes. Throws ConfigError (with a hint) for an unknown kind, an openai,
// azure or gemini provider without base_url (anthropic defaults to https://api.anthropic.com/v1;
// the config fills in gemini's), an api_key_env (or azure's token_env) naming an unset or empty
// variable ("export NAME=..."), a key that judge_secret()
// does not allow to go to base_url (the `git config` line that trusts it), and an exec provider
// when options.exec_trusted is false ("git config promptops.trustExec true" after reading the
// command).
std::unique_ptr<Provider> make_provider(const ProviderSpec& spec, const ProviderOptions& options);

// `text` with every occurrence of `secret` (when not empty) and anything shaped like a bearer
// token or an "sk-..." key replaced by "[redacted]". Used on every message built from a response
// or a libcurl error.
std::string redact(std::string text, std::string_view secret = {});

// The most bytes one answer may have: an exec command's stdout (provider or scorer) or an HTTP
// response body. A bigger one is an error that names the limit, and the command is killed.
constexpr std::size_t k_max_answer_bytes = std::size_t{16} << 20;
// "16 MiB", for messages.
constexpr std::string_view k_max_answer_text = "16 MiB";

// Whether a key read from $variable may be sent to `url`, decided before any connection.
struct SecretVerdict {
  bool allowed = false;
  std::string host;         // lower case, as libcurl would connect to it; "" when it names none
  bool plain_http = false;  // the URL is http://
  std::string trust;        // the promptops.trustSecret value that would allow it
};
// Allowed: to a loopback host (localhost, 127.0.0.0/8, [::1]) over http or https;
// OPENAI_API_KEY to https://api.openai.com, ANTHROPIC_API_KEY to https://api.anthropic.com,
// GEMINI_API_KEY to https://generativelanguage.googleapis.com, AZURE_OPENAI_API_KEY and
// AZURE_OPENAI_AD_TOKEN to https://*.openai.azure.com and https://*.cognitiveservices.azure.com,
// a preset's variable to its own https host; and a pair the user trusts (`trusted`, as
// ProviderOptions::trusted_secrets). Hosts are compared case-insensitively as libcurl parses the
// URL (userinfo and port are not the host); any port.
// A URL libcurl cannot parse is refused.
SecretVerdict judge_secret(std::string_view variable, std::string_view url,
                           const std::vector<std::string>& trusted);
// localhost, a dotted IPv4 address in 127.0.0.0/8, or [::1] (any spelling); case-insensitive.
bool is_loopback_host(std::string_view host);

}  // namespace promptops::providers
