// SPDX-License-Identifier: MIT
// Case selection: a filter, a seeded sample, a limit (the CLI's eval flags).
#include <promptops/eval/eval.hpp>

#include <algorithm>
#include <random>
#include <set>

#include <promptops/util/error.hpp>

#include "regex.hpp"

namespace promptops::inline eval {

std::string CaseSelection::key_text() const {
  if (!active()) {
    return {};
  }
  std::string text = only.empty() ? "" : "failing";
  if (!filter.empty()) {
    text += std::string(text.empty() ? "" : " ") + "filter " + filter;
  }
  if (sample) {
    text += std::string(text.empty() ? "" : " ") + "sample " + std::to_string(*sample) + " seed " +
            std::to_string(seed);
  }
  if (limit) {
    text += std::string(text.empty() ? "" : " ") + "limit " + std::to_string(*limit);
  }
  return text;
}

std::string CaseSelection::key_text(const std::string& prompt) const {
  std::string text = key_text();
  if (const auto it = only.find(prompt); it != only.end()) {
    for (const std::string& id : it->second) {
      text += " " + std::to_string(id.size()) + ":" + id;  // length-prefixed: ids may hold spaces
    }
  }
  return text;
}

namespace {

// The indices of the cases `only` names for `prompt` (all of them when it is not set).
std::vector<std::size_t> named(const CaseSelection& selection, const std::string& prompt, std::size_t count,
                               const std::function<std::string(std::size_t)>& id_of) {
  std::vector<std::size_t> kept;
  const std::set<std::string>* ids = nullptr;
  if (!selection.only.empty()) {
    const auto it = selection.only.find(prompt);
    if (it == selection.only.end()) {
      return kept;
    }
    ids = &it->second;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (ids == nullptr || ids->count(id_of(i)) > 0) {
      kept.push_back(i);
    }
  }
  return kept;
}

// The indices of `kept` whose text the filter finds.
std::vector<std::size_t> filtered(const std::string& filter, std::vector<std::size_t> kept,
                                  const std::function<std::string(std::size_t)>& text_of) {
  if (filter.empty()) {
    return kept;
  }
  std::vector<std::size_t> found_in;
  const RegexCompileResult compiled = Regex::compile(filter, false);
  if (!compiled.regex) {
    throw UsageError("the case filter '" + filter + "' is not a regular expression: " + compiled.error,
                     "write a PCRE2 pattern that finds case ids, e.g. '^refund-'");
  }
  for (const std::size_t i : kept) {
    const RegexSearchResult found = compiled.regex->search(text_of(i));
    if (!found.error.empty()) {
      throw UsageError("the case filter '" + filter + "' stopped: " + found.error, "simplify the pattern");
    }
    if (found.found) {
      found_in.push_back(i);
    }
  }
  return found_in;
}

// `n` of `kept` drawn without replacement by a Fisher-Yates shuffle on mt19937_64 (specified
// exactly by the standard, so a seed draws the same cases everywhere), back in dataset order.
std::vector<std::size_t> sampled(std::vector<std::size_t> kept, std::size_t n, std::uint64_t seed) {
  if (n >= kept.size()) {
    return kept;
  }
  std::mt19937_64 random(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t pick = i + static_cast<std::size_t>(random() % (kept.size() - i));
    std::swap(kept[i], kept[pick]);
  }
  kept.resize(n);
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace

std::vector<std::size_t> select_cases(const CaseSelection& selection, const std::string& prompt, std::size_t count,
                                      const std::function<std::string(std::size_t)>& id_of,
                                      const std::function<std::string(std::size_t)>& description_of) {
  const auto text_of = [&](std::size_t i) { return id_of(i) + "\n" + description_of(i); };
  std::vector<std::size_t> kept = filtered(selection.filter, named(selection, prompt, count, id_of), text_of);
  if (selection.sample) {
    kept = sampled(std::move(kept), *selection.sample, selection.seed);
  }
  if (selection.limit && *selection.limit < kept.size()) {
    kept.resize(*selection.limit);
  }
  return kept;
}

}  // namespace promptops::inline eval
