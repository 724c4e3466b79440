// SPDX-License-Identifier: MIT
// A model server on 127.0.0.1 for tests and benchmarks: OpenAI-compatible chat completions and
// embeddings, the Anthropic Messages API, Azure OpenAI and Gemini, answers by rules, and
// injected faults.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops::test {

// One way to misbehave, applied to one request.
struct Fault {
  enum class Kind {
    status,     // answer `status` (429, 500, 503...) with the endpoint's error body (OpenAI-style,
                // Azure's {"error": {"code": "429", "message"}}, Gemini's {"error": {"code",
                // "message", "status"}})
    slow,       // answer normally after `delay` (on top of the server's latency)
    drop,       // close the connection without answering
    malformed,  // answer 200 with a body that is not JSON
    truncated,  // answer 200 with JSON that lacks the answer field ("choices"/"content"/"candidates")
    safety,     // answer 200 as a safety filter that withholds the answer: Gemini's finishReason
                // SAFETY with a blocked rating, OpenAI's and Azure's finish_reason
                // "content_filter" with null content (Anthropic: as truncated)
    blocked,    // the prompt is refused: Gemini's 200 with promptFeedback.blockReason SAFETY and no
                // candidates, Azure's and OpenAI's 400 with code "content_filter" (Anthropic: as
                // truncated)
  };
  Fault() = default;
  // {kind, status, retry_after, delay}, as tests write a fault in one expression.
  Fault(Kind fault_kind, int fault_status, std::optional<std::string> fault_retry_after = std::nullopt,
        std::chrono::milliseconds fault_delay = std::chrono::milliseconds(0))
      : kind(fault_kind),
        status(fault_status),
        retry_after(std::move(fault_retry_after)),
        delay(fault_delay) {}

  Kind kind = Kind::status;
  int status = 500;
  std::optional<std::string> retry_after;  // the Retry-After header value, for status faults
  std::chrono::milliseconds delay{0};
  std::optional<std::string> retry_after_ms;  // the retry-after-ms header value (Azure), for status faults
  // Gemini only: a google.rpc.RetryInfo detail with this retryDelay ("0.2s") in the error body.
  std::optional<std::string> retry_delay;
};

// What the server saw of one request.
struct SeenRequest {
  std::string method;
  std::string path;                            // "/v1/chat/completions", "/v1/messages", ...
  std::string query;                           // what followed '?' in the target, "" for none
  std::map<std::string, std::string> headers;  // names lower-cased
  nlohmann::json body;                         // null when the body was not JSON
  int status = 0;                              // what the server answered (0: dropped)
};

// A thread-per-connection HTTP/1.1 server with keep-alive on 127.0.0.1 and an ephemeral port.
//
// Endpoints:
// - POST /v1/chat/completions (OpenAI): {"choices": [{"message": {"role": "assistant",
//   "content": ANSWER}, "finish_reason": "stop"}], "usage": {"prompt_tokens", "completion_tokens"}}.
// - POST /v1/messages (Anthropic): {"content": [{"type": "text", "text": ANSWER}], "usage":
//   {"input_tokens", "output_tokens"}, "stop_reason": "end_turn"}.
// - POST /v1/embeddings (OpenAI): a deterministic bag-of-words vector of 64 dimensions per input
//   (same words, same vector), {"data": [{"index", "embedding"}], "usage": {...}}.
// - POST /v1/moderations (OpenAI): per input, categories harassment, hate, self-harm, sexual and
//   violence, each flagged (score 0.9, else 0.01) when the lower-cased input holds its word:
//   "idiot", "hateful", "hurt myself", "explicit", "kill"; {"results": [{"flagged",
//   "categories", "category_scores"}]}.
// - POST /openai/deployments/DEPLOYMENT/chat/completions?api-version=V (Azure OpenAI): the
//   OpenAI chat completions answer; without an api-version query, 404 {"error": {"code": "404",
//   "message": "Resource not found"}} as Azure answers. The query is in SeenRequest::query.
// - POST /v1beta/models/MODEL:generateContent (Gemini): {"contents": [{"role", "parts":
//   [{"text"}]}], "systemInstruction": {"parts": [{"text"}]}, ...} in; {"candidates": [{"content":
//   {"role": "model", "parts": [{"text": ANSWER}]}, "finishReason": "STOP", "index": 0}],
//   "usageMetadata": {"promptTokenCount", "candidatesTokenCount", "totalTokenCount"},
//   "modelVersion": MODEL} out; without "contents", 400 INVALID_ARGUMENT.
// Tokens are counted as whitespace-separated words (prompt: every message's content; Gemini:
// every part's text, system instruction included).
//
// Auth: when a key is set, requests must carry "Authorization: Bearer KEY" (OpenAI) or
// "x-api-key: KEY" (Anthropic) or else get 401 with an OpenAI-style error body that quotes the
// start of the key they sent, as OpenAI does ("Incorrect API key provided: sk-te****"), so that tests
// can check it never reaches the user. Azure takes "api-key: KEY" or "Authorization: Bearer KEY"
// (an Entra ID token) and answers anything else with Azure's 401 {"error": {"code": "401",
// "message": "Access denied due to invalid subscription key or wrong API endpoint. ..."}}. Gemini
// takes "x-goog-api-key: KEY"; without it, 403 PERMISSION_DENIED ("Method doesn't allow
// unregistered callers ..."), with another key, 400 INVALID_ARGUMENT "API key not valid. Please
// pass a valid API key." with an ErrorInfo detail of reason API_KEY_INVALID, as Gemini answers.
//
// Answers: the responder gets the request body and returns the answer text. The default one
// applies the rules in order (the first rule whose every `when` string occurs in the prompt
// text, i.e. all message contents joined by "\n", gives `answer`), and otherwise echoes the last
// user message (Gemini: the parts of the last "user" content).
class LlmServer {
 public:
  struct Rule {
    std::vector<std::string> when;
    std::string answer;
  };
  using Responder = std::function<std::string(const nlohmann::json& body)>;

  // Starts listening at once; the destructor stops the server and joins every thread.
  LlmServer();
  // The same on a given port of 127.0.0.1 (0: an ephemeral one); throws std::system_error when
  // the port cannot be bound.
  explicit LlmServer(int port);
  ~LlmServer();
  LlmServer(const LlmServer&) = delete;
  LlmServer& operator=(const LlmServer&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT/v1"
  std::string base_url() const;

  void set_key(std::string key);
  void set_rules(std::vector<Rule> rules);  // replaces the responder with the rule-based one
  void set_responder(Responder responder);
  // Every answer waits this long first (simulated model time; requests wait concurrently).
  void set_latency(std::chrono::milliseconds latency);
  // The next faults.size() model requests (chat, messages, embeddings, moderations, Azure or Gemini) get
  // these faults, in arrival order; later ones are answered normally.
  void inject(std::vector<Fault> faults);
  // Fails every model request whose prompt text contains `marker` with `fault` (for a fault
  // that must hit one particular case however requests interleave).
  void inject_when(std::string marker, Fault fault);

  // Model requests received (including faulted and unauthorised ones) and answered with 200.
  std::size_t requests() const;
  std::size_t answered() const;
  // TCP connections accepted so far (connection reuse keeps this near the concurrency).
  std::size_t connections() const;
  // The most model requests that were being handled at the same moment.
  std::size_t max_in_flight() const;
  // Every request so far, in arrival order.
  std::vector<SeenRequest> seen() const;
  // Forgets counters and seen requests (not rules, key, latency or faults).
  void reset_counters();

  // The prompt text of a chat, messages or Gemini body, as the rules see it.
  static std::string prompt_text(const nlohmann::json& body);

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

}  // namespace promptops::test
