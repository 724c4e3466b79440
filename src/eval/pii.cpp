// SPDX-License-Identifier: MIT
// Candidates by regex, then per kind a check in C++: Luhn, IBAN mod 97, SSN ranges, NINO prefixes,
// IP octets and inet_pton; findings sorted and the overlapping ones dropped.
#include "pii.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include <arpa/inet.h>

#include <promptops/config/config.hpp>
#include <promptops/util/strings.hpp>

#include "regex.hpp"

namespace promptops::inline eval {

namespace {

using nlohmann::json;

bool is_upper_alnum(char c) { return util::is_ascii_digit(c) || (c >= 'A' && c <= 'Z'); }

// A candidate's confirmation: the end of the finding (the match may be trimmed or, for an IBAN,
// extended), or nullopt when it is not personal data.
using Confirm = std::optional<std::size_t> (*)(std::string_view text, std::size_t begin, std::size_t end);

// An address with a dot-free start and end to its local part.
std::optional<std::size_t> confirm_email(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string_view match = text.substr(begin, end - begin);
  const std::string_view local = match.substr(0, match.find('@'));
  if (local.size() > 64 || local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  return end;
}

std::size_t digit_count(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), util::is_ascii_digit));
}

// 8 to 15 digits for an international number (E.164); 10 or 11 for a national one with a trunk 0.
std::optional<std::size_t> confirm_phone(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string_view match = text.substr(begin, end - begin);
  const std::size_t digits = digit_count(match);
  if (match.front() == '+') {
    return digits >= 8 && digits <= 15 ? std::optional(end) : std::nullopt;
  }
  if (match.front() == '0') {
    return digits == 10 || digits == 11 ? std::optional(end) : std::nullopt;
  }
  return end;  // North American: the pattern fixes 10 digits
}

bool luhn(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice && (d *= 2) > 9) {
      d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// The longest run of whole digit groups (13 to 19 digits) that passes the Luhn check, so that a
// number followed by a year ("4111 1111 1111 1111 2024") is still found.
std::optional<std::size_t> confirm_card(std::string_view text, std::size_t begin, std::size_t end) {
  for (std::size_t stop = end; stop > begin; --stop) {
    if (stop != end && util::is_ascii_digit(text[stop])) {
      continue;  // not at a group boundary
    }
    std::string digits;
    for (std::size_t i = begin; i < stop; ++i) {
      if (util::is_ascii_digit(text[i])) {
        digits += text[i];
      }
    }
    if (digits.size() >= 13 && digits.size() <= 19 && luhn(digits)) {
      return stop;
    }
  }
  return std::nullopt;
}

// IBAN lengths by country (ISO 13616 registry).
constexpr std::array<std::pair<std::string_view, int>, 80> k_iban_lengths{{
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"LY", 25}, {"SD", 18}, {"BI", 27},
}};

// ISO 7064 mod 97-10: the first four characters moved to the end, letters as 10..35, remainder 1.
bool iban_checksum(const std::string& iban) {
  const std::string rotated = iban.substr(4) + iban.substr(0, 4);
  int remainder = 0;
  for (char c : rotated) {
    const int value = util::is_ascii_digit(c) ? c - '0' : c - 'A' + 10;
    remainder = (remainder * (value > 9 ? 100 : 10) + value) % 97;
  }
  return remainder == 1;
}

// The match is the country and check digits; the rest (single spaces allowed) is read here to the
// country's length.
std::optional<std::size_t> confirm_iban(std::string_view text, std::size_t begin, std::size_t) {
  const std::string_view country = text.substr(begin, 2);
  const auto entry = std::find_if(k_iban_lengths.begin(), k_iban_lengths.end(),
                                  [&](const auto& e) { return e.first == country; });
  if (entry == k_iban_lengths.end()) {
    return std::nullopt;
  }
  std::string iban;
  std::size_t pos = begin;
  while (pos < text.size() && iban.size() < static_cast<std::size_t>(entry->second)) {
    if (text[pos] == ' ' && !iban.empty() && pos + 1 < text.size() && is_upper_alnum(text[pos + 1])) {
      ++pos;
    }
    if (!is_upper_alnum(text[pos])) {
      return std::nullopt;
    }
    iban += text[pos++];
  }
  const bool ends = pos == text.size() || !std::isalnum(static_cast<unsigned char>(text[pos]));
  return iban.size() == static_cast<std::size_t>(entry->second) && ends && iban_checksum(iban) ? std::optional(pos)
                                                                                                 : std::nullopt;
}

// Area 001-899 but 666, group 01-99, serial 0001-9999.
std::optional<std::size_t> confirm_ssn(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string_view match = text.substr(begin, end - begin);
  const std::string_view area = match.substr(0, 3);
  if (area == "000" || area == "666" || area[0] == '9' || match.substr(4, 2) == "00" || match.substr(7, 4) == "0000") {
    return std::nullopt;
  }
  return end;
}

// Prefixes HMRC never issues.
std::optional<std::size_t> confirm_nino(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string_view prefix = text.substr(begin, 2);
  for (std::string_view bad : {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}) {
    if (prefix == bad) {
      return std::nullopt;
    }
  }
  return end;
}

// Four octets of at most 255, without leading zeros.
std::optional<std::size_t> confirm_ipv4(std::string_view text, std::size_t begin, std::size_t end) {
  for (const std::string& octet : util::split(text.substr(begin, end - begin), '.')) {
    if ((octet.size() > 1 && octet[0] == '0') || std::stoi(octet) > 255) {
      return std::nullopt;
    }
  }
  return end;
}

std::optional<std::size_t> confirm_ipv6(std::string_view text, std::size_t begin, std::size_t end) {
  const std::string address(text.substr(begin, end - begin));
  in6_addr parsed{};
  return inet_pton(AF_INET6, address.c_str(), &parsed) == 1 ? std::optional(end) : std::nullopt;
}

struct Detector {
  PiiKind kind;
  const char* pattern;
  Confirm confirm;
};

// ASCII classes throughout: \d and \w would take any script's digits and letters.
const std::array<Detector, 8> k_detectors{{
    {PiiKind::email,
     R"((?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)"
     R"((?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![A-Za-z0-9-]))",
     confirm_email},
    {PiiKind::card, R"((?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9]))", confirm_card},
    {PiiKind::iban, R"((?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?= ?[A-Z0-9]))", confirm_iban},
    {PiiKind::ssn, R"((?<![0-9-])[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}(?![0-9-]))", confirm_ssn},
    {PiiKind::nino, R"((?<![A-Za-z0-9])[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D])"
                    R"((?![A-Za-z0-9]))",
     confirm_nino},
    {PiiKind::ip, R"((?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9]))", confirm_ipv4},
    {PiiKind::ip,
     R"((?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?)"
     R"((?![A-Za-z0-9_:]))",
     confirm_ipv6},
    {PiiKind::phone,
     R"((?<![A-Za-z0-9_+.,/-])(?:\+[1-9](?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,4})){2,7})"
     R"(|(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4})"
     R"(|0[1-9][0-9]{0,4}(?:[ -][0-9]{2,4}){1,4})(?![A-Za-z0-9]))",
     confirm_phone},
}};

// The detectors' patterns, compiled on first use.
const std::vector<std::shared_ptr<const Regex>>& compiled_detectors() {
  static const std::vector<std::shared_ptr<const Regex>> compiled = [] {
    std::vector<std::shared_ptr<const Regex>> out;
    for (const Detector& detector : k_detectors) {
      out.push_back(Regex::compile(detector.pattern, false).regex);
    }
    return out;
  }();
  return compiled;
}

// The findings of one detector, appended; false (and `error` set) when a regex limit stopped it.
bool run_detector(const Detector& detector, const Regex& regex, std::string_view text, PiiScan& scan) {
  std::size_t start = 0;
  while (start < text.size()) {
    const RegexMatch match = regex.find(text, start);
    if (!match.error.empty()) {
      scan.error = match.error;
      return false;
    }
    if (!match.found) {
      break;
    }
    if (const std::optional<std::size_t> end = detector.confirm(text, match.begin, match.end)) {
      scan.findings.push_back(PiiFinding{detector.kind, match.begin, *end});
    }
    start = std::max(match.end, match.begin + 1);
  }
  return true;
}

// Text order; of overlapping findings the first (by start, then by detector order) stays.
void drop_overlaps(std::vector<PiiFinding>& findings) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const PiiFinding& a, const PiiFinding& b) { return a.begin < b.begin; });
  std::vector<PiiFinding> kept;
  for (const PiiFinding& finding : findings) {
    if (kept.empty() || finding.begin >= kept.back().end) {
      kept.push_back(finding);
    }
  }
  findings = std::move(kept);
}

std::string_view kind_name(PiiKind kind) { return k_pii_kind_names[static_cast<std::size_t>(kind)]; }

std::string kind_list(PiiKinds kinds) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < k_pii_kind_names.size(); ++i) {
    if ((kinds & (1u << i)) != 0) {
      names.emplace_back(k_pii_kind_names[i]);
    }
  }
  return util::join(names, ", ");
}

// One kind name into `parsed`; false (and the error set) when it names none.
bool add_kind(std::string_view name, PiiKindsParse& parsed) {
  const auto found = std::find(k_pii_kind_names.begin(), k_pii_kind_names.end(), name);
  if (found == k_pii_kind_names.end()) {
    const std::vector<std::string> names(k_pii_kind_names.begin(), k_pii_kind_names.end());
    parsed = PiiKindsParse{0, "unknown pii kind '" + std::string(name) + "'", ""};
    const std::string suggestion = config::did_you_mean(name, names);
    parsed.hint = suggestion.empty() ? "expected one of " + util::join(names, ", ") : "did you mean '" + suggestion + "'?";
    return false;
  }
  parsed.kinds |= 1u << static_cast<unsigned>(found - k_pii_kind_names.begin());
  return true;
}

}  // namespace

PiiKindsParse parse_pii_kinds(const json& value) {
  if (value.is_null()) {
    return PiiKindsParse{k_all_pii_kinds, "", ""};
  }
  std::vector<std::string> names;
  if (value.is_string()) {
    for (const std::string& part : util::split(value.get<std::string>(), ',')) {
      names.emplace_back(util::trim(part));
    }
  } else if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
    names = value.get<std::vector<std::string>>();
  } else {
    return PiiKindsParse{0, "pii assertion 'value' must be a list of kinds or a comma-separated string",
                         "write value = [\"email\", \"card\"]; the kinds are " + kind_list(k_all_pii_kinds)};
  }
  PiiKindsParse parsed;
  for (const std::string& name : names) {
    if (!add_kind(name, parsed)) {
      return parsed;
    }
  }
  if (parsed.kinds == 0) {
    return PiiKindsParse{0, "pii assertion 'value' names no kind", "leave 'value' out to check every kind"};
  }
  return parsed;
}

PiiScan find_pii(std::string_view text, PiiKinds kinds) {
  PiiScan scan;
  const auto& regexes = compiled_detectors();
  for (std::size_t i = 0; i < k_detectors.size(); ++i) {
    if ((kinds & (1u << static_cast<unsigned>(k_detectors[i].kind))) == 0) {
      continue;
    }
    if (!run_detector(k_detectors[i], *regexes[i], text, scan)) {
      return scan;
    }
  }
  drop_overlaps(scan.findings);
  return scan;
}

std::string mask_pii(std::string_view text) {
  constexpr std::size_t k_shortest_shown = 8;
  if (text.size() < k_shortest_shown) {
    return "…";
  }
  const std::size_t keep = std::min<std::size_t>(text.size() / 4, 4);
  return std::string(text.substr(0, keep)) + "…" + std::string(text.substr(text.size() - keep));
}

AssertionResult evaluate_pii(std::string_view text, PiiKinds kinds, std::string_view subject) {
  const PiiScan scan = find_pii(text, kinds);
  if (!scan.error.empty()) {
    return AssertionResult{false, 0.0, "pii: " + scan.error, true};
  }
  if (scan.findings.empty()) {
    return AssertionResult{true, 1.0, std::string(subject) + " holds no pii (" + kind_list(kinds) + ")"};
  }
  const PiiFinding& first = scan.findings.front();
  std::string reason = std::string(subject) + " holds pii: " + std::string(kind_name(first.kind)) + " at bytes " +
                       std::to_string(first.begin + 1) + "-" + std::to_string(first.end) + " (" +
                       mask_pii(text.substr(first.begin, first.end - first.begin)) + ")";
  if (scan.findings.size() > 1) {
    reason += " and " + std::to_string(scan.findings.size() - 1) + " more";
  }
  return AssertionResult{false, 0.0, std::move(reason)};
}

}  // namespace promptops::eval
