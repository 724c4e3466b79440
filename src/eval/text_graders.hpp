// SPDX-License-Identifier: MIT
// The text graders (contains-any/-all, icontains-any/-all, ends-with, word-count, levenshtein,
// rouge-n, bleu, f-score), their Unicode tokenisation, and the negation of any deterministic type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>

namespace promptops::inline eval {

// Defined in assertions.cpp, shared with the graders: a text quoted for a reason line (JSON
// escapes, elided past 80 bytes); a value rendered against the case; "file:line: " or ""; a
// 0/1 result.
std::string quote(std::string_view text);
// `text` rendered with `vars` as render_template() does, without parsing when it holds no
// {{...}} or is exactly one string variable. The view is of `text` itself, of that variable's
// string, or of `storage`, which then holds the rendering.
std::string_view render_view(const std::string& text, const nlohmann::json& vars, std::string& storage);
std::string render_text(const std::string& text, const nlohmann::json& vars);
// A string value rendered; any other JSON value as its JSON text. The view as render_view()'s.
std::string_view render_value_view(const nlohmann::json& value, const EvalContext& context, std::string& storage);
std::string render_value(const nlohmann::json& value, const EvalContext& context);
std::string located(const Assertion& assertion);
// A pass (score 1) or a fail (score 0) with its reason.
AssertionResult verdict(bool pass, std::string reason);
// A verdict whose reason `reason()` gives, called only when the reason is read: for a failure,
// and for a pass when the context asks for pass reasons (EvalContext::pass_reasons).
template <class Reason>
AssertionResult scored_verdict(bool pass, double score, const EvalContext& context, Reason reason) {
  return AssertionResult{pass, score, pass && !context.pass_reasons ? std::string() : reason()};
}
template <class Reason>
AssertionResult verdict(bool pass, const EvalContext& context, Reason reason) {
  return scored_verdict(pass, pass ? 1.0 : 0.0, context, reason);
}

// What read_text_grader() found, for the assertion parser to report and check.
struct TextGraderProblems {
  struct Problem {
    std::string message;
    std::string hint;
  };
  std::vector<Problem> errors;
  std::vector<std::pair<std::string, std::string>> templates;  // (text, key): to check as templates
};

// Whether `type` is one of the text graders.
bool is_text_grader(AssertionType type);

// Reads the options of a text grader from `spec` into `assertion`; `type` is its spelling.
TextGraderProblems read_text_grader(const nlohmann::json& spec, Assertion& assertion, std::string_view type);

// The positive verdict of a text grader (negation is applied by the caller). Never throws.
AssertionResult evaluate_text_grader(const Assertion& assertion, std::string_view output,
                                     const EvalContext& context);

// The verdict of "not-<type>" from the verdict of <type>: pass flipped, score 1 - score, the
// reason prefixed with `name` when the negation fails; an error stays an error.
AssertionResult negated(AssertionResult result, std::string_view name);

// promptfoo's comma-separated list: items split at commas and trimmed; an item in double quotes
// keeps its commas and spaces, with \" , \\ and "" for a quote or backslash inside. Empty unquoted
// items are skipped; a quoted "" is an empty item.
std::vector<std::string> split_list(std::string_view text);

// The words of `text` for rouge-n, bleu and f-score: case-folded (Unicode full folding) and in
// NFC, split into maximal runs of letters, marks and digits; each Han ideograph, Hiragana or
// Katakana character is a word of its own (those scripts do not space their words). Everything
// else (spaces, punctuation, symbols, invalid UTF-8) separates words.
std::vector<std::string> text_words(std::string_view text);

// word-count's count: maximal runs of characters that are not Unicode white space.
std::size_t count_words(std::string_view text);

// The Levenshtein distance between `a` and `b` in Unicode code points (an invalid byte is one
// unit of its own), or `limit + 1` when it is above `limit`. O(min(len) * (2 * limit + 1)).
std::size_t levenshtein_distance(std::string_view a, std::string_view b, std::size_t limit);

using Words = std::vector<std::string>;

struct Tokens;

// The n-grams of some tokens, sorted by a hash of their words and then (for equal hashes, which
// almost always means equal grams) by the words themselves, so that equality stays exact.
struct Grams {
  struct Gram {
    std::uint64_t key;
    std::uint32_t start;
  };
  const Tokens* tokens = nullptr;
  std::size_t n = 0;
  std::vector<Gram> grams;

  std::size_t size() const { return grams.size(); }
  // <0, 0, >0 as gram i of this orders before, equal to, after gram j of `other`.
  int compare(std::size_t i, const Grams& other, std::size_t j) const;
  // How many grams from i on equal gram i.
  std::size_t run(std::size_t i) const;
};

// Words with their hashes, so that n-grams compare as numbers (and as strings only when the
// hashes are equal: the comparison stays exact).
struct Tokens {
  static constexpr std::size_t k_max_order = 9;  // the longest n-gram any grader asks for

  Tokens(Words list);  // NOLINT(google-explicit-constructor): a list of words is a list of tokens
  Words words;
  std::vector<std::uint64_t> hashes;
  // The n-grams of each order n sorted, at n - 1, filled on first use (so a Tokens is not to be
  // shared between threads; the remembered ones are per thread).
  mutable std::array<std::optional<Grams>, k_max_order> sorted_grams;

  std::size_t size() const { return words.size(); }
};

// ROUGE-N recall: the reference's n-grams also in the candidate (clipped counts) over the
// reference's n-grams; 0 when the reference has fewer than n words.
double rouge_n_score(const Tokens& candidate, const Tokens& reference, std::size_t n);

// Sentence BLEU (Papineni et al.): modified 1..4-gram precisions against the best reference per
// order, equal weights renormalised over the orders the candidate is long enough for, a zero
// precision smoothed to 1e-7, brevity penalty against the closest reference length (the shorter
// on ties). 0 for a candidate without words.
double bleu_score(const Tokens& candidate, const std::vector<Tokens>& references);
double bleu_of(const Tokens& candidate, const std::vector<const Tokens*>& references);

// Token F1 (SQuAD): words in common (clipped counts); 2PR / (P + R), 0 when none is shared.
double f_score_value(const Tokens& candidate, const Tokens& reference);

}  // namespace promptops::eval
