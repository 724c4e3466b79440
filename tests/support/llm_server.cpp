// SPDX-License-Identifier: MIT
// The loopback model server of llm_server.hpp: POSIX sockets, HTTP/1.1, the endpoints and faults.
#include "support/llm_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <exception>
#include <list>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

// Choices the header leaves open, made here:
// - Order of checks: unknown path → 404, known path but not POST → 405 (neither is a model
//   request), then the key → 401 (Gemini: 403 or 400), then Azure's api-version → 404, then the
//   body → 400 (not JSON, or no "messages"/"input"/"contents"). Only requests that pass all of
//   these wait `latency` and meet faults.
// - Azure and Gemini paths name one deployment or model: one more '/' in it is an unknown path.
// - A request matching an inject_when marker gets that fault and leaves the inject() queue alone;
//   inject() replaces whatever was left of the queue.
// - prompt_text() of an embeddings or moderations body is its inputs joined by "\n" (what
//   inject_when matches).
// - Embedding words are runs of ASCII letters and digits (and any non-ASCII bytes), lower-cased,
//   so punctuation does not change the vector; an input without words gets the zero vector.
// - Responders run outside the server's lock, possibly on several threads at once.
// - A request line in absolute form ("POST http://HOST/v1/chat/completions", as an HTTP proxy
//   gets it) is served by its path, so a test can set http_proxy to the server and see what a
//   client would have sent to HOST (its Host header says which) without any other network.

namespace promptops::test {
namespace {

constexpr std::size_t k_embedding_dimensions = 64;
constexpr std::size_t k_max_head_bytes = 64 * 1024;
constexpr std::size_t k_max_body_bytes = 64 * 1024 * 1024;
constexpr int k_listen_backlog = 1024;

enum class Endpoint { none, chat, messages, embeddings, moderations, azure_chat, gemini };

struct Request {
  std::string method;
  std::string path;
  std::string query;
  std::string version;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool drop = false;  // close the connection without answering
};

enum class ReadStatus { ok, closed, bad };

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool has_token(const std::map<std::string, std::string>& headers, const std::string& name,
               std::string_view token) {
  const auto found = headers.find(name);
  if (found == headers.end()) {
    return false;
  }
  const std::string value = lower(found->second);
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string::npos) {
      comma = value.size();
    }
    if (trim(std::string_view(value).substr(start, comma - start)) == token) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

std::size_t count_words(std::string_view text) {
  std::size_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in_word) {
      ++words;
    }
    in_word = !space;
  }
  return words;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += parts[i];
  }
  return out;
}

// The text of a message content or an Anthropic "system" field: a string, or an array of parts
// whose "text" fields are joined by "\n". Null for anything else.
std::optional<std::string> content_text(const nlohmann::json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  if (!content.is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  for (const auto& part : content) {
    if (part.is_string()) {
      parts.push_back(part.get<std::string>());
    } else if (part.is_object() && part.contains("text") && part["text"].is_string()) {
      parts.push_back(part["text"].get<std::string>());
    }
  }
  return join(parts, "\n");
}

// The moderation categories and the word that flags each (lower-case, as a substring).
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> k_moderation_triggers{
    {{"harassment", "idiot"},
     {"hate", "hateful"},
     {"self-harm", "hurt myself"},
     {"sexual", "explicit"},
     {"violence", "kill"}}};

// One result of a moderations answer for `input`: a category scores 0.9 and is flagged when
// the input holds its trigger word, else 0.01; flagged when any category is.
nlohmann::json moderate(std::string_view input) {
  const std::string text = lower(input);
  nlohmann::json categories = nlohmann::json::object();
  nlohmann::json scores = nlohmann::json::object();
  bool flagged = false;
  for (const auto& [category, trigger] : k_moderation_triggers) {
    const bool hit = text.find(trigger) != std::string::npos;
    flagged = flagged || hit;
    categories[std::string(category)] = hit;
    scores[std::string(category)] = hit ? 0.9 : 0.01;
  }
  return {{"flagged", flagged}, {"categories", categories}, {"category_scores", scores}};
}

// The inputs of an embeddings body: a string or an array of strings (other items as JSON text).
std::optional<std::vector<std::string>> embedding_inputs(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("input")) {
    return std::nullopt;
  }
  const nlohmann::json& input = body["input"];
  if (input.is_string()) {
    return std::vector<std::string>{input.get<std::string>()};
  }
  if (!input.is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> inputs;
  for (const auto& item : input) {
    inputs.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  }
  return inputs;
}

std::vector<double> embed(std::string_view text) {
  std::vector<double> vector(k_embedding_dimensions, 0.0);
  const auto is_word_char = [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_word_char(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    std::uint32_t hash = 2166136261u;  // FNV-1a over the lower-cased word
    while (i < text.size() && is_word_char(static_cast<unsigned char>(text[i]))) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<unsigned char>(c - 'A' + 'a');
      }
      hash = (hash ^ c) * 16777619u;
      ++i;
    }
    vector[hash % k_embedding_dimensions] += 1.0;
  }
  double norm = 0.0;
  for (const double value : vector) {
    norm += value * value;
  }
  if (norm > 0.0) {
    norm = std::sqrt(norm);
    for (double& value : vector) {
      value /= norm;
    }
  }
  return vector;
}

// The text of a Gemini Content's parts ({"parts": [{"text"}...]}), joined by "\n".
std::string gemini_parts_text(const nlohmann::json& content) {
  if (!content.is_object() || !content.contains("parts")) {
    return {};
  }
  return content_text(content["parts"]).value_or(std::string());
}

// The last user message's text, or "" when there is none.
std::string last_user_message(const nlohmann::json& body) {
  if (body.is_object() && body.contains("contents") && body["contents"].is_array()) {
    const nlohmann::json& contents = body["contents"];
    for (auto it = contents.rbegin(); it != contents.rend(); ++it) {
      if (it->is_object() && it->value("role", nlohmann::json()) == "user") {
        return gemini_parts_text(*it);
      }
    }
    return {};
  }
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
    return {};
  }
  const nlohmann::json& messages = body["messages"];
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->is_object() && it->value("role", nlohmann::json()) == "user" && it->contains("content")) {
      return content_text((*it)["content"]).value_or(std::string());
    }
  }
  return {};
}

std::string dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string reason_phrase(int status) {
  static const std::map<int, std::string> k_phrases = {
      {200, "OK"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {413, "Payload Too Large"},
      {422, "Unprocessable Entity"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {529, "Overloaded"},
  };
  const auto found = k_phrases.find(status);
  return found == k_phrases.end() ? "Status" : found->second;
}

std::string error_type(int status) {
  if (status == 429) {
    return "rate_limit_error";
  }
  if (status >= 500) {
    return "server_error";
  }
  return "invalid_request_error";
}

Response error_response(int status, const std::string& message, const std::string& type,
                        const std::optional<std::string>& code = std::nullopt) {
  nlohmann::json error = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (code) {
    error["code"] = *code;
  }
  Response response;
  response.status = status;
  response.body = dump(nlohmann::json{{"error", error}});
  return response;
}

// "/openai/deployments/DEPLOYMENT/chat/completions" and "/v1beta/models/MODEL:generateContent".
Endpoint native_endpoint_of(std::string_view path) {
  constexpr std::string_view k_azure_prefix = "/openai/deployments/";
  constexpr std::string_view k_azure_suffix = "/chat/completions";
  if (path.size() > k_azure_prefix.size() + k_azure_suffix.size() && path.starts_with(k_azure_prefix) &&
      path.ends_with(k_azure_suffix)) {
    const std::string_view deployment =
        path.substr(k_azure_prefix.size(), path.size() - k_azure_prefix.size() - k_azure_suffix.size());
    return deployment.find('/') == std::string_view::npos ? Endpoint::azure_chat : Endpoint::none;
  }
  constexpr std::string_view k_gemini_prefix = "/v1beta/models/";
  constexpr std::string_view k_gemini_suffix = ":generateContent";
  if (path.size() > k_gemini_prefix.size() + k_gemini_suffix.size() && path.starts_with(k_gemini_prefix) &&
      path.ends_with(k_gemini_suffix)) {
    const std::string_view model =
        path.substr(k_gemini_prefix.size(), path.size() - k_gemini_prefix.size() - k_gemini_suffix.size());
    return model.find('/') == std::string_view::npos ? Endpoint::gemini : Endpoint::none;
  }
  return Endpoint::none;
}

// The model of a Gemini path: what lies between "/v1beta/models/" and ":generateContent".
std::string gemini_model_of(const std::string& path) {
  const std::size_t start = std::string_view("/v1beta/models/").size();
  return path.substr(start, path.size() - start - std::string_view(":generateContent").size());
}

// Azure's error body: {"error": {"code": "STATUS", "message"}}.
Response azure_error(int status, const std::string& message, const std::string& code = {}) {
  Response response;
  response.status = status;
  response.body = dump(nlohmann::json{
      {"error", {{"code", code.empty() ? std::to_string(status) : code}, {"message", message}}}});
  return response;
}

// The google.rpc status name Gemini sends with an HTTP status.
std::string gemini_status_name(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

// Gemini's error body: {"error": {"code", "message", "status"[, "details"]}}.
Response gemini_error(int status, const std::string& message, nlohmann::json details = nullptr) {
  nlohmann::json error = {{"code", status}, {"message", message}, {"status", gemini_status_name(status)}};
  if (!details.is_null()) {
    error["details"] = std::move(details);
  }
  Response response;
  response.status = status;
  response.body = dump(nlohmann::json{{"error", std::move(error)}});
  return response;
}

Endpoint endpoint_of(const std::string& path) {
  if (const Endpoint native = native_endpoint_of(path); native != Endpoint::none) {
    return native;
  }
  if (path == "/v1/chat/completions") {
    return Endpoint::chat;
  }
  if (path == "/v1/messages") {
    return Endpoint::messages;
  }
  if (path == "/v1/embeddings") {
    return Endpoint::embeddings;
  }
  if (path == "/v1/moderations") {
    return Endpoint::moderations;
  }
  return Endpoint::none;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::string serialize(const Response& response, bool keep_alive) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(response.body.size()) +
      "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name + ": " + value + "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

// Buffered reading of one connection's HTTP requests.
class RequestReader {
 public:
  explicit RequestReader(int fd) : m_fd(fd) {}

  ReadStatus read(Request& request) {
    std::size_t head_end = 0;
    for (;;) {
      while (m_buffer.size() >= 2 && m_buffer.compare(0, 2, "\r\n") == 0) {
        m_buffer.erase(0, 2);  // empty lines before a request line are ignored (RFC 9112 2.2)
      }
      head_end = m_buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        break;
      }
      if (m_buffer.size() > k_max_head_bytes) {
        return ReadStatus::bad;
      }
      if (!fill()) {
        return ReadStatus::closed;
      }
    }
    const std::string head = m_buffer.substr(0, head_end);
    m_buffer.erase(0, head_end + 4);
    if (!parse_head(head, request)) {
      return ReadStatus::bad;
    }

    const bool chunked = has_token(request.headers, "transfer-encoding", "chunked");
    std::size_t length = 0;
    if (!chunked) {
      const auto found = request.headers.find("content-length");
      if (found != request.headers.end()) {
        const std::string_view value = trim(found->second);
        if (value.empty() || value.size() > 12 ||
            !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          return ReadStatus::bad;
        }
        length = std::stoull(std::string(value));
        if (length > k_max_body_bytes) {
          return ReadStatus::bad;
        }
      }
    }
    if (has_token(request.headers, "expect", "100-continue") && (chunked || m_buffer.size() < length)) {
      if (!send_all(m_fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
        return ReadStatus::closed;
      }
    }
    if (chunked) {
      return read_chunked(request.body);
    }
    if (!need(length)) {
      return ReadStatus::closed;
    }
    request.body = m_buffer.substr(0, length);
    m_buffer.erase(0, length);
    return ReadStatus::ok;
  }

 private:
  bool fill() {
    char chunk[16 * 1024];
    for (;;) {
      const ssize_t got = ::recv(m_fd, chunk, sizeof chunk, 0);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        return false;
      }
      m_buffer.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }

  bool need(std::size_t bytes) {
    while (m_buffer.size() < bytes) {
      if (!fill()) {
        return false;
      }
    }
    return true;
  }

  // Reads one CRLF-terminated line (without the CRLF); false when the stream ends or it is too long.
  bool read_line(std::string& line) {
    std::size_t end = 0;
    while ((end = m_buffer.find("\r\n")) == std::string::npos) {
      if (m_buffer.size() > k_max_head_bytes || !fill()) {
        return false;
      }
    }
    line = m_buffer.substr(0, end);
    m_buffer.erase(0, end + 2);
    return true;
  }

  ReadStatus read_chunked(std::string& body) {
    for (;;) {
      std::string line;
      if (!read_line(line)) {
        return ReadStatus::closed;
      }
      const std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
      if (size_text.empty() || size_text.size() > 8 ||
          !std::all_of(size_text.begin(), size_text.end(),
                       [](unsigned char c) { return std::isxdigit(c) != 0; })) {
        return ReadStatus::bad;
      }
      const std::size_t size = std::stoul(std::string(size_text), nullptr, 16);
      if (size == 0) {
        break;
      }
      if (body.size() + size > k_max_body_bytes) {
        return ReadStatus::bad;
      }
      if (!need(size + 2)) {
        return ReadStatus::closed;
      }
      if (m_buffer.compare(size, 2, "\r\n") != 0) {
        return ReadStatus::bad;
      }
      body.append(m_buffer, 0, size);
      m_buffer.erase(0, size + 2);
    }
    for (;;) {  // trailer fields, up to the empty line
      std::string line;
      if (!read_line(line)) {
        return ReadStatus::closed;
      }
      if (line.empty()) {
        return ReadStatus::ok;
      }
    }
  }

  static bool parse_head(const std::string& head, Request& request) {
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const std::size_t space1 = first.find(' ');
    const std::size_t space2 = first.rfind(' ');
    if (space1 == std::string::npos || space2 == space1) {
      return false;
    }
    request.method = first.substr(0, space1);
    const std::string target = first.substr(space1 + 1, space2 - space1 - 1);
    const std::size_t question = target.find('?');
    request.path = target.substr(0, question);
    request.query = question == std::string::npos ? std::string() : target.substr(question + 1);
    if (request.path.rfind("http://", 0) == 0) {  // absolute form: we are standing in for a proxy
      const std::size_t slash = request.path.find('/', 7);
      request.path = slash == std::string::npos ? "/" : request.path.substr(slash);
    }
    request.version = first.substr(space2 + 1);
    if (request.method.empty() || request.path.empty() || request.version.rfind("HTTP/", 0) != 0) {
      return false;
    }
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string_view line = std::string_view(head).substr(
          start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return false;
      }
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string value(trim(line.substr(colon + 1)));
      const auto [it, inserted] = request.headers.emplace(name, value);
      if (!inserted) {
        it->second += ", " + value;
      }
    }
    return true;
  }

  int m_fd;
  std::string m_buffer;
};

bool wants_keep_alive(const Request& request) {
  if (request.version == "HTTP/1.0") {
    return has_token(request.headers, "connection", "keep-alive");
  }
  return !has_token(request.headers, "connection", "close");
}

}  // namespace

struct LlmServer::State {
  struct Connection {
    int fd = -1;  // -1 once closed; changed only under m_mutex
    bool done = false;
    std::thread thread;
  };

  mutable std::mutex m_mutex;
  std::condition_variable m_stop_cv;
  bool m_stopping = false;
  int m_listen_fd = -1;
  int m_port = 0;
  std::thread m_listener;
  std::list<std::unique_ptr<Connection>> m_connections;

  std::string m_key;
  Responder m_responder;
  std::chrono::milliseconds m_latency{0};
  std::deque<Fault> m_faults;
  std::vector<std::pair<std::string, Fault>> m_marker_faults;

  std::size_t m_requests = 0;
  std::size_t m_answered = 0;
  std::size_t m_accepted = 0;
  std::size_t m_in_flight = 0;
  std::size_t m_max_in_flight = 0;
  std::vector<SeenRequest> m_seen;
  std::uint64_t m_generation = 0;  // bumped by reset_counters, so late status updates are dropped
  std::uint64_t m_next_id = 1;

  explicit State(int port) {
    m_listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_listen_fd < 0) {
      throw std::system_error(errno, std::generic_category(), "llm server: socket");
    }
    const int one = 1;
    ::setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t length = sizeof address;
    if (::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(m_listen_fd, k_listen_backlog) != 0 ||
        ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      const int error = errno;
      ::close(m_listen_fd);
      throw std::system_error(error, std::generic_category(),
                              "llm server: cannot listen on 127.0.0.1:" + std::to_string(port));
    }
    m_port = ntohs(address.sin_port);
    m_listener = std::thread([this] { accept_loop(); });
  }

  ~State() { stop(); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  void stop() {
    {
      const std::lock_guard lock(m_mutex);
      if (m_stopping) {
        return;
      }
      m_stopping = true;
    }
    m_stop_cv.notify_all();
    ::shutdown(m_listen_fd, SHUT_RDWR);
    if (m_listener.joinable()) {
      m_listener.join();
    }
    ::close(m_listen_fd);
    std::list<std::unique_ptr<Connection>> connections;
    {
      const std::lock_guard lock(m_mutex);
      for (const auto& connection : m_connections) {
        if (connection->fd >= 0) {
          ::shutdown(connection->fd, SHUT_RDWR);
        }
      }
      connections.swap(m_connections);
    }
    for (const auto& connection : connections) {
      connection->thread.join();
    }
  }

  void accept_loop() {
    for (;;) {
      const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        const int error = errno;
        {
          const std::lock_guard lock(m_mutex);
          if (m_stopping) {
            return;
          }
        }
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } else if (error == EINVAL || error == EBADF) {
          return;
        }
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::list<std::unique_ptr<Connection>> finished;
      {
        const std::lock_guard lock(m_mutex);
        if (m_stopping) {
          ::close(fd);
          return;
        }
        ++m_accepted;
        auto connection = std::make_unique<Connection>();
        connection->fd = fd;
        Connection* raw = connection.get();
        m_connections.push_back(std::move(connection));
        raw->thread = std::thread([this, raw] { serve(*raw); });
        for (auto it = m_connections.begin(); it != m_connections.end();) {
          if ((*it)->done) {
            auto next = std::next(it);
            finished.splice(finished.end(), m_connections, it);
            it = next;
          } else {
            ++it;
          }
        }
      }
      for (const auto& connection : finished) {
        connection->thread.join();
      }
    }
  }

  void serve(Connection& connection) {
    int fd = 0;
    {
      const std::lock_guard lock(m_mutex);
      fd = connection.fd;
    }
    try {
      RequestReader reader(fd);
      for (;;) {
        Request request;
        const ReadStatus status = reader.read(request);
        if (status == ReadStatus::closed) {
          break;
        }
        if (status == ReadStatus::bad) {
          send_all(fd,
                   serialize(error_response(400, "Malformed HTTP request", "invalid_request_error"), false));
          break;
        }
        const bool keep_alive = wants_keep_alive(request);
        const Response response = handle(request);
        if (response.drop || !send_all(fd, serialize(response, keep_alive)) || !keep_alive) {
          break;
        }
      }
    } catch (const std::exception&) {
      // Out of memory or similar: give up on this connection only.
    }
    const std::lock_guard lock(m_mutex);
    ::shutdown(connection.fd, SHUT_RDWR);
    ::close(connection.fd);
    connection.fd = -1;
    connection.done = true;
  }

  // Waits `duration` unless the server stops first; false when it stopped.
  bool wait(std::chrono::milliseconds duration) {
    if (duration <= std::chrono::milliseconds::zero()) {
      const std::lock_guard lock(m_mutex);
      return !m_stopping;
    }
    std::unique_lock lock(m_mutex);
    return !m_stop_cv.wait_for(lock, duration, [this] { return m_stopping; });
  }

  Response handle(const Request& request) {
    SeenRequest seen;
    seen.method = request.method;
    seen.path = request.path;
    seen.query = request.query;
    seen.headers = request.headers;
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
      body = nullptr;
    }
    seen.body = body;

    const Endpoint endpoint = endpoint_of(request.path);
    const bool model_request = endpoint != Endpoint::none && request.method == "POST";
    std::size_t index = 0;
    std::uint64_t generation = 0;
    {
      const std::lock_guard lock(m_mutex);
      index = m_seen.size();
      generation = m_generation;
      m_seen.push_back(std::move(seen));
      if (model_request) {
        ++m_requests;
        ++m_in_flight;
        m_max_in_flight = std::max(m_max_in_flight, m_in_flight);
      }
    }

    bool real_answer = false;
    Response response;
    try {
      response = respond(request, endpoint, body, real_answer);
    } catch (const std::exception& error) {
      response = error_response(500, std::string("llm server: ") + error.what(), "server_error");
      real_answer = false;
    }

    const std::lock_guard lock(m_mutex);
    if (model_request) {
      --m_in_flight;
    }
    if (generation == m_generation) {
      m_seen[index].status = response.drop ? 0 : response.status;
      if (response.status == 200 && real_answer && !response.drop) {
        ++m_answered;
      }
    }
    return response;
  }

  Response respond(const Request& request, Endpoint endpoint, const nlohmann::json& body, bool& real_answer) {
    if (endpoint == Endpoint::none) {
      return error_response(404, "Unknown request URL: " + request.method + " " + request.path,
                            "invalid_request_error", "unknown_url");
    }
    if (request.method != "POST") {
      Response response = error_response(405, "Method " + request.method + " not allowed for " + request.path,
                                         "invalid_request_error");
      response.headers.emplace_back("Allow", "POST");
      return response;
    }

    std::string key;
    Responder responder;
    std::chrono::milliseconds latency{0};
    {
      const std::lock_guard lock(m_mutex);
      key = m_key;
      responder = m_responder;
      latency = m_latency;
    }
    if (!key.empty() && endpoint == Endpoint::azure_chat) {
      std::optional<std::string> sent;
      if (const auto found = request.headers.find("api-key"); found != request.headers.end()) {
        sent = found->second;
      } else if (const auto bearer = request.headers.find("authorization");
                 bearer != request.headers.end() && lower(bearer->second.substr(0, 7)) == "bearer ") {
        sent = std::string(trim(bearer->second.substr(7)));
      }
      if (!sent || *sent != key) {
        return azure_error(
            401,
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
            "provide a valid key for an active subscription and use a correct regional API "
            "endpoint for your resource.");
      }
    } else if (!key.empty() && endpoint == Endpoint::gemini) {
      const auto found = request.headers.find("x-goog-api-key");
      if (found == request.headers.end()) {
        return gemini_error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.");
      }
      if (found->second != key) {
        return gemini_error(
            400, "API key not valid. Please pass a valid API key.",
            nlohmann::json::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                    {"reason", "API_KEY_INVALID"},
                                    {"domain", "googleapis.com"},
                                    {"metadata", {{"service", "generativelanguage.googleapis.com"}}}}}));
      }
    } else if (!key.empty()) {
      std::optional<std::string> sent;
      if (endpoint == Endpoint::messages) {
        if (const auto found = request.headers.find("x-api-key"); found != request.headers.end()) {
          sent = found->second;
        }
      } else if (const auto found = request.headers.find("authorization"); found != request.headers.end()) {
        const std::string& value = found->second;
        sent = lower(value.substr(0, 7)) == "bearer " ? std::string(trim(value.substr(7))) : value;
      }
      if (!sent) {
        return error_response(401, "You didn't provide an API key.", "invalid_request_error",
                              "invalid_api_key");
      }
      if (*sent != key) {
        return error_response(401, "Incorrect API key provided: " + sent->substr(0, 5) + "****",
                              "invalid_request_error", "invalid_api_key");
      }
    }

    if (endpoint == Endpoint::azure_chat && request.query.find("api-version=") == std::string::npos) {
      return azure_error(404, "Resource not found");
    }
    if (endpoint == Endpoint::gemini && (!body.is_object() || !body.contains("contents"))) {
      return gemini_error(400, body.is_null()
                                   ? "Invalid JSON payload received."
                                   : "* GenerateContentRequest.contents: contents is not specified\n");
    }
    if (body.is_null()) {
      return error_response(400, "We could not parse the JSON body of your request.",
                            "invalid_request_error");
    }
    std::optional<std::vector<std::string>> inputs;
    if (endpoint == Endpoint::gemini) {
      // "contents" was checked above
    } else if (endpoint == Endpoint::embeddings || endpoint == Endpoint::moderations) {
      inputs = embedding_inputs(body);
      if (!inputs) {
        return error_response(400, "'input' is a required property", "invalid_request_error");
      }
    } else if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
      return error_response(400, "'messages' is a required property", "invalid_request_error");
    }
    const std::string prompt = prompt_text(body);

    std::optional<Fault> fault;
    {
      const std::lock_guard lock(m_mutex);
      for (const auto& [marker, marker_fault] : m_marker_faults) {
        if (prompt.find(marker) != std::string::npos) {
          fault = marker_fault;
          break;
        }
      }
      if (!fault && !m_faults.empty()) {
        fault = m_faults.front();
        m_faults.pop_front();
      }
    }

    Response dropped;
    dropped.drop = true;
    if (!wait(latency)) {
      return dropped;
    }
    if (fault) {
      switch (fault->kind) {
        case Fault::Kind::status: {
          const std::string message = "Injected fault: HTTP " + std::to_string(fault->status);
          Response response;
          if (endpoint == Endpoint::azure_chat) {
            response = azure_error(fault->status, message);
          } else if (endpoint == Endpoint::gemini) {
            nlohmann::json details = nullptr;
            if (fault->retry_delay) {
              details = nlohmann::json::array({{{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                                                {"retryDelay", *fault->retry_delay}}});
            }
            response = gemini_error(fault->status, message, std::move(details));
          } else {
            response = error_response(fault->status, message, error_type(fault->status));
          }
          if (fault->retry_after) {
            response.headers.emplace_back("Retry-After", *fault->retry_after);
          }
          if (fault->retry_after_ms) {
            response.headers.emplace_back("retry-after-ms", *fault->retry_after_ms);
          }
          return response;
        }
        case Fault::Kind::blocked:
          if (endpoint == Endpoint::azure_chat || endpoint == Endpoint::chat) {
            return azure_error(
                400,
                "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy.",
                "content_filter");
          }
          break;
        case Fault::Kind::safety:
          break;
        case Fault::Kind::drop:
          return dropped;
        case Fault::Kind::malformed: {
          Response response;
          response.body = R"({"choices": [)";
          return response;
        }
        case Fault::Kind::truncated:
          break;
        case Fault::Kind::slow:
          if (!wait(fault->delay)) {
            return dropped;
          }
          break;
      }
    }
    const bool filtered =
        fault && (fault->kind == Fault::Kind::safety || fault->kind == Fault::Kind::blocked);
    const bool truncated = fault && (fault->kind == Fault::Kind::truncated ||
                                     (filtered && endpoint != Endpoint::gemini &&
                                      endpoint != Endpoint::chat && endpoint != Endpoint::azure_chat));
    const nlohmann::json model = body.contains("model") ? body["model"] : nlohmann::json("");

    Response response;
    if (endpoint == Endpoint::moderations) {
      nlohmann::json results = nlohmann::json::array();
      for (const std::string& input : *inputs) {
        results.push_back(moderate(input));
      }
      nlohmann::json answer = {
          {"id", "modr-test"},
          {"model", model.is_string() && model != "" ? model : "omni-moderation-latest"}};
      if (!truncated) {
        answer["results"] = std::move(results);
      }
      response.body = dump(answer);
      real_answer = !truncated;
      return response;
    }
    if (endpoint == Endpoint::embeddings) {
      std::size_t tokens = 0;
      nlohmann::json data = nlohmann::json::array();
      for (std::size_t i = 0; i < inputs->size(); ++i) {
        tokens += count_words((*inputs)[i]);
        data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embed((*inputs)[i])}});
      }
      nlohmann::json answer = {{"object", "list"},
                               {"model", model},
                               {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
      if (!truncated) {
        answer["data"] = std::move(data);
      }
      response.body = dump(answer);
      real_answer = !truncated;
      return response;
    }

    const std::string text =
        truncated ? std::string() : (responder ? responder(body) : last_user_message(body));
    const std::size_t input_tokens = count_words(prompt);
    const std::size_t output_tokens = count_words(text);
    std::uint64_t id = 0;
    {
      const std::lock_guard lock(m_mutex);
      id = m_next_id++;
    }
    nlohmann::json answer;
    if (endpoint == Endpoint::gemini) {
      answer = {{"usageMetadata",
                 {{"promptTokenCount", input_tokens},
                  {"candidatesTokenCount", output_tokens},
                  {"totalTokenCount", input_tokens + output_tokens}}},
                {"modelVersion", gemini_model_of(request.path)},
                {"responseId", "resp-" + std::to_string(id)}};
      const nlohmann::json harassment = {
          {"category", "HARM_CATEGORY_HARASSMENT"}, {"probability", "HIGH"}, {"blocked", true}};
      if (fault && fault->kind == Fault::Kind::blocked) {
        answer["promptFeedback"] = {{"blockReason", "SAFETY"},
                                    {"safetyRatings", nlohmann::json::array({harassment})}};
        answer["usageMetadata"].erase("candidatesTokenCount");
      } else if (fault && fault->kind == Fault::Kind::safety) {
        answer["candidates"] =
            nlohmann::json::array({{{"finishReason", "SAFETY"},
                                    {"index", 0},
                                    {"safetyRatings", nlohmann::json::array({harassment})}}});
      } else if (!truncated) {
        answer["candidates"] = nlohmann::json::array(
            {{{"content", {{"role", "model"}, {"parts", nlohmann::json::array({{{"text", text}}})}}},
              {"finishReason", "STOP"},
              {"index", 0}}});
      }
    } else if (endpoint == Endpoint::chat || endpoint == Endpoint::azure_chat) {
      answer = {{"id", "chatcmpl-" + std::to_string(id)},
                {"object", "chat.completion"},
                {"created", static_cast<std::int64_t>(std::time(nullptr))},
                {"model", model},
                {"usage",
                 {{"prompt_tokens", input_tokens},
                  {"completion_tokens", output_tokens},
                  {"total_tokens", input_tokens + output_tokens}}}};
      if (filtered) {
        answer["choices"] =
            nlohmann::json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", nullptr}}},
                                    {"finish_reason", "content_filter"}}});
      } else if (!truncated) {
        answer["choices"] = nlohmann::json::array({{{"index", 0},
                                                    {"message", {{"role", "assistant"}, {"content", text}}},
                                                    {"finish_reason", "stop"}}});
      }
    } else {
      answer = {{"id", "msg_" + std::to_string(id)},
                {"type", "message"},
                {"role", "assistant"},
                {"model", model},
                {"stop_reason", "end_turn"},
                {"stop_sequence", nullptr},
                {"usage", {{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}}};
      if (!truncated) {
        answer["content"] = nlohmann::json::array({{{"type", "text"}, {"text", text}}});
      }
    }
    response.body = dump(answer);
    real_answer = !truncated && !filtered;
    return response;
  }
};

LlmServer::LlmServer() : LlmServer(0) {}

LlmServer::LlmServer(int port) : m_state(std::make_unique<State>(port)) {}

LlmServer::~LlmServer() = default;

int LlmServer::port() const { return m_state->m_port; }

std::string LlmServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

void LlmServer::set_key(std::string key) {
  const std::lock_guard lock(m_state->m_mutex);
  m_state->m_key = std::move(key);
}

void LlmServer::set_rules(std::vector<Rule> rules) {
  set_responder([rules = std::move(rules)](const nlohmann::json& body) {
    const std::string prompt = prompt_text(body);
    for (const Rule& rule : rules) {
      if (std::all_of(rule.when.begin(), rule.when.end(),
                      [&](const std::string& needle) { return prompt.find(needle) != std::string::npos; })) {
        return rule.answer;
      }
    }
    return last_user_message(body);
  });
}

void LlmServer::set_responder(Responder responder) {
  const std::lock_guard lock(m_state->m_mutex);
  m_state->m_responder = std::move(responder);
}

void LlmServer::set_latency(std::chrono::milliseconds latency) {
  const std::lock_guard lock(m_state->m_mutex);
  m_state->m_latency = latency;
}

void LlmServer::inject(std::vector<Fault> faults) {
  const std::lock_guard lock(m_state->m_mutex);
  m_state->m_faults.assign(faults.begin(), faults.end());
}

void LlmServer::inject_when(std::string marker, Fault fault) {
  const std::lock_guard lock(m_state->m_mutex);
  for (auto& [existing, existing_fault] : m_state->m_marker_faults) {
    if (existing == marker) {
      existing_fault = fault;
      return;
    }
  }
  m_state->m_marker_faults.emplace_back(std::move(marker), fault);
}

std::size_t LlmServer::requests() const {
  const std::lock_guard lock(m_state->m_mutex);
  return m_state->m_requests;
}

std::size_t LlmServer::answered() const {
  const std::lock_guard lock(m_state->m_mutex);
  return m_state->m_answered;
}

std::size_t LlmServer::connections() const {
  const std::lock_guard lock(m_state->m_mutex);
  return m_state->m_accepted;
}

std::size_t LlmServer::max_in_flight() const {
  const std::lock_guard lock(m_state->m_mutex);
  return m_state->m_max_in_flight;
}

std::vector<SeenRequest> LlmServer::seen() const {
  const std::lock_guard lock(m_state->m_mutex);
  return m_state->m_seen;
}

void LlmServer::reset_counters() {
  const std::lock_guard lock(m_state->m_mutex);
  m_state->m_requests = 0;
  m_state->m_answered = 0;
  m_state->m_accepted = 0;
  m_state->m_max_in_flight = m_state->m_in_flight;
  m_state->m_seen.clear();
  ++m_state->m_generation;
}

std::string LlmServer::prompt_text(const nlohmann::json& body) {
  if (!body.is_object()) {
    return {};
  }
  std::vector<std::string> parts;
  if (body.contains("system")) {
    if (auto system = content_text(body["system"])) {
      parts.push_back(std::move(*system));
    }
  }
  if (body.contains("systemInstruction")) {
    parts.push_back(gemini_parts_text(body["systemInstruction"]));
  }
  if (body.contains("contents") && body["contents"].is_array()) {
    for (const auto& content : body["contents"]) {
      parts.push_back(gemini_parts_text(content));
    }
  } else if (body.contains("messages") && body["messages"].is_array()) {
    for (const auto& message : body["messages"]) {
      if (message.is_object() && message.contains("content")) {
        if (auto text = content_text(message["content"])) {
          parts.push_back(std::move(*text));
        }
      }
    }
  } else if (auto inputs = embedding_inputs(body)) {
    parts.insert(parts.end(), inputs->begin(), inputs->end());
  }
  return join(parts, "\n");
}

}  // namespace promptops::test
