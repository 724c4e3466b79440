// SPDX-License-Identifier: MIT
// Unit tests for the loopback model server of the tests (support/llm_server), with libcurl as client.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/llm_server.hpp"

using promptops::test::Fault;
using promptops::test::LlmServer;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased, of the final response

  json parsed() const { return json::parse(body); }
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();  // a new response (after "100 Continue")
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    headers[name] = value;
  }
  return size * count;
}

// One libcurl easy handle; consecutive requests reuse its connection when the server allows.
class Client {
 public:
  Client() {
    // No Catch2 assertions here: clients also run on other threads, and Catch2 is not thread-safe.
    static const CURLcode k_global = curl_global_init(CURL_GLOBAL_DEFAULT);
    m_curl = k_global == CURLE_OK ? curl_easy_init() : nullptr;
    if (m_curl == nullptr) {
      throw std::runtime_error("cannot initialise libcurl");
    }
  }
  ~Client() { curl_easy_cleanup(m_curl); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Reply post(const std::string& url, const std::string& body, const std::vector<std::string>& headers = {}) {
    curl_easy_setopt(m_curl, CURLOPT_POST, 1L);
    curl_easy_setopt(m_curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(m_curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    std::vector<std::string> all = {"Content-Type: application/json"};
    all.insert(all.end(), headers.begin(), headers.end());
    return perform(url, all);
  }

  Reply get(const std::string& url) {
    curl_easy_setopt(m_curl, CURLOPT_HTTPGET, 1L);
    return perform(url, {});
  }

 private:
  Reply perform(const std::string& url, const std::vector<std::string>& headers) {
    Reply reply;
    curl_slist* list = nullptr;
    for (const auto& header : headers) {
      list = curl_slist_append(list, header.c_str());
    }
    curl_easy_setopt(m_curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(m_curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(m_curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(m_curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(m_curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(m_curl, CURLOPT_HEADERDATA, &reply.headers);
    curl_easy_setopt(m_curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(m_curl, CURLOPT_NOSIGNAL, 1L);
    reply.code = curl_easy_perform(m_curl);
    curl_easy_getinfo(m_curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_setopt(m_curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    return reply;
  }

  CURL* m_curl = nullptr;
};

Reply post(const std::string& url, const json& body, const std::vector<std::string>& headers = {}) {
  Client client;
  return client.post(url, body.dump(), headers);
}

json chat_body(const std::string& user) {
  return {{"model", "gpt-test"}, {"messages", {{{"role", "user"}, {"content", user}}}}};
}

long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

Fault status_fault(int status, std::optional<std::string> retry_after = std::nullopt) {
  Fault fault;
  fault.kind = Fault::Kind::status;
  fault.status = status;
  fault.retry_after = std::move(retry_after);
  return fault;
}

Fault kind_fault(Fault::Kind kind, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
  Fault fault;
  fault.kind = kind;
  fault.delay = delay;
  return fault;
}

}  // namespace

TEST_CASE("llm server answers chat completions as OpenAI does", "[llm-server]") {
  LlmServer server;
  CHECK(server.base_url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/v1");
  CHECK(server.port() > 0);

  const json request = {{"model", "gpt-test"},
                        {"messages",
                         {{{"role", "system"}, {"content", "You are terse."}},
                          {{"role", "user"}, {"content", "Say hello world"}}}}};
  const Reply reply = post(server.base_url() + "/chat/completions", request, {"X-Trace: abc"});
  REQUIRE(reply.code == CURLE_OK);
  CHECK(reply.status == 200);
  CHECK(reply.headers.at("content-type") == "application/json");
  CHECK(reply.headers.at("content-length") == std::to_string(reply.body.size()));
  const json answer = reply.parsed();
  CHECK(answer["object"] == "chat.completion");
  CHECK(answer["model"] == "gpt-test");
  CHECK(answer["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  REQUIRE(answer["choices"].size() == 1);
  CHECK(answer["choices"][0]["index"] == 0);
  CHECK(answer["choices"][0]["message"] == json{{"role", "assistant"}, {"content", "Say hello world"}});
  CHECK(answer["choices"][0]["finish_reason"] == "stop");
  CHECK(answer["usage"] == json{{"prompt_tokens", 6}, {"completion_tokens", 3}, {"total_tokens", 9}});

  CHECK(server.requests() == 1);
  CHECK(server.answered() == 1);
  CHECK(server.connections() == 1);
  const auto seen = server.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].path == "/v1/chat/completions");
  CHECK(seen[0].headers.at("x-trace") == "abc");
  CHECK(seen[0].headers.at("content-type") == "application/json");
  CHECK(seen[0].body == request);
  CHECK(seen[0].status == 200);
}

TEST_CASE("llm server answers the Anthropic Messages API", "[llm-server]") {
  LlmServer server;
  server.set_rules({{{"Be brief", "capital", "France"}, "Paris"}});
  const json request = {{"model", "claude-test"},
                        {"max_tokens", 100},
                        {"system", {{{"type", "text"}, {"text", "Be brief."}}}},
                        {"messages",
                         {{{"role", "user"},
                           {"content",
                            {{{"type", "text"}, {"text", "What is the capital"}},
                             {{"type", "text"}, {"text", "of France?"}}}}}}}};
  CHECK(LlmServer::prompt_text(request) == "Be brief.\nWhat is the capital\nof France?");

  const Reply reply = post(server.base_url() + "/messages", request, {"anthropic-version: 2023-06-01"});
  REQUIRE(reply.code == CURLE_OK);
  CHECK(reply.status == 200);
  const json answer = reply.parsed();
  CHECK(answer["type"] == "message");
  CHECK(answer["role"] == "assistant");
  CHECK(answer["model"] == "claude-test");
  CHECK(answer["id"].get<std::string>().rfind("msg_", 0) == 0);
  CHECK(answer["content"] == json::array({{{"type", "text"}, {"text", "Paris"}}}));
  CHECK(answer["stop_reason"] == "end_turn");
  CHECK(answer["usage"] == json{{"input_tokens", 8}, {"output_tokens", 1}});
  CHECK(server.seen().at(0).headers.at("anthropic-version") == "2023-06-01");
  CHECK(server.answered() == 1);
}

TEST_CASE("llm server embeds text as a deterministic bag of words", "[llm-server]") {
  LlmServer server;
  const json request = {{"model", "embed-test"},
                        {"input", {"Hello, world", "WORLD hello", "hello hello hello", "something else"}}};
  const Reply reply = post(server.base_url() + "/embeddings", request);
  REQUIRE(reply.code == CURLE_OK);
  CHECK(reply.status == 200);
  const json answer = reply.parsed();
  CHECK(answer["model"] == "embed-test");
  CHECK(answer["usage"] == json{{"prompt_tokens", 9}, {"total_tokens", 9}});
  const json& data = answer["data"];
  REQUIRE(data.size() == 4);
  std::vector<std::vector<double>> vectors;
  for (std::size_t i = 0; i < data.size(); ++i) {
    CHECK(data[i]["index"] == i);
    vectors.push_back(data[i]["embedding"].get<std::vector<double>>());
    REQUIRE(vectors.back().size() == 64);
  }
  CHECK(vectors[0] == vectors[1]);  // same words, whatever the case and punctuation
  CHECK(vectors[0] != vectors[3]);
  // "hello" three times: one dimension at exactly 1.
  CHECK(std::count(vectors[2].begin(), vectors[2].end(), 1.0) == 1);
  CHECK(std::count(vectors[2].begin(), vectors[2].end(), 0.0) == 63);
  // Two different words: two dimensions at 1/sqrt(2) (unless they collide, which these do not).
  const double half = 1.0 / std::sqrt(2.0);
  CHECK(std::count_if(vectors[0].begin(), vectors[0].end(),
                      [&](double v) { return std::abs(v - half) < 1e-12; }) == 2);
  double norm = 0.0;
  for (const double v : vectors[3]) {
    norm += v * v;
  }
  CHECK(std::abs(norm - 1.0) < 1e-12);

  // The same input gets the same vector in a later request, also as a plain string.
  const Reply again = post(server.base_url() + "/embeddings", {{"model", "e"}, {"input", "world hello"}});
  REQUIRE(again.status == 200);
  CHECK(again.parsed()["data"][0]["embedding"].get<std::vector<double>>() == vectors[0]);
  CHECK(server.answered() == 2);
}

TEST_CASE("llm server answers by rules, responder or echo", "[llm-server]") {
  LlmServer server;
  const std::string url = server.base_url() + "/chat/completions";
  const auto answer_of = [&](const json& body) {
    const Reply reply = post(url, body);
    REQUIRE(reply.status == 200);
    return reply.parsed()["choices"][0]["message"]["content"].get<std::string>();
  };

  SECTION("echo of the last user message by default") {
    const json body = {{"model", "m"},
                       {"messages",
                        {{{"role", "user"}, {"content", "first question"}},
                         {{"role", "assistant"}, {"content", "an answer"}},
                         {{"role", "user"}, {"content", "second question"}}}}};
    CHECK(answer_of(body) == "second question");
    CHECK(LlmServer::prompt_text(body) == "first question\nan answer\nsecond question");
  }
  SECTION("first rule whose every string occurs, else echo") {
    server.set_rules({{{"alpha", "beta"}, "both"}, {{"alpha"}, "alpha only"}, {{}, "anything"}});
    CHECK(answer_of(chat_body("alpha and beta")) == "both");
    CHECK(answer_of(chat_body("beta then alpha")) == "both");
    CHECK(answer_of(chat_body("just alpha")) == "alpha only");
    CHECK(answer_of(chat_body("neither")) == "anything");
    server.set_rules({{{"alpha"}, "alpha only"}});
    CHECK(answer_of(chat_body("no match here")) == "no match here");
  }
  SECTION("rules match across messages joined by newlines") {
    server.set_rules({{{"one\ntwo"}, "joined"}});
    const json body = {
        {"model", "m"},
        {"messages", {{{"role", "system"}, {"content", "one"}}, {{"role", "user"}, {"content", "two"}}}}};
    CHECK(answer_of(body) == "joined");
  }
  SECTION("custom responder") {
    server.set_responder([](const json& body) { return "model=" + body["model"].get<std::string>(); });
    CHECK(answer_of(chat_body("x")) == "model=gpt-test");
  }
}

TEST_CASE("llm server checks the API key and quotes only its start", "[llm-server]") {
  LlmServer server;
  server.set_key("sk-test-secret");
  const std::string chat = server.base_url() + "/chat/completions";
  const std::string messages = server.base_url() + "/messages";

  const Reply wrong = post(chat, chat_body("hi"), {"Authorization: Bearer sk-te-wrong-key"});
  REQUIRE(wrong.code == CURLE_OK);
  CHECK(wrong.status == 401);
  const json error = wrong.parsed()["error"];
  CHECK(error["message"] == "Incorrect API key provided: sk-te****");
  CHECK(error["type"] == "invalid_request_error");
  CHECK(wrong.body.find("wrong-key") == std::string::npos);

  CHECK(post(chat, chat_body("hi")).status == 401);
  CHECK(post(chat, chat_body("hi"), {"x-api-key: sk-test-secret"}).status == 401);
  CHECK(post(chat, chat_body("hi"), {"Authorization: Bearer sk-test-secret"}).status == 200);
  CHECK(post(messages, chat_body("hi"), {"Authorization: Bearer sk-test-secret"}).status == 401);
  const Reply anthropic_wrong = post(messages, chat_body("hi"), {"x-api-key: sk-ant-nope"});
  CHECK(anthropic_wrong.status == 401);
  CHECK(anthropic_wrong.parsed()["error"]["message"] == "Incorrect API key provided: sk-an****");
  CHECK(post(messages, chat_body("hi"), {"x-api-key: sk-test-secret"}).status == 200);
  CHECK(post(server.base_url() + "/embeddings", {{"input", "x"}}, {"Authorization: Bearer sk-test-secret"})
            .status == 200);

  CHECK(server.requests() == 8);
  CHECK(server.answered() == 3);
}

TEST_CASE("llm server rejects unknown paths, other methods and bodies that are not JSON", "[llm-server]") {
  LlmServer server;
  Client client;
  const Reply unknown = client.post(server.base_url() + "/completions", chat_body("x").dump());
  CHECK(unknown.status == 404);
  CHECK(unknown.parsed()["error"]["type"] == "invalid_request_error");
  const Reply get = client.get(server.base_url() + "/chat/completions");
  CHECK(get.status == 405);
  CHECK(get.headers.at("allow") == "POST");
  const Reply bad = client.post(server.base_url() + "/chat/completions", "{not json");
  CHECK(bad.status == 400);
  const json error = bad.parsed()["error"];
  CHECK(error["type"] == "invalid_request_error");
  CHECK(error["message"].is_string());
  CHECK(client.post(server.base_url() + "/chat/completions", chat_body("ok").dump()).status == 200);

  CHECK(server.requests() == 2);  // 404 and 405 are not model requests
  CHECK(server.answered() == 1);
  CHECK(server.connections() == 1);
  const auto seen = server.seen();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].status == 404);
  CHECK(seen[1].method == "GET");
  CHECK(seen[1].status == 405);
  CHECK(seen[2].body.is_null());
  CHECK(seen[2].status == 400);
  CHECK(seen[3].status == 200);
}

TEST_CASE("llm server injects faults in arrival order", "[llm-server]") {
  LlmServer server;
  const std::string url = server.base_url() + "/chat/completions";
  server.inject({status_fault(429, "2"), status_fault(503), kind_fault(Fault::Kind::drop),
                 kind_fault(Fault::Kind::malformed), kind_fault(Fault::Kind::truncated),
                 kind_fault(Fault::Kind::slow, std::chrono::milliseconds(200))});

  const Reply limited = post(url, chat_body("one"));
  CHECK(limited.status == 429);
  CHECK(limited.headers.at("retry-after") == "2");
  CHECK(limited.parsed()["error"]["type"].is_string());
  CHECK(limited.parsed()["error"]["message"].is_string());

  const Reply unavailable = post(url, chat_body("two"));
  CHECK(unavailable.status == 503);
  CHECK(unavailable.headers.count("retry-after") == 0);
  CHECK(unavailable.parsed().contains("error"));

  const Reply dropped = post(url, chat_body("three"));
  CHECK(dropped.code == CURLE_GOT_NOTHING);

  const Reply malformed = post(url, chat_body("four"));
  CHECK(malformed.code == CURLE_OK);
  CHECK(malformed.status == 200);
  CHECK(malformed.body == R"({"choices": [)");

  const Reply truncated = post(url, chat_body("five"));
  CHECK(truncated.status == 200);
  const json truncated_json = truncated.parsed();
  CHECK(truncated_json.is_object());
  CHECK_FALSE(truncated_json.contains("choices"));
  CHECK(truncated_json["model"] == "gpt-test");

  const auto start = Clock::now();
  const Reply slow = post(url, chat_body("six"));
  CHECK(elapsed_ms(start) >= 200);
  CHECK(slow.status == 200);
  CHECK(slow.parsed()["choices"][0]["message"]["content"] == "six");

  const Reply normal = post(url, chat_body("seven"));
  CHECK(normal.status == 200);
  CHECK(normal.parsed()["choices"][0]["message"]["content"] == "seven");

  CHECK(server.requests() == 7);
  CHECK(server.answered() == 2);
  std::vector<int> statuses;
  for (const auto& seen : server.seen()) {
    statuses.push_back(seen.status);
  }
  CHECK(statuses == std::vector<int>{429, 503, 0, 200, 200, 200, 200});
}

TEST_CASE("llm server truncates each API's answer field", "[llm-server]") {
  LlmServer server;
  server.inject({kind_fault(Fault::Kind::truncated), kind_fault(Fault::Kind::truncated)});
  const Reply messages = post(server.base_url() + "/messages", chat_body("x"));
  CHECK(messages.status == 200);
  CHECK(messages.parsed()["type"] == "message");
  CHECK_FALSE(messages.parsed().contains("content"));
  const Reply embeddings = post(server.base_url() + "/embeddings", {{"input", "x"}});
  CHECK(embeddings.status == 200);
  CHECK_FALSE(embeddings.parsed().contains("data"));
  CHECK(server.answered() == 0);
}

TEST_CASE("llm server fails every request whose prompt holds a marker", "[llm-server]") {
  LlmServer server;
  const std::string url = server.base_url() + "/chat/completions";
  server.inject_when("case-7", status_fault(500));
  server.inject({status_fault(503)});

  CHECK(post(url, chat_body("this is case-7")).status == 500);  // the marker wins; the queue waits
  CHECK(post(url, chat_body("case-1")).status == 503);
  CHECK(post(url, chat_body("case-2")).status == 200);
  CHECK(post(url, chat_body("again case-7")).status == 500);
  CHECK(post(server.base_url() + "/embeddings", {{"input", {"a", "case-7 b"}}}).status == 500);
  const json anthropic = {{"system", "see case-7"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  CHECK(post(server.base_url() + "/messages", anthropic).status == 500);
  CHECK(server.requests() == 6);
  CHECK(server.answered() == 1);
}

TEST_CASE("llm server keeps connections alive and honours Connection: close", "[llm-server]") {
  LlmServer server;
  Client client;
  for (int i = 0; i < 5; ++i) {
    const Reply reply =
        client.post(server.base_url() + "/chat/completions", chat_body("n" + std::to_string(i)).dump());
    REQUIRE(reply.status == 200);
    CHECK(reply.headers.at("connection") == "keep-alive");
  }
  CHECK(client.post(server.base_url() + "/embeddings", json{{"input", "x"}}.dump()).status == 200);
  CHECK(client.post(server.base_url() + "/messages", chat_body("m").dump()).status == 200);
  CHECK(server.connections() == 1);

  const Reply closing =
      client.post(server.base_url() + "/chat/completions", chat_body("bye").dump(), {"Connection: close"});
  CHECK(closing.status == 200);
  CHECK(closing.headers.at("connection") == "close");
  CHECK(client.post(server.base_url() + "/chat/completions", chat_body("new").dump()).status == 200);
  CHECK(server.connections() == 2);
  CHECK(server.requests() == 9);
}

TEST_CASE("llm server reads chunked and large request bodies", "[llm-server]") {
  LlmServer server;
  Client client;
  const json chunked = chat_body("sent in chunks");
  const Reply reply =
      client.post(server.base_url() + "/chat/completions", chunked.dump(), {"Transfer-Encoding: chunked"});
  REQUIRE(reply.code == CURLE_OK);
  CHECK(reply.status == 200);
  CHECK(reply.parsed()["choices"][0]["message"]["content"] == "sent in chunks");

  std::string words;
  for (int i = 0; i < 20000; ++i) {
    words += "w ";
  }
  const auto start = Clock::now();
  const Reply large = client.post(server.base_url() + "/chat/completions", chat_body(words).dump());
  CHECK(elapsed_ms(start) < 900);  // "Expect: 100-continue" is answered, not waited out
  CHECK(large.status == 200);
  CHECK(large.parsed()["usage"]["prompt_tokens"] == 20000);

  const auto seen = server.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].headers.at("transfer-encoding") == "chunked");
  CHECK(seen[0].body == chunked);
  CHECK(server.connections() == 1);
}

TEST_CASE("llm server waits its latency concurrently", "[llm-server]") {
  LlmServer server;
  constexpr std::size_t k_clients = 64;
  constexpr auto k_latency = std::chrono::milliseconds(100);
  server.set_latency(k_latency);
  // Every answer also waits until all requests have arrived, so that they are all in flight at
  // once however slowly the client threads start.
  server.set_responder([&server](const json&) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (server.requests() < k_clients && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::string("ok");
  });
  std::vector<long> statuses(k_clients, 0);
  const auto start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < k_clients; ++i) {
      threads.emplace_back([&, i] {
        Client client;
        statuses[i] =
            client.post(server.base_url() + "/chat/completions", chat_body("c" + std::to_string(i)).dump())
                .status;
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
  }
  const long elapsed = elapsed_ms(start);
  CHECK(elapsed >= 100);
  CHECK(elapsed < 64 * 100);  // latencies waited one after another would take 64 × 100 ms
  CHECK(statuses == std::vector<long>(k_clients, 200));
  CHECK(server.max_in_flight() == k_clients);
  CHECK(server.requests() == k_clients);
  CHECK(server.answered() == k_clients);
  CHECK(server.connections() == k_clients);

  server.reset_counters();
  CHECK(server.requests() == 0);
  CHECK(server.answered() == 0);
  CHECK(server.connections() == 0);
  CHECK(server.max_in_flight() == 0);
  CHECK(server.seen().empty());
}

TEST_CASE("llm server stops promptly with connections open and requests waiting", "[llm-server]") {
  auto server = std::make_unique<LlmServer>();
  server->set_latency(std::chrono::seconds(30));
  const std::string url = server->base_url() + "/chat/completions";

  // An idle connection that never sends anything.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(idle >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  REQUIRE(::connect(idle, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);

  // A request waiting out the latency.
  Reply waiting;
  std::thread client([&] { waiting = post(url, chat_body("late")); });
  for (int i = 0; i < 200 && server->requests() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(server->requests() == 1);
  CHECK(server->connections() == 2);

  const auto start = Clock::now();
  server.reset();
  CHECK(elapsed_ms(start) < 500);
  client.join();
  CHECK(waiting.code == CURLE_GOT_NOTHING);
  char byte = 0;
  CHECK(::recv(idle, &byte, 1, 0) == 0);  // the server closed it
  ::close(idle);
}
