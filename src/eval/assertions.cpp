// SPDX-License-Identifier: MIT
// Assertion parsing (every problem reported as a diagnostic) and evaluation against one output.
#include <promptops/eval/assertions.hpp>

#include <algorithm>
#include <array>
#include <span>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

#include <promptops/config/config.hpp>
#include <promptops/prompt/template.hpp>

#include "assertion_sets.hpp"
#include "json_graders.hpp"
#include "json_schema.hpp"
#include "json_syntax.hpp"
#include "model_graded.hpp"
#include "pii.hpp"
#include "regex.hpp"
#include "text_graders.hpp"
#include "unicode.hpp"
#include <promptops/util/json.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

using nlohmann::json;

struct TypeInfo {
  AssertionType type;
  std::string_view name;
  std::array<std::string_view, 4> options;  // accepted keys besides "type"; empty slots unused
  bool service;
};

constexpr std::array<TypeInfo, 35> k_types{{
    {AssertionType::equals, "equals", {"value", "trim", "ignore_case", "normalize"}, false},
    {AssertionType::contains, "contains", {"value", "normalize", "", ""}, false},
    {AssertionType::icontains, "icontains", {"value", "normalize", "", ""}, false},
    {AssertionType::not_contains, "not-contains", {"value", "normalize", "", ""}, false},
    {AssertionType::starts_with, "starts-with", {"value", "normalize", "", ""}, false},
    {AssertionType::regex, "regex", {"value", "ignore_case", "normalize", ""}, false},
    {AssertionType::is_json, "is-json", {"value", "", "", ""}, false},
    {AssertionType::json_field, "json-field", {"path", "value", "matches", ""}, false},
    {AssertionType::length, "length", {"min", "max", "", ""}, false},
    {AssertionType::cost, "cost", {"max", "", "", ""}, false},
    {AssertionType::latency, "latency", {"max_ms", "", "", ""}, false},
    {AssertionType::llm_rubric, "llm-rubric", {"value", "", "", ""}, true},
    {AssertionType::similar, "similar", {"value", "", "", ""}, true},
    {AssertionType::exec, "exec", {"value", "", "", ""}, true},
    {AssertionType::contains_json, "contains-json", {"value", "", "", ""}, false},
    {AssertionType::pii, "pii", {"value", "on", "", ""}, false},
    {AssertionType::contains_any, "contains-any", {"value", "normalize", "", ""}, false},
    {AssertionType::contains_all, "contains-all", {"value", "normalize", "", ""}, false},
    {AssertionType::icontains_any, "icontains-any", {"value", "normalize", "", ""}, false},
    {AssertionType::icontains_all, "icontains-all", {"value", "normalize", "", ""}, false},
    {AssertionType::ends_with, "ends-with", {"value", "normalize", "", ""}, false},
    {AssertionType::word_count, "word-count", {"value", "", "", ""}, false},
    {AssertionType::levenshtein, "levenshtein", {"value", "threshold", "", ""}, false},
    {AssertionType::rouge_n, "rouge-n", {"value", "threshold", "n", ""}, false},
    {AssertionType::bleu, "bleu", {"value", "threshold", "", ""}, false},
    {AssertionType::f_score, "f-score", {"value", "threshold", "", ""}, false},
    // Model-graded: options checked by read_model_graded(); provider and model go to the services.
    {AssertionType::factuality, "factuality", {"value", "", "", ""}, true},
    {AssertionType::model_graded_closedqa, "model-graded-closedqa", {"value", "", "", ""}, true},
    {AssertionType::answer_relevance, "answer-relevance", {"value", "", "", ""}, true},
    {AssertionType::context_faithfulness, "context-faithfulness", {"value", "", "", ""}, true},
    {AssertionType::context_relevance, "context-relevance", {"value", "", "", ""}, true},
    {AssertionType::context_recall, "context-recall", {"value", "", "", ""}, true},
    {AssertionType::prompt_injection, "prompt-injection", {"value", "on", "", ""}, true},
    {AssertionType::jailbreak, "jailbreak", {"value", "on", "", ""}, true},
    {AssertionType::moderation, "moderation", {"value", "on", "provider", "model"}, true},
}};

// k_types is indexed by AssertionType, so its order must follow the enum.
static_assert(k_types[static_cast<std::size_t>(AssertionType::exec)].type == AssertionType::exec);
static_assert(k_types[static_cast<std::size_t>(AssertionType::pii)].type == AssertionType::pii);
static_assert(k_types[static_cast<std::size_t>(AssertionType::f_score)].type == AssertionType::f_score);
static_assert(k_types.back().type == AssertionType::moderation);

// Types that "not-<name>" negates: the deterministic ones. A service's verdict is not flipped,
// since a judge that cannot answer would then pass; not-contains is already a negation.
bool negatable(const TypeInfo& info) { return !info.service && info.type != AssertionType::not_contains; }

constexpr std::string_view k_not = "not-";

const TypeInfo& info_of(AssertionType type) { return k_types[static_cast<std::size_t>(type)]; }

// Keys any assertion may carry for people, not for evaluation.
constexpr std::array<std::string_view, 3> k_common_keys{"type", "description", "name"};

}  // namespace

// Quoted for a reason line: JSON string escapes, long text elided at a code point boundary.
std::string quote(std::string_view text) {
  constexpr std::size_t k_max_bytes = 80;
  const auto plain = [](char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; };
  if (text.size() <= k_max_bytes && std::all_of(text.begin(), text.end(), plain)) {
    return '"' + std::string(text) + '"';  // printable ASCII needs no escape: JSON's text is the same
  }
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

namespace {

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

// The pattern compiled with the assertion's options; NFC first when it normalizes.
RegexCompileResult compile_pattern(const std::string& pattern, const Assertion& assertion) {
  return Regex::compile(assertion.normalize ? comparable_text(pattern, TextForm{false, true}) : pattern,
                        assertion.ignore_case);
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

  // A template string: checks its syntax and adds the variables it uses to `assertion`.
  void check_template(const std::string& text, std::string_view key, std::string_view type,
                      Assertion& assertion) {
    const TemplateInfo info = analyze_template(text);
    if (!info.error.empty()) {
      error(std::string(type) + " assertion has a bad template in '" + std::string(key) + "': " + info.error);
    }
    for (const TemplateVariable& variable : info.variables) {
      if (!variable.in_section && std::find(assertion.variables.begin(), assertion.variables.end(),
                                            variable.name) == assertion.variables.end()) {
        assertion.variables.push_back(variable.name);
      }
    }
  }

  // A text to search for: the empty one is found in every output.
  void check_not_empty(const std::string& text, std::string_view key, std::string_view type) {
    if (text.empty()) {
      error(std::string(type) + " assertion has an empty '" + std::string(key) + "', which every output contains",
            "give the text to look for");
    }
  }

  // A regex unless it holds {{vars}} (then it is compiled after rendering).
  std::shared_ptr<const Regex> compile(const std::string& pattern, const Assertion& assertion,
                                       std::string_view type) {
    if (pattern.find("{{") != std::string::npos) {
      return nullptr;
    }
    RegexCompileResult compiled = compile_pattern(pattern, assertion);
    if (!compiled.regex) {
      error(std::string(type) + " assertion has a bad regex /" + pattern + "/: " + compiled.error,
            "fix the pattern; the dialect is PCRE2's");
    }
    return std::move(compiled.regex);
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
    parser.check_template(it->get<std::string>(), "value", type, assertion);
  } else if (string_only || !it->is_primitive()) {
    parser.error(std::string(type) + " assertion 'value' must be a string");
    return;
  }
  assertion.value = *it;
}

}  // namespace

namespace {

// The string variable that `text` is exactly ("{{name}}", "{{{name}}}", "{{& name}}"), or null.
// Rendering inserts strings as they are, so such a template renders to the string.
const std::string* lone_string_variable(std::string_view text, const json& vars) {
  if (text.size() < 5 || text.substr(0, 2) != "{{" || text.substr(text.size() - 2) != "}}" || !vars.is_object()) {
    return nullptr;
  }
  std::string_view name = text.substr(2, text.size() - 4);
  if (name.size() >= 2 && name.front() == '{' && name.back() == '}') {
    name = name.substr(1, name.size() - 2);
  } else if (!name.empty() && name.front() == '&') {
    name.remove_prefix(1);
  }
  name = util::trim(name);
  if (name.empty() || name.find_first_of("{}#^/!>=.& \t\n") != std::string_view::npos) {
    return nullptr;
  }
  const auto it = vars.find(name);
  return it != vars.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

}  // namespace

std::string_view render_view(const std::string& text, const json& vars, std::string& storage) {
  if (text.find("{{") == std::string::npos) {
    return text;  // nothing to render: the common case, and the cheap one
  }
  if (const std::string* value = lone_string_variable(text, vars)) {
    return *value;
  }
  storage = render_template(text, vars);
  return storage;
}

std::string render_text(const std::string& text, const json& vars) {
  std::string storage;
  const std::string_view view = render_view(text, vars, storage);
  return storage.empty() ? std::string(view) : storage;
}

std::string_view render_value_view(const json& value, const EvalContext& context, std::string& storage) {
  if (value.is_string()) {
    return render_view(value.get_ref<const std::string&>(), context.vars, storage);
  }
  storage = value.dump();
  return storage;
}

std::string render_value(const json& value, const EvalContext& context) {
  std::string storage;
  const std::string_view view = render_value_view(value, context, storage);
  return storage.empty() ? std::string(view) : storage;
}

AssertionResult verdict(bool pass, std::string reason) {
  return AssertionResult{pass, pass ? 1.0 : 0.0, std::move(reason)};
}

namespace {

AssertionResult error_result(std::string reason) { return AssertionResult{false, 0.0, std::move(reason), true}; }

}  // namespace

// "file:line: " of the assertion, or "" when it was made in code.
std::string located(const Assertion& assertion) {
  return assertion.where.file.empty() ? "" : assertion.where.format() + ": ";
}

namespace {

// The text form the assertion compares in.
TextForm form_of(const Assertion& assertion, bool fold_case) { return TextForm{fold_case, assertion.normalize}; }

// The regex search with `compiled` or, when the pattern held {{vars}}, the rendered pattern.
AssertionResult search(const Assertion& assertion, const std::string& pattern, std::string_view subject,
                       const std::string& what, const EvalContext& context) {
  std::shared_ptr<const Regex> regex = assertion.compiled;
  if (!regex) {
    RegexCompileResult compiled = compile_pattern(pattern, assertion);
    if (!compiled.regex) {
      return error_result("bad regex /" + pattern + "/: " + compiled.error);
    }
    regex = std::move(compiled.regex);
  }
  const RegexSearchResult found =
      assertion.normalize ? regex->search(comparable_text(subject, TextForm{false, true})) : regex->search(subject);
  if (!found.error.empty()) {
    return error_result(found.error);
  }
  return verdict(found.found, context,
                 [&] { return what + (found.found ? " matches /" : " does not match /") + pattern + "/"; });
}

// A number as its shortest round-trip text: 100 for 1e2 and 100.0, 0.5, 1e+21.
std::string number_text(const json& number) {
  if (!number.is_number_float()) {
    return number.dump();
  }
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number.get<double>());
  return ec == std::errc{} ? std::string(buffer, end) : number.dump();
}

// The number `value` stands for: a JSON number, or a template that is exactly one variable whose
// value in the case is a number ("{{expected}}" with "expected": 1e2).
std::optional<json> expected_number(const json& value, const EvalContext& context) {
  if (value.is_number()) {
    return value;
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  std::string_view text = util::trim(value.get_ref<const std::string&>());
  if (text.size() < 5 || text.substr(0, 2) != "{{" || text.substr(text.size() - 2) != "}}") {
    return std::nullopt;
  }
  text = text.substr(2, text.size() - 4);
  if (!text.empty() && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, text.size() - 2);
  } else if (!text.empty() && text.front() == '&') {
    text.remove_prefix(1);
  }
  const std::string name(util::trim(text));
  if (name.empty() || !context.vars.is_object() || name.find_first_of("{}#^/!>=.") != std::string::npos) {
    return std::nullopt;
  }
  const auto it = context.vars.find(name);
  if (it == context.vars.end() || !it->is_number()) {
    return std::nullopt;
  }
  return *it;
}

// Whether `text` (whitespace around it ignored) is a decimal number equal to `expected`: an
// optional sign, digits with an optional fraction, an optional exponent. Integers are compared
// exactly; anything else as doubles.
bool equals_number(std::string_view text, const json& expected) {
  text = util::trim(text);
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t pos = 0;
  std::size_t mantissa_digits = 0;
  while (pos < digits.size() && is_digit(digits[pos])) {
    ++pos;
    ++mantissa_digits;
  }
  const bool integer = pos == digits.size() && mantissa_digits > 0;
  if (pos < digits.size() && digits[pos] == '.') {
    ++pos;
    while (pos < digits.size() && is_digit(digits[pos])) {
      ++pos;
      ++mantissa_digits;
    }
  }
  if (mantissa_digits == 0) {
    return false;
  }
  if (pos < digits.size() && (digits[pos] == 'e' || digits[pos] == 'E')) {
    ++pos;
    if (pos < digits.size() && (digits[pos] == '+' || digits[pos] == '-')) {
      ++pos;
    }
    const std::size_t exponent_start = pos;
    while (pos < digits.size() && is_digit(digits[pos])) {
      ++pos;
    }
    if (pos == exponent_start) {
      return false;
    }
  }
  if (pos != digits.size()) {
    return false;
  }
  const std::string_view signless = text.front() == '+' ? text.substr(1) : text;
  if (integer && expected.is_number_integer()) {
    if (expected.is_number_unsigned()) {
      std::uint64_t parsed = 0;
      const auto [end, ec] = std::from_chars(signless.data(), signless.data() + signless.size(), parsed);
      return ec == std::errc{} && end == signless.data() + signless.size() &&
             parsed == expected.get<std::uint64_t>();
    }
    std::int64_t parsed = 0;
    const auto [end, ec] = std::from_chars(signless.data(), signless.data() + signless.size(), parsed);
    return ec == std::errc{} && end == signless.data() + signless.size() && parsed == expected.get<std::int64_t>();
  }
  double parsed = 0.0;
  const auto [end, ec] = std::from_chars(signless.data(), signless.data() + signless.size(), parsed);
  return ec == std::errc{} && end == signless.data() + signless.size() && parsed == expected.get<double>();
}

AssertionResult evaluate_equals(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  if (const std::optional<json> number = expected_number(assertion.value, context)) {
    const std::string shown = number_text(*number);
    if (equals_number(output, *number)) {
      return verdict(true, "output equals " + quote(shown));
    }
    return verdict(false, "expected " + quote(shown) + ", got " + quote(output));
  }
  const std::string expected = render_value(assertion.value, context);
  std::string_view want = expected;
  std::string_view got = output;
  if (assertion.trim) {
    want = util::trim(want);
    got = util::trim(got);
  }
  const TextForm form = form_of(assertion, assertion.ignore_case);
  if (comparable_text(want, form) == comparable_text(got, form)) {
    return verdict(true, "output equals " + quote(expected));
  }
  return verdict(false, "expected " + quote(expected) + ", got " + quote(output));
}

AssertionResult evaluate_substring(const Assertion& assertion, std::string_view output,
                                   const EvalContext& context) {
  std::string rendered;
  const std::string_view needle = render_value_view(assertion.value, context, rendered);
  if (needle.empty()) {
    return error_result(located(assertion) + "'value' renders to an empty string");
  }
  const TextForm form = form_of(assertion, assertion.type == AssertionType::icontains);
  std::string subject_text;
  std::string wanted_text;
  const std::string_view subject = comparable_view(output, form, subject_text);
  const std::string_view wanted = comparable_view(needle, form, wanted_text);
  if (assertion.type == AssertionType::starts_with) {
    const bool pass = subject.substr(0, wanted.size()) == wanted;
    return verdict(pass, context,
                   [&] { return (pass ? "output starts with " : "output does not start with ") + quote(needle); });
  }
  const bool found = subject.find(wanted) != std::string_view::npos;
  const bool pass = assertion.type == AssertionType::not_contains ? !found : found;
  return verdict(pass, context, [&] {
    return (found ? "output contains " : "output does not contain ") + quote(needle) +
           (assertion.type == AssertionType::icontains ? " (ignoring case)" : "");
  });
}

AssertionResult evaluate_is_json(const Assertion& assertion, std::string_view output) {
  const JsonSyntax syntax = check_json_syntax(output);
  if (syntax.valid) {
    return assertion.schema ? check_schema(*assertion.schema, output, "output")
                            : verdict(true, "output is JSON " + syntax.type);
  }
  // nlohmann's message is the more telling one when it stops no earlier (its checks are a subset).
  struct Sax : json::json_sax_t {
    std::size_t byte = 0;
    std::string message;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&, const json::exception& error) override {
      byte = position;
      message = json_error_text(error);
      return false;
    }
  } sax;
  json::sax_parse(output, &sax);
  if (!sax.message.empty() && sax.byte > syntax.offset) {
    return verdict(false, "output is not JSON: " + sax.message);
  }
  return verdict(false, "output is not JSON: " + syntax.error + " at byte " + std::to_string(syntax.offset + 1));
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
    if (const std::optional<json> number = expected_number(assertion.value, context); number && field->is_number()) {
      equal = *field == *number;
      expected = number_text(*number);
    } else if (assertion.value.is_string()) {
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
    const std::string pattern = render_text(*assertion.matches, context.vars);
    if (pattern.empty()) {
      return error_result(located(assertion) + "'matches' renders to an empty string");
    }
    const std::string subject = field->is_string() ? field->get<std::string>() : shown;
    return search(assertion, pattern, subject, assertion.path + " " + shown, context);
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
    case AssertionType::moderation:
      return verdict(false, "moderation needs a provider with a moderations endpoint");
    default:
      return verdict(false, "exec needs a command runner");
  }
}

// The types that need a model, embeddings or a process: through context.services, the score
// clamped to [0, 1].
AssertionResult evaluate_with_services(const Assertion& assertion, std::string_view output,
                                       const EvalContext& context) {
  AssertionResult result;
  if (is_model_graded(assertion.type)) {
    result = evaluate_model_graded(assertion, output, context);
  } else if (context.services == nullptr) {
    return unavailable(assertion.type);
  } else if (assertion.type == AssertionType::moderation) {
    if (assertion.on_input && !context.input) {
      return error_result(located(assertion) + "moderation on = \"input\" has no rendered input here");
    }
    result = context.services->moderation(assertion, assertion.on_input ? *context.input : output, context);
  } else {
    const std::string value = render_value(assertion.value, context);
    if (assertion.type == AssertionType::llm_rubric) {
      result = context.services->llm_rubric(assertion, value, output, context);
    } else if (assertion.type == AssertionType::similar) {
      result = context.services->similar(assertion, value, output, context);
    } else {
      result = context.services->exec(assertion, value, output, context);
    }
  }
  result.score = std::isnan(result.score) ? 0.0 : std::clamp(result.score, 0.0, 1.0);
  return result;
}

}  // namespace

std::string_view assertion_type_name(AssertionType type) { return info_of(type).name; }

const std::vector<std::string>& assertion_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const TypeInfo& info : k_types) {
      out.emplace_back(info.name);
    }
    for (const TypeInfo& info : k_types) {
      if (negatable(info) && info.type != AssertionType::contains) {  // "not-contains" is listed
        out.push_back(std::string(k_not) + std::string(info.name));
      }
    }
    return out;
  }();
  return names;
}

std::string assertion_name(const Assertion& assertion) {
  return (assertion.negate ? std::string(k_not) : std::string()) + std::string(assertion_type_name(assertion.type));
}

namespace {

// The type `name` spells: a name in k_types, or "not-" and a negatable one (then `negate` is set).
const TypeInfo* lookup_type(std::string_view name, bool& negate) {
  const auto named = [](std::string_view wanted) {
    const auto found =
        std::find_if(k_types.begin(), k_types.end(), [&](const TypeInfo& info) { return info.name == wanted; });
    return found == k_types.end() ? nullptr : &*found;
  };
  negate = false;
  if (const TypeInfo* info = named(name)) {
    return info;
  }
  if (name.substr(0, k_not.size()) == k_not) {
    const TypeInfo* base = named(name.substr(k_not.size()));
    if (base != nullptr && negatable(*base)) {
      negate = true;
      return base;
    }
  }
  return nullptr;
}

// The type that `spec` names; null (and an error) when it names none.
const TypeInfo* find_type(const json& spec, Parser& parser, bool& negate) {
  if (!spec.is_object()) {
    parser.error("an assertion must be a JSON object, not " + std::string(spec.type_name()),
                 "write {\"type\": \"equals\", \"value\": \"...\"}");
    return nullptr;
  }
  const auto type_it = spec.find("type");
  if (type_it == spec.end() || !type_it->is_string()) {
    parser.error("assertion has no 'type' string", "add \"type\": \"equals\" (or contains, regex, ...)");
    return nullptr;
  }
  const std::string type_name = type_it->get<std::string>();
  const TypeInfo* found = lookup_type(type_name, negate);
  if (found == nullptr) {
    const std::string suggestion = did_you_mean(type_name, assertion_type_names());
    parser.report(Severity::error, "unknown-assertion", "unknown assertion type '" + type_name + "'",
                  suggestion.empty() ? "expected one of " + util::join(assertion_type_names(), ", ")
                                     : "did you mean '" + suggestion + "'?");
    return nullptr;
  }
  return found;
}

// A warning for each option the type does not know (llm-rubric, similar and exec take any: they
// pass them on).
void warn_unknown_options(const json& spec, const TypeInfo& info, Parser& parser) {
  const bool judged = is_model_graded(info.type);
  if (info.service && !judged && info.type != AssertionType::moderation) {
    return;
  }
  const std::string type(info.name);
  std::vector<std::string> known;
  for (std::string_view key : k_common_keys) {
    known.emplace_back(key);
  }
  for (std::string_view key : k_scoring_keys) {
    known.emplace_back(key);
  }
  for (std::string_view key : judged ? k_model_graded_options : std::span<const std::string_view>(info.options)) {
    if (!key.empty()) {
      known.emplace_back(key);
    }
  }
  for (const auto& [key, unused] : spec.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      const std::string suggestion = did_you_mean(key, known);
      parser.report(Severity::warning, "invalid-assertion", type + " assertion has unknown option '" + key + "'",
                    suggestion.empty() ? "" : "did you mean '" + suggestion + "'?");
    }
  }
}

void read_json_field(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  const auto path = spec.find("path");
  if (path == spec.end() || !path->is_string()) {
    parser.error("json-field assertion has no 'path' string", "add a JSON pointer such as \"path\": \"/answer\"");
  } else {
    assertion.path = path->get<std::string>();
    try {
      const json::json_pointer pointer(assertion.path);
    } catch (const json::exception& e) {
      parser.error("json-field assertion has a bad JSON pointer '" + assertion.path + "': " + json_error_text(e));
    }
  }
  if (spec.contains("value")) {
    const json& value = spec.at("value");
    if (value.is_string()) {
      parser.check_template(value.get<std::string>(), "value", type, assertion);
    }
    assertion.value = value;
  }
  if (const auto matches = spec.find("matches"); matches != spec.end()) {
    if (!matches->is_string()) {
      parser.error("json-field assertion 'matches' must be a string");
    } else {
      assertion.matches = matches->get<std::string>();
      parser.check_template(*assertion.matches, "matches", type, assertion);
      parser.check_not_empty(*assertion.matches, "matches", type);
      if (!assertion.matches->empty()) {
        assertion.compiled = parser.compile(*assertion.matches, assertion, type);
      }
    }
  }
}

// is-json, contains-json: an optional JSON Schema in "value", checked and compiled once.
void read_schema(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  const auto value = spec.find("value");
  if (value == spec.end() || value->is_null()) {
    return;
  }
  JsonSchemaCompiled compiled = JsonSchema::compile_value(*value);
  if (!compiled.schema) {
    parser.error(type + " assertion has a bad JSON Schema in 'value': " + compiled.error,
                 "write the schema inline as a table or object, e.g. { type = \"object\", required = [\"answer\"] }");
  }
  assertion.schema = std::move(compiled.schema);
}

// A guardrail's "on": "output" (default) or "input".
void read_on(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  if (const auto on = spec.find("on"); on != spec.end()) {
    if (!on->is_string() || (*on != "output" && *on != "input")) {
      parser.error(type + " assertion option 'on' must be \"output\" or \"input\"");
    } else {
      assertion.on_input = *on == "input";
    }
  }
}

// pii: the kinds in "value" (default all), and "on".
void read_guardrail(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  const PiiKindsParse kinds = parse_pii_kinds(spec.value("value", json()));
  if (!kinds.error.empty()) {
    parser.error(kinds.error, kinds.hint);
  }
  assertion.pii_kinds = kinds.kinds;
  read_on(spec, assertion, type, parser);
}

// moderation: the categories in "value" (a list or a comma-separated string; default all), "on",
// and the "provider" and "model" strings the services read.
void read_moderation(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  const json value = spec.value("value", json());
  const bool listed = value.is_array() && std::all_of(value.begin(), value.end(),
                                                      [](const json& item) { return item.is_string(); });
  if (value.is_string()) {
    assertion.items = split_list(value.get<std::string>());
  } else if (listed) {
    assertion.items = value.get<std::vector<std::string>>();
  } else if (!value.is_null()) {
    parser.error(type + " assertion 'value' must list categories",
                 "write value = [\"violence\", \"hate\"], or leave it out to check all");
  }
  if (std::any_of(assertion.items.begin(), assertion.items.end(),
                  [](const std::string& item) { return item.empty(); })) {
    parser.error(type + " assertion has an empty category in 'value'", "remove the empty item");
  }
  read_on(spec, assertion, type, parser);
  for (const char* key : {"provider", "model"}) {
    if (const auto it = spec.find(key);
        it != spec.end() && (!it->is_string() || it->get<std::string>().empty())) {
      parser.error(type + " assertion option '" + key + "' must be a non-empty string");
    }
  }
}

// length, cost and latency: numeric limits.
void read_limits(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  switch (assertion.type) {
    case AssertionType::length:
      assertion.min_length = parser.get_count(spec, "min", type);
      assertion.max_length = parser.get_count(spec, "max", type);
      if (!spec.contains("min") && !spec.contains("max")) {
        parser.error("length assertion needs 'min' or 'max'");
      } else if (assertion.min_length && assertion.max_length && *assertion.min_length > *assertion.max_length) {
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
    default:
      break;
  }
}

// A text grader's options (text_graders.cpp), its problems reported through `parser`.
void read_text_options(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  const TextGraderProblems problems = read_text_grader(spec, assertion, type);
  for (const auto& [text, key] : problems.templates) {
    parser.check_template(text, key, type, assertion);
  }
  for (const TextGraderProblems::Problem& problem : problems.errors) {
    parser.error(problem.message, problem.hint);
  }
}

// The options of `assertion`'s type, checked.
void read_options(const json& spec, Assertion& assertion, const std::string& type, Parser& parser) {
  switch (assertion.type) {
    case AssertionType::equals:
      read_value(parser, spec, assertion, type, false);
      assertion.trim = parser.get_bool(spec, "trim", type).value_or(false);
      assertion.ignore_case = parser.get_bool(spec, "ignore_case", type).value_or(false);
      assertion.normalize = parser.get_bool(spec, "normalize", type).value_or(false);
      break;
    case AssertionType::contains:
    case AssertionType::icontains:
    case AssertionType::not_contains:
    case AssertionType::starts_with:
      read_value(parser, spec, assertion, type, true);
      assertion.normalize = parser.get_bool(spec, "normalize", type).value_or(false);
      if (assertion.value.is_string()) {
        parser.check_not_empty(assertion.value.get<std::string>(), "value", type);
      }
      break;
    case AssertionType::llm_rubric:
    case AssertionType::similar:
    case AssertionType::exec:
      read_value(parser, spec, assertion, type, true);
      break;
    case AssertionType::regex:
      read_value(parser, spec, assertion, type, true);
      assertion.ignore_case = parser.get_bool(spec, "ignore_case", type).value_or(false);
      assertion.normalize = parser.get_bool(spec, "normalize", type).value_or(false);
      if (assertion.value.is_string()) {
        parser.check_not_empty(assertion.value.get<std::string>(), "value", type);
        if (!parser.failed()) {
          assertion.compiled = parser.compile(assertion.value.get<std::string>(), assertion, type);
        }
      }
      break;
    case AssertionType::is_json:
    case AssertionType::contains_json:
      read_schema(spec, assertion, type, parser);
      break;
    case AssertionType::pii:
      read_guardrail(spec, assertion, type, parser);
      break;
    case AssertionType::moderation:
      read_moderation(spec, assertion, type, parser);
      break;
    case AssertionType::factuality:
    case AssertionType::model_graded_closedqa:
    case AssertionType::answer_relevance:
    case AssertionType::context_faithfulness:
    case AssertionType::context_relevance:
    case AssertionType::context_recall:
    case AssertionType::prompt_injection:
    case AssertionType::jailbreak:
      if (const OptionProblem problem = read_model_graded(spec, assertion); !problem.error.empty()) {
        parser.error(problem.error, problem.hint);
      } else if (assertion.value.is_string()) {
        parser.check_template(assertion.value.get<std::string>(), "value", type, assertion);
      }
      break;
    case AssertionType::json_field:
      read_json_field(spec, assertion, type, parser);
      break;
    case AssertionType::length:
    case AssertionType::cost:
    case AssertionType::latency:
      read_limits(spec, assertion, type, parser);
      break;
    case AssertionType::contains_any:
    case AssertionType::contains_all:
    case AssertionType::icontains_any:
    case AssertionType::icontains_all:
    case AssertionType::ends_with:
    case AssertionType::word_count:
    case AssertionType::levenshtein:
    case AssertionType::rouge_n:
    case AssertionType::bleu:
    case AssertionType::f_score:
      read_text_options(spec, assertion, type, parser);
      break;
  }
}

}  // namespace

std::optional<Assertion> parse_assertion(const json& spec, const Location& where,
                                         std::vector<Diagnostic>& diagnostics) {
  if (is_assert_set(spec)) {
    return parse_assert_set(spec, where, diagnostics);
  }
  Parser parser(where, diagnostics);
  bool negate = false;
  const TypeInfo* info = find_type(spec, parser, negate);
  if (info == nullptr) {
    return std::nullopt;
  }
  Assertion assertion;
  assertion.type = info->type;
  assertion.negate = negate;
  assertion.spec = spec;
  assertion.where = where;
  warn_unknown_options(spec, *info, parser);
  read_options(spec, assertion, assertion_name(assertion), parser);
  if (!read_scoring_keys(spec, assertion, where, diagnostics)) {
    parser.fail();
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

AssertionResult AssertionServices::moderation(const Assertion&, std::string_view, const EvalContext&) const {
  return unavailable(AssertionType::moderation);
}

AssertionResult AssertionServices::exec(const Assertion&, std::string_view, std::string_view,
                                        const EvalContext&) const {
  return unavailable(AssertionType::exec);
}

std::optional<std::string> AssertionServices::judge(const Assertion& assertion, std::string_view,
                                                    std::string& failure) const {
  failure = std::string(assertion_type_name(assertion.type)) + " needs a judge provider";
  return std::nullopt;
}

json make_template_context(const json& vars, const json& expected) {
  json context = vars.is_object() ? vars : json::object();
  if (!expected.is_null()) {
    context["expected"] = expected;
  }
  return context;
}

std::string missing_variable(const Assertion& assertion, const json& vars) {
  for (const std::string& name : assertion.variables) {
    if (!vars.is_object() || !vars.contains(name)) {
      return name;
    }
  }
  return "";
}

namespace {

AssertionResult evaluate_positive(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  if (const std::string missing = missing_variable(assertion, context.vars); !missing.empty()) {
    return error_result(located(assertion) + "assertion uses variable '" + missing +
                        "', which the case does not define");
  }
  switch (assertion.type) {
    case AssertionType::equals:
      return evaluate_equals(assertion, output, context);
    case AssertionType::contains:
    case AssertionType::icontains:
    case AssertionType::not_contains:
    case AssertionType::starts_with:
      return evaluate_substring(assertion, output, context);
    case AssertionType::regex: {
      const std::string pattern = render_value(assertion.value, context);
      if (pattern.empty()) {
        return error_result(located(assertion) + "'value' renders to an empty string");
      }
      return search(assertion, pattern, output, "output", context);
    }
    case AssertionType::is_json:
      return evaluate_is_json(assertion, output);
    case AssertionType::contains_json:
      return evaluate_contains_json(assertion, output);
    case AssertionType::pii:
      if (assertion.on_input && !context.input) {
        return error_result(located(assertion) + "pii on = \"input\" has no rendered input here");
      }
      return evaluate_pii(assertion.on_input ? *context.input : output, assertion.pii_kinds,
                          assertion.on_input ? "input" : "output");
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
    case AssertionType::exec:
    case AssertionType::factuality:
    case AssertionType::model_graded_closedqa:
    case AssertionType::answer_relevance:
    case AssertionType::context_faithfulness:
    case AssertionType::context_relevance:
    case AssertionType::context_recall:
    case AssertionType::prompt_injection:
    case AssertionType::jailbreak:
    case AssertionType::moderation:
      return evaluate_with_services(assertion, output, context);
    case AssertionType::contains_any:
    case AssertionType::contains_all:
    case AssertionType::icontains_any:
    case AssertionType::icontains_all:
    case AssertionType::ends_with:
    case AssertionType::word_count:
    case AssertionType::levenshtein:
    case AssertionType::rouge_n:
    case AssertionType::bleu:
    case AssertionType::f_score:
      return evaluate_text_grader(assertion, output, context);
  }
  return verdict(false, "unknown assertion");
}

}  // namespace

AssertionResult evaluate(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  if (assertion.is_set) {
    return evaluate_set(assertion, output, context);
  }
  AssertionResult result = evaluate_positive(assertion, output, context);
  if (!assertion.negate) {
    return result;
  }
  if (result.pass && !context.pass_reasons) {  // the negation fails: its reason is the positive's
    EvalContext with_reasons = context;
    with_reasons.pass_reasons = true;
    result = evaluate_positive(assertion, output, with_reasons);
  }
  return negated(std::move(result), assertion_name(assertion));
}

}  // namespace promptops::eval
