// SPDX-License-Identifier: MIT
// Cross-checks our deterministic assertion verdicts against promptfoo's, for the types both tools
// have. Each row is an output, an assertion as a promptfoo user writes it, and the verdict
// promptfoo gives, derived by hand from its source (the comment names the file and function).
// Rows where git-promptops-eval(1) documents a deliberate difference are in a table of their own
// whose verdict is ours.
//
// promptfoo source read (github.com/promptfoo/promptfoo, the stored versions at these commits):
//   src/assertions/contains.ts 01ae5a73 (handleContains ... handleIContainsAll),
//   src/util/parseCommaSeparatedValues.ts b1ec335c, src/assertions/equals.ts 08dbe153,
//   src/assertions/startsWith.ts 48851c46, src/assertions/endsWith.ts c8753265,
//   src/assertions/regex.ts 23b3665a (new RegExp(value), no flags), src/assertions/json.ts 01f79c78,
//   src/util/json.ts (extractJsonObjects over scanJsonObjectFrom, js-yaml with json: true),
//   src/assertions/levenshtein.ts (fastest-levenshtein, `threshold ?? 5`), src/assertions/rouge.ts
//   027013c3 with promptfoo/js-rouge src/rouge.ts 0104e64e and src/utils.ts 03799dfb (n(),
//   treeBankTokenize, intersection), src/assertions/bleu.ts 504be6ad (calculateBleuScore),
//   src/assertions/wordCount.ts 1c0c8c56, src/assertions/index.ts 0096d98d (runAssertionInternal:
//   values rendered before a handler splits them; each handler applies `not-` itself).
// promptfoo has no f-score assertion type, so f-score has no row here.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <promptops/eval/assertions.hpp>

using namespace promptops;
using nlohmann::json;

namespace {

// One output judged by one assertion, and the verdict expected.
struct PromptfooRow {
  std::string output;
  std::string assertion;    // the assertion's JSON, as promptfoo's YAML writes it
  bool pass;                // the verdict expected
  std::string vars = "{}";  // the case's variables, as JSON
};

// The row's output as JSON text, so that white space and invisible characters show in a failure.
std::string shown_output(const std::string& output) {
  return json(output).dump(-1, ' ', true, json::error_handler_t::replace);
}

// Parses and evaluates one row; nullopt (after a failed CHECK) when the assertion does not parse.
std::optional<AssertionResult> judge_row(const PromptfooRow& row) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion =
      parse_assertion(json::parse(row.assertion), Location{"promptfooconfig.yaml", 1, 0}, diagnostics);
  for (const Diagnostic& diagnostic : diagnostics) {
    INFO(diagnostic.format());
    CHECK(false);
  }
  CHECK(assertion.has_value());
  if (!assertion) {
    return std::nullopt;
  }
  EvalContext context;
  context.vars = json::parse(row.vars);
  return evaluate(*assertion, row.output, context);
}

void check_rows(const std::vector<PromptfooRow>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const PromptfooRow& row = rows[i];
    INFO("row " << i << ": " << row.assertion << " on " << shown_output(row.output) << " with vars "
                << row.vars);
    const std::optional<AssertionResult> result = judge_row(row);
    if (!result) {
      continue;
    }
    INFO("our reason: " << result->reason);
    CHECK_FALSE(result->error);
    CHECK(result->pass == row.pass);
  }
}

// ---- verdicts promptfoo and we share ------------------------------------------------------------

const std::vector<PromptfooRow> k_agreement{
    // equals: handleEquals compares String(renderedValue) === outputString, no trim, case kept.
    {"Paris", R"({"type": "equals", "value": "Paris"})", true},       // equals.ts handleEquals
    {"Paris\n", R"({"type": "equals", "value": "Paris"})", false},    // equals.ts: no trim
    {" Paris", R"({"type": "equals", "value": "Paris"})", false},     // equals.ts: no trim
    {"paris", R"({"type": "equals", "value": "Paris"})", false},      // equals.ts: case kept
    {"42", R"({"type": "equals", "value": 42})", true},               // equals.ts: String(42) === "42"
    {"true", R"({"type": "equals", "value": true})", true},           // equals.ts: String(true) === "true"
    {"cafe\u0301", R"({"type": "equals", "value": "café"})", false},  // equals.ts: NFC only when asked
    {"Lyon", R"({"type": "not-equals", "value": "Paris"})", true},    // equals.ts: inverse
    {"Paris", R"({"type": "not-equals", "value": "Paris"})", false},  // equals.ts: inverse

    // contains: handleContains is outputString.includes(String(value)).
    {"Hello World", R"({"type": "contains", "value": "World"})", true},     // contains.ts handleContains
    {"Hello World", R"({"type": "contains", "value": "world"})", false},    // contains.ts: case kept
    {"a  b", R"({"type": "contains", "value": "a b"})", false},             // contains.ts: spaces literal
    {"a.b", R"({"type": "contains", "value": "a.b"})", true},               // contains.ts: no pattern
    {"axb", R"({"type": "contains", "value": "a.b"})", false},              // contains.ts: no pattern
    {"cafe\u0301", R"({"type": "contains", "value": "café"})", false},      // contains.ts: no NFC
    {"all done", R"({"type": "not-contains", "value": "sorry"})", true},    // contains.ts: inverse
    {"I'm sorry", R"({"type": "not-contains", "value": "sorry"})", false},  // contains.ts: inverse

    // icontains: both sides toLowerCase(), then includes.
    {"a REFUND is due", R"({"type": "icontains", "value": "refund"})", true},  // contains.ts handleIContains
    {"a refund is due", R"({"type": "icontains", "value": "REFUND"})", true},  // contains.ts handleIContains
    {"nothing", R"({"type": "icontains", "value": "refund"})", false},         // contains.ts handleIContains
    {"ÉTÉ", R"({"type": "icontains", "value": "été"})", true},                 // contains.ts: É lowers to é
    {"20 \u212A", R"({"type": "icontains", "value": "k"})", true},  // contains.ts: Kelvin K lowers to k
    {"hello world", R"({"type": "not-icontains", "value": "HELLO"})", false},  // contains.ts: inverse
    {"goodbye", R"({"type": "not-icontains", "value": "HELLO"})", true},       // contains.ts: inverse

    // contains-any: a string is split by parseCommaSeparatedValues, then some(includes).
    {"a dog", R"({"type": "contains-any", "value": ["cat", "dog"]})", true},  // contains.ts handleContainsAny
    {"a bird", R"({"type": "contains-any", "value": "cat, dog"})", false},    // contains.ts handleContainsAny
    {"hotdog", R"({"type": "contains-any", "value": "cat, dog"})", true},     // contains.ts: substring
    {"a cat", R"({"type": "contains-any", "value": ["Cat"]})", false},        // contains.ts: case kept
    // parseCommaSeparatedValues.ts parseQuotedField: a quoted item keeps its comma.
    {"I live in Lyon, France", R"({"type": "contains-any", "value": "\"Lyon, France\", Paris"})", true},
    {"I live in Lyon", R"({"type": "contains-any", "value": "\"Lyon, France\", Paris"})", false},
    // parseCommaSeparatedValues skips empty fields.
    {"b", R"({"type": "contains-any", "value": "a,,b,"})", true},
    {"v2", R"({"type": "contains-any", "value": [1, 2]})", true},  // contains.ts: String(v) of numbers
    {"a bird", R"({"type": "not-contains-any", "value": "cat, dog"})", true},  // contains.ts: inverse
    {"a cat", R"({"type": "not-contains-any", "value": "cat, dog"})", false},  // contains.ts: inverse

    // contains-all: every item included.
    {"cat and dog", R"({"type": "contains-all", "value": "cat, dog"})", true},  // handleContainsAll
    {"cat", R"({"type": "contains-all", "value": "cat, dog"})", false},         // handleContainsAll
    {"catdog", R"({"type": "contains-all", "value": " cat , dog "})", true},    // parseUnquotedField trims
    // parseQuotedField: \" and "" are quotes inside a quoted item.
    {"say \"hi\" and bye", R"({"type": "contains-all", "value": "\"say \\\"hi\\\"\", bye"})", true},
    {"a\"b", R"({"type": "contains-all", "value": "\"a\"\"b\""})", true},
    {"v1 v2", R"({"type": "contains-all", "value": [1, 2]})", true},                 // contains.ts: String(v)
    {"Cat and dog", R"({"type": "contains-all", "value": ["cat", "dog"]})", false},  // contains.ts: case kept
    {"cat", R"({"type": "not-contains-all", "value": "cat, dog"})", true},           // contains.ts: inverse
    {"cat dog", R"({"type": "not-contains-all", "value": "cat, dog"})", false},      // contains.ts: inverse

    // icontains-any / icontains-all: lower-cased on both sides.
    {"I love paris", R"({"type": "icontains-any", "value": "PARIS, berlin"})", true},  // handleIContainsAny
    {"I love rome", R"({"type": "icontains-any", "value": "PARIS, berlin"})", false},  // handleIContainsAny
    {"paris and LYON", R"({"type": "icontains-all", "value": "PARIS, lyon"})", true},  // handleIContainsAll
    {"Paris", R"({"type": "icontains-all", "value": ["paris", "rome"]})", false},      // handleIContainsAll
    {"ÉTÉ, Дом", R"({"type": "icontains-all", "value": ["été", "дом"]})", true},  // toLowerCase is Unicode
    {"PARIS", R"({"type": "not-icontains-any", "value": ["paris"]})", false},  // handleIContainsAny inverse

    // starts-with: outputString.startsWith(value), no trim.
    {"Yes, it is", R"({"type": "starts-with", "value": "Yes"})", true},    // startsWith.ts handleStartsWith
    {"yes, it is", R"({"type": "starts-with", "value": "Yes"})", false},   // startsWith.ts: case kept
    {" Yes, it is", R"({"type": "starts-with", "value": "Yes"})", false},  // startsWith.ts: no trim
    {"Ye", R"({"type": "starts-with", "value": "Yes"})", false},           // startsWith.ts: shorter output
    {"No", R"({"type": "not-starts-with", "value": "Yes"})", true},        // startsWith.ts: inverse

    // ends-with: outputString.endsWith(value), no trim.
    {"All done.", R"({"type": "ends-with", "value": "done."})", true},    // endsWith.ts handleEndsWith
    {"All done. ", R"({"type": "ends-with", "value": "done."})", false},  // endsWith.ts: no trim
    {"All Done.", R"({"type": "ends-with", "value": "done."})", false},   // endsWith.ts: case kept
    {".", R"({"type": "ends-with", "value": "done."})", false},           // endsWith.ts: shorter output
    {"Hi.", R"({"type": "not-ends-with", "value": "."})", false},         // endsWith.ts: inverse

    // regex: new RegExp(value).test(output), no flags: ^ and $ at the ends only, . not \n.
    {"code 123", R"({"type": "regex", "value": "\\d{3}"})", true},                // regex.ts handleRegex
    {"code 12", R"({"type": "regex", "value": "\\d{3}"})", false},                // regex.ts handleRegex
    {"yes", R"({"type": "regex", "value": "^yes$"})", true},                      // regex.ts handleRegex
    {"yes\n", R"({"type": "regex", "value": "^yes$"})", false},                   // regex.ts: $ without m
    {"a\nb", R"({"type": "regex", "value": "^b"})", false},                       // regex.ts: ^ without m
    {"a\nc", R"({"type": "regex", "value": "a.c"})", false},                      // regex.ts: . without s
    {"HELLO", R"({"type": "regex", "value": "hello"})", false},                   // regex.ts: no i flag
    {"cost $42", R"({"type": "regex", "value": "(?<=\\$)\\d+"})", true},          // regex.ts: lookbehind
    {"2024-2024", R"({"type": "regex", "value": "(?<y>\\d{4})-\\k<y>"})", true},  // regex.ts: named group
    {"café", R"({"type": "regex", "value": "caf\\u00e9"})", true},                // regex.ts: \u escape
    {"concatenate", R"({"type": "regex", "value": "\\bcat\\b"})", false},         // regex.ts: \b
    {"the cat sat", R"({"type": "regex", "value": "\\bcat\\b"})", true},          // regex.ts: \b
    {"color", R"({"type": "regex", "value": "colou?r"})", true},                  // regex.ts handleRegex
    {"abc", R"({"type": "not-regex", "value": "\\d"})", true},                    // regex.ts: inverse
    {"a1", R"({"type": "not-regex", "value": "\\d"})", false},                    // regex.ts: inverse

    // is-json: JSON.parse(output) succeeds; with a value, Ajv validates what it parsed.
    {R"({"a": 1})", R"({"type": "is-json"})", true},                // json.ts handleIsJson
    {" \n{\"a\": 1}\n ", R"({"type": "is-json"})", true},           // JSON.parse skips JSON white space
    {"[1, 2]", R"({"type": "is-json"})", true},                     // json.ts: any JSON value
    {R"("text")", R"({"type": "is-json"})", true},                  // json.ts: any JSON value
    {"42", R"({"type": "is-json"})", true},                         // json.ts: any JSON value
    {"null", R"({"type": "is-json"})", true},                       // json.ts: any JSON value
    {"1e400", R"({"type": "is-json"})", true},                      // JSON.parse gives Infinity
    {R"("\ud800")", R"({"type": "is-json"})", true},                // JSON.parse takes a lone surrogate
    {"{'a': 1}", R"({"type": "is-json"})", false},                  // JSON.parse: single quotes
    {R"({"a": 1,})", R"({"type": "is-json"})", false},              // JSON.parse: trailing comma
    {"```json\n{\"a\": 1}\n```", R"({"type": "is-json"})", false},  // JSON.parse: fence
    {"", R"({"type": "is-json"})", false},                          // JSON.parse: empty text
    {R"({"a": 1} trailing)", R"({"type": "is-json"})", false},      // JSON.parse: text after
    {"{} {}", R"({"type": "is-json"})", false},                     // JSON.parse: two values
    {"NaN", R"({"type": "is-json"})", false},                       // JSON.parse: not JSON
    {"01", R"({"type": "is-json"})", false},                        // JSON.parse: leading zero
    {"\xEF\xBB\xBF{}", R"({"type": "is-json"})", false},            // JSON.parse: a BOM is not white space
    {"\u00A0{}", R"({"type": "is-json"})", false},                  // JSON.parse: NBSP is not white space
    {"{\"a\": \"tab\there\"}", R"({"type": "is-json"})", false},    // JSON.parse: raw control character
    {"hello", R"({"type": "not-is-json"})", true},                  // json.ts: inverse
    {"{}", R"({"type": "not-is-json"})", false},                    // json.ts: inverse
    // json.ts handleIsJson with a schema: getAjv().compile(value) validates the parsed value.
    {R"({"answer": "x"})", R"({"type": "is-json", "value": {"type": "object", "required": ["answer"]}})",
     true},
    {"{}", R"({"type": "is-json", "value": {"type": "object", "required": ["answer"]}})", false},
    {"answer: x", R"({"type": "is-json", "value": {"type": "object", "required": ["answer"]}})", false},
    // Ajv: 2.0 parses to 2, an integer; maxLength counts code points (ucs2length).
    {R"({"n": 2.0})", R"({"type": "is-json", "value": {"properties": {"n": {"type": "integer"}}}})", true},
    {R"({"n": 2.5})", R"({"type": "is-json", "value": {"properties": {"n": {"type": "integer"}}}})", false},
    {R"({"s": "😀😀"})", R"({"type": "is-json", "value": {"properties": {"s": {"maxLength": 2}}}})", true},
    {R"({"s": "abc"})", R"({"type": "is-json", "value": {"properties": {"s": {"maxLength": 2}}}})", false},

    // contains-json: extractJsonObjects finds objects starting at any '{'.
    {R"(Here: {"a": 1} done)", R"({"type": "contains-json"})", true},       // json.ts handleContainsJson
    {"no json here", R"({"type": "contains-json"})", false},                // util/json.ts extractJsonObjects
    {"```json\n{\"a\": 1}\n```", R"({"type": "contains-json"})", true},     // extractJsonObjects: the '{'
    {R"([{"a": 1}])", R"({"type": "contains-json"})", true},                // extractJsonObjects: the '{'
    {"[1, 2, 3]", R"({"type": "contains-json"})", false},                   // extractJsonObjects: no '{'
    {R"(see {this} and {"a": 1})", R"({"type": "contains-json"})", true},   // extractJsonObjects: an object
    {R"(x {"a": {"b": [1, 2]}} y)", R"({"type": "contains-json"})", true},  // scanJsonObjectFrom: nesting
    {"The set {}", R"({"type": "contains-json"})", true},                   // extractJsonObjects: {}
    {"plain text", R"({"type": "not-contains-json"})", true},               // json.ts: inverse
    {R"(x {"a": 1})", R"({"type": "not-contains-json"})", false},           // json.ts: inverse
    // json.ts handleContainsJson with a schema: passes when any object found conforms.
    {R"(first {"price": 1} then {"price": 7})",
     R"({"type": "contains-json", "value": {"type": "object", "required": ["price"],
        "properties": {"price": {"type": "number", "minimum": 5}}}})",
     true},
    {R"(only {"price": 1})",
     R"({"type": "contains-json", "value": {"type": "object", "required": ["price"],
        "properties": {"price": {"type": "number", "minimum": 5}}}})",
     false},

    // levenshtein: fastest-levenshtein distance(output, value) <= threshold (default 5).
    {"sitting", R"({"type": "levenshtein", "value": "kitten"})", true},                   // distance 3
    {"sitting", R"({"type": "levenshtein", "value": "kitten", "threshold": 2})", false},  // 3 > 2
    {"sitting", R"({"type": "levenshtein", "value": "kitten", "threshold": 3})", true},   // 3 <= 3
    {"hello world!!!!!", R"({"type": "levenshtein", "value": "hello world"})", true},     // 5 <= 5
    {"hello world!!!!!!", R"({"type": "levenshtein", "value": "hello world"})", false},   // 6 > 5
    {"héllo", R"({"type": "levenshtein", "value": "hello", "threshold": 1})", true},   // é: one UTF-16 unit
    {"HELLO", R"({"type": "levenshtein", "value": "hello", "threshold": 4})", false},  // case counts: 5
    {"abcdefghi", R"({"type": "levenshtein", "value": "abc"})", false},                // distance 6

    // rouge-n: js-rouge n() is the distinct output unigrams found in the reference over the
    // reference's unigrams; rouge.ts handleRougeScore: threshold ?? 0.75, inverse flips. The
    // references here repeat no word and hold no punctuation or capitals. Scores: 4/5, 2/5, 3/4,
    // 3/4 against 0.8, 4/4, 1/4, then the two negations.
    {"the quick brown dog jumps", R"({"type": "rouge-n", "value": "the quick brown fox jumps"})", true},
    {"a quick brown dog", R"({"type": "rouge-n", "value": "the quick brown fox jumps"})", false},
    {"one two three five", R"({"type": "rouge-n", "value": "one two three four"})", true},
    {"one two three five", R"({"type": "rouge-n", "value": "one two three four", "threshold": 0.8})", false},
    {"delta gamma beta alpha", R"({"type": "rouge-n", "value": "alpha beta gamma delta"})", true},
    {"red red red red", R"({"type": "rouge-n", "value": "red green blue yellow"})", false},
    {"a quick brown dog", R"({"type": "not-rouge-n", "value": "the quick brown fox jumps"})", true},
    {"the quick brown dog jumps", R"({"type": "not-rouge-n", "value": "the quick brown fox jumps"})", false},

    // bleu: bleu.ts calculateBleuScore, words lower-cased and split at white space, orders 1-4, a
    // zero precision counted as 1e-7, brevity penalty against the closest reference; handleBleuScore:
    // threshold ?? 0.5, inverse flips. The outputs have no punctuation. Scores: 1, 1 (lower-cased),
    // 0.5373 against 0.5, 0.53 and 0.54, 4e-6, 1 (trimmed, split at \s+), 0.8091, 1 against the
    // best reference, 4.3e-5 (we give 0.1353, also below 0.5), then a negation.
    {"the cat sat on the mat", R"({"type": "bleu", "value": "the cat sat on the mat"})", true},
    {"The Cat sat on the mat", R"({"type": "bleu", "value": "the cat sat on the mat"})", true},
    {"the cat sat on a mat", R"({"type": "bleu", "value": "the cat sat on the mat"})", true},
    {"the cat sat on a mat", R"({"type": "bleu", "value": "the cat sat on the mat", "threshold": 0.53})",
     true},
    {"the cat sat on a mat", R"({"type": "bleu", "value": "the cat sat on the mat", "threshold": 0.54})",
     false},
    {"a dog ran in the park", R"({"type": "bleu", "value": "the cat sat on the mat"})", false},
    {"  the   cat sat on the mat\n", R"({"type": "bleu", "value": "the cat sat on the mat"})", true},
    {"the cat sat on the mat today", R"({"type": "bleu", "value": "the cat sat on the mat"})", true},
    {"the cat sat on the mat",
     R"({"type": "bleu", "value": ["a different sentence here", "the cat sat on the mat"]})", true},
    {"the cat", R"({"type": "bleu", "value": "the cat sat on the mat"})", false},
    {"the cat sat on a mat", R"({"type": "not-bleu", "value": "the cat sat on the mat"})", false},

    // word-count: output.trim().split(/\s+/) without empty strings; a number, a numeric string or
    // {min, max} (inclusive).
    {"one two three", R"({"type": "word-count", "value": 3})", true},       // wordCount.ts handleWordCount
    {"  one two\tthree\n", R"({"type": "word-count", "value": 3})", true},  // countWords: trim, \s+
    {"hello, world!", R"({"type": "word-count", "value": 2})", true},       // countWords: punctuation kept
    {"state-of-the-art design", R"({"type": "word-count", "value": 2})", true},  // countWords: \s only
    {"", R"({"type": "word-count", "value": 0})", true},                         // countWords("") is 0
    {"one two three", R"({"type": "word-count", "value": 4})", false},           // exact count
    {"one two three", R"({"type": "word-count", "value": {"min": 3, "max": 3}})", true},  // inclusive range
    {"one two three", R"({"type": "word-count", "value": {"min": 4}})", false},           // min only
    {"one two three", R"({"type": "word-count", "value": {"max": 2}})", false},           // max only
    {"one two three", R"({"type": "word-count", "value": {"max": 3}})", true},            // max only
    {"a b", R"({"type": "word-count", "value": "2"})", true},                             // Number("2")
    {"a\u00A0b", R"({"type": "word-count", "value": 2})", true},                          // JS \s has U+00A0
    {"a\u3000b", R"({"type": "word-count", "value": 2})", true},                          // JS \s has U+3000
    {"a\u200Bb", R"({"type": "word-count", "value": 1})", true},                    // U+200B is in neither
    {"one two three", R"({"type": "not-word-count", "value": {"max": 2}})", true},  // wordCount.ts: inverse
    {"one two", R"({"type": "not-word-count", "value": 2})", false},                // wordCount.ts: inverse
};

// ---- deliberate differences: the verdict is ours ---------------------------------------------

const std::vector<PromptfooRow> k_deliberate_differences{
    // git-promptops-eval(1) ASSERTIONS, "Ignoring case means Unicode full case folding", and
    // "Differences from promptfoo": icontains-any/-all fold as Unicode does (promptfoo lower-cases,
    // and "straße".toLowerCase() keeps ß; "ς" lowers to itself, not σ). promptfoo: false.
    {"Straße", R"({"type": "icontains", "value": "STRASSE"})", true},
    {"ς", R"({"type": "icontains", "value": "σ"})", true},
    {"die Straße", R"({"type": "icontains-any", "value": ["STRASSE", "x"]})", true},
    {"die Straße und ς", R"({"type": "icontains-all", "value": ["STRASSE", "σ"]})", true},

    // Differences from promptfoo: "A comma-separated value is split before rendering, so a
    // variable holding commas stays one item". promptfoo renders "a, b, x" first and finds a, b
    // and x: true.
    {"a x b", R"({"type": "contains-all", "value": "{{city}}, x"})", false, R"({"city": "a, b"})"},

    // Differences from promptfoo: "word-count splits at all Unicode white space". JS \s lacks
    // U+0085 (promptfoo: 1 word, false) and has U+FEFF, which is not Unicode white space
    // (promptfoo: 2 words, false); ASSERTIONS word-count: "runs of characters between Unicode
    // white space".
    {"a\u0085b", R"({"type": "word-count", "value": 2})", true},
    {"a\uFEFFb", R"({"type": "word-count", "value": 1})", true},

    // Differences from promptfoo: "levenshtein counts code points (promptfoo counts UTF-16 units,
    // so an emoji is 2 there and 1 here)". promptfoo: distance 2 > 1, false.
    {"a😀", R"({"type": "levenshtein", "value": "a", "threshold": 1})", true},

    // Differences from promptfoo: rouge-n "compares the words described above, case-folded and
    // without punctuation (promptfoo's rouge-n uses a Penn Treebank tokenizer that keeps case".
    {"The Cat Sat", R"({"type": "rouge-n", "value": "the cat sat"})", true},            // promptfoo: 0/3
    {"state-of-the-art", R"({"type": "rouge-n", "value": "state of the art"})", true},  // promptfoo: 0/4
    // Differences from promptfoo: "rouge-n takes n (promptfoo always uses 1)". promptfoo: 4/4, true.
    {"delta gamma beta alpha", R"({"type": "rouge-n", "value": "alpha beta gamma delta", "n": 2})", false},

    // Differences from promptfoo: "its bleu lower-cases and splits at white space, so world. and
    // world differ there". promptfoo: 0.0126, false.
    {"hello big wide world.", R"({"type": "bleu", "value": "hello big wide world"})", true},

    // contains-json, "Deliberate differences from promptfoo: a bare array or scalar outside a code
    // fence is not found ... but one inside a fence is". promptfoo finds only '{': false.
    {"```json\n[1, 2]\n```", R"({"type": "contains-json"})", true},
    {"```\n\"just a string\"\n```", R"({"type": "contains-json"})", true},
    // The same paragraph: "the JSON must be strict (promptfoo's parser also takes comments and some
    // YAML)". promptfoo's js-yaml reads {this} as {this: null}, {'a': 1} as an object, and turns
    // // comments into # ones: true.
    {"see {this}", R"({"type": "contains-json"})", false},
    {"{'a': 1}", R"({"type": "contains-json"})", false},
    {"{\"a\": 1 // one\n}", R"({"type": "contains-json"})", false},
};

}  // namespace

TEST_CASE("deterministic assertions give promptfoo's verdicts", "[eval][promptfoo]") {
  check_rows(k_agreement);
}

TEST_CASE("documented differences from promptfoo give our verdicts", "[eval][promptfoo]") {
  check_rows(k_deliberate_differences);
}
