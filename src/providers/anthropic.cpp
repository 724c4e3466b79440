// SPDX-License-Identifier: MIT
// The Anthropic Messages API backend: system prompt apart, max_tokens required, text blocks joined.
#include <array>
#include <string_view>

#include "api.hpp"
#include "backends.hpp"

namespace promptops::inline providers {

namespace {

constexpr int k_default_max_tokens = 1024;
constexpr const char* k_api_version = "2023-06-01";

// Parameters of the OpenAI API that the Messages API does not know and would reject.
constexpr std::array<std::string_view, 11> k_openai_only{
    "seed",       "response_format", "frequency_penalty",    "presence_penalty",
    "logit_bias", "logprobs",        "top_logprobs",         "n",
    "user",       "stream",          "max_completion_tokens"};

bool is_openai_only(const std::string& key) {
  for (const std::string_view name : k_openai_only) {
    if (key == name) {
      return true;
    }
  }
  return false;
}

class AnthropicProvider final : public ApiProvider {
 public:
  AnthropicProvider(ProviderSpec spec, std::string key) : ApiProvider(std::move(spec), std::move(key)) {}

  HttpRequest chat_request(const ChatRequest& request) const override {
    nlohmann::json body = nlohmann::json::object();
    const nlohmann::json& params = request.params;
    if (params.is_object()) {
      for (const auto& [name, value] : params.items()) {
        if (name == "stop") {
          body["stop_sequences"] = value.is_string() ? nlohmann::json::array({value}) : value;
        } else if (!is_openai_only(name)) {
          body[name] = value;
        }
      }
      if (!body.contains("max_tokens") && params.contains("max_completion_tokens")) {
        body["max_tokens"] = params["max_completion_tokens"];
      }
    }
    if (!body.contains("max_tokens")) {
      body["max_tokens"] = k_default_max_tokens;
    }
    std::string system;
    nlohmann::json messages = nlohmann::json::array();
    for (const Message& message : request.messages) {
      if (message.role == "system") {
        system += (system.empty() ? "" : "\n\n") + message.content;
      } else {
        messages.push_back({{"role", message.role}, {"content", message.content}});
      }
    }
    body["model"] = request.model;
    body["messages"] = std::move(messages);
    if (!system.empty()) {
      body["system"] = system;
    }
    std::vector<std::string> header_lines = headers("x-api-key", "");
    header_lines.push_back(std::string("anthropic-version: ") + k_api_version);
    return HttpRequest{spec().base_url + "/messages", std::move(header_lines), dump_json(body)};
  }

  ParsedAnswer parse_chat(const nlohmann::json& body) const override {
    ParsedAnswer answer;
    const auto content = body.find("content");  // end() when the body is not an object
    if (content == body.end() || !content->is_array()) {
      answer.problem = "no content array";
      return answer;
    }
    ChatResponse response;
    for (const nlohmann::json& block : *content) {
      const auto type = block.find("type");
      if (type == block.end() || !type->is_string() || type->get<std::string>() != "text") {
        continue;
      }
      const auto text = block.find("text");
      if (text == block.end() || !text->is_string()) {
        answer.problem = "a text block without a text string";
        return answer;
      }
      response.text += text->get<std::string>();
    }
    response.tokens_in = usage_count(body, "input_tokens");
    response.tokens_out = usage_count(body, "output_tokens");
    answer.response = std::move(response);
    return answer;
  }
};

}  // namespace

std::unique_ptr<Provider> make_anthropic_provider(ProviderSpec spec, std::string key) {
  return std::make_unique<AnthropicProvider>(std::move(spec), std::move(key));
}

}  // namespace promptops::providers
