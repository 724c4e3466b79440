// SPDX-License-Identifier: MIT
// Unit tests for assertion parsing (diagnostics) and evaluation (verdicts and reason text).
#include <algorithm>

#include <catch2/catch.hpp>

#include <promptops/eval/assertions.hpp>

using namespace promptops;
using nlohmann::json;

namespace {

Assertion parse_one(const std::string& text) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion =
      parse_assertion(json::parse(text), Location{"cases.jsonl", 3, 0}, diagnostics);
  INFO(text);
  REQUIRE(diagnostics.empty());
  REQUIRE(assertion.has_value());
  return *assertion;
}

// "pass|reason" or "fail|reason".
std::string check(const std::string& spec, std::string_view output, const EvalContext& context = {}) {
  const AssertionResult result = evaluate(parse_one(spec), output, context);
  CHECK(result.score == (result.pass ? 1.0 : 0.0));
  return std::string(result.pass ? "pass|" : "fail|") + result.reason;
}

// Every diagnostic as "code: message [hint]".
std::string diagnose(const std::string& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion =
      parse_assertion(json::parse(spec), Location{"p.md", 7, 0}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += (out.empty() ? "" : "\n") + d.format() + " [" + d.hint + "]";
    CHECK(d.code.size() > 0);
  }
  return (assertion ? "ok\n" : "rejected\n") + out;
}

struct FakeJudge : AssertionServices {
  AssertionResult llm_rubric(const Assertion&, std::string_view rubric, std::string_view output,
                             const EvalContext&) const override {
    return {true, 1.7, "judge saw " + std::string(rubric) + " on " + std::string(output)};
  }
};

}  // namespace

TEST_CASE("equals compares the whole output", "[eval]") {
  CHECK(check(R"({"type": "equals", "value": "IN_SCOPE"})", "IN_SCOPE") == "pass|output equals \"IN_SCOPE\"");
  CHECK(check(R"({"type": "equals", "value": "IN_SCOPE"})", "OUT_OF_SCOPE") ==
        "fail|expected \"IN_SCOPE\", got \"OUT_OF_SCOPE\"");
  SECTION("trim and ignore_case") {
    CHECK(check(R"({"type": "equals", "value": "IN_SCOPE"})", " in_scope\n") ==
          "fail|expected \"IN_SCOPE\", got \" in_scope\\n\"");
    CHECK(check(R"({"type": "equals", "value": "IN_SCOPE", "trim": true, "ignore_case": true})",
                " in_scope\n") == "pass|output equals \"IN_SCOPE\"");
    CHECK(check(R"({"type": "equals", "value": "IN_SCOPE", "trim": true})", " in_scope\n") ==
          "fail|expected \"IN_SCOPE\", got \" in_scope\\n\"");
  }
  SECTION("a number value compares as its JSON text") {
    CHECK(check(R"({"type": "equals", "value": 4})", "4") == "pass|output equals \"4\"");
  }
  SECTION("long outputs are elided in the reason") {
    const std::string reason = check(R"({"type": "equals", "value": "x"})", std::string(200, 'y'));
    CHECK(reason == "fail|expected \"x\", got \"" + std::string(80, 'y') + "...\"");
  }
}

TEST_CASE("values render {{vars}} from the case", "[eval]") {
  EvalContext context;
  context.vars = make_template_context(json{{"city", "Paris"}}, json("IN_SCOPE"));
  CHECK(context.vars == json{{"city", "Paris"}, {"expected", "IN_SCOPE"}});
  CHECK(check(R"({"type": "equals", "value": "{{expected}}"})", "IN_SCOPE", context) ==
        "pass|output equals \"IN_SCOPE\"");
  CHECK(check(R"({"type": "equals", "value": "{{expected}}"})", "OUT_OF_SCOPE", context) ==
        "fail|expected \"IN_SCOPE\", got \"OUT_OF_SCOPE\"");
  CHECK(check(R"({"type": "contains", "value": "{{city}}"})", "Visit Paris", context) ==
        "pass|output contains \"Paris\"");
  CHECK(check(R"({"type": "regex", "value": "^{{expected}}$"})", "IN_SCOPE", context) ==
        "pass|output matches /^IN_SCOPE$/");
  CHECK(make_template_context(nullptr, nullptr) == json::object());
}

TEST_CASE("substring assertions", "[eval]") {
  SECTION("contains") {
    CHECK(check(R"({"type": "contains", "value": "refund"})", "a refund is due") ==
          "pass|output contains \"refund\"");
    CHECK(check(R"({"type": "contains", "value": "refund"})", "a Refund is due") ==
          "fail|output does not contain \"refund\"");
  }
  SECTION("icontains") {
    CHECK(check(R"({"type": "icontains", "value": "refund"})", "a REFUND is due") ==
          "pass|output contains \"refund\" (ignoring case)");
    CHECK(check(R"({"type": "icontains", "value": "refund"})", "nothing") ==
          "fail|output does not contain \"refund\" (ignoring case)");
  }
  SECTION("not-contains") {
    CHECK(check(R"({"type": "not-contains", "value": "sorry"})", "done") ==
          "pass|output does not contain \"sorry\"");
    CHECK(check(R"({"type": "not-contains", "value": "sorry"})", "I'm sorry") ==
          "fail|output contains \"sorry\"");
  }
  SECTION("starts-with") {
    CHECK(check(R"({"type": "starts-with", "value": "Yes"})", "Yes, it is") ==
          "pass|output starts with \"Yes\"");
    CHECK(check(R"({"type": "starts-with", "value": "Yes"})", "No") ==
          "fail|output does not start with \"Yes\"");
  }
}

TEST_CASE("regex searches the output", "[eval]") {
  CHECK(check(R"({"type": "regex", "value": "\\d{3}"})", "code 123") == "pass|output matches /\\d{3}/");
  CHECK(check(R"({"type": "regex", "value": "\\d{3}"})", "code 12") == "fail|output does not match /\\d{3}/");
  CHECK(check(R"({"type": "regex", "value": "^yes$", "ignore_case": true})", "YES") ==
        "pass|output matches /^yes$/");
  SECTION("a regex that is bad only after rendering fails the case") {
    EvalContext context;
    context.vars = {{"expected", "("}};
    CHECK(check(R"({"type": "regex", "value": "{{expected}}"})", "x", context)
              .rfind("fail|bad regex /(/: ", 0) == 0);
  }
}

TEST_CASE("is-json and json-field", "[eval]") {
  CHECK(check(R"({"type": "is-json"})", R"({"a": 1})") == "pass|output is JSON object");
  CHECK(
      check(R"({"type": "is-json"})", "hello") ==
      "fail|output is not JSON: parse error at line 1, column 1: syntax error while parsing value - invalid "
      "literal; last read: 'h'");
  SECTION("value") {
    CHECK(check(R"({"type": "json-field", "path": "/answer", "value": 4})", R"({"answer": 4})") ==
          "pass|/answer is 4");
    CHECK(check(R"({"type": "json-field", "path": "/answer", "value": 4})", R"({"answer": 3})") ==
          "fail|/answer is 3, expected 4");
    CHECK(check(R"({"type": "json-field", "path": "/label", "value": "A"})", R"({"label": "B"})") ==
          "fail|/label is \"B\", expected \"A\"");
    CHECK(check(R"({"type": "json-field", "path": "/a/0", "value": true})", R"({"a": [true]})") ==
          "pass|/a/0 is true");
  }
  SECTION("a templated value matches strings and numbers") {
    EvalContext context;
    context.vars = {{"expected", 4}};
    CHECK(check(R"({"type": "json-field", "path": "/answer", "value": "{{expected}}"})", R"({"answer": 4})",
                context) == "pass|/answer is 4");
    CHECK(check(R"({"type": "json-field", "path": "/answer", "value": "{{expected}}"})", R"({"answer": 3})",
                context) == "fail|/answer is 3, expected 4");
  }
  SECTION("matches") {
    CHECK(check(R"({"type": "json-field", "path": "/id", "matches": "^[a-z]+$"})", R"({"id": "abc"})") ==
          "pass|/id \"abc\" matches /^[a-z]+$/");
    CHECK(check(R"({"type": "json-field", "path": "/id", "matches": "^[a-z]+$"})", R"({"id": "ab1"})") ==
          "fail|/id \"ab1\" does not match /^[a-z]+$/");
  }
  SECTION("missing field and non-JSON output") {
    CHECK(check(R"({"type": "json-field", "path": "/answer"})", R"({"other": 1})") ==
          "fail|/answer is missing");
    CHECK(check(R"({"type": "json-field", "path": "/answer"})", R"([1])") == "fail|/answer is missing");
    CHECK(check(R"({"type": "json-field", "path": "/answer"})", "no").rfind("fail|output is not JSON: ", 0) ==
          0);
  }
}

TEST_CASE("length counts UTF-8 code points", "[eval]") {
  CHECK(check(R"({"type": "length", "max": 100})", std::string(120, 'x')) ==
        "fail|length 120 exceeds max 100");
  CHECK(check(R"({"type": "length", "min": 5})", "abc") == "fail|length 3 is below min 5");
  CHECK(check(R"({"type": "length", "min": 2, "max": 3})", "été") == "pass|length 3");
}

TEST_CASE("cost and latency read the context", "[eval]") {
  EvalContext context;
  CHECK(check(R"({"type": "cost", "max": 0.01})", "x", context) == "fail|cost is unknown");
  CHECK(check(R"({"type": "latency", "max_ms": 1000})", "x", context) == "fail|latency is unknown");
  context.cost = 0.0123;
  context.latency_ms = 1500;
  CHECK(check(R"({"type": "cost", "max": 0.01})", "x", context) == "fail|cost 0.0123 exceeds max 0.01");
  CHECK(check(R"({"type": "latency", "max_ms": 1000})", "x", context) ==
        "fail|latency 1500 ms exceeds max 1000 ms");
  context.cost = 0.002;
  context.latency_ms = 250;
  CHECK(check(R"({"type": "cost", "max": 0.01})", "x", context) == "pass|cost 0.002");
  CHECK(check(R"({"type": "latency", "max_ms": 1000})", "x", context) == "pass|latency 250 ms");
}

TEST_CASE("llm-rubric, similar and exec go through services", "[eval]") {
  SECTION("without services they fail with what they need") {
    CHECK(check(R"({"type": "llm-rubric", "value": "is polite"})", "hi") ==
          "fail|llm-rubric needs a judge provider");
    CHECK(check(R"({"type": "similar", "value": "hello", "threshold": 0.8})", "hi") ==
          "fail|similar needs an embedding provider");
    CHECK(check(R"({"type": "exec", "value": "./check.sh"})", "hi") == "fail|exec needs a command runner");
  }
  SECTION("with services the rendered value is passed and the score clamped") {
    const FakeJudge judge;
    EvalContext context;
    context.services = &judge;
    context.vars = {{"tone", "polite"}};
    const AssertionResult result =
        evaluate(parse_one(R"({"type": "llm-rubric", "value": "is {{tone}}"})"), "hi", context);
    CHECK(result.pass);
    CHECK(result.score == 1.0);
    CHECK(result.reason == "judge saw is polite on hi");
    CHECK(evaluate(parse_one(R"({"type": "exec", "value": "x"})"), "hi", context).reason ==
          "exec needs a command runner");
  }
}

TEST_CASE("parsing reports every problem as a diagnostic", "[eval]") {
  SECTION("unknown type with did-you-mean") {
    CHECK(diagnose(R"({"type": "equls", "value": "x"})") ==
          "rejected\np.md:7: error: unknown assertion type 'equls' [did you mean 'equals'?]");
  }
  SECTION("unknown type with nothing close lists the types") {
    const std::string out = diagnose(R"({"type": "sentiment"})");
    CHECK(out.find("unknown assertion type 'sentiment' [expected one of equals, contains,") !=
          std::string::npos);
  }
  SECTION("bad regex") {
    const std::string out = diagnose(R"({"type": "regex", "value": "(unclosed"})");
    CHECK(out.rfind("rejected\np.md:7: error: regex assertion has a bad regex /(unclosed/: ", 0) == 0);
  }
  SECTION("missing and ill-typed fields") {
    CHECK(diagnose(R"({"value": "x"})") ==
          "rejected\np.md:7: error: assertion has no 'type' string [add \"type\": \"equals\" (or contains, "
          "regex, ...)]");
    CHECK(diagnose(R"({"type": "contains"})") ==
          "rejected\np.md:7: error: contains assertion has no 'value' []");
    CHECK(diagnose(R"({"type": "contains", "value": 3})") ==
          "rejected\np.md:7: error: contains assertion 'value' must be a string []");
    CHECK(diagnose(R"({"type": "equals", "value": "x", "trim": "yes"})") ==
          "rejected\np.md:7: error: equals assertion option 'trim' must be true or false []");
    CHECK(diagnose(R"({"type": "length"})") ==
          "rejected\np.md:7: error: length assertion needs 'min' or 'max' []");
    CHECK(diagnose(R"({"type": "length", "min": 5, "max": 2})") ==
          "rejected\np.md:7: error: length assertion has min 5 above max 2 []");
    CHECK(diagnose(R"({"type": "length", "max": -1})") ==
          "rejected\np.md:7: error: length assertion option 'max' must be a non-negative integer []");
    CHECK(diagnose(R"({"type": "cost"})") == "rejected\np.md:7: error: cost assertion has no 'max' []");
    CHECK(diagnose(R"({"type": "latency", "max_ms": -1})") ==
          "rejected\np.md:7: error: latency assertion option 'max_ms' must be a non-negative number []");
    CHECK(diagnose(R"({"type": "json-field", "path": "answer"})")
              .rfind("rejected\np.md:7: error: json-field assertion has a bad JSON pointer 'answer': ", 0) ==
          0);
    CHECK(diagnose(R"({"type": "equals", "value": "{{#open}}"})")
              .rfind("rejected\np.md:7: error: equals assertion has a bad template in 'value': ", 0) == 0);
    CHECK(diagnose("\"equals\"") ==
          "rejected\np.md:7: error: an assertion must be a JSON object, not string "
          "[write {\"type\": \"equals\", \"value\": \"...\"}]");
  }
  SECTION("an unknown option is a warning with did-you-mean") {
    CHECK(diagnose(R"({"type": "equals", "value": "x", "ignorecase": true})") ==
          "ok\np.md:7: warning: equals assertion has unknown option 'ignorecase' [did you mean "
          "'ignore_case'?]");
  }
  SECTION("parse_assertions keeps the valid ones and every diagnostic") {
    const ParsedAssertions parsed = parse_assertions(
        json::parse(R"([{"type": "equals", "value": "a"}, {"type": "equls"}, {"type": "is-json"}])"),
        Location{"p.md"});
    REQUIRE(parsed.assertions.size() == 2);
    CHECK(parsed.assertions[1].type == AssertionType::is_json);
    REQUIRE(parsed.diagnostics.size() == 1);
    CHECK(parsed.diagnostics[0].code == "unknown-assertion");
    CHECK(parse_assertions(nullptr, Location{}).diagnostics.empty());
    CHECK(parse_assertions(json::object(), Location{}).diagnostics.at(0).code == "invalid-assertion");
  }
}

TEST_CASE("assertion type names round-trip", "[eval]") {
  CHECK(assertion_type_name(AssertionType::not_contains) == "not-contains");
  CHECK(assertion_type_name(AssertionType::llm_rubric) == "llm-rubric");
  std::size_t negated = 0;
  CHECK(assertion_type_name(AssertionType::model_graded_closedqa) == "model-graded-closedqa");
  for (const std::string& name : assertion_type_names()) {
    std::vector<Diagnostic> diagnostics;
    json spec{{"type", name}, {"value", "x"}, {"path", "/x"}, {"min", 1}, {"max", 2}, {"max_ms", 3}};
    if (name.ends_with("is-json") || name.ends_with("contains-json")) {
      spec["value"] = json::object();  // a schema
    } else if (name.ends_with("pii")) {
      spec["value"] = "email";  // the kinds
    } else if (name.find("word-count") != std::string::npos) {
      spec = json{{"type", name}, {"value", 3}};
    }
    const std::optional<Assertion> assertion = parse_assertion(spec, Location{}, diagnostics);
    INFO(name << (diagnostics.empty() ? "" : ": " + diagnostics[0].message));
    REQUIRE(assertion.has_value());
    CHECK(assertion_name(*assertion) == name);
    CHECK_FALSE(has_errors(diagnostics));
    negated += assertion->negate ? 1 : 0;
  }
  // Every type has a negated spelling but the four services (llm-rubric, similar, exec,
  // moderation), the eight model-graded types, not-contains, and contains (whose negation is the
  // type not-contains).
  CHECK(negated + 14 == assertion_type_names().size() - negated);
  CHECK(std::count(assertion_type_names().begin(), assertion_type_names().end(), "not-contains") == 1);
}
