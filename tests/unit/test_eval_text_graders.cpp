// SPDX-License-Identifier: MIT
// Unit tests for the text graders and negation: tokenisation, the metrics computed by hand,
// verdicts with their reasons, and malformed values reported as diagnostics.
#include <catch2/catch.hpp>

#include <cmath>

#include <promptops/eval/assertions.hpp>

#include "eval/text_graders.hpp"

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

// "pass|reason", "fail|reason" or "error|reason".
std::string check(const std::string& spec, std::string_view output, const EvalContext& context = {}) {
  const AssertionResult result = evaluate(parse_one(spec), output, context);
  if (result.error) {
    return "error|" + result.reason;
  }
  return std::string(result.pass ? "pass|" : "fail|") + result.reason;
}

double score_of(const std::string& spec, std::string_view output) {
  return evaluate(parse_one(spec), output, EvalContext{}).score;
}

// Every diagnostic as "file:line: severity: message [hint]", after "ok" or "rejected".
std::string diagnose(const std::string& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion =
      parse_assertion(json::parse(spec), Location{"p.md", 7, 0}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += (out.empty() ? "" : "\n") + d.format() + " [" + d.hint + "]";
  }
  return (assertion ? "ok\n" : "rejected\n") + out;
}

EvalContext with_vars(json vars) {
  EvalContext context;
  context.vars = std::move(vars);
  return context;
}

}  // namespace

TEST_CASE("split_list reads promptfoo's comma-separated values", "[eval][text]") {
  using V = std::vector<std::string>;
  CHECK(split_list("a, b ,c") == V{"a", "b", "c"});
  CHECK(split_list(R"("x, y", z)") == V{"x, y", "z"});
  CHECK(split_list(R"("say \"hi\"", "a""b", back\slash)") == V{R"(say "hi")", R"(a"b)", R"(back\slash)"});
  CHECK(split_list("a,,b,") == V{"a", "b"});
  CHECK(split_list(" , ") == V{});
  CHECK(split_list(R"("")") == V{""});
  CHECK(split_list(R"(" padded ")") == V{" padded "});
}

TEST_CASE("text_words folds case, composes and splits on punctuation", "[eval][text]") {
  using V = std::vector<std::string>;
  CHECK(text_words("Hello, WORLD! It's 3.14") == V{"hello", "world", "it", "s", "3", "14"});
  CHECK(text_words("Straße ÉTÉ") == V{"strasse", "\xC3\xA9t\xC3\xA9"});
  CHECK(text_words("nai\xCC\x88ve") == V{"na\xC3\xAFve"});  // e + U+0308 composed: one word
  CHECK(text_words("東京に行く") == V{"東", "京", "に", "行", "く"});
  CHECK(text_words("ab\xFF" "cd") == V{"ab", "cd"});
  CHECK(text_words(" \t--- ") == V{});
}

TEST_CASE("count_words counts runs between Unicode white space", "[eval][text]") {
  CHECK(count_words("  one two\tthree\nfour  ") == 4);
  CHECK(count_words("a\xC2\xA0" "b") == 2);      // U+00A0 no-break space
  CHECK(count_words("a\xE3\x80\x80" "b") == 2);  // U+3000 ideographic space
  CHECK(count_words("hello, world!") == 2);
  CHECK(count_words("") == 0);
  CHECK(count_words(" \n ") == 0);
}

TEST_CASE("levenshtein_distance counts code points and stops past the limit", "[eval][text]") {
  CHECK(levenshtein_distance("kitten", "sitting", 10) == 3);
  CHECK(levenshtein_distance("kitten", "sitting", 2) == 3);  // above the limit: limit + 1
  CHECK(levenshtein_distance("intention", "execution", 5) == 5);
  CHECK(levenshtein_distance("intention", "execution", 4) == 5);
  CHECK(levenshtein_distance("intention", "execution", 100) == 5);
  CHECK(levenshtein_distance("flaw", "lawn", 5) == 2);
  CHECK(levenshtein_distance("", "abc", 5) == 3);
  CHECK(levenshtein_distance("abc", "", 5) == 3);
  CHECK(levenshtein_distance("abc", "abc", 0) == 0);
  CHECK(levenshtein_distance("h\xC3\xA9llo", "hello", 5) == 1);  // é is one code point, two bytes
  CHECK(levenshtein_distance("a", "abcdefg", 2) == 3);
  CHECK(levenshtein_distance("ab\xFF", "ab\xFE", 5) == 1);
  // Common ends are cut where code points start: € (E2 82 AC) and ₤ (E2 82 A4) differ by one.
  CHECK(levenshtein_distance("x\xE2\x82\xAC" "a", "x\xE2\x82\xA4" "a", 5) == 1);
  CHECK(levenshtein_distance("h\xE2\x82\xACllo", "h\xE2\x82\xAClo", 0) == 1);
  CHECK(levenshtein_distance("same text", "same text", 0) == 0);
}

TEST_CASE("rouge_n_score is clipped n-gram recall", "[eval][text]") {
  const Words reference = text_words("the cat is on the mat");
  const Words candidate = text_words("The cat sat on the mat.");
  CHECK(rouge_n_score(candidate, reference, 1) == Approx(5.0 / 6.0));  // the x2, cat, on, mat of 6
  CHECK(rouge_n_score(candidate, reference, 2) == Approx(3.0 / 5.0));  // the cat, on the, the mat of 5
  CHECK(rouge_n_score(text_words("the the the"), text_words("the cat"), 1) == Approx(0.5));
  CHECK(rouge_n_score(Words{}, reference, 1) == 0.0);
}

TEST_CASE("bleu_score: clipped precisions, geometric mean, brevity penalty", "[eval][text]") {
  const std::vector<Tokens> reference{text_words("the cat sat on the mat")};
  CHECK(bleu_score(text_words("the cat sat on the mat"), reference) == Approx(1.0));
  // p1 5/6, p2 3/5, p3 2/4, p4 1/3, same length: (1/12)^(1/4).
  CHECK(bleu_score(text_words("the cat sat on a mat"), reference) == Approx(std::pow(1.0 / 12.0, 0.25)));
  CHECK(bleu_score(text_words("the cat sat on a mat"), reference) == Approx(0.537285).epsilon(1e-5));
  // Two words: orders 1 and 2 only, both 1; brevity exp(1 - 6/2).
  CHECK(bleu_score(text_words("the cat"), reference) == Approx(std::exp(-2.0)));
  // The closest reference sets the brevity penalty; the best reference per order the precision.
  CHECK(bleu_score(text_words("hello world"), {text_words("hello there world"), text_words("hello world")}) ==
        Approx(1.0));
  // No n-gram shared: each precision smoothed to 1e-7.
  CHECK(bleu_score(text_words("a b c d"), {text_words("w x y z")}) == Approx(1e-7));
  CHECK(bleu_score(Words{}, reference) == 0.0);
}

TEST_CASE("f_score_value is token F1", "[eval][text]") {
  // the, cat shared: P 2/3, R 2/4, F1 = 2PR/(P+R) = 4/7.
  CHECK(f_score_value(text_words("the cat sat"), text_words("the cat is here")) == Approx(4.0 / 7.0));
  CHECK(f_score_value(text_words("dog"), text_words("cat")) == 0.0);
  CHECK(f_score_value(text_words("A b"), text_words("b a")) == Approx(1.0));
}

TEST_CASE("contains-any, contains-all and their case-folding forms", "[eval][text]") {
  SECTION("contains-any") {
    CHECK(check(R"({"type": "contains-any", "value": ["cat", "dog"]})", "a dog") == "pass|output contains \"dog\"");
    CHECK(check(R"({"type": "contains-any", "value": "cat, dog"})", "a bird") ==
          "fail|output contains none of \"cat\", \"dog\"");
    CHECK(check(R"({"type": "contains-any", "value": ["Cat"]})", "a cat") == "fail|output contains none of \"Cat\"");
    CHECK(check(R"({"type": "contains-any", "value": [1, 2]})", "v2") == "pass|output contains \"2\"");
  }
  SECTION("contains-all") {
    CHECK(check(R"({"type": "contains-all", "value": "cat, dog, \"a, b\""})", "cat dog a, b") ==
          "pass|output contains all of \"cat\", \"dog\", \"a, b\"");
    CHECK(check(R"({"type": "contains-all", "value": "cat, dog, \"a, b\""})", "cat") ==
          "fail|output does not contain \"dog\", \"a, b\"");
    CHECK(check(R"({"type": "contains-all", "value": "a,b,c,d,e,f,g"})", "") ==
          "fail|output does not contain \"a\", \"b\", \"c\", \"d\", \"e\" and 2 more");
  }
  SECTION("icontains-any and icontains-all fold case as Unicode does") {
    CHECK(check(R"({"type": "icontains-any", "value": ["STRASSE", "x"]})", "die Straße") ==
          "pass|output contains \"STRASSE\" (ignoring case)");
    CHECK(check(R"({"type": "icontains-all", "value": ["ÉTÉ", "Дом"]})", "été, дом") ==
          "pass|output contains all of \"ÉTÉ\", \"Дом\" (ignoring case)");
    CHECK(check(R"({"type": "icontains-all", "value": ["été", "zzz"]})", "ÉTÉ") ==
          "fail|output does not contain \"zzz\" (ignoring case)");
  }
  SECTION("normalize compares NFC forms") {
    CHECK(check(R"({"type": "contains-any", "value": ["caf\u00e9"], "normalize": true})", "cafe\xCC\x81") ==
          "pass|output contains \"café\"");
    CHECK(check(R"({"type": "contains-any", "value": ["caf\u00e9"]})", "cafe\xCC\x81") ==
          "fail|output contains none of \"café\"");
  }
  SECTION("items are templates; one that renders empty makes the case an error") {
    CHECK(check(R"({"type": "contains-all", "value": ["{{city}}", "x"]})", "Paris x",
                with_vars({{"city", "Paris"}})) == "pass|output contains all of \"Paris\", \"x\"");
    CHECK(check(R"({"type": "contains-all", "value": "{{city}}, x"})", "Paris x", with_vars({{"city", "a, b"}})) ==
          "fail|output does not contain \"a, b\"");
    CHECK(check(R"({"type": "contains-any", "value": ["{{city}}"]})", "x", with_vars({{"city", ""}})) ==
          "error|cases.jsonl:3: item \"{{city}}\" of 'value' renders to an empty string");
  }
}

TEST_CASE("ends-with and word-count", "[eval][text]") {
  CHECK(check(R"({"type": "ends-with", "value": "done."})", "All done.") == "pass|output ends with \"done.\"");
  CHECK(check(R"({"type": "ends-with", "value": "done."})", "Done. ") == "fail|output does not end with \"done.\"");
  CHECK(check(R"({"type": "ends-with", "value": "long text"})", "text") ==
        "fail|output does not end with \"long text\"");
  CHECK(check(R"({"type": "word-count", "value": 3})", "one two three") == "pass|3 words");
  CHECK(check(R"({"type": "word-count", "value": 4})", "one two three") == "fail|3 words, expected 4");
  CHECK(check(R"({"type": "word-count", "value": {"min": 5}})", "one two three") == "fail|3 words, below min 5");
  CHECK(check(R"({"type": "word-count", "value": {"max": 2}})", "one two three") == "fail|3 words, above max 2");
  CHECK(check(R"({"type": "word-count", "value": {"min": 1, "max": 5}})", "one two three") ==
        "pass|3 words, at least 1 and at most 5");
  CHECK(check(R"({"type": "word-count", "value": {"max": 1}})", "one") == "pass|1 word, at most 1");
  CHECK(check(R"({"type": "word-count", "value": "{{n}}"})", "a b", with_vars({{"n", 2}})) == "pass|2 words");
  CHECK(check(R"({"type": "word-count", "value": "2"})", "a b") == "pass|2 words");
  CHECK(check(R"({"type": "word-count", "value": "{{n}}"})", "a b", with_vars({{"n", "two"}})) ==
        "error|cases.jsonl:3: 'value' renders to \"two\", not a word count");
}

TEST_CASE("levenshtein passes within the threshold (default 5)", "[eval][text]") {
  CHECK(check(R"({"type": "levenshtein", "value": "hello world"})", "helo world") ==
        "pass|Levenshtein distance to \"hello world\" is 1 (max 5)");
  CHECK(check(R"({"type": "levenshtein", "value": "hello world", "threshold": 0})", "helo world") ==
        "fail|Levenshtein distance to \"hello world\" is above 0");
  CHECK(check(R"({"type": "levenshtein", "value": "abc"})", "abcdefghi") ==
        "fail|Levenshtein distance to \"abc\" is above 5");
  CHECK(score_of(R"({"type": "levenshtein", "value": "abc"})", "abd") == 1.0);
  CHECK(score_of(R"({"type": "levenshtein", "value": "abc", "threshold": 0})", "abd") == 0.0);
}

TEST_CASE("rouge-n, bleu and f-score score against their thresholds", "[eval][text]") {
  const std::string rouge = R"({"type": "rouge-n", "value": "the cat is on the mat")";
  CHECK(check(rouge + "}", "The cat sat on the mat.") ==
        "pass|ROUGE-1 recall 0.8333 against \"the cat is on the mat\" is at least 0.75");
  CHECK(score_of(rouge + "}", "The cat sat on the mat.") == Approx(5.0 / 6.0));
  CHECK(check(rouge + R"(, "n": 2})", "The cat sat on the mat.") ==
        "fail|ROUGE-2 recall 0.6 against \"the cat is on the mat\" is below 0.75");
  CHECK(check(rouge + R"(, "threshold": 0.9})", "The cat sat on the mat.") ==
        "fail|ROUGE-1 recall 0.8333 against \"the cat is on the mat\" is below 0.9");
  CHECK(check(R"({"type": "rouge-n", "value": "{{ref}}"})", "x", with_vars({{"ref", "..."}})) ==
        "error|cases.jsonl:3: reference \"...\" has fewer than 1 word");

  CHECK(check(R"({"type": "bleu", "value": "the cat sat on the mat"})", "the cat sat on a mat") ==
        "pass|BLEU 0.5373 against \"the cat sat on the mat\" is at least 0.5");
  CHECK(check(R"({"type": "bleu", "value": ["hello there world", "hello world"], "threshold": 0.9})",
              "Hello world!") == "pass|BLEU 1 against \"hello there world\" is at least 0.9");
  CHECK(check(R"({"type": "bleu", "value": "the cat sat on the mat"})", "the cat") ==
        "fail|BLEU 0.1353 against \"the cat sat on the mat\" is below 0.5");

  CHECK(check(R"({"type": "f-score", "value": "the cat is here"})", "The cat sat") ==
        "pass|F-score 0.5714 against \"the cat is here\" is at least 0.5");
  CHECK(check(R"({"type": "f-score", "value": "the cat is here", "threshold": 0.6})", "The cat sat") ==
        "fail|F-score 0.5714 against \"the cat is here\" is below 0.6");
}

TEST_CASE("not-<type> negates every deterministic type", "[eval][text]") {
  SECTION("pass and score flip; a failing negation names itself") {
    CHECK(check(R"({"type": "not-equals", "value": "A"})", "A") == "fail|not-equals: output equals \"A\"");
    CHECK(check(R"({"type": "not-equals", "value": "A"})", "B") == "pass|expected \"A\", got \"B\"");
    CHECK(check(R"({"type": "not-icontains", "value": "HELLO"})", "hello") ==
          "fail|not-icontains: output contains \"HELLO\" (ignoring case)");
    CHECK(check(R"({"type": "not-starts-with", "value": "Yes"})", "No") == "pass|output does not start with \"Yes\"");
    CHECK(check(R"({"type": "not-regex", "value": "\\d+"})", "abc") == "pass|output does not match /\\d+/");
    CHECK(check(R"({"type": "not-regex", "value": "\\d+"})", "a1") == "fail|not-regex: output matches /\\d+/");
    CHECK(check(R"({"type": "not-is-json"})", "{}") == "fail|not-is-json: output is JSON object");
    CHECK(check(R"({"type": "not-contains-any", "value": "cat, dog"})", "a bird") ==
          "pass|output contains none of \"cat\", \"dog\"");
    CHECK(check(R"({"type": "not-contains-all", "value": "cat, dog"})", "cat dog") ==
          "fail|not-contains-all: output contains all of \"cat\", \"dog\"");
    CHECK(check(R"({"type": "not-ends-with", "value": "."})", "Hi.") == "fail|not-ends-with: output ends with \".\"");
    CHECK(check(R"({"type": "not-word-count", "value": {"max": 2}})", "one two three") ==
          "pass|3 words, above max 2");
    CHECK(check(R"({"type": "not-levenshtein", "value": "abc"})", "abd") ==
          "fail|not-levenshtein: Levenshtein distance to \"abc\" is 1 (max 5)");
    CHECK(check(R"({"type": "not-length", "max": 3})", "abcd") == "pass|length 4 exceeds max 3");
  }
  SECTION("a metric's score becomes 1 - score") {
    const std::string spec = R"({"type": "not-rouge-n", "value": "the cat is on the mat"})";
    CHECK(score_of(spec, "The cat sat on the mat.") == Approx(1.0 / 6.0));
    CHECK(check(spec, "The cat sat on the mat.") ==
          "fail|not-rouge-n: ROUGE-1 recall 0.8333 against \"the cat is on the mat\" is at least 0.75");
    CHECK(score_of(R"({"type": "not-equals", "value": "A"})", "B") == 1.0);
    CHECK(score_of(R"({"type": "not-equals", "value": "A"})", "A") == 0.0);
  }
  SECTION("not-contains keeps its own behaviour and reasons") {
    const Assertion assertion = parse_one(R"({"type": "not-contains", "value": "x"})");
    CHECK(assertion.type == AssertionType::not_contains);
    CHECK_FALSE(assertion.negate);
    CHECK(check(R"({"type": "not-contains", "value": "x"})", "axb") == "fail|output contains \"x\"");
    CHECK(check(R"({"type": "not-contains", "value": "x"})", "ab") == "pass|output does not contain \"x\"");
  }
  SECTION("an assertion that cannot judge stays an error") {
    CHECK(check(R"({"type": "not-contains-any", "value": ["{{v}}"]})", "x", with_vars({{"v", ""}})) ==
          "error|cases.jsonl:3: item \"{{v}}\" of 'value' renders to an empty string");
    CHECK(check(R"({"type": "not-equals", "value": "{{v}}"})", "x") ==
          "error|cases.jsonl:3: assertion uses variable 'v', which the case does not define");
  }
  SECTION("services and double negations are not types") {
    CHECK(diagnose(R"({"type": "not-llm-rubric", "value": "x"})").rfind(
              "rejected\np.md:7: error: unknown assertion type 'not-llm-rubric'", 0) == 0);
    CHECK(diagnose(R"({"type": "not-exec", "value": "x"})").rfind("rejected\n", 0) == 0);
    CHECK(diagnose(R"({"type": "not-not-contains", "value": "x"})").rfind("rejected\n", 0) == 0);
    CHECK(diagnose(R"({"type": "not-icontain", "value": "x"})") ==
          "rejected\np.md:7: error: unknown assertion type 'not-icontain' [did you mean 'not-icontains'?]");
  }
}

TEST_CASE("without pass reasons a pass has none and a failure keeps its own", "[eval][text]") {
  EvalContext scorer = with_vars({{"expected", "the cat sat on the mat"}});
  scorer.pass_reasons = false;
  SECTION("text graders and substring types") {
    CHECK(check(R"({"type": "contains-all", "value": "cat, mat"})", "the cat sat on the mat", scorer) == "pass|");
    CHECK(check(R"({"type": "contains-all", "value": "cat, dog"})", "the cat sat on the mat", scorer) ==
          "fail|output does not contain \"dog\"");
    CHECK(check(R"({"type": "bleu", "value": "{{expected}}"})", "the cat sat on the mat", scorer) == "pass|");
    CHECK(check(R"({"type": "f-score", "value": "{{expected}}", "threshold": 0.9})", "a cat", scorer) ==
          "fail|F-score 0.25 against \"the cat sat on the mat\" is below 0.9");
    CHECK(check(R"({"type": "word-count", "value": {"max": 3}})", "one two", scorer) == "pass|");
    CHECK(check(R"({"type": "icontains", "value": "CAT"})", "the cat", scorer) == "pass|");
    CHECK(check(R"({"type": "regex", "value": "^x"})", "the cat", scorer) == "fail|output does not match /^x/");
  }
  SECTION("a failing negation still names what its positive found") {
    CHECK(check(R"({"type": "not-contains-any", "value": "cat, dog"})", "the cat", scorer) ==
          "fail|not-contains-any: output contains \"cat\"");
    CHECK(check(R"({"type": "not-regex", "value": "c.t"})", "the cat", scorer) ==
          "fail|not-regex: output matches /c.t/");
    CHECK(check(R"({"type": "not-levenshtein", "value": "{{expected}}"})", "the cat sat on a mat", scorer) ==
          "fail|not-levenshtein: Levenshtein distance to \"the cat sat on the mat\" is 3 (max 5)");
  }
  SECTION("an output that equals its reference matches every n-gram of it") {
    const std::string same = "the cat sat on the mat";
    CHECK(score_of(R"({"type": "bleu", "value": "the cat sat on the mat"})", same) == Approx(1.0));
    CHECK(evaluate(parse_one(R"({"type": "rouge-n", "value": "{{expected}}", "n": 3})"), same, scorer).score ==
          Approx(1.0));
  }
}

TEST_CASE("malformed text-grader values are diagnostics at the assertion's line", "[eval][text]") {
  CHECK(diagnose(R"({"type": "contains-any", "value": 3})") ==
        "rejected\np.md:7: error: contains-any assertion 'value' must be a list of strings or a comma-separated "
        "string []");
  CHECK(diagnose(R"({"type": "contains-all"})") == "rejected\np.md:7: error: contains-all assertion has no 'value' []");
  CHECK(diagnose(R"({"type": "icontains-any", "value": []})") ==
        "rejected\np.md:7: error: icontains-any assertion has no item in 'value' [list the texts to look for]");
  CHECK(diagnose(R"({"type": "contains-any", "value": " , "})") ==
        "rejected\np.md:7: error: contains-any assertion has no item in 'value' [list the texts to look for]");
  CHECK(diagnose(R"({"type": "contains-all", "value": ["a", ""]})") ==
        "rejected\np.md:7: error: contains-all assertion has an empty item in 'value', which every output "
        "contains [remove the empty item]");
  CHECK(diagnose(R"({"type": "not-contains-any", "value": ["a", {"b": 1}]})") ==
        "rejected\np.md:7: error: not-contains-any assertion 'value' items must be strings [write [\"first\", "
        "\"second\"] or \"first, second\"]");
  CHECK(diagnose(R"({"type": "contains-any", "value": ["{{#x}}"]})").rfind(
            "rejected\np.md:7: error: contains-any assertion has a bad template in 'value': ", 0) == 0);
  CHECK(diagnose(R"({"type": "ends-with", "value": ""})") ==
        "rejected\np.md:7: error: ends-with assertion has an empty 'value' [give the reference text]");
  CHECK(diagnose(R"({"type": "word-count", "value": {"min": 5, "max": 2}})") ==
        "rejected\np.md:7: error: word-count assertion has min 5 above max 2 []");
  CHECK(diagnose(R"({"type": "word-count", "value": {"minimum": 5}})") ==
        "rejected\np.md:7: error: word-count assertion 'value' has unknown key 'minimum' [use {min = 10, max = "
        "50}]\np.md:7: error: word-count assertion 'value' needs 'min' or 'max' []");
  CHECK(diagnose(R"({"type": "word-count", "value": -1})") ==
        "rejected\np.md:7: error: word-count assertion 'value' must be a non-negative integer or {min, max} "
        "[write value = 50 or {min = 10, max = 50}]");
  CHECK(diagnose(R"({"type": "not-word-count", "value": "many"})") ==
        "rejected\np.md:7: error: not-word-count assertion 'value' must be a non-negative integer or {min, max} "
        "[write value = 50 or {min = 10, max = 50}]");
  CHECK(diagnose(R"({"type": "levenshtein", "value": "x", "threshold": -1})") ==
        "rejected\np.md:7: error: levenshtein assertion option 'threshold' must be a number from 0 []");
  CHECK(diagnose(R"({"type": "rouge-n", "value": "x", "threshold": 2})") ==
        "rejected\np.md:7: error: rouge-n assertion option 'threshold' must be a number from 0 to 1 []");
  CHECK(diagnose(R"({"type": "rouge-n", "value": "x", "n": 0})") ==
        "rejected\np.md:7: error: rouge-n assertion option 'n' must be an integer from 1 to 9 []");
  CHECK(diagnose(R"({"type": "bleu", "value": []})") ==
        "rejected\np.md:7: error: bleu assertion has no item in 'value' [list the texts to look for]");
  CHECK(diagnose(R"({"type": "f-score", "value": 5})") ==
        "rejected\np.md:7: error: f-score assertion 'value' must be a string []");
  CHECK(diagnose(R"({"type": "bleu", "value": "x", "treshold": 0.5})") ==
        "ok\np.md:7: warning: bleu assertion has unknown option 'treshold' [did you mean 'threshold'?]");
}
