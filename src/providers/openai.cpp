// SPDX-License-Identifier: MIT
// The OpenAI-compatible backend: /chat/completions, /embeddings and /moderations (OpenAI, vLLM,
// Ollama...), and the chat completions body and answer that the azure backend shares.
#include <algorithm>
#include <atomic>
#include <map>

#include <promptops/util/error.hpp>

#include "api.hpp"
#include "backends.hpp"

namespace promptops::inline providers {

namespace {

constexpr std::size_t k_embedding_batch = 256;
constexpr const char* k_default_embedding_model = "text-embedding-3-small";

// One request per batch of inputs; the vectors land in `vectors` by input position.
class EmbeddingJobs final : public HttpJobs {
 public:
  EmbeddingJobs(const std::vector<std::string>& inputs, std::string url, std::vector<std::string> headers,
                std::string model)
      : m_inputs(inputs),
        m_url(std::move(url)),
        m_headers(std::move(headers)),
        m_model(std::move(model)),
        m_vectors(inputs.size()) {}

  std::optional<std::pair<std::uint64_t, HttpRequest>> next() override {
    if (m_next >= m_inputs.size()) {
      return std::nullopt;
    }
    const std::size_t start = m_next;
    const std::size_t end = std::min(m_inputs.size(), start + k_embedding_batch);
    m_next = end;
    nlohmann::json input = nlohmann::json::array();
    for (std::size_t i = start; i < end; ++i) {
      input.push_back(m_inputs[i]);
    }
    const nlohmann::json body{{"model", m_model}, {"input", std::move(input)}};
    return std::make_pair(std::uint64_t{start}, HttpRequest{m_url, m_headers, dump_json(body)});
  }

  void done(std::uint64_t id, HttpResult result) override {
    if (!m_failure.empty()) {
      return;
    }
    if (!result.ok()) {
      m_failure = result.message;
      return;
    }
    const std::size_t start = static_cast<std::size_t>(id);
    const std::size_t count = std::min(m_inputs.size(), start + k_embedding_batch) - start;
    const std::string problem = read(nlohmann::json::parse(result.body, nullptr, false), start, count);
    if (!problem.empty()) {
      m_failure = "malformed embeddings from " + result.url + ": " + problem;
    }
  }

  const std::string& failure() const { return m_failure; }
  std::vector<std::vector<double>> take() { return std::move(m_vectors); }

 private:
  // Stores data[].embedding by data[].index; returns what is wrong, or "".
  std::string read(const nlohmann::json& body, std::size_t start, std::size_t count) {
    if (body.is_discarded() || !body.is_object()) {
      return "the body is not a JSON object";
    }
    const auto data = body.find("data");
    if (data == body.end() || !data->is_array() || data->size() != count) {
      return "expected " + std::to_string(count) + " items in \"data\"";
    }
    std::vector<bool> seen(count, false);
    for (const nlohmann::json& item : *data) {
      const auto index = item.find("index");
      const auto embedding = item.find("embedding");
      if (!item.is_object() || index == item.end() || !index->is_number_unsigned() ||
          embedding == item.end() || !embedding->is_array()) {
        return "an item lacks \"index\" or \"embedding\"";
      }
      const std::size_t at = index->get<std::size_t>();
      if (at >= count || seen[at]) {
        return "index " + std::to_string(at) + " is out of range or repeated";
      }
      seen[at] = true;
      std::vector<double>& vector = m_vectors[start + at];
      vector.reserve(embedding->size());
      for (const nlohmann::json& value : *embedding) {
        if (!value.is_number()) {
          return "an embedding holds something other than numbers";
        }
        vector.push_back(value.get<double>());
      }
    }
    return {};
  }

  const std::vector<std::string>& m_inputs;
  std::string m_url;
  std::vector<std::string> m_headers;
  std::string m_model;
  std::size_t m_next = 0;
  std::vector<std::vector<double>> m_vectors;
  std::string m_failure;
};

// One request, its result kept (a moderation).
class OneRequest final : public HttpJobs {
 public:
  explicit OneRequest(HttpRequest request) : m_request(std::move(request)) {}

  std::optional<std::pair<std::uint64_t, HttpRequest>> next() override {
    if (m_sent) {
      return std::nullopt;
    }
    m_sent = true;
    return std::make_pair(std::uint64_t{0}, m_request);
  }
  void done(std::uint64_t /*id*/, HttpResult result) override { m_result = std::move(result); }
  const HttpResult& result() const { return m_result; }

 private:
  HttpRequest m_request;
  bool m_sent = false;
  HttpResult m_result;
};

// results[0] of a moderations body; what is wrong goes to `problem`.
Moderation read_moderation(const nlohmann::json& body, std::string& problem) {
  Moderation moderation;
  const auto results = body.is_object() ? body.find("results") : body.end();
  if (results == body.end() || !results->is_array() || results->empty() || !results->front().is_object()) {
    problem = "no \"results\" array with an object in it";
    return moderation;
  }
  const nlohmann::json& first = results->front();
  const auto flagged = first.find("flagged");
  if (flagged == first.end() || !flagged->is_boolean()) {
    problem = "results[0] has no boolean \"flagged\"";
    return moderation;
  }
  moderation.flagged = flagged->get<bool>();
  if (const auto categories = first.find("categories");
      categories != first.end() && categories->is_object()) {
    for (const auto& [name, value] : categories->items()) {
      if (value.is_boolean()) {
        moderation.categories[name] = value.get<bool>();
      }
    }
  }
  if (const auto scores = first.find("category_scores"); scores != first.end() && scores->is_object()) {
    for (const auto& [name, value] : scores->items()) {
      if (value.is_number()) {
        moderation.scores[name] = value.get<double>();
      }
    }
  }
  return moderation;
}

class OpenAiProvider final : public ApiProvider {
 public:
  OpenAiProvider(ProviderSpec spec, std::string key) : ApiProvider(std::move(spec), std::move(key)) {}

  HttpRequest chat_request(const ChatRequest& request) const override {
    return HttpRequest{spec().base_url + "/chat/completions", headers("Authorization", "Bearer "),
                       dump_json(openai_chat_body(request))};
  }

  ParsedAnswer parse_chat(const nlohmann::json& body) const override { return parse_openai_chat(body); }

  std::vector<std::vector<double>> embed(const std::vector<std::string>& inputs,
                                         const std::string& model) override {
    if (inputs.empty()) {
      return {};
    }
    std::string name = model;
    if (name.empty()) {
      name = spec().embedding_model.empty() ? k_default_embedding_model : spec().embedding_model;
    }
    EmbeddingJobs jobs(inputs, spec().base_url + "/embeddings", headers("Authorization", "Bearer "), name);
    const std::atomic<bool> stop{false};
    client().run(jobs, stop, std::chrono::milliseconds(0));
    if (!jobs.failure().empty()) {
      throw ProviderError("embeddings failed for provider '" + spec().name +
                          "': " + redact(jobs.failure(), key()));
    }
    return jobs.take();
  }

  Moderation moderate(const std::string& input, const std::string& model) override {
    nlohmann::json body{{"input", input}};
    if (!model.empty()) {
      body["model"] = model;
    }
    OneRequest one(
        HttpRequest{spec().base_url + "/moderations", headers("Authorization", "Bearer "), dump_json(body)});
    const std::atomic<bool> stop{false};
    client().run(one, stop, std::chrono::milliseconds(0));
    const HttpResult& result = one.result();
    std::string problem = result.ok() ? "" : result.message;
    Moderation moderation;
    if (result.ok()) {
      moderation = read_moderation(nlohmann::json::parse(result.body, nullptr, false), problem);
      if (!problem.empty()) {
        problem = "malformed moderation from " + result.url + ": " + problem;
      }
    }
    if (!problem.empty()) {
      throw ProviderError("moderation failed for provider '" + spec().name + "': " + redact(problem, key()));
    }
    return moderation;
  }
};

}  // namespace

nlohmann::json openai_chat_body(const ChatRequest& request) {
  nlohmann::json body = request.params.is_object() ? request.params : nlohmann::json::object();
  body.erase("stream");  // one JSON answer, not server-sent events
  body["model"] = request.model;
  body["messages"] = messages_json(request.messages);
  return body;
}

ParsedAnswer parse_openai_chat(const nlohmann::json& body) {
  ParsedAnswer answer;
  const nlohmann::json* choice = nullptr;
  const nlohmann::json* content = nullptr;
  if (body.is_object()) {
    const auto choices = body.find("choices");
    if (choices != body.end() && choices->is_array() && !choices->empty() && choices->front().is_object()) {
      choice = &choices->front();
      const auto message = choice->find("message");
      if (message != choice->end() && message->is_object()) {
        const auto found = message->find("content");
        if (found != message->end() && found->is_string()) {
          content = &*found;
        }
      }
    }
  }
  if (content == nullptr) {
    if (choice != nullptr && choice->value("finish_reason", nlohmann::json()) == "content_filter") {
      answer.problem = "the content filter withheld the answer (finish_reason content_filter)";
      answer.withheld = true;
      return answer;
    }
    answer.problem = "no choices[0].message.content string";
    return answer;
  }
  ChatResponse response;
  response.text = content->get<std::string>();
  response.tokens_in = usage_count(body, "prompt_tokens");
  response.tokens_out = usage_count(body, "completion_tokens");
  answer.response = std::move(response);
  return answer;
}

std::unique_ptr<Provider> make_openai_provider(ProviderSpec spec, std::string key) {
  return std::make_unique<OpenAiProvider>(std::move(spec), std::move(key));
}

}  // namespace promptops::providers
