// SPDX-License-Identifier: MIT
// Where a key read from the environment may be sent: well-known pairs, loopback, the user's trust.
#include <promptops/providers/provider.hpp>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <array>
#include <memory>

#include <promptops/util/handle.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline providers {

namespace {

struct WellKnown {
  std::string_view variable;
  std::string_view host;
};

// The variable each hosted API documents, to that API's own host (over https only); the presets'
// (provider_presets()) are trusted the same way.
constexpr std::array<WellKnown, 3> k_well_known{{
    {"OPENAI_API_KEY", "api.openai.com"},
    {"ANTHROPIC_API_KEY", "api.anthropic.com"},
    {"GEMINI_API_KEY", "generativelanguage.googleapis.com"},
}};

// Azure OpenAI's documented variables (the key and an Entra ID token), to any resource's own
// host under Microsoft's domains (over https only): the resource name is the user's, the domain
// is not. `domain` starts with a dot, and at least one label must come before it.
constexpr std::array<WellKnown, 4> k_well_known_domains{{
    {"AZURE_OPENAI_API_KEY", ".openai.azure.com"},
    {"AZURE_OPENAI_API_KEY", ".cognitiveservices.azure.com"},
    {"AZURE_OPENAI_AD_TOKEN", ".openai.azure.com"},
    {"AZURE_OPENAI_AD_TOKEN", ".cognitiveservices.azure.com"},
}};

bool in_domain(std::string_view host, std::string_view domain) {
  return host.size() > domain.size() && host.substr(host.size() - domain.size()) == domain;
}

// One part of a URL parsed by libcurl, which is what will connect: "" when absent.
std::string url_part(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return {};
  }
  std::string out(raw);
  curl_free(raw);
  return out;
}

struct Destination {
  std::string scheme;  // lower case
  std::string host;    // lower case; IPv6 in brackets
};

std::optional<Destination> destination_of(std::string_view url) {
  const util::Handle<CURLU, curl_url_cleanup> handle(curl_url());
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return std::nullopt;
  }
  Destination out{util::to_lower(url_part(handle.get(), CURLUPART_SCHEME)),
                  util::to_lower(url_part(handle.get(), CURLUPART_HOST))};
  if (out.host.empty() || (out.scheme != "http" && out.scheme != "https")) {
    return std::nullopt;
  }
  return out;
}

// "VARIABLE@HOST" trusts https://HOST; "VARIABLE@http://HOST" plain http too.
bool trusts(std::string_view entry, std::string_view variable, const Destination& to) {
  const std::size_t at = entry.find('@');
  if (at == std::string_view::npos || entry.substr(0, at) != variable) {
    return false;
  }
  std::string host = util::to_lower(util::trim(entry.substr(at + 1)));
  bool plain_http = false;
  if (host.rfind("https://", 0) == 0) {
    host.erase(0, 8);
  } else if (host.rfind("http://", 0) == 0) {
    host.erase(0, 7);
    plain_http = true;
  }
  while (!host.empty() && host.back() == '/') {
    host.pop_back();
  }
  return host == to.host && (to.scheme == "https" || plain_http);
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  const std::string name = util::to_lower(host);
  if (name == "localhost") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    in6_addr v6{};
    const std::string inner = name.substr(1, name.size() - 2);
    return inet_pton(AF_INET6, inner.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

SecretVerdict judge_secret(std::string_view variable, std::string_view url,
                           const std::vector<std::string>& trusted) {
  SecretVerdict verdict;
  const std::optional<Destination> to = destination_of(url);
  if (!to) {
    return verdict;  // libcurl could not tell the host: nothing is sent there
  }
  verdict.host = to->host;
  verdict.plain_http = to->scheme == "http";
  verdict.trust = std::string(variable) + "@" + (verdict.plain_http ? "http://" : "") + to->host;
  if (is_loopback_host(to->host)) {
    verdict.allowed = true;
    return verdict;
  }
  for (const WellKnown& known : k_well_known) {
    if (known.variable == variable && known.host == to->host && !verdict.plain_http) {
      verdict.allowed = true;
      return verdict;
    }
  }
  for (const WellKnown& known : k_well_known_domains) {
    if (known.variable == variable && in_domain(to->host, known.host) && !verdict.plain_http) {
      verdict.allowed = true;
      return verdict;
    }
  }
  // A preset's documented variable to the preset's own https host (GROQ_API_KEY to api.groq.com).
  for (const ProviderPreset& preset : provider_presets()) {
    const std::optional<Destination> home = destination_of(preset.base_url);
    if (!preset.api_key_env.empty() && preset.api_key_env == variable && home && home->scheme == "https" &&
        home->host == to->host && !verdict.plain_http) {
      verdict.allowed = true;
      return verdict;
    }
  }
  for (const std::string& entry : trusted) {
    if (trusts(entry, variable, *to)) {
      verdict.allowed = true;
      return verdict;
    }
  }
  return verdict;
}

}  // namespace promptops::providers
