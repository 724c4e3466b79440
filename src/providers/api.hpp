// SPDX-License-Identifier: MIT
// The base of the HTTP API providers (openai, anthropic, azure, gemini): requests out, answers
// parsed, on HttpClient.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/providers/provider.hpp>

#include "http.hpp"

namespace promptops::inline providers {

// What a backend makes of a 2xx answer that is JSON.
struct ParsedAnswer {
  std::optional<ChatResponse> response;
  std::string problem;  // when response is empty: what is missing, e.g. "no choices[0].message.content"
  // The body is as the API promises, but it withholds the answer (a safety filter, a blocked
  // prompt): `problem` says why, and the call is rejected rather than malformed.
  bool withheld = false;
};

class ApiProvider : public Provider {
 public:
  void run(CallQueue& queue, const std::atomic<bool>& stop, std::chrono::milliseconds grace) override;

  // The HTTP request for one chat call.
  virtual HttpRequest chat_request(const ChatRequest& request) const = 0;
  // The answer in a 2xx JSON body.
  virtual ParsedAnswer parse_chat(const nlohmann::json& body) const = 0;
  // The result of one chat call from how its HTTP request ended.
  ChatResult chat_result(HttpResult http) const;

 protected:
  ApiProvider(ProviderSpec spec, std::string key);

  HttpClient& client() { return m_client; }
  // spec().headers, then the key in `header` (spec().api_key_header when set) after `prefix`.
  std::vector<std::string> headers(std::string_view header, std::string_view prefix) const;
  // spec().headers alone, as "Name: value" lines.
  std::vector<std::string> configured_headers() const;
  // "malformed answer from URL: why" for a 2xx body the API would not send.
  ChatResult malformed(const HttpResult& http, const std::string& why) const;
  const std::string& key() const { return m_key; }

 private:
  std::string m_key;
  HttpClient m_client;
};

// A token count from a usage object: usage[name] when it is an integer, else 0.
std::int64_t usage_count(const nlohmann::json& body, const char* name);

// The OpenAI chat completions body (openai and azure): the params as written without "stream",
// then "model" and "messages".
nlohmann::json openai_chat_body(const ChatRequest& request);
// choices[0].message.content and the usage of an OpenAI chat completions body (openai and azure);
// an answer a content filter withheld (finish_reason "content_filter") is `withheld`.
ParsedAnswer parse_openai_chat(const nlohmann::json& body);

}  // namespace promptops::providers
