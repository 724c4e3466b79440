// SPDX-License-Identifier: MIT
// Text graders: list containment, ends-with, word counts, edit distance and the overlap metrics
// (ROUGE-N, BLEU, token F1) over Unicode words; and the negation of a verdict.
#include "text_graders.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <forward_list>
#include <limits>
#include <memory>
#include <utility>

#include <utf8proc.h>

#include <promptops/prompt/template.hpp>
#include <promptops/util/strings.hpp>

#include "unicode.hpp"

namespace promptops::inline eval {

namespace {

using nlohmann::json;

AssertionResult cannot_judge(std::string reason) { return AssertionResult{false, 0.0, std::move(reason), true}; }

// ---- Unicode scanning ------------------------------------------------------------------------

// One step of a UTF-8 scan: the code point and its length, or -1 and 1 for an invalid byte.
struct CodePoint {
  std::int32_t value = -1;
  std::size_t length = 1;
};

CodePoint next_code_point(std::string_view text, std::size_t pos) {
  utf8proc_int32_t value = -1;
  const utf8proc_ssize_t length =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                       static_cast<utf8proc_ssize_t>(text.size() - pos), &value);
  if (length <= 0) {
    return CodePoint{};
  }
  return CodePoint{value, static_cast<std::size_t>(length)};
}

bool is_word_character(std::int32_t code_point) {
  const utf8proc_category_t category = utf8proc_category(code_point);
  return category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_NO;  // letters, marks, numbers
}

// Scripts written without spaces between words: each character is a word.
bool is_unspaced_script(std::int32_t c) {
  return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF);
}

bool is_white_space(std::int32_t c) {
  if (c < 0) {
    return false;
  }
  if ((c >= 0x09 && c <= 0x0D) || c == 0x85) {
    return true;
  }
  const utf8proc_category_t category = utf8proc_category(c);
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL || category == UTF8PROC_CATEGORY_ZP;
}

// Code points of `text`; an invalid byte b becomes 0x110000 + b, equal only to the same byte.
std::vector<std::int32_t> code_points(std::string_view text) {
  std::vector<std::int32_t> out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const CodePoint point = next_code_point(text, pos);
    out.push_back(point.value >= 0 ? point.value : 0x110000 + static_cast<unsigned char>(text[pos]));
    pos += point.length;
  }
  return out;
}

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Removes the bytes `a` and `b` start and end with alike, cut where a code point starts.
void trim_common_ends(std::string_view& a, std::string_view& b) {
  const std::size_t shorter = std::min(a.size(), b.size());
  std::size_t prefix = 0;
  while (prefix < shorter && a[prefix] == b[prefix]) {
    ++prefix;
  }
  while (prefix > 0 && prefix < a.size() && is_continuation(a[prefix])) {
    --prefix;
  }
  while (prefix > 0 && prefix < b.size() && is_continuation(b[prefix])) {
    --prefix;
  }
  a.remove_prefix(prefix);
  b.remove_prefix(prefix);
  std::size_t suffix = 0;
  while (suffix < std::min(a.size(), b.size()) && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  while (suffix > 0 && is_continuation(a[a.size() - suffix])) {
    --suffix;
  }
  a.remove_suffix(suffix);
  b.remove_suffix(suffix);
}

// ---- n-grams ---------------------------------------------------------------------------------

// <0, 0, >0 as the words at `i` of `a` and `j` of `b` order, `n` of them; a gram is equal to
// itself without looking at its words.
int compare_words(const Tokens& a, std::size_t i, const Tokens& b, std::size_t j, std::size_t n) {
  if (&a == &b && i == j) {
    return 0;
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (const int order = a.words[i + k].compare(b.words[j + k]); order != 0) {
      return order;
    }
  }
  return 0;
}

// One hash for the n words from `start`, from the words' hashes.
std::uint64_t gram_key(const Tokens& tokens, std::size_t start, std::size_t n) {
  std::uint64_t key = 0;
  for (std::size_t k = 0; k < n; ++k) {
    key = (key ^ tokens.hashes[start + k]) * 0x100000001B3ULL + (key >> 29);
  }
  return key;
}

}  // namespace

int Grams::compare(std::size_t i, const Grams& other, std::size_t j) const {
  if (grams[i].key != other.grams[j].key) {
    return grams[i].key < other.grams[j].key ? -1 : 1;
  }
  return compare_words(*tokens, grams[i].start, *other.tokens, other.grams[j].start, n);
}

std::size_t Grams::run(std::size_t i) const {
  std::size_t end = i + 1;
  while (end < size() && compare(end, *this, i) == 0) {
    ++end;
  }
  return end - i;
}

namespace {

Grams sort_grams(const Tokens& tokens, std::size_t n) {
  Grams sorted{&tokens, n, {}};
  if (tokens.size() < n) {
    return sorted;
  }
  sorted.grams.resize(tokens.size() - n + 1);
  for (std::size_t i = 0; i < sorted.grams.size(); ++i) {
    sorted.grams[i] = Grams::Gram{gram_key(tokens, i, n), static_cast<std::uint32_t>(i)};
  }
  std::sort(sorted.grams.begin(), sorted.grams.end(), [&](const Grams::Gram& a, const Grams::Gram& b) {
    if (a.key != b.key) {
      return a.key < b.key;
    }
    return compare_words(tokens, a.start, tokens, b.start, n) < 0;
  });
  return sorted;
}

// The sorted n-grams of `tokens`, sorted once per text and order (texts are remembered per case).
const Grams& grams_of(const Tokens& tokens, std::size_t n) {
  std::optional<Grams>& sorted = tokens.sorted_grams.at(n - 1);
  if (!sorted) {
    sorted = sort_grams(tokens, n);
  }
  return *sorted;
}

// The n-grams of `a` also in `b`, each counted at most as often as in `b`.
std::size_t clipped_matches(const Grams& a, const Grams& b) {
  if (&a == &b) {
    return a.size();  // an output compared with itself, as when it equals its reference
  }
  std::size_t matches = 0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const int order = a.compare(i, b, j);
    if (order != 0) {
      (order < 0 ? i : j) += 1;
      continue;
    }
    const std::size_t in_a = a.run(i);
    const std::size_t in_b = b.run(j);
    matches += std::min(in_a, in_b);
    i += in_a;
    j += in_b;
  }
  return matches;
}

std::size_t closest_length(std::size_t length, const std::vector<const Tokens*>& references) {
  std::size_t best = references.front()->size();
  for (const Tokens* reference : references) {
    const std::size_t size = reference->size();
    const auto gap = [&](std::size_t s) { return s > length ? s - length : length - s; };
    if (gap(size) < gap(best) || (gap(size) == gap(best) && size < best)) {
      best = size;
    }
  }
  return best;
}

// ---- per-thread memory of the last texts -----------------------------------------------------

// The value `make` gives for (`text`, `tag`), remembered for the last few texts of this thread:
// an answer and its reference are tokenised or folded once per case, not once per assertion.
// Texts over 64 KiB are not kept.
template <class Value, class Make>
std::shared_ptr<const Value> remembered(std::string_view text, int tag, Make make) {
  constexpr std::size_t k_max_kept = 64 * 1024;
  struct Entry {
    std::string text;
    int tag = -1;
    std::shared_ptr<const Value> value;
  };
  thread_local std::array<Entry, 6> entries;
  thread_local std::size_t next = 0;
  for (const Entry& entry : entries) {
    if (entry.value && entry.tag == tag && entry.text == text) {
      return entry.value;
    }
  }
  auto value = std::make_shared<const Value>(make(text));
  if (text.size() <= k_max_kept) {
    Entry& slot = entries[next++ % entries.size()];
    slot.text.assign(text);  // reuses the slot's buffer
    slot.tag = tag;
    slot.value = value;
  }
  return value;
}

std::shared_ptr<const Tokens> tokens_of(std::string_view text) {
  return remembered<Tokens>(text, 0, [](std::string_view t) { return Tokens(text_words(t)); });
}

std::shared_ptr<const std::string> comparable_of(std::string_view text, TextForm form) {
  return remembered<std::string>(text, 1 + (form.fold_case ? 1 : 0) + (form.nfc ? 2 : 0),
                                 [&](std::string_view t) { return comparable_text(t, form); });
}

// ---- reasons ---------------------------------------------------------------------------------

// Up to five quoted items, then how many more.
std::string quoted_list(const std::vector<std::string_view>& items) {
  constexpr std::size_t k_shown = 5;
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < k_shown; ++i) {
    out += (i == 0 ? "" : ", ") + quote(items[i]);
  }
  if (items.size() > k_shown) {
    out += " and " + std::to_string(items.size() - k_shown) + " more";
  }
  return out;
}

// A threshold for a reason: its shortest round-trip text ("0.75", "5"), without printf.
std::string number_text(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : util::shortest(value);
}

// A score for a reason: at most four decimals, no trailing zeros ("0.6667", "1", "0.5").
std::string score_text(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 4);
  std::string text = ec == std::errc{} ? std::string(buffer, end) : util::shortest(value);
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  return text;
}

// ---- parsing ---------------------------------------------------------------------------------

class OptionReader {
 public:
  OptionReader(const json& spec, std::string_view type, TextGraderProblems& problems)
      : m_spec(spec), m_type(type), m_problems(problems) {}

  void error(const std::string& message, std::string hint = {}) {
    m_problems.errors.push_back({std::string(m_type) + " assertion " + message, std::move(hint)});
  }

  // A string that is rendered before use.
  void add_template(const std::string& text, const char* key) { m_problems.templates.emplace_back(text, key); }

  const json* value() {
    const auto it = m_spec.find("value");
    if (it == m_spec.end() || it->is_null()) {
      error("has no 'value'");
      return nullptr;
    }
    return &*it;
  }

  // "value" as a string template; `allow_empty` for a reference text.
  std::optional<std::string> text_value(bool allow_empty) {
    const json* value = this->value();
    if (value == nullptr) {
      return std::nullopt;
    }
    if (!value->is_string()) {
      error("'value' must be a string");
      return std::nullopt;
    }
    std::string text = value->get<std::string>();
    if (text.empty() && !allow_empty) {
      error("has an empty 'value'", "give the reference text");
    }
    add_template(text, "value");
    return text;
  }

  std::optional<double> number(const char* key, double max) {
    const auto it = m_spec.find(key);
    if (it == m_spec.end()) {
      return std::nullopt;
    }
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > max) {
      error(std::string("option '") + key + "' must be a number from 0" +
            (std::isinf(max) ? "" : " to " + util::shortest(max)));
      return std::nullopt;
    }
    return it->get<double>();
  }

  bool flag(const char* key) {
    const auto it = m_spec.find(key);
    if (it == m_spec.end()) {
      return false;
    }
    if (!it->is_boolean()) {
      error(std::string("option '") + key + "' must be true or false");
      return false;
    }
    return it->get<bool>();
  }

 private:
  const json& m_spec;
  std::string_view m_type;
  TextGraderProblems& m_problems;
};

// The items of a list value: a JSON array of strings (or numbers), or a comma-separated string.
std::vector<std::string> read_items(OptionReader& reader, const json& value) {
  std::vector<std::string> items;
  if (value.is_string()) {
    items = split_list(value.get<std::string>());
  } else if (value.is_array()) {
    for (const json& item : value) {
      if (!item.is_string() && !item.is_number()) {
        reader.error("'value' items must be strings", "write [\"first\", \"second\"] or \"first, second\"");
        return {};
      }
      items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    }
  } else {
    reader.error("'value' must be a list of strings or a comma-separated string");
    return {};
  }
  if (items.empty()) {
    reader.error("has no item in 'value'", "list the texts to look for");
  }
  if (std::any_of(items.begin(), items.end(), [](const std::string& item) { return item.empty(); })) {
    reader.error("has an empty item in 'value', which every output contains", "remove the empty item");
  }
  for (const std::string& item : items) {
    reader.add_template(item, "value");
  }
  return items;
}

std::optional<std::size_t> count_field(OptionReader& reader, const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) {
    return std::nullopt;
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    reader.error(std::string("'value.") + key + "' must be a non-negative integer");
    return std::nullopt;
  }
  return it->get<std::size_t>();
}

// word-count's value: a count, a template of one, or {"min": a, "max": b} (one or both).
void read_word_count(OptionReader& reader, Assertion& assertion) {
  const json* value = reader.value();
  if (value == nullptr) {
    return;
  }
  if (value->is_string()) {
    const std::string& text = value->get_ref<const std::string&>();
    const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits && text.find("{{") == std::string::npos) {
      reader.error("'value' must be a non-negative integer or {min, max}", "write value = 50 or {min = 10, max = 50}");
    }
    reader.add_template(text, "value");
    assertion.value = *value;
  } else if (value->is_number_integer() && value->get<std::int64_t>() >= 0) {
    assertion.min_length = assertion.max_length = value->get<std::size_t>();
  } else if (value->is_object()) {
    for (const auto& [key, unused] : value->items()) {
      if (key != "min" && key != "max") {
        reader.error("'value' has unknown key '" + key + "'", "use {min = 10, max = 50}");
      }
    }
    assertion.min_length = count_field(reader, *value, "min");
    assertion.max_length = count_field(reader, *value, "max");
    if (!value->contains("min") && !value->contains("max")) {
      reader.error("'value' needs 'min' or 'max'");
    } else if (assertion.min_length && assertion.max_length && *assertion.min_length > *assertion.max_length) {
      reader.error("has min " + std::to_string(*assertion.min_length) + " above max " +
                   std::to_string(*assertion.max_length));
    }
  } else {
    reader.error("'value' must be a non-negative integer or {min, max}", "write value = 50 or {min = 10, max = 50}");
  }
}

// bleu's value: one reference text, or a list of them.
void read_references(OptionReader& reader, Assertion& assertion) {
  const json* value = reader.value();
  if (value != nullptr && value->is_array()) {
    assertion.items = read_items(reader, *value);
    return;
  }
  if (const std::optional<std::string> text = reader.text_value(false)) {
    assertion.items = {*text};
  }
}

void read_metric(const json& spec, OptionReader& reader, Assertion& assertion) {
  assertion.threshold = reader.number("threshold", 1.0);
  if (assertion.type == AssertionType::bleu) {
    read_references(reader, assertion);
    return;
  }
  if (const std::optional<std::string> text = reader.text_value(false)) {
    assertion.value = *text;
  }
  if (assertion.type != AssertionType::rouge_n) {
    return;
  }
  if (const auto n = spec.find("n"); n != spec.end()) {
    constexpr auto k_max = static_cast<std::int64_t>(Tokens::k_max_order);
    if (!n->is_number_integer() || n->get<std::int64_t>() < 1 || n->get<std::int64_t>() > k_max) {
      reader.error("option 'n' must be an integer from 1 to " + std::to_string(k_max));
    } else {
      assertion.ngram = n->get<std::size_t>();
    }
  }
}

// ---- evaluation ------------------------------------------------------------------------------

// The rendered items (views of the items, of variables, or of `storage`), or the first one that
// renders empty.
struct RenderedItems {
  std::vector<std::string_view> items;
  std::forward_list<std::string> storage;  // the renderings that are not views of something else
  std::string empty_error;
};

RenderedItems render_items(const Assertion& assertion, const EvalContext& context) {
  RenderedItems out;
  out.items.reserve(assertion.items.size());
  for (const std::string& item : assertion.items) {
    std::string storage;
    out.items.push_back(render_view(item, context.vars, storage));
    if (!storage.empty()) {
      out.items.back() = out.storage.emplace_front(std::move(storage));
    }
    if (out.items.back().empty()) {
      out.empty_error = located(assertion) + "item " + quote(item) + " of 'value' renders to an empty string";
      break;
    }
  }
  return out;
}

AssertionResult evaluate_list(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  const RenderedItems rendered = render_items(assertion, context);
  if (!rendered.empty_error.empty()) {
    return cannot_judge(rendered.empty_error);
  }
  const bool fold = assertion.type == AssertionType::icontains_any || assertion.type == AssertionType::icontains_all;
  const TextForm form{fold, assertion.normalize};
  const std::shared_ptr<const std::string> folded = form.leaves_text() ? nullptr : comparable_of(output, form);
  const std::string_view subject = folded ? std::string_view(*folded) : output;
  std::vector<char> contained(rendered.items.size());
  std::size_t found = 0;
  for (std::size_t i = 0; i < rendered.items.size(); ++i) {
    std::string storage;
    contained[i] = subject.find(comparable_view(rendered.items[i], form, storage)) != std::string_view::npos;
    found += contained[i] != 0 ? 1 : 0;
  }
  const auto items_where = [&](bool in) {
    std::vector<std::string_view> items;
    for (std::size_t i = 0; i < rendered.items.size(); ++i) {
      if ((contained[i] != 0) == in) {
        items.push_back(rendered.items[i]);
      }
    }
    return items;
  };
  const std::string_view suffix = fold ? " (ignoring case)" : "";
  if (assertion.type == AssertionType::contains_any || assertion.type == AssertionType::icontains_any) {
    return verdict(found > 0, context, [&] {
      return (found == 0 ? "output contains none of " + quoted_list(items_where(false))
                         : "output contains " + quote(items_where(true).front())) +
             std::string(suffix);
    });
  }
  const bool all = found == rendered.items.size();
  return verdict(all, context, [&] {
    return (all ? "output contains all of " + quoted_list(items_where(true))
                : "output does not contain " + quoted_list(items_where(false))) +
           std::string(suffix);
  });
}

AssertionResult evaluate_ends_with(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  std::string rendered;
  const std::string_view needle = render_value_view(assertion.value, context, rendered);
  if (needle.empty()) {
    return cannot_judge(located(assertion) + "'value' renders to an empty string");
  }
  const TextForm form{false, assertion.normalize};
  std::string subject_text;
  std::string wanted_text;
  const std::string_view subject = comparable_view(output, form, subject_text);
  const std::string_view wanted = comparable_view(needle, form, wanted_text);
  const bool pass = subject.size() >= wanted.size() && subject.substr(subject.size() - wanted.size()) == wanted;
  return verdict(pass, context,
                 [&] { return (pass ? "output ends with " : "output does not end with ") + quote(needle); });
}

AssertionResult evaluate_word_count(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  std::optional<std::size_t> min = assertion.min_length;
  std::optional<std::size_t> max = assertion.max_length;
  if (assertion.value.is_string()) {
    const std::string text = render_value(assertion.value, context);
    std::size_t parsed = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return cannot_judge(located(assertion) + "'value' renders to " + quote(text) + ", not a word count");
    }
    min = max = parsed;
  }
  const std::size_t count = count_words(output);
  const auto shown = [count] { return std::to_string(count) + (count == 1 ? " word" : " words"); };
  if (min && max && *min == *max) {
    return verdict(count == *min, context,
                  [&] { return count == *min ? shown() : shown() + ", expected " + std::to_string(*min); });
  }
  if (min && count < *min) {
    return verdict(false, context, [&] { return shown() + ", below min " + std::to_string(*min); });
  }
  if (max && count > *max) {
    return verdict(false, context, [&] { return shown() + ", above max " + std::to_string(*max); });
  }
  return verdict(true, context, [&] {
    return shown() + (min ? ", at least " + std::to_string(*min) : "") +
           (max ? (min ? " and" : ",") + std::string(" at most ") + std::to_string(*max) : "");
  });
}

// The most cells levenshtein computes for one output (about a second), so no pair of long texts
// with a high threshold can stall a run.
constexpr std::size_t k_max_cells = 400'000'000;

AssertionResult evaluate_levenshtein(const Assertion& assertion, std::string_view output,
                                     const EvalContext& context) {
  std::string storage;
  const std::string_view reference = render_value_view(assertion.value, context, storage);
  const double threshold = assertion.threshold.value_or(5.0);
  const auto limit = static_cast<std::size_t>(std::min(std::floor(threshold), 1e15));
  const std::size_t shorter = std::min(output.size(), reference.size());
  const std::size_t band = std::min(std::max(output.size(), reference.size()), 2 * std::min(limit, k_max_cells) + 1);
  if (shorter > 0 && band > k_max_cells / shorter) {
    return cannot_judge(located(assertion) + "levenshtein would compare " + std::to_string(output.size()) + " by " +
                        std::to_string(reference.size()) + " bytes, above its limit of " +
                        std::to_string(k_max_cells) + " cells; lower 'threshold'");
  }
  const std::size_t distance = levenshtein_distance(output, reference, limit);
  return verdict(distance <= limit, context, [&] {
    return "Levenshtein distance to " + quote(reference) +
           (distance > limit ? " is above " + number_text(threshold)
                             : " is " + std::to_string(distance) + " (max " + number_text(threshold) + ")");
  });
}

// rouge-n, bleu, f-score: the score against the threshold.
AssertionResult metric_verdict(std::string_view name, double score, double threshold, std::string_view reference,
                               const EvalContext& context) {
  const bool pass = score >= threshold;
  return scored_verdict(pass, score, context, [&] {
    return std::string(name) + " " + score_text(score) + " against " + quote(reference) +
           (pass ? " is at least " : " is below ") + number_text(threshold);
  });
}

// "ROUGE-2 recall" for n = 2.
std::string_view rouge_name(std::size_t n) {
  static const std::array<std::string, Tokens::k_max_order> names = [] {
    std::array<std::string, Tokens::k_max_order> out;
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = "ROUGE-" + std::to_string(i + 1) + " recall";
    }
    return out;
  }();
  return names.at(n - 1);
}

AssertionResult evaluate_metric(const Assertion& assertion, std::string_view output, const EvalContext& context) {
  const std::shared_ptr<const Tokens> candidate_tokens = tokens_of(output);
  const Tokens& candidate = *candidate_tokens;
  if (assertion.type == AssertionType::bleu) {
    const RenderedItems rendered = render_items(assertion, context);
    if (!rendered.empty_error.empty()) {
      return cannot_judge(rendered.empty_error);
    }
    std::vector<std::shared_ptr<const Tokens>> kept;  // keeps each reference's tokens alive
    std::vector<const Tokens*> references;
    for (const std::string_view text : rendered.items) {
      references.push_back(kept.emplace_back(tokens_of(text)).get());
    }
    return metric_verdict("BLEU", bleu_of(candidate, references), assertion.threshold.value_or(0.5),
                          rendered.items.front(), context);
  }
  std::string storage;
  const std::string_view reference_text = render_value_view(assertion.value, context, storage);
  const std::shared_ptr<const Tokens> reference_tokens = tokens_of(reference_text);
  const Tokens& reference = *reference_tokens;
  const std::size_t needed = assertion.type == AssertionType::rouge_n ? assertion.ngram : 1;
  if (reference.size() < needed) {
    return cannot_judge(located(assertion) + "reference " + quote(reference_text) + " has fewer than " +
                        std::to_string(needed) + (needed == 1 ? " word" : " words"));
  }
  if (assertion.type == AssertionType::rouge_n) {
    return metric_verdict(rouge_name(assertion.ngram), rouge_n_score(candidate, reference, assertion.ngram),
                          assertion.threshold.value_or(0.75), reference_text, context);
  }
  return metric_verdict("F-score", f_score_value(candidate, reference), assertion.threshold.value_or(0.5),
                        reference_text, context);
}

}  // namespace

// ---- public ----------------------------------------------------------------------------------

bool is_text_grader(AssertionType type) {
  return static_cast<int>(type) >= static_cast<int>(AssertionType::contains_any) &&
         static_cast<int>(type) <= static_cast<int>(AssertionType::f_score);
}

TextGraderProblems read_text_grader(const json& spec, Assertion& assertion, std::string_view type) {
  TextGraderProblems problems;
  OptionReader reader(spec, type, problems);
  switch (assertion.type) {
    case AssertionType::contains_any:
    case AssertionType::contains_all:
    case AssertionType::icontains_any:
    case AssertionType::icontains_all:
      if (const json* value = reader.value()) {
        assertion.items = read_items(reader, *value);
      }
      assertion.normalize = reader.flag("normalize");
      break;
    case AssertionType::ends_with:
      if (const std::optional<std::string> text = reader.text_value(false)) {
        assertion.value = *text;
      }
      assertion.normalize = reader.flag("normalize");
      break;
    case AssertionType::word_count:
      read_word_count(reader, assertion);
      break;
    case AssertionType::levenshtein:
      if (const std::optional<std::string> text = reader.text_value(true)) {
        assertion.value = *text;
      }
      assertion.threshold = reader.number("threshold", std::numeric_limits<double>::infinity());
      break;
    default:
      read_metric(spec, reader, assertion);
      break;
  }
  return problems;
}

AssertionResult evaluate_text_grader(const Assertion& assertion, std::string_view output,
                                     const EvalContext& context) {
  switch (assertion.type) {
    case AssertionType::contains_any:
    case AssertionType::contains_all:
    case AssertionType::icontains_any:
    case AssertionType::icontains_all:
      return evaluate_list(assertion, output, context);
    case AssertionType::ends_with:
      return evaluate_ends_with(assertion, output, context);
    case AssertionType::word_count:
      return evaluate_word_count(assertion, output, context);
    case AssertionType::levenshtein:
      return evaluate_levenshtein(assertion, output, context);
    default:
      return evaluate_metric(assertion, output, context);
  }
}

AssertionResult negated(AssertionResult result, std::string_view name) {
  if (result.error) {
    return result;
  }
  result.pass = !result.pass;
  result.score = 1.0 - result.score;
  if (!result.pass) {
    result.reason = std::string(name) + ": " + result.reason;
  }
  return result;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::size_t pos = 0;
  while (pos < text.size()) {
    pos = text.find_first_not_of(" \t\n\r\f\v", pos);
    if (pos == std::string_view::npos) {
      break;
    }
    if (text[pos] == ',') {
      ++pos;
      continue;
    }
    if (text[pos] != '"') {
      const std::size_t end = std::min(text.find(',', pos), text.size());
      items.emplace_back(util::trim(text.substr(pos, end - pos)));
      pos = end;
      continue;
    }
    std::string item;
    for (++pos; pos < text.size(); ++pos) {
      const char c = text[pos];
      const char next = pos + 1 < text.size() ? text[pos + 1] : '\0';
      if ((c == '\\' && (next == '"' || next == '\\')) || (c == '"' && next == '"')) {
        item += next;
        ++pos;
      } else if (c == '"') {
        ++pos;
        break;
      } else {
        item += c;
      }
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<std::string> text_words(std::string_view text) {
  const std::string folded = comparable_text(text, TextForm{true, true});
  std::vector<std::string> words;
  words.reserve(std::min<std::size_t>(folded.size() / 4 + 1, 1024));  // about one word in five bytes
  std::string word;
  for (std::size_t pos = 0; pos < folded.size();) {
    const auto byte = static_cast<unsigned char>(folded[pos]);
    if (byte < 0x80) {  // ASCII: letters and digits are its only word characters
      if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z')) {
        word += static_cast<char>(byte);
      } else if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
      ++pos;
      continue;
    }
    const CodePoint point = next_code_point(folded, pos);
    const std::string_view bytes(folded.data() + pos, point.length);
    pos += point.length;
    if (point.value >= 0 && is_unspaced_script(point.value)) {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
      words.emplace_back(bytes);
    } else if (point.value >= 0 && is_word_character(point.value)) {
      word += bytes;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  return words;
}

std::size_t count_words(std::string_view text) {
  std::size_t count = 0;
  bool in_word = false;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    const CodePoint point = byte < 0x80 ? CodePoint{byte, 1} : next_code_point(text, pos);
    pos += point.length;
    const bool space = byte < 0x80 ? (byte == ' ' || (byte >= 0x09 && byte <= 0x0D)) : is_white_space(point.value);
    count += !space && !in_word ? 1 : 0;
    in_word = !space;
  }
  return count;
}

std::size_t levenshtein_distance(std::string_view a_text, std::string_view b_text, std::size_t limit) {
  trim_common_ends(a_text, b_text);  // the distance of what differs: the same, for less work
  std::vector<std::int32_t> a = code_points(a_text);
  std::vector<std::int32_t> b = code_points(b_text);
  if (a.size() < b.size()) {
    std::swap(a, b);  // b is the shorter: rows are as long as it
  }
  const std::size_t over = limit + 1;
  if (a.size() - b.size() > limit) {
    return over;
  }
  const std::size_t m = b.size();
  std::vector<std::size_t> previous(m + 1, over);
  std::vector<std::size_t> current(m + 1, over);
  for (std::size_t j = 0; j <= std::min(m, limit); ++j) {
    previous[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    const std::size_t low = i > limit ? i - limit : 0;
    const std::size_t high = std::min(m, i + limit);  // the band of cells within `limit` of the diagonal
    if (low == 0) {
      current[0] = std::min(i, over);
    } else {
      current[low - 1] = over;
    }
    for (std::size_t j = std::max<std::size_t>(low, 1); j <= high; ++j) {
      const std::size_t substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({substitute, previous[j] + 1, current[j - 1] + 1, over});
    }
    if (high < m) {
      current[high + 1] = over;
    }
    std::swap(previous, current);
  }
  return std::min(previous[m], over);
}

Tokens::Tokens(Words list) : words(std::move(list)) {
  hashes.reserve(words.size());
  for (const std::string& word : words) {
    hashes.push_back(std::hash<std::string>{}(word));
  }
}

double rouge_n_score(const Tokens& candidate, const Tokens& reference, std::size_t n) {
  if (reference.size() < n) {
    return 0.0;
  }
  const Grams& reference_grams = grams_of(reference, n);
  return static_cast<double>(clipped_matches(grams_of(candidate, n), reference_grams)) /
         static_cast<double>(reference_grams.size());
}

double bleu_score(const Tokens& candidate, const std::vector<Tokens>& references) {
  std::vector<const Tokens*> pointers;
  for (const Tokens& reference : references) {
    pointers.push_back(&reference);
  }
  return bleu_of(candidate, pointers);
}

double bleu_of(const Tokens& candidate, const std::vector<const Tokens*>& references) {
  constexpr std::size_t k_max_order = 4;
  if (candidate.size() == 0 || references.empty()) {
    return 0.0;
  }
  double log_sum = 0.0;
  std::size_t orders = 0;
  for (std::size_t n = 1; n <= k_max_order && n <= candidate.size(); ++n) {
    const Grams& candidate_grams = grams_of(candidate, n);
    std::size_t best = 0;
    for (const Tokens* reference : references) {
      best = std::max(best, clipped_matches(candidate_grams, grams_of(*reference, n)));
    }
    const double precision = static_cast<double>(best) / static_cast<double>(candidate_grams.size());
    log_sum += std::log(precision == 0.0 ? 1e-7 : precision);
    ++orders;
  }
  const auto c = static_cast<double>(candidate.size());
  const auto r = static_cast<double>(closest_length(candidate.size(), references));
  const double brevity = c > r ? 1.0 : std::exp(1.0 - r / c);
  return brevity * std::exp(log_sum / static_cast<double>(orders));
}

double f_score_value(const Tokens& candidate, const Tokens& reference) {
  if (candidate.size() == 0 || reference.size() == 0) {
    return 0.0;
  }
  const auto common = static_cast<double>(clipped_matches(grams_of(candidate, 1), grams_of(reference, 1)));
  if (common == 0.0) {
    return 0.0;
  }
  const double precision = common / static_cast<double>(candidate.size());
  const double recall = common / static_cast<double>(reference.size());
  return 2.0 * precision * recall / (precision + recall);
}

}  // namespace promptops::eval
