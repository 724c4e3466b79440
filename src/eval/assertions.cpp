// SPDX-License-Identifier: MIT
// Assertion parsing (every problem reported as a diagnostic) and evaluation against one output.
#include <promptops/assertions.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

#include <promptops/config.hpp>
#include <promptops/template.hpp>

#include "util/json.hpp"
#include "util/strings.hpp"

namespace promptops {

namespace {

using nlohmann::json;

struct TypeInfo {
  AssertionType type;
  std::string_view name;
  std::array<std::string_view, 4> options;  // accepted keys besides "type"; empty slots unused
  bool service;
};

constexpr std::array<TypeInfo, 14> k_types{{
    {AssertionType::equals, "equals", {"value", "trim", "ignore_case", ""}, false},
    {AssertionType::contains, "contains", {"value", "", "", ""}, false},
    {AssertionType::icontains, "icontains", {"value", "", "", ""}, false},
    {AssertionType::not_contains, "not-contains", {"value", "", "", ""}, false},
    {AssertionType::starts_with, "starts-with", {"value", "", "", ""}, false},
    {AssertionType::regex, "regex", {"value", "ignore_case", "", ""}, false},
    {AssertionType::is_json, "is-json", {"", "", "", ""}, false},
    {AssertionType::json_field, "json-field", {"path", "value", "matches", ""}, false},
    {AssertionType::length, "length", {"min", "max", "", ""}, false},
    {AssertionType::cost, "cost", {"max", "", "", ""}, false},
    {AssertionType::latency, "latency", {"max_ms", "", "", ""}, false},
    {AssertionType::llm_rubric, "llm-rubric", {"value", "", "", ""}, true},
    {AssertionType::similar, "similar", {"value", "", "", ""}, true},
    {AssertionType::exec, "exec", {"value", "", "", ""}, true},
}};

// k_types is indexed by AssertionType, so its order must follow the enum.
static_assert(k_types[static_cast<std::size_t>(AssertionType::exec)].type == AssertionType::exec);

const TypeInfo& info_of(AssertionType type) { return k_types[static_cast<std::size_t>(type)]; }

// Keys any assertion may carry for people, not for evaluation.
constexpr std::array<std::string_view, 3> k_common_keys{"type", "description", "name"};

// Quoted for a reason line: JSON string escapes, long text elided at a code point boundary.
std::string quote(std::string_view text) {
  constexpr std::size_t k_max_bytes = 80;
  std::string shown(text);
  if (shown.size() > k_max_bytes) {
    std::size_t cut = k_max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    shown = shown.substr(0, cut) + "...";
  }
  return json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The parse error without nlohmann's "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const json::exception& error) {
  std::string text = error.what();
  if (!text.empty() && text.front() == '[') {
    const std::size_t end = text.find("] ");
    if (end != std::string::npos) {
      text.erase(0, end + 2);
    }
  }
  return text;
}

class Parser {
 public:
  Parser(const Location& where, std::vector<Diagnostic>& diagnostics)
      : m_where(where), m_diagnostics(diagnostics) {}

  void error(std::string message, std::string hint = {}) {
    report(Severity::error, "invalid-assertion", std::move(message), std::move(hint));
    m_failed = true;
  }
  void report(Severity severity, std::string code, std::string message, std::string hint) {
    m_diagnostics.push_back(
        Diagnostic{severity, m_where, std::move(code), std::move(message), std::move(hint)});
  }
  bool failed() const { return m_failed; }
  void fail() { m_failed = true; }

  // A template string: checks its syntax.
  void check_template(const std::string& text, std::string_view key, std::string_view type) {
    const TemplateInfo info = analyze_template(text);
    if (!info.error.empty()) {
      error(std::string(type) + " assertion has a bad template in '" + std::string(key) + "': " + info.error);
    }
  }

  // A regex unless it holds {{vars}} (then it is compiled after rendering).
  std::optional<std::regex> compile(const std::string& pattern, bool ignore_case, std::string_view type) {
    if (pattern.find("{{") != std::string::npos) {
      return std::nullopt;
    }
    try {
      return std::regex(pattern,
                        ignore_case ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      error(std::string(type) + " assertion has a bad regex /" + pattern + "/: " + e.what());
      return std::nullopt;
    }
  }

  std::optional<bool> get_bool(const json& spec, const char* key, std::string_view type) {
    const auto it = spec.find(key);
    if (it == spec.end()) {
      return std::nullopt;
    }
    if (!it->is_boolean()) {
      error(std::string(type) + " assertion option '" + key + "' must be true or false");
      return std::nullopt;
    }
    return it->get<bool>();
  }

  std::optional<double> get_number(const json& spec, const char* key, std::string_view type) {
    const auto it = spec.find(key);
    if (it == spec.end()) {
      return std::nullopt;
    }
    if (!it->is_number() || it->get<double>() < 0) {
      error(std::string(type) + " assertion option '" + key + "' must be a non-negative number");
      return std::nullopt;
    }
    return it->get<double>();
  }

  std::optional<std::size_t> get_count(const json& spec, const char* key, std::string_view type) {
    const auto it = spec.find(key);
    if (it == spec.end()) {
      return std::nullopt;
    }
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
      error(std::string(type) + " assertion option '" + key + "' must be a non-negative integer");
      return std::nullopt;
    }
    return it->get<std::size_t>();
  }

 private:
  const Location& m_where;
  std::vector<Diagnostic>& m_diagnostics;
  bool m_failed = false;
};

// The checked "value": a string (checked as a template) when `string_only`, else any scalar.
void read_value(Parser& parser, const json& spec, Assertion& assertion, std::string_view type,
                bool string_only) {
  const auto it = spec.find("value");
  if (it == spec.end() || it->is_null()) {
    parser.error(std::string(type) + " assertion has no 'value'");
    return;
  }
  if (it->is_string()) {
    parser.check_template(it->get<std::string>(), "value", type);
  } else if (string_only || !it->is_primitive()) {
    parser.error(std::string(type) + " assertion 'value' must be a string");
    return;
  }
  assertion.value = *it;
}

// Renders a string value; other JSON values become their JSON text.
std::string render_value(const json& value, const EvalContext& context) {
  if (value.is_string()) {
    return render_template(value.get<std::string>(), context.vars);
  }
  return value.dump();
}

AssertionResult verdict(bool pass, std::string reason) {
  return AssertionResult{pass, pass ? 1.0 : 0.0, std::move(reason)};
}

// regex_search with `compiled` or, when the pattern held {{vars}}, the rendered pattern.
AssertionResult search(const std::optional<std::regex>& compiled, const std::string& pattern,
                       bool ignore_case, std::string_view subject, const std::string& what) {
  try {
    const std::regex re = compiled
                              ? *compiled
                              : std::regex(pattern, ignore_case ? std::regex::ECMAScript | std::regex::icase
                                                                : std::regex::ECMAScript);
    const bool found = std::regex_search(subject.begin(), subject.end(), re);
    return verdict(found, what + (found ? " matches /" : " does not match /") + pattern + "/");
  } catch (const std::regex_error& e) {
    return verdict(false, "bad regex /" + pattern + "/: " + e.what());
  }
}

AssertionResult evaluate_json_field(const Assertion& assertion, std::string_view output,
                                    const EvalContext& context) {
  util::JsonParse parsed = util::parse_json(output);
  if (!parsed.ok()) {
    return verdict(false, "output is not JSON: " + parsed.error);
  }
  const json& document = parsed.value;
  const json* field = nullptr;
  try {
    field = &document.at(json::json_pointer(assertion.path));
  } catch (const json::exception&) {
    return verdict(false, assertion.path + " is missing");
  }
  const std::string shown = field->dump(-1, ' ', false, json::error_handler_t::replace);
  if (!assertion.value.is_null()) {
    bool equal = false;
    std::string expected;
    if (assertion.value.is_string()) {
      const std::string rendered = render_value(assertion.value, context);
      equal = field->is_string() ? field->get<std::string>() == rendered : shown == rendered;
      expected = field->is_string() ? quote(rendered) : rendered;
    } else {
      equal = *field == assertion.value;
      expected = assertion.value.dump();
    }
    if (!equal) {
      return verdict(false, assertion.path + " is " + shown + ", expected " + expected);
    }
  }
  if (assertion.matches) {
    const std::string pattern = render_template(*assertion.matches, context.vars);
    const std::string subject = field->is_string() ? field->get<std::string>() : shown;
    return search(assertion.compiled, pattern, false, subject, assertion.path + " " + shown);
  }
  return verdict(true, assertion.path + " is " + shown);
}

AssertionResult evaluate_length(const Assertion& assertion, std::string_view output) {
  const std::size_t length = util::utf8_length(output);
  const std::string shown = "length " + std::to_string(length);
  if (assertion.max_length && length > *assertion.max_length) {
    return verdict(false, shown + " exceeds max " + std::to_string(*assertion.max_length));
  }
  if (assertion.min_length && length < *assertion.min_length) {
    return verdict(false, shown + " is below min " + std::to_string(*assertion.min_length));
  }
  return verdict(true, shown);
}

AssertionResult unavailable(AssertionType type) {
  switch (type) {
    case AssertionType::llm_rubric:
      return verdict(false, "llm-rubric needs a judge provider");
    case AssertionType::similar:
      return verdict(false, "similar needs an embedding provider");
    default:
      return verdict(false, "exec needs a command runner");
  }
}

}  // namespace

std::string_view assertion_type_name(AssertionType type) { return info_of(type).name; }

const std::vector<std::string>& assertion_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const TypeInfo& info : k_types) {
      out.emplace_back(info.name);
    }
    return out;
  }();
  return names;
}

std::optional<Assertion> parse_assertion(const json& spec, const Location& where,
                                         std::vector<Diagnostic>& diagnostics) {
  Parser parser(where, diagnostics);
  if (!spec.is_object()) {
    parser.error("an assertion must be a JSON object, not " + std::string(spec.type_name()),
                 "write {\"type\": \"equals\", \"value\": \"...\"}");
    return std::nullopt;
  }
  const auto type_it = spec.find("type");
  if (type_it == spec.end() || !type_it->is_string()) {
    parser.error("assertion has no 'type' string", "add \"type\": \"equals\" (or contains, regex, ...)");
    return std::nullopt;
  }
  const std::string type_name = type_it->get<std::string>();
  const auto found = std::find_if(k_types.begin(), k_types.end(),
                                  [&](const TypeInfo& info) { return info.name == type_name; });
  if (found == k_types.end()) {
    const std::string suggestion = did_you_mean(type_name, assertion_type_names());
    parser.report(Severity::error, "unknown-assertion", "unknown assertion type '" + type_name + "'",
                  suggestion.empty() ? "expected one of " + util::join(assertion_type_names(), ", ")
                                     : "did you mean '" + suggestion + "'?");
    return std::nullopt;
  }
  const TypeInfo& info = *found;
  const std::string type(info.name);

  Assertion assertion;
  assertion.type = info.type;
  assertion.spec = spec;

  if (!info.service) {
    std::vector<std::string> known;
    for (std::string_view key : k_common_keys) {
      known.emplace_back(key);
    }
    for (std::string_view key : info.options) {
      if (!key.empty()) {
        known.emplace_back(key);
      }
    }
    for (const auto& [key, unused] : spec.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        const std::string suggestion = did_you_mean(key, known);
        parser.report(Severity::warning, "invalid-assertion",
                      type + " assertion has unknown option '" + key + "'",
                      suggestion.empty() ? "" : "did you mean '" + suggestion + "'?");
      }
    }
  }

  switch (info.type) {
    case AssertionType::equals:
      read_value(parser, spec, assertion, type, false);
      assertion.trim = parser.get_bool(spec, "trim", type).value_or(false);
      assertion.ignore_case = parser.get_bool(spec, "ignore_case", type).value_or(false);
      break;
    case AssertionType::contains:
    case AssertionType::icontains:
    case AssertionType::not_contains:
    case AssertionType::starts_with:
    case AssertionType::llm_rubric:
    case AssertionType::similar:
    case AssertionType::exec:
      read_value(parser, spec, assertion, type, true);
      break;
    case AssertionType::regex:
      read_value(parser, spec, assertion, type, true);
      assertion.ignore_case = parser.get_bool(spec, "ignore_case", type).value_or(false);
      if (assertion.value.is_string()) {
        assertion.compiled = parser.compile(assertion.value.get<std::string>(), assertion.ignore_case, type);
      }
      break;
    case AssertionType::is_json:
      break;
    case AssertionType::json_field: {
      const auto path = spec.find("path");
      if (path == spec.end() || !path->is_string()) {
        parser.error("json-field assertion has no 'path' string",
                     "add a JSON pointer such as \"path\": \"/answer\"");
      } else {
        assertion.path = path->get<std::string>();
        try {
          const json::json_pointer pointer(assertion.path);
        } catch (const json::exception& e) {
          parser.error("json-field assertion has a bad JSON pointer '" + assertion.path +
                       "': " + json_error_text(e));
        }
      }
      if (spec.contains("value")) {
        const json& value = spec.at("value");
        if (value.is_string()) {
          parser.check_template(value.get<std::string>(), "value", type);
        }
        assertion.value = value;
      }
      if (const auto matches = spec.find("matches"); matches != spec.end()) {
        if (!matches->is_string()) {
          parser.error("json-field assertion 'matches' must be a string");
        } else {
          assertion.matches = matches->get<std::string>();
          parser.check_template(*assertion.matches, "matches", type);
          assertion.compiled = parser.compile(*assertion.matches, false, type);
        }
      }
      break;
    }
    case AssertionType::length:
      assertion.min_length = parser.get_count(spec, "min", type);
      assertion.max_length = parser.get_count(spec, "max", type);
      if (!spec.contains("min") && !spec.contains("max")) {
        parser.error("length assertion needs 'min' or 'max'");
      } else if (assertion.min_length && assertion.max_length &&
                 *assertion.min_length > *assertion.max_length) {
        parser.error("length assertion has min " + std::to_string(*assertion.min_length) + " above max " +
                     std::to_string(*assertion.max_length));
      }
      break;
    case AssertionType::cost:
      assertion.max = parser.get_number(spec, "max", type);
      if (!spec.contains("max")) {
        parser.error("cost assertion has no 'max'");
      }
      break;
    case AssertionType::latency:
      assertion.max_ms = parser.get_number(spec, "max_ms", type);
      if (!spec.contains("max_ms")) {
        parser.error("latency assertion has no 'max_ms'");
      }
      break;
  }
  if (parser.failed()) {
    return std::nullopt;
  }
  return assertion;
}

ParsedAssertions parse_assertions(const json& array, const Location& where) {
  ParsedAssertions parsed;
  if (array.is_null()) {
    return parsed;
  }
  if (!array.is_array()) {
    parsed.diagnostics.push_back(
        Diagnostic{Severity::error, where, "invalid-assertion",
                   "assertions must be a JSON array, not " + std::string(array.type_name()), ""});
    return parsed;
  }
  for (const json& spec : array) {
    if (auto assertion = parse_assertion(spec, where, parsed.diagnostics)) {
      parsed.assertions.push_back(std::move(*assertion));
    }
  }
  return parsed;
}

AssertionResult AssertionServices::llm_rubric(const Assertion&, std::string_view, std::string_view,
                                              const EvalContext&) const {
  return unavailable(AssertionType::llm_rubric);
}

AssertionResult AssertionServices::similar(const Assertion&, std::string_view, std::string_view,
                                           const EvalContext&) const {
  return unavailable(AssertionType::similar);
}

AssertionResult AssertionServices::exec(const Assertion&, std::string_view, std::string_view,
                                        const EvalContext&) const {
  return unavailable(AssertionType::exec);
}

json make_template_context(const json& vars, const json& expected) {
  json context = vars.is_object() ? vars : json::object();
  if (!expected.is_null()) {
    context["expected"] = expected;
  }
  return context;
}

AssertionResult evaluate(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  switch (assertion.type) {
    case AssertionType::equals: {
      std::string expected = render_value(assertion.value, context);
      std::string actual(output);
      std::string shown_expected = expected;
      std::string shown_actual = actual;
      if (assertion.trim) {
        expected = std::string(util::trim(expected));
        actual = std::string(util::trim(actual));
      }
      if (assertion.ignore_case) {
        expected = util::to_lower(expected);
        actual = util::to_lower(actual);
      }
      if (expected == actual) {
        return verdict(true, "output equals " + quote(shown_expected));
      }
      return verdict(false, "expected " + quote(shown_expected) + ", got " + quote(shown_actual));
    }
    case AssertionType::contains:
    case AssertionType::icontains:
    case AssertionType::not_contains: {
      const std::string needle = render_value(assertion.value, context);
      const bool icase = assertion.type == AssertionType::icontains;
      const bool found = icase ? util::to_lower(output).find(util::to_lower(needle)) != std::string::npos
                               : output.find(needle) != std::string_view::npos;
      const std::string suffix = icase ? " (ignoring case)" : "";
      const bool pass = assertion.type == AssertionType::not_contains ? !found : found;
      return verdict(pass,
                     (found ? "output contains " : "output does not contain ") + quote(needle) + suffix);
    }
    case AssertionType::starts_with: {
      const std::string prefix = render_value(assertion.value, context);
      const bool pass = output.substr(0, prefix.size()) == prefix;
      return verdict(pass, (pass ? "output starts with " : "output does not start with ") + quote(prefix));
    }
    case AssertionType::regex:
      return search(assertion.compiled, render_value(assertion.value, context), assertion.ignore_case, output,
                    "output");
    case AssertionType::is_json:
      if (const util::JsonParse parsed = util::parse_json(output); parsed.ok()) {
        return verdict(true, "output is JSON " + std::string(parsed.value.type_name()));
      } else {
        return verdict(false, "output is not JSON: " + parsed.error);
      }
    case AssertionType::json_field:
      return evaluate_json_field(assertion, output, context);
    case AssertionType::length:
      return evaluate_length(assertion, output);
    case AssertionType::cost: {
      if (!context.cost) {
        return verdict(false, "cost is unknown");
      }
      const std::string shown = "cost " + util::shortest(*context.cost);
      const double max = assertion.max.value_or(0.0);
      if (*context.cost > max) {
        return verdict(false, shown + " exceeds max " + util::shortest(max));
      }
      return verdict(true, shown);
    }
    case AssertionType::latency: {
      if (!context.latency_ms) {
        return verdict(false, "latency is unknown");
      }
      const std::string shown = "latency " + util::shortest(*context.latency_ms) + " ms";
      const double max = assertion.max_ms.value_or(0.0);
      if (*context.latency_ms > max) {
        return verdict(false, shown + " exceeds max " + util::shortest(max) + " ms");
      }
      return verdict(true, shown);
    }
    case AssertionType::llm_rubric:
    case AssertionType::similar:
    case AssertionType::exec: {
      if (context.services == nullptr) {
        return unavailable(assertion.type);
      }
      const std::string value = render_value(assertion.value, context);
      AssertionResult result;
      if (assertion.type == AssertionType::llm_rubric) {
        result = context.services->llm_rubric(assertion, value, output, context);
      } else if (assertion.type == AssertionType::similar) {
        result = context.services->similar(assertion, value, output, context);
      } else {
        result = context.services->exec(assertion, value, output, context);
      }
      result.score = std::isnan(result.score) ? 0.0 : std::clamp(result.score, 0.0, 1.0);
      return result;
    }
  }
  return verdict(false, "unknown assertion");
}

}  // namespace promptops
