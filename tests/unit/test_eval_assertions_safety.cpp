// SPDX-License-Identifier: MIT
// Unit tests for assertions on hostile and non-ASCII input: PCRE2 regexes with limits, Unicode
// case folding and NFC, empty and unrendered values, numeric equals, RFC 8259 is-json.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include <promptops/eval/assertions.hpp>

using namespace promptops;
using nlohmann::json;

namespace {

Assertion parse_one(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"cases.jsonl", 3, 0}, diagnostics);
  INFO(spec.dump(-1, ' ', false, json::error_handler_t::replace));
  REQUIRE(diagnostics.empty());
  REQUIRE(assertion.has_value());
  return *assertion;
}

// "pass|reason", "fail|reason" or "error|reason" (the assertion could not be evaluated).
std::string check(const json& spec, std::string_view output, const EvalContext& context = {}) {
  const AssertionResult result = evaluate(parse_one(spec), output, context);
  CHECK(result.score == (result.pass ? 1.0 : 0.0));
  if (result.error) {
    CHECK_FALSE(result.pass);
  }
  return std::string(result.error ? "error|" : result.pass ? "pass|" : "fail|") + result.reason;
}

std::string regex_check(const std::string& pattern, std::string_view output, bool ignore_case = false) {
  json spec{{"type", "regex"}, {"value", pattern}};
  if (ignore_case) {
    spec["ignore_case"] = true;
  }
  return check(spec, output);
}

// Every diagnostic as "file:line: severity: message [hint]", after "ok" or "rejected".
std::string diagnose(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"p.toml", 7, 0}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += (out.empty() ? "" : "\n") + d.format() + " [" + d.hint + "]";
  }
  return (assertion ? "ok\n" : "rejected\n") + out;
}

const std::string k_e_acute = "\xC3\xA9";          // é U+00E9
const std::string k_E_acute = "\xC3\x89";          // É U+00C9
const std::string k_e_combining = "e\xCC\x81";     // e + U+0301 (NFD of é)
const std::string k_kelvin = "\xE2\x84\xAA";       // K KELVIN SIGN U+212A
const std::string k_final_sigma = "\xCF\x82";      // ς U+03C2
const std::string k_sigma = "\xCF\x83";            // σ U+03C3
const std::string k_capital_sigma = "\xCE\xA3";    // Σ U+03A3
const std::string k_de_upper = "\xD0\x94";         // Д U+0414
const std::string k_de_lower = "\xD0\xB4";         // д U+0434
const std::string k_grinning = "\xF0\x9F\x98\x80";  // U+1F600, four bytes

}  // namespace

TEST_CASE("regex is PCRE2 in UTF mode", "[eval][regex]") {
  SECTION("lookbehind and named groups") {
    CHECK(regex_check(R"((?<=\$)\d+)", "it costs $42") == "pass|output matches /(?<=\\$)\\d+/");
    CHECK(regex_check(R"((?<=\$)\d+)", "it costs 42") == "fail|output does not match /(?<=\\$)\\d+/");
    CHECK(regex_check(R"((?<year>\d{4})-\k<year>)", "2024-2024") ==
          "pass|output matches /(?<year>\\d{4})-\\k<year>/");
    CHECK(regex_check(R"((?<year>\d{4})-\k<year>)", "2024-2025").rfind("fail|", 0) == 0);
  }
  SECTION("Unicode properties, and . and \\s over code points") {
    CHECK(regex_check(R"(^\p{Ll}+ \p{Lu})", "\xC3\xA9t\xC3\xA9 " + k_E_acute).rfind("pass|", 0) == 0);
    CHECK(regex_check(R"(^\p{Lu})", k_e_acute).rfind("fail|", 0) == 0);
    CHECK(regex_check("^.$", k_grinning) == "pass|output matches /^.$/");
    CHECK(regex_check("^.$", k_e_acute) == "pass|output matches /^.$/");
    CHECK(regex_check(R"(^a\sb$)", "a\xE2\x80\x83" "b").rfind("pass|", 0) == 0);  // EM SPACE U+2003
    CHECK(regex_check(R"(^\w+$)", "caf" + k_e_acute).rfind("pass|", 0) == 0);
  }
  SECTION("\\u escapes as in ECMAScript") {
    CHECK(regex_check(R"(^caf\u00e9$)", "caf" + k_e_acute).rfind("pass|", 0) == 0);
    CHECK(regex_check(R"(^\u{1F600}$)", k_grinning).rfind("pass|", 0) == 0);
    CHECK(regex_check(R"(^\x41$)", "A").rfind("pass|", 0) == 0);
  }
  SECTION("$ matches only at the very end, as in ECMAScript") {
    CHECK(regex_check("^yes$", "yes\n").rfind("fail|", 0) == 0);
  }
  SECTION("ignore_case folds Unicode letters") {
    CHECK(regex_check("^" + k_e_acute + "t" + k_e_acute + "$", k_E_acute + "T" + k_E_acute, true)
              .rfind("pass|", 0) == 0);
    CHECK(regex_check("^" + k_de_lower + "$", k_de_upper, true).rfind("pass|", 0) == 0);
    CHECK(regex_check("^k$", k_kelvin, true).rfind("pass|", 0) == 0);
  }
  SECTION("invalid UTF-8 in the output is not an error") {
    CHECK(regex_check("abc", "\xFF\xFE" "abc") == "pass|output matches /abc/");
    CHECK(regex_check("^.", "\xFF") == "fail|output does not match /^./");
    CHECK(regex_check("^.$", "\xC3") == "fail|output does not match /^.$/");
  }
}

TEST_CASE("a regex on a 28 KB one-line answer neither crashes nor hangs", "[eval][regex]") {
  SECTION("an alternation repeated over the whole answer matches") {
    std::string answer;
    for (int i = 0; i < 14000; ++i) {
      answer += "ab";
    }
    answer += "c";
    CHECK(regex_check("^(a|b)*c$", answer) == "pass|output matches /^(a|b)*c$/");
    CHECK(regex_check(R"(^(\w+\s?)*$)", answer) == "pass|output matches /^(\\w+\\s?)*$/");
    CHECK(regex_check("^(a|b)*d$", answer) == "fail|output does not match /^(a|b)*d$/");
  }
  SECTION("catastrophic backtracking stops at the match limit, as an error") {
    const std::string answer = std::string(28000, 'a') + "!";
    CHECK(regex_check("^(a+)+$", answer) == "error|regex match limit reached");
    CHECK(regex_check("(a|aa)+$", answer) == "error|regex match limit reached");
  }
  SECTION("a search that the step limit does not bound stops at the time limit") {
    // The last a* is possessive (one step whatever it scans): ~n^2 bytes per start position in n steps.
    const std::string answer(28000, 'a');
    const auto start = std::chrono::steady_clock::now();
    CHECK(regex_check("a*a*[^a]", answer) == "error|regex time limit reached");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  }
}

TEST_CASE("a bad pattern is a diagnostic with PCRE2's message and the offset", "[eval][regex]") {
  CHECK(diagnose(json{{"type", "regex"}, {"value", "(unclosed"}}) ==
        "rejected\np.toml:7: error: regex assertion has a bad regex /(unclosed/: missing closing "
        "parenthesis at offset 9 [fix the pattern; the dialect is PCRE2's]");
  CHECK(diagnose(json{{"type", "json-field"}, {"path", "/a"}, {"matches", "a{2,1}"}}) ==
        "rejected\np.toml:7: error: json-field assertion has a bad regex /a{2,1}/: numbers out of order in "
        "{} quantifier at offset 5 [fix the pattern; the dialect is PCRE2's]");
  SECTION("one that is bad only after rendering is that case's error") {
    EvalContext context;
    context.vars = {{"expected", "("}};
    CHECK(check(json{{"type", "regex"}, {"value", "{{expected}}"}}, "x", context) ==
          "error|bad regex /(/: missing closing parenthesis at offset 1");
  }
}

TEST_CASE("icontains and ignore_case fold Unicode case", "[eval][unicode]") {
  SECTION("accented Latin") {
    CHECK(check(json{{"type", "icontains"}, {"value", k_e_acute + "cole"}}, k_E_acute + "COLE") ==
          "pass|output contains \"" + k_e_acute + "cole\" (ignoring case)");
    CHECK(check(json{{"type", "equals"}, {"value", k_E_acute}, {"ignore_case", true}}, k_e_acute) ==
          "pass|output equals \"" + k_E_acute + "\"");
  }
  SECTION("the Kelvin sign folds to k") {
    CHECK(check(json{{"type", "equals"}, {"value", "k"}, {"ignore_case", true}}, k_kelvin).rfind("pass|", 0) ==
          0);
    CHECK(check(json{{"type", "icontains"}, {"value", "5 k"}}, "5 " + k_kelvin).rfind("pass|", 0) == 0);
  }
  SECTION("final sigma, sigma and capital sigma are one letter") {
    for (const std::string& value : {k_final_sigma, k_sigma, k_capital_sigma}) {
      for (const std::string& output : {k_final_sigma, k_sigma, k_capital_sigma}) {
        CHECK(check(json{{"type", "equals"}, {"value", value}, {"ignore_case", true}}, output).rfind("pass|", 0) ==
              0);
      }
    }
  }
  SECTION("Cyrillic") {
    CHECK(check(json{{"type", "icontains"}, {"value", k_de_lower}}, "X" + k_de_upper + "Y").rfind("pass|", 0) ==
          0);
    CHECK(check(json{{"type", "equals"}, {"value", k_de_lower}}, k_de_upper).rfind("fail|", 0) == 0);
  }
  SECTION("invalid UTF-8 is compared byte for byte around the valid text") {
    CHECK(check(json{{"type", "icontains"}, {"value", "abc"}}, "\xFF\xFE" "ABC").rfind("pass|", 0) == 0);
    CHECK(check(json{{"type", "icontains"}, {"value", k_e_acute}}, "\xC3" + k_E_acute).rfind("pass|", 0) == 0);
    CHECK(check(json{{"type", "icontains"}, {"value", "\xFF" "b"}}, "a\xFF" "By").rfind("pass|", 0) == 0);
    CHECK(check(json{{"type", "icontains"}, {"value", "\xFE"}}, k_E_acute).rfind("fail|", 0) == 0);
    CHECK(check(json{{"type", "equals"}, {"value", "\xFF" "A"}, {"ignore_case", true}}, "\xFF" "a")
              .rfind("pass|", 0) == 0);
  }
}

TEST_CASE("normalize = true compares NFC forms", "[eval][unicode]") {
  CHECK(check(json{{"type", "equals"}, {"value", k_e_acute}}, k_e_combining).rfind("fail|", 0) == 0);
  CHECK(check(json{{"type", "equals"}, {"value", k_e_acute}, {"normalize", true}}, k_e_combining) ==
        "pass|output equals \"" + k_e_acute + "\"");
  CHECK(check(json{{"type", "contains"}, {"value", "caf" + k_e_acute}, {"normalize", true}},
              "un caf" + k_e_combining + " noir")
            .rfind("pass|", 0) == 0);
  CHECK(check(json{{"type", "starts-with"}, {"value", k_e_combining}, {"normalize", true}}, k_e_acute + "t")
            .rfind("pass|", 0) == 0);
  CHECK(check(json{{"type", "not-contains"}, {"value", k_e_acute}, {"normalize", true}}, k_e_combining)
            .rfind("fail|", 0) == 0);
  CHECK(check(json{{"type", "icontains"}, {"value", k_E_acute}, {"normalize", true}}, k_e_combining)
            .rfind("pass|", 0) == 0);
  CHECK(check(json{{"type", "equals"}, {"value", k_E_acute}, {"ignore_case", true}, {"normalize", true}},
              k_e_combining)
            .rfind("pass|", 0) == 0);
  CHECK(check(json{{"type", "regex"}, {"value", "^caf" + k_e_acute + "$"}, {"normalize", true}},
              "caf" + k_e_combining)
            .rfind("pass|", 0) == 0);
  CHECK(diagnose(json{{"type", "equals"}, {"value", "x"}, {"normalize", "yes"}}) ==
        "rejected\np.toml:7: error: equals assertion option 'normalize' must be true or false []");
}

TEST_CASE("an empty value is a diagnostic, an unrendered one an error", "[eval]") {
  SECTION("empty values pass or fail everything") {
    for (const char* type : {"contains", "icontains", "not-contains", "starts-with", "regex"}) {
      CHECK(diagnose(json{{"type", type}, {"value", ""}}) ==
            "rejected\np.toml:7: error: " + std::string(type) +
                " assertion has an empty 'value', which every output contains [give the text to look for]");
    }
    CHECK(diagnose(json{{"type", "json-field"}, {"path", "/a"}, {"matches", ""}}) ==
          "rejected\np.toml:7: error: json-field assertion has an empty 'matches', which every output contains "
          "[give the text to look for]");
    CHECK(diagnose(json{{"type", "equals"}, {"value", ""}}) == "ok\n");
  }
  SECTION("a variable the case does not define") {
    EvalContext context;
    context.vars = {{"city", "Paris"}};
    CHECK(check(json{{"type", "contains"}, {"value", "{{missing}}"}}, "anything", context) ==
          "error|cases.jsonl:3: assertion uses variable 'missing', which the case does not define");
    CHECK(check(json{{"type", "equals"}, {"value", "{{city}} {{country}}"}}, "Paris", context) ==
          "error|cases.jsonl:3: assertion uses variable 'country', which the case does not define");
    CHECK(missing_variable(parse_one(json{{"type", "contains"}, {"value", "{{city}}{{x}}"}}), context.vars) ==
          "x");
    CHECK(missing_variable(parse_one(json{{"type", "contains"}, {"value", "{{city}}"}}), context.vars) == "");
  }
  SECTION("a value that renders to nothing") {
    EvalContext context;
    context.vars = {{"city", ""}};
    CHECK(check(json{{"type", "contains"}, {"value", "{{city}}"}}, "anything", context) ==
          "error|cases.jsonl:3: 'value' renders to an empty string");
    CHECK(check(json{{"type", "regex"}, {"value", "{{city}}"}}, "anything", context) ==
          "error|cases.jsonl:3: 'value' renders to an empty string");
  }
}

TEST_CASE("equals compares numbers as numbers", "[eval][numbers]") {
  SECTION("a number value against an output that reads as one") {
    CHECK(check(json::parse(R"({"type": "equals", "value": 1.0})"), "1") == "pass|output equals \"1\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 1})"), "1.0") == "pass|output equals \"1\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 1e2})"), "100") == "pass|output equals \"100\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 100})"), "1e2") == "pass|output equals \"100\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 0.5})"), " 0.50\n") == "pass|output equals \"0.5\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": -3})"), "-3.000") == "pass|output equals \"-3\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 1e2})"), "101") ==
          "fail|expected \"100\", got \"101\"");
  }
  SECTION("an output that is not a number") {
    CHECK(check(json::parse(R"({"type": "equals", "value": 100})"), "abc") ==
          "fail|expected \"100\", got \"abc\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": 16})"), "0x10").rfind("fail|", 0) == 0);
    CHECK(check(json::parse(R"({"type": "equals", "value": 1})"), "1 apple").rfind("fail|", 0) == 0);
    CHECK(check(json::parse(R"({"type": "equals", "value": 1})"), "inf").rfind("fail|", 0) == 0);
  }
  SECTION("integers beyond 2^53 are compared exactly") {
    CHECK(check(json::parse(R"({"type": "equals", "value": 9007199254740993})"), "9007199254740992")
              .rfind("fail|", 0) == 0);
    CHECK(check(json::parse(R"({"type": "equals", "value": 9007199254740993})"), "9007199254740993")
              .rfind("pass|", 0) == 0);
  }
  SECTION("a string value is compared as the text written") {
    CHECK(check(json::parse(R"({"type": "equals", "value": "1.0"})"), "1") == "fail|expected \"1.0\", got \"1\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": "1.0"})"), "1.0") == "pass|output equals \"1.0\"");
    CHECK(check(json::parse(R"({"type": "equals", "value": "abc"})"), "abc") == "pass|output equals \"abc\"");
  }
  SECTION("{{expected}} that is a number in the dataset") {
    EvalContext context;
    context.vars = make_template_context(json::object(), json::parse("1e2"));
    CHECK(check(json{{"type", "equals"}, {"value", "{{expected}}"}, {"trim", true}}, "100\n", context) ==
          "pass|output equals \"100\"");
    CHECK(check(json{{"type", "equals"}, {"value", "{{expected}}"}}, "100.0", context) ==
          "pass|output equals \"100\"");
    CHECK(check(json{{"type", "equals"}, {"value", "{{expected}}"}}, "99", context) ==
          "fail|expected \"100\", got \"99\"");
  }
}

TEST_CASE("is-json accepts what RFC 8259 accepts", "[eval][json]") {
  const json is_json{{"type", "is-json"}};
  SECTION("valid JSON that nlohmann would not convert") {
    CHECK(check(is_json, R"("\ud800")") == "pass|output is JSON string");
    CHECK(check(is_json, "1e400") == "pass|output is JSON number");
    CHECK(check(is_json, R"([1e400, -1E-400, "\udc00x", {"a": null}])") == "pass|output is JSON array");
    CHECK(check(is_json, " \n{\"a\": [true, false]}\t") == "pass|output is JSON object");
    CHECK(check(is_json, "\"caf" + k_e_acute + "\"") == "pass|output is JSON string");
  }
  SECTION("deep nesting is checked without recursion") {
    CHECK(check(is_json, std::string(200000, '[') + std::string(200000, ']')) == "pass|output is JSON array");
    CHECK(check(is_json, std::string(200000, '[')).rfind("fail|output is not JSON: ", 0) == 0);
  }
  SECTION("invalid JSON") {
    CHECK(check(is_json, "hello") ==
          "fail|output is not JSON: parse error at line 1, column 1: syntax error while parsing value - invalid "
          "literal; last read: 'h'");
    for (const std::string bad :
         {"", " ", "{\"a\": 1,}", "[1,]", "01", "-", "1.", ".5", "1e", "+1", "\"\\u12\"", "\"\\x\"", "\"a\x01\"",
          "\"\xFF\"", "\"\xC3\"", "1 2", "{\"a\" 1}", "{1: 2}", "[1}", "nul", "truex", "\"abc", "[\"a\"]]"}) {
      INFO(bad);
      CHECK(check(is_json, bad).rfind("fail|output is not JSON: ", 0) == 0);
    }
  }
}
