// SPDX-License-Identifier: MIT
// What the provider backends share inside the layer: their factories and small text helpers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/providers/provider.hpp>

namespace promptops::inline providers {

// The backends; make_provider has checked the spec and read the key (empty = no key).
std::unique_ptr<Provider> make_openai_provider(ProviderSpec spec, std::string key);
std::unique_ptr<Provider> make_anthropic_provider(ProviderSpec spec, std::string key);
std::unique_ptr<Provider> make_azure_provider(ProviderSpec spec, std::string key);
std::unique_ptr<Provider> make_gemini_provider(ProviderSpec spec, std::string key);
std::unique_ptr<Provider> make_exec_provider(ProviderSpec spec, const ProviderOptions& options,
                                             std::string key);

// "60s", "0.5s".
std::string format_seconds(double seconds);

// JSON text; invalid UTF-8 in strings becomes U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& value);

// [{"role", "content"}...]
nlohmann::json messages_json(const std::vector<Message>& messages);

// The first non-blank line of `text`, trimmed and cut to `max` bytes ("..." marks a cut).
std::string first_line(std::string_view text, std::size_t max = 300);

// " (after N retries)" for a request that took more than one attempt, else "".
std::string retries_suffix(int attempts);

// `text` as one URL path segment: every byte but letters, digits, '-', '.', '_' and '~' becomes
// %XX (the dots of "." and ".." too), so a model name from a tracked file cannot add a path, a
// query or a fragment.
std::string url_path_segment(std::string_view text);

// The command as one line, for messages and identity(): arguments joined by spaces.
std::string command_line(const std::vector<std::string>& command);

}  // namespace promptops::providers
