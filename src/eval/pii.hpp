// SPDX-License-Identifier: MIT
// The pii guardrail: personal data found by PCRE2 candidates and confirmed by checksums and ranges.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/eval/assertions.hpp>

namespace promptops::inline eval {

enum class PiiKind { email, phone, card, iban, ssn, nino, ip };

inline constexpr std::array<std::string_view, 7> k_pii_kind_names{"email", "phone", "card", "iban",
                                                                  "ssn",   "nino",  "ip"};

// A set of kinds, one bit per kind (1 << kind).
using PiiKinds = unsigned;
inline constexpr PiiKinds k_all_pii_kinds = (1u << k_pii_kind_names.size()) - 1;

struct PiiKindsParse {
  PiiKinds kinds = 0;  // 0 on error
  std::string error;   // "unknown pii kind 'mail'"
  std::string hint;    // "did you mean 'email'?"
};

// pii's "value": absent or null (every kind), a list of kind names, or one string of names
// separated by commas.
PiiKindsParse parse_pii_kinds(const nlohmann::json& value);

// One piece of personal data: [begin, end) in bytes of the text.
struct PiiFinding {
  PiiKind kind = PiiKind::email;
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct PiiScan {
  std::vector<PiiFinding> findings;  // in text order, none overlapping
  std::string error;                 // a regex limit stopped the scan
};

// Every piece of personal data of `kinds` in `text`.
PiiScan find_pii(std::string_view text, PiiKinds kinds);

// `text` with its middle replaced by "…", so a reason can show which data it means without
// repeating it: the first and last quarter (at most 4 bytes each) stay; under 8 bytes, nothing.
std::string mask_pii(std::string_view text);

// The verdict of pii on `text`; `subject` is "output" or "input". Fails naming the first finding's
// kind and span (1-based bytes), masked.
AssertionResult evaluate_pii(std::string_view text, PiiKinds kinds, std::string_view subject);

}  // namespace promptops::eval
