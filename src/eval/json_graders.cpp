// SPDX-License-Identifier: MIT
// contains-json's search for embedded JSON, and schema checks of JSON text for is-json and contains-json.
#include "json_graders.hpp"

#include <string>

#include <promptops/util/json.hpp>
#include <promptops/util/strings.hpp>

#include "json_schema.hpp"
#include "json_syntax.hpp"
#include "text_graders.hpp"

namespace promptops::inline eval {

namespace {

constexpr std::string_view k_fence = "```";

std::string span_text(const EmbeddedJson& found) {
  return "bytes " + std::to_string(found.begin + 1) + "-" + std::to_string(found.end);
}

// Whether the fence at `pos` opens a block: an even number of fences come before it. Counts on
// from where the last call stopped, so a search reads the text once.
bool opens_block(std::string_view text, std::size_t pos, EmbeddedJsonSearch& search) {
  for (std::size_t at = text.find(k_fence, search.counted); at < pos; at = text.find(k_fence, search.counted)) {
    ++search.fences;
    search.counted = at + k_fence.size();
  }
  return search.fences % 2 == 0;
}

// The body of the fence opening at `pos` when it is one JSON value, trimmed. The info string
// ("json") is short: a fence with no line end soon after it opens nothing.
std::optional<EmbeddedJson> fenced_json(std::string_view text, std::size_t pos, std::size_t& budget) {
  constexpr std::size_t k_max_info = 64;
  const std::size_t line_end = text.substr(0, pos + k_fence.size() + k_max_info).find('\n', pos + k_fence.size());
  if (line_end == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t close = text.find(k_fence, line_end + 1);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view body = util::trim(text.substr(line_end + 1, close - line_end - 1));
  budget -= std::min(budget, close - line_end);
  if (body.empty() || !check_json_syntax(body).valid) {
    return std::nullopt;
  }
  const std::size_t begin = static_cast<std::size_t>(body.data() - text.data());
  return EmbeddedJson{begin, begin + body.size(), close + k_fence.size()};
}

}  // namespace

std::optional<EmbeddedJson> find_embedded_json(std::string_view text, std::size_t from, EmbeddedJsonSearch& search) {
  for (std::size_t pos = from; pos < text.size() && search.budget > 0; ++pos) {
    if (text.compare(pos, k_fence.size(), k_fence) == 0) {
      if (auto fenced = opens_block(text, pos, search) ? fenced_json(text, pos, search.budget) : std::nullopt) {
        return fenced;
      }
      pos += k_fence.size() - 1;  // a run of backticks opens no second fence
      continue;
    }
    if (text[pos] != '{') {
      continue;
    }
    const JsonSyntax syntax = check_json_prefix(text.substr(pos));
    search.budget -= std::min(search.budget, syntax.offset + 1);
    if (syntax.valid) {
      return EmbeddedJson{pos, pos + syntax.offset, pos + syntax.offset};
    }
  }
  return std::nullopt;
}

AssertionResult check_schema(const JsonSchema& schema, std::string_view json_text, const std::string& what) {
  util::JsonParse parsed = util::parse_json(json_text);
  if (!parsed.ok()) {
    return verdict(false, what + " cannot be read: " + parsed.reason());
  }
  const JsonSchemaCheck check = schema.validate(parsed.value);
  if (check.error) {
    return AssertionResult{false, 0.0, what + ": " + check.message, true};
  }
  return verdict(check.valid, check.valid ? what + " matches the schema" : what + " does not match the schema: " + check.message);
}

AssertionResult evaluate_contains_json(const Assertion& assertion, std::string_view output) {
  EmbeddedJsonSearch search;
  std::size_t from = 0;
  std::size_t found_count = 0;
  AssertionResult first_failure;
  while (const std::optional<EmbeddedJson> found = find_embedded_json(output, from, search)) {
    ++found_count;
    const std::string what = "JSON at " + span_text(*found);
    if (!assertion.schema) {
      return verdict(true, "output contains " + what);
    }
    AssertionResult result = check_schema(*assertion.schema, output.substr(found->begin, found->end - found->begin), what);
    if (result.pass || result.error) {
      return result;
    }
    if (found_count == 1) {
      first_failure = std::move(result);
    }
    from = found->resume;
  }
  if (search.budget == 0) {
    return AssertionResult{false, 0.0, "contains-json scanned " + std::to_string(k_embedded_json_budget >> 20) +
                                           " MiB without an answer; the output is too unlike JSON to search", true};
  }
  if (found_count == 0) {
    return verdict(false, "output contains no JSON object");
  }
  if (found_count > 1) {
    first_failure.reason +=
        (found_count == 2 ? " (nor does " : " (nor do ") + util::plural(found_count - 1, "other JSON value") + ")";
  }
  return first_failure;
}

}  // namespace promptops::eval
