// SPDX-License-Identifier: MIT
// The provider factory, redaction, and the calls every provider shares.
#include <promptops/providers/provider.hpp>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include <promptops/util/error.hpp>

#include "backends.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::inline providers {

namespace {

constexpr std::string_view k_redacted = "[redacted]";
constexpr std::size_t k_min_sk_key_body = 8;

bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-'; }

bool is_token_char(char c) {
  return std::isspace(static_cast<unsigned char>(c)) == 0 && c != '"' && c != '\'' && c != ',' && c != ';';
}

bool starts_with_icase(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

// "Bearer <token>" (any case, one or more blanks) keeps the word and loses the token.
std::string redact_bearer(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (starts_with_icase(text, i, "bearer") &&
        (i == 0 || std::isalnum(static_cast<unsigned char>(text[i - 1])) == 0)) {
      std::size_t j = i + 6;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) {
        ++j;
      }
      std::size_t end = j;
      while (end < text.size() && is_token_char(text[end])) {
        ++end;
      }
      if (j > i + 6 && end > j) {
        out.append(text, i, j - i);
        out += k_redacted;
        i = end;
        continue;
      }
    }
    out += text[i];
    ++i;
  }
  return out;
}

// "sk-" and at least 8 key characters, not inside a longer word ("task-..." is not a key).
std::string redact_sk_keys(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "sk-") == 0 &&
        (i == 0 || std::isalnum(static_cast<unsigned char>(text[i - 1])) == 0)) {
      std::size_t end = i + 3;
      while (end < text.size() && is_key_char(text[end])) {
        ++end;
      }
      if (end - i - 3 >= k_min_sk_key_body) {
        out += k_redacted;
        i = end;
        continue;
      }
    }
    out += text[i];
    ++i;
  }
  return out;
}

std::string located(const ProviderSpec& spec, const std::string& message) {
  const std::string place = spec.where.format();
  return place.empty() ? message : place + ": " + message;
}

std::string trim_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

void check_base_url(const ProviderSpec& spec) {
  if (spec.base_url.rfind("http://", 0) != 0 && spec.base_url.rfind("https://", 0) != 0) {
    throw ConfigError(located(spec, "provider '" + spec.name + "' has base_url '" + spec.base_url +
                                        "', which is not an http:// or https:// URL"),
                      "write the API's root, such as base_url = \"https://api.openai.com/v1\"");
  }
}

// A tracked config chooses both the URL and the variable: the key goes only where the user trusts
// it to go, and that is decided before the variable is even read.
void check_secret_destination(const ProviderSpec& spec, const ProviderOptions& options) {
  const std::string& variable = spec.secret_env();
  if (variable.empty()) {
    return;
  }
  const SecretVerdict verdict = judge_secret(variable, spec.base_url, options.trusted_secrets);
  if (verdict.allowed) {
    return;
  }
  const std::string what = "provider '" + spec.name + "' would send $" + variable;
  if (verdict.host.empty()) {
    throw ConfigError(located(spec, what + " to base_url '" + spec.base_url + "', which names no host"),
                      "write the API's root, such as base_url = \"https://api.openai.com/v1\"");
  }
  throw ConfigError(
      located(spec, what + " to " + verdict.host + (verdict.plain_http ? " over plain http" : "") +
                        ", which you have not trusted with it"),
      "if " + verdict.host + " may have it, run: git config --add promptops.trustSecret " + verdict.trust);
}

std::string read_key(const ProviderSpec& spec, const ProviderOptions& options) {
  const std::string& variable = spec.secret_env();
  if (variable.empty()) {
    return {};
  }
  std::optional<std::string> value;
  if (options.getenv) {
    value = options.getenv(variable);
  } else if (const char* raw = std::getenv(variable.c_str()); raw != nullptr) {
    value = std::string(raw);
  }
  const std::string what = spec.token_env.empty() ? "key" : "token";
  if (!value || value->empty()) {
    throw ConfigError("provider '" + spec.name + "' reads its " + what + " from $" + variable +
                          ", which is " + (value ? "empty" : "not set"),
                      "export " + variable + "=<your " + what + ">");
  }
  return *value;
}

// azure and gemini: base_url is required (the config fills in gemini's), the URL checked and
// trimmed, azure's api-version defaulted, the secret judged and read.
std::unique_ptr<Provider> make_native_provider(ProviderSpec checked, const ProviderOptions& options) {
  const bool azure = checked.kind == "azure";
  if (checked.base_url.empty()) {
    throw ConfigError(located(checked, checked.kind + " provider '" + checked.name + "' has no base_url"),
                      "add base_url = \"" +
                          (azure ? std::string("https://RESOURCE.openai.azure.com")
                                 : std::string(k_gemini_default_base_url)) +
                          "\" to [providers." + checked.name + "]");
  }
  check_base_url(checked);
  checked.base_url = trim_base_url(checked.base_url);
  if (azure && checked.api_version.empty()) {
    checked.api_version = k_azure_default_api_version;
  }
  check_secret_destination(checked, options);
  std::string key = read_key(checked, options);
  if (azure) {
    return providers::make_azure_provider(std::move(checked), std::move(key));
  }
  return providers::make_gemini_provider(std::move(checked), std::move(key));
}

}  // namespace

std::string_view call_error_name(CallError error) {
  switch (error) {
    case CallError::none:
      return "none";
    case CallError::auth:
      return "auth";
    case CallError::rate_limited:
      return "rate-limited";
    case CallError::server:
      return "server";
    case CallError::network:
      return "network";
    case CallError::timeout:
      return "timeout";
    case CallError::malformed:
      return "malformed";
    case CallError::rejected:
      return "rejected";
    case CallError::exec_failed:
      return "exec-failed";
    case CallError::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string redact(std::string text, std::string_view secret) {
  if (!secret.empty()) {
    text = util::replace_all(std::move(text), secret, k_redacted);
  }
  return redact_sk_keys(redact_bearer(text));
}

std::string Provider::identity() const {
  if (m_spec.kind == "exec") {
    return "exec:" + providers::command_line(m_spec.command);
  }
  return m_spec.kind + ":" + m_spec.base_url;
}

ChatResult Provider::complete(const ChatRequest& request) {
  class One final : public CallQueue {
   public:
    explicit One(const ChatRequest& request) : m_request(request) {}
    std::optional<std::pair<std::uint64_t, ChatRequest>> next() override {
      if (m_sent) {
        return std::nullopt;
      }
      m_sent = true;
      return std::make_pair(std::uint64_t{0}, m_request);
    }
    void done(std::uint64_t /*id*/, ChatResult result) override { m_result = std::move(result); }
    std::optional<ChatResult> take() { return std::move(m_result); }

   private:
    const ChatRequest& m_request;
    bool m_sent = false;
    std::optional<ChatResult> m_result;
  };

  One one(request);
  const std::atomic<bool> stop{false};
  run(one, stop, std::chrono::milliseconds(0));
  std::optional<ChatResult> result = one.take();
  if (!result) {
    ChatResult none;
    none.error = CallError::cancelled;
    none.message = "provider '" + m_spec.name + "' ended without an answer";
    return none;
  }
  return std::move(*result);
}

std::vector<std::vector<double>> Provider::embed(const std::vector<std::string>& /*inputs*/,
                                                 const std::string& /*model*/) {
  throw ProviderError("provider '" + m_spec.name + "' (" + m_spec.kind + ") has no embeddings endpoint",
                      "use an openai-compatible provider for embeddings");
}

Moderation Provider::moderate(const std::string& /*input*/, const std::string& /*model*/) {
  throw ProviderError("provider '" + m_spec.name + "' (" + m_spec.kind + ") has no moderations endpoint",
                      "name an openai-compatible provider in the assertion: provider = \"NAME\"");
}

std::unique_ptr<Provider> make_provider(const ProviderSpec& spec, const ProviderOptions& options) {
  ProviderSpec checked = spec;
  if (options.max_concurrency > 0) {
    checked.max_concurrency = options.max_concurrency;  // eval -j
  }
  if (spec.kind == "openai" || spec.kind == "anthropic") {
    if (spec.base_url.empty() && spec.kind == "openai") {
      throw ConfigError(
          located(spec, "openai provider '" + spec.name + "' has no base_url"),
          "add base_url = \"https://api.openai.com/v1\" (or your server's /v1 URL) to [providers." +
              spec.name + "]");
    }
    if (checked.base_url.empty()) {
      checked.base_url = "https://api.anthropic.com/v1";
    }
    check_base_url(checked);
    checked.base_url = trim_base_url(checked.base_url);
    check_secret_destination(checked, options);
    std::string key = read_key(spec, options);
    if (spec.kind == "openai") {
      return providers::make_openai_provider(std::move(checked), std::move(key));
    }
    return providers::make_anthropic_provider(std::move(checked), std::move(key));
  }
  if (spec.kind == "azure" || spec.kind == "gemini") {
    return make_native_provider(std::move(checked), options);
  }
  if (spec.kind == "exec") {
    if (spec.command.empty() || spec.command.front().empty()) {
      throw ConfigError(located(spec, "exec provider '" + spec.name + "' has no command"),
                        "add command = [\"path/to/program\", \"arg\"...] to [providers." + spec.name + "]");
    }
    if (!options.exec_trusted) {
      throw ConfigError("exec provider '" + spec.name + "' runs `" + providers::command_line(spec.command) +
                            "` but this repository is not trusted to run commands",
                        "read the command in .promptops.toml, then run: git config promptops.trustExec true");
    }
    // A command that needs a key fails here rather than mid-run; the key is only redacted.
    std::string key = read_key(spec, options);
    return providers::make_exec_provider(std::move(checked), options, std::move(key));
  }
  if (spec.kind.empty()) {
    throw ConfigError(located(spec, "provider '" + spec.name + "' has no kind"),
                      "add kind = \"openai\", \"anthropic\" or \"exec\" to [providers." + spec.name + "]");
  }
  throw ConfigError(located(spec, "provider '" + spec.name + "' has unknown kind '" + spec.kind + "'"),
                    "kind is one of: openai, anthropic, azure, gemini, exec");
}

std::string format_seconds(double seconds) {
  std::ostringstream out;
  out << seconds << 's';
  return out.str();
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json messages_json(const std::vector<Message>& messages) {
  nlohmann::json out = nlohmann::json::array();
  for (const Message& message : messages) {
    out.push_back({{"role", message.role}, {"content", message.content}});
  }
  return out;
}

std::string first_line(std::string_view text, std::size_t max) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = util::trim(text.substr(start, end - start));
    if (!line.empty()) {
      if (line.size() > max) {
        return std::string(line.substr(0, max)) + "...";
      }
      return std::string(line);
    }
    start = end + 1;
  }
  return {};
}

std::string retries_suffix(int attempts) {
  if (attempts <= 1) {
    return {};
  }
  const int retries = attempts - 1;
  return " (after " + std::to_string(retries) + (retries == 1 ? " retry)" : " retries)");
}

std::string command_line(const std::vector<std::string>& command) { return util::join(command, " "); }

std::string url_path_segment(std::string_view text) {
  constexpr std::string_view k_hex = "0123456789ABCDEF";
  const bool dots_only = text == "." || text == "..";  // a dot segment would climb the path
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '~' || (c == '.' && !dots_only);
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xF];
    }
  }
  return out;
}

}  // namespace promptops::providers
