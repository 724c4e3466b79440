// SPDX-License-Identifier: MIT
// The Gemini API backend (Google's Generative Language API): models/MODEL:generateContent, the
// key in x-goog-api-key, system messages as systemInstruction, parameters in generationConfig.
#include <array>
#include <string_view>
#include <utility>

#include "api.hpp"
#include "backends.hpp"

namespace promptops::inline providers {

namespace {

// The parameters' documented names (as the openai and anthropic kinds take them) and the
// generationConfig field each one becomes.
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> k_gemini_config_names{{
    {"temperature", "temperature"},
    {"max_tokens", "maxOutputTokens"},
    {"max_completion_tokens", "maxOutputTokens"},
    {"max_output_tokens", "maxOutputTokens"},
    {"top_p", "topP"},
    {"top_k", "topK"},
    {"seed", "seed"},
    {"presence_penalty", "presencePenalty"},
    {"frequency_penalty", "frequencyPenalty"},
    {"response_mime_type", "responseMimeType"},
}};

// Parameters that go beside generationConfig in the request, by either spelling.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> k_gemini_request_fields{{
    {"safety_settings", "safetySettings"},
    {"safetySettings", "safetySettings"},
    {"tools", "tools"},
    {"tool_config", "toolConfig"},
    {"toolConfig", "toolConfig"},
    {"cached_content", "cachedContent"},
    {"cachedContent", "cachedContent"},
}};

// Parameters of the OpenAI API that mean nothing here: dropped, as the anthropic kind drops them.
constexpr std::array<std::string_view, 6> k_gemini_dropped{"stream",     "n",        "user",
                                                           "logit_bias", "logprobs", "top_logprobs"};

// The finish reasons of an answer that is there (whole, or cut at maxOutputTokens).
constexpr std::array<std::string_view, 3> k_gemini_finished{"STOP", "MAX_TOKENS",
                                                            "FINISH_REASON_UNSPECIFIED"};

template <std::size_t N>
std::string_view gemini_lookup(const std::array<std::pair<std::string_view, std::string_view>, N>& table,
                               std::string_view name) {
  for (const auto& [from, to] : table) {
    if (from == name) {
      return to;
    }
  }
  return {};
}

template <std::size_t N>
bool gemini_listed(const std::array<std::string_view, N>& list, std::string_view name) {
  for (const std::string_view entry : list) {
    if (entry == name) {
      return true;
    }
  }
  return false;
}

// object[name] when it is a string, else "" (a body of the wrong shape never throws).
std::string gemini_string(const nlohmann::json& object, const char* name) {
  const auto found = object.is_object() ? object.find(name) : object.end();
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// object[name] is true.
bool gemini_true(const nlohmann::json& object, const char* name) {
  const auto found = object.is_object() ? object.find(name) : object.end();
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

// generationConfig fields for OpenAI's response_format: json_object and json_schema ask for JSON
// (the schema, which must fit Gemini's responseSchema, goes along), text for plain text.
void gemini_response_format(const nlohmann::json& format, nlohmann::json& config) {
  const std::string type = gemini_string(format, "type");
  if (type == "json_object" || type == "json_schema") {
    config["responseMimeType"] = "application/json";
  } else if (type == "text") {
    config["responseMimeType"] = "text/plain";
  }
  if (type == "json_schema" && format.contains("json_schema") && format["json_schema"].is_object() &&
      format["json_schema"].contains("schema")) {
    config["responseSchema"] = format["json_schema"]["schema"];
  }
}

// "HARM_CATEGORY_HARASSMENT, HARM_CATEGORY_HATE_SPEECH": the ratings marked blocked, else those
// rated HIGH; "" when none is.
std::string gemini_blocking_categories(const nlohmann::json& holder) {
  const auto ratings = holder.find("safetyRatings");
  if (ratings == holder.end() || !ratings->is_array()) {
    return {};
  }
  std::string blocked;
  std::string high;
  for (const nlohmann::json& rating : *ratings) {
    const std::string category = gemini_string(rating, "category");
    if (category.empty()) {
      continue;
    }
    if (gemini_true(rating, "blocked")) {
      blocked += (blocked.empty() ? "" : ", ") + category;
    } else if (gemini_string(rating, "probability") == "HIGH") {
      high += (high.empty() ? "" : ", ") + category;
    }
  }
  return blocked.empty() ? high : blocked;
}

// Why a candidate that ended with `reason` has no answer, in words.
std::string gemini_withheld_reason(const std::string& reason, const nlohmann::json& candidate) {
  std::string why;
  if (reason == "SAFETY" || reason == "IMAGE_SAFETY") {
    why = "the safety filters withheld the answer";
  } else if (reason == "RECITATION") {
    why = "the answer was withheld as a recitation of existing content";
  } else if (reason == "BLOCKLIST" || reason == "PROHIBITED_CONTENT" || reason == "SPII") {
    why = "the content policy withheld the answer";
  } else {
    why = "the model stopped without an answer";
  }
  why += " (finishReason " + reason;
  const std::string categories = gemini_blocking_categories(candidate);
  if (!categories.empty()) {
    why += ": " + categories;
  }
  return why + ")";
}

class GeminiProvider final : public ApiProvider {
 public:
  GeminiProvider(ProviderSpec spec, std::string key) : ApiProvider(std::move(spec), std::move(key)) {}

  HttpRequest chat_request(const ChatRequest& request) const override {
    nlohmann::json body = nlohmann::json::object();
    nlohmann::json config = nlohmann::json::object();
    const nlohmann::json& params = request.params;
    if (params.is_object()) {
      for (const auto& [name, value] : params.items()) {
        if (name == "generationConfig" || name == "generation_config") {
          if (value.is_object()) {
            config.update(value);
          }
        } else if (const std::string_view field = gemini_lookup(k_gemini_request_fields, name);
                   !field.empty()) {
          body[std::string(field)] = value;
        } else if (const std::string_view key = gemini_lookup(k_gemini_config_names, name); !key.empty()) {
          config[std::string(key)] = value;
        } else if (name == "stop") {
          config["stopSequences"] = value.is_string() ? nlohmann::json::array({value}) : value;
        } else if (name == "response_format") {
          gemini_response_format(value, config);
        } else if (!gemini_listed(k_gemini_dropped, name)) {
          config[name] = value;  // another generationConfig field, as written (thinkingConfig...)
        }
      }
    }
    nlohmann::json system_parts = nlohmann::json::array();
    nlohmann::json contents = nlohmann::json::array();
    for (const Message& message : request.messages) {
      nlohmann::json part = {{"text", message.content}};
      if (message.role == "system") {
        system_parts.push_back(std::move(part));
      } else {
        contents.push_back({{"role", message.role == "assistant" ? "model" : message.role},
                            {"parts", nlohmann::json::array({std::move(part)})}});
      }
    }
    body["contents"] = std::move(contents);
    if (!system_parts.empty()) {
      body["systemInstruction"] = {{"parts", std::move(system_parts)}};
    }
    if (!config.empty()) {
      body["generationConfig"] = std::move(config);
    }
    return HttpRequest{spec().base_url + "/" + model_path(request.model) + ":generateContent",
                       headers("x-goog-api-key", ""), dump_json(body)};
  }

  ParsedAnswer parse_chat(const nlohmann::json& body) const override {
    ParsedAnswer answer;
    if (!body.is_object()) {
      answer.problem = "the body is not a JSON object";
      return answer;
    }
    const auto candidates = body.find("candidates");
    if (candidates == body.end() || !candidates->is_array() || candidates->empty()) {
      const auto feedback = body.find("promptFeedback");
      if (feedback != body.end() && feedback->is_object() && feedback->contains("blockReason")) {
        const nlohmann::json& reason = (*feedback)["blockReason"];
        answer.problem = "the prompt was blocked (promptFeedback.blockReason " +
                         (reason.is_string() ? reason.get<std::string>() : dump_json(reason));
        const std::string categories = gemini_blocking_categories(*feedback);
        answer.problem += (categories.empty() ? "" : ": " + categories) + ")";
        answer.withheld = true;
        return answer;
      }
      answer.problem = "no candidates";
      return answer;
    }
    const nlohmann::json& candidate = candidates->front();
    if (!candidate.is_object()) {
      answer.problem = "candidates[0] is not an object";
      return answer;
    }
    const std::string reason = gemini_string(candidate, "finishReason");
    if (!reason.empty() && !gemini_listed(k_gemini_finished, reason)) {
      answer.problem = gemini_withheld_reason(reason, candidate);
      answer.withheld = true;
      return answer;
    }
    ChatResponse response;
    // No content, or content without parts, is an empty answer (all of maxOutputTokens spent
    // on thinking, say).
    static const nlohmann::json k_no_parts = nlohmann::json::array();
    const auto content = candidate.find("content");
    const nlohmann::json& parts =
        content != candidate.end() && content->is_object() && content->contains("parts") ? (*content)["parts"]
                                                                                         : k_no_parts;
    if (!parts.is_array()) {
      answer.problem = "candidates[0].content.parts is not an array";
      return answer;
    }
    for (const nlohmann::json& part : parts) {
      if (!part.is_object() || gemini_true(part, "thought") || !part.contains("text")) {
        continue;  // a thought summary, or a part that is not text
      }
      if (!part["text"].is_string()) {
        answer.problem = "a part's text is not a string";
        return answer;
      }
      response.text += part["text"].get<std::string>();
    }
    response.tokens_in = metadata_count(body, "promptTokenCount");
    // Thinking is billed as output.
    response.tokens_out =
        metadata_count(body, "candidatesTokenCount") + metadata_count(body, "thoughtsTokenCount");
    answer.response = std::move(response);
    return answer;
  }

 private:
  // "models/NAME" for a bare name; "models/..." and "tunedModels/..." as written. Each segment is
  // escaped.
  static std::string model_path(const std::string& model) {
    for (const std::string_view collection :
         {std::string_view("models/"), std::string_view("tunedModels/")}) {
      if (model.rfind(collection, 0) == 0) {
        return std::string(collection) + url_path_segment(std::string_view(model).substr(collection.size()));
      }
    }
    return "models/" + url_path_segment(model);
  }

  static std::int64_t metadata_count(const nlohmann::json& body, const char* name) {
    const auto usage = body.find("usageMetadata");
    if (usage == body.end() || !usage->is_object()) {
      return 0;
    }
    const auto count = usage->find(name);
    return count != usage->end() && count->is_number_integer() ? count->get<std::int64_t>() : 0;
  }
};

}  // namespace

std::unique_ptr<Provider> make_gemini_provider(ProviderSpec spec, std::string key) {
  return std::make_unique<GeminiProvider>(std::move(spec), std::move(key));
}

}  // namespace promptops::inline providers
