// SPDX-License-Identifier: MIT
// Unit tests for the pii guardrail: each kind found and its near misses rejected by the checks,
// masked reasons with byte spans, kinds parsing, on = "input".
#include <catch2/catch.hpp>

#include <promptops/eval/assertions.hpp>

#include "eval/pii.hpp"

using namespace promptops;
using nlohmann::json;

namespace {

PiiKinds kind(PiiKind k) { return 1u << static_cast<unsigned>(k); }

// The findings of `kinds` in `text` as "kind:matched text" separated by "|".
std::string found(std::string_view text, PiiKinds kinds = k_all_pii_kinds) {
  const PiiScan scan = find_pii(text, kinds);
  REQUIRE(scan.error.empty());
  std::string out;
  for (const PiiFinding& f : scan.findings) {
    out += (out.empty() ? "" : "|") + std::string(k_pii_kind_names[static_cast<std::size_t>(f.kind)]) + ":" +
           std::string(text.substr(f.begin, f.end - f.begin));
  }
  return out;
}

Assertion parse_one(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"cases.jsonl", 3, 0}, diagnostics);
  REQUIRE(diagnostics.empty());
  REQUIRE(assertion.has_value());
  return *assertion;
}

std::string check(const json& spec, std::string_view output, const EvalContext& context = {}) {
  const AssertionResult result = evaluate(parse_one(spec), output, context);
  CHECK(result.score == (result.pass ? 1.0 : 0.0));
  return std::string(result.error ? "error|" : result.pass ? "pass|" : "fail|") + result.reason;
}

std::string diagnose(const json& spec) {
  std::vector<Diagnostic> diagnostics;
  const std::optional<Assertion> assertion = parse_assertion(spec, Location{"p.toml", 7, 0}, diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += (out.empty() ? "" : "\n") + d.format() + " [" + d.hint + "]";
  }
  return (assertion ? "ok\n" : "rejected\n") + out;
}

}  // namespace

TEST_CASE("pii email", "[eval][pii]") {
  CHECK(found("mail john.doe+x@mail.example.co.uk today") == "email:john.doe+x@mail.example.co.uk");
  CHECK(found("a..b@example.com") == "");
  CHECK(found(".a@example.com") == "");
  CHECK(found("user@localhost and @handle") == "");
}

TEST_CASE("pii phone: E.164, North American and national trunk-0 numbers", "[eval][pii]") {
  CHECK(found("call +44 20 7946 0958 now", kind(PiiKind::phone)) == "phone:+44 20 7946 0958");
  CHECK(found("call +14155552671", kind(PiiKind::phone)) == "phone:+14155552671");
  CHECK(found("(415) 555-2671 or 415.555.2671", kind(PiiKind::phone)) == "phone:(415) 555-2671|phone:415.555.2671");
  CHECK(found("020 7946 0958; 06 12 34 56 78", kind(PiiKind::phone)) == "phone:020 7946 0958|phone:06 12 34 56 78");
  CHECK(found("+1 23, 2024-01-15, 08 30 2024, 3.14159, v1.2.3", kind(PiiKind::phone)) == "");
  CHECK(found("123-456-7890", kind(PiiKind::phone)) == "");  // exchange and area start with 2-9
}

TEST_CASE("pii card: 13 to 19 digits passing the Luhn check", "[eval][pii]") {
  CHECK(found("card 4111 1111 1111 1111.") == "card:4111 1111 1111 1111");
  CHECK(found("4111-1111-1111-1111") == "card:4111-1111-1111-1111");
  CHECK(found("378282246310005") == "card:378282246310005");  // 15 digits
  CHECK(found("4111 1111 1111 1112") == "");                   // Luhn fails
  CHECK(found("order 1234567890123") == "");                   // 13 digits, Luhn fails
  SECTION("a number followed by another group is still found") {
    CHECK(found("4111 1111 1111 1111 2024", kind(PiiKind::card)) == "card:4111 1111 1111 1111");
  }
}

TEST_CASE("pii iban: country length and mod-97 checksum", "[eval][pii]") {
  CHECK(found("pay DE89 3704 0044 0532 0130 00 today") == "iban:DE89 3704 0044 0532 0130 00");
  CHECK(found("GB82WEST12345698765432") == "iban:GB82WEST12345698765432");
  CHECK(found("DE89 3704 0044 0532 0130 01", kind(PiiKind::iban)) == "");   // checksum
  CHECK(found("DE89 3704 0044 0532 0130 0", kind(PiiKind::iban)) == "");    // too short for DE
  CHECK(found("DE89 3704 0044 0532 0130 00X", kind(PiiKind::iban)) == "");  // too long
  CHECK(found("QQ89 3704 0044 0532 0130 00", kind(PiiKind::iban)) == "");   // no such country
}

TEST_CASE("pii ssn and nino", "[eval][pii]") {
  CHECK(found("SSN 123-45-6789.") == "ssn:123-45-6789");
  CHECK(found("SSN 123 45 6789", kind(PiiKind::ssn)) == "ssn:123 45 6789");
  CHECK(found("000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 123-45 6789", kind(PiiKind::ssn)) == "");
  CHECK(found("NI AB 12 34 56 C and AB123456D", kind(PiiKind::nino)) == "nino:AB 12 34 56 C|nino:AB123456D");
  CHECK(found("GB123456A QQ123456C AB123456E", kind(PiiKind::nino)) == "");
}

TEST_CASE("pii ip: IPv4 octets and IPv6", "[eval][pii]") {
  CHECK(found("from 192.168.1.20.") == "ip:192.168.1.20");
  CHECK(found("256.1.1.1 01.2.3.4 1.2.3", kind(PiiKind::ip)) == "");
  CHECK(found("host 2001:db8::1 and ::1", kind(PiiKind::ip)) == "ip:2001:db8::1|ip:::1");
  CHECK(found("fe80::1ff:fe23:4567:890a", kind(PiiKind::ip)) == "ip:fe80::1ff:fe23:4567:890a");
  CHECK(found("std::vector at 10:30:00, MAC 00:1A:2B:3C:4D:5E", kind(PiiKind::ip)) == "");
}

TEST_CASE("pii masks what it found", "[eval][pii]") {
  CHECK(mask_pii("4111 1111 1111 1111") == "4111…1111");
  CHECK(mask_pii("123-45-6789") == "12…89");
  CHECK(mask_pii("::1") == "…");
}

TEST_CASE("pii verdicts name the kind and the span, masked", "[eval][pii]") {
  const json all{{"type", "pii"}};
  CHECK(check(all, "Thanks, we will be in touch.") == "pass|output holds no pii (email, phone, card, iban, ssn, nino, ip)");
  CHECK(check(all, "Card: 4111 1111 1111 1111.") == "fail|output holds pii: card at bytes 7-25 (4111…1111)");
  CHECK(check(all, "mail john.doe@example.com or 123-45-6789") ==
        "fail|output holds pii: email at bytes 6-25 (john….com) and 1 more");
  SECTION("only the kinds in value") {
    const json cards{{"type", "pii"}, {"value", json::array({"card"})}};
    CHECK(check(cards, "mail john.doe@example.com") == "pass|output holds no pii (card)");
    CHECK(check(json{{"type", "pii"}, {"value", "email, ip"}}, "from 10.0.0.1") ==
          "fail|output holds pii: ip at bytes 6-13 (10….1)");
  }
  SECTION("on the rendered input") {
    const json spec{{"type", "pii"}, {"on", "input"}};
    EvalContext context;
    context.input = std::string_view("Summarize for jane@example.org");
    CHECK(check(spec, "a summary", context) == "fail|input holds pii: email at bytes 15-30 (jane….org)");
    CHECK(check(spec, "jane@example.org") == "error|cases.jsonl:3: pii on = \"input\" has no rendered input here");
    CHECK(check(json{{"type", "pii"}, {"on", "output"}}, "a summary", context) ==
          "pass|output holds no pii (email, phone, card, iban, ssn, nino, ip)");
  }
}

TEST_CASE("malformed pii assertions are one error at parse time", "[eval][pii]") {
  CHECK(diagnose(json{{"type", "pii"}, {"value", json::array({"email", "mail"})}}) ==
        "rejected\np.toml:7: error: unknown pii kind 'mail' [did you mean 'email'?]");
  CHECK(diagnose(json{{"type", "pii"}, {"value", "passport"}}) ==
        "rejected\np.toml:7: error: unknown pii kind 'passport' [expected one of email, phone, card, iban, ssn, "
        "nino, ip]");
  CHECK(diagnose(json{{"type", "pii"}, {"value", 3}}) ==
        "rejected\np.toml:7: error: pii assertion 'value' must be a list of kinds or a comma-separated string "
        "[write value = [\"email\", \"card\"]; the kinds are email, phone, card, iban, ssn, nino, ip]");
  CHECK(diagnose(json{{"type", "pii"}, {"value", json::array()}}) ==
        "rejected\np.toml:7: error: pii assertion 'value' names no kind [leave 'value' out to check every kind]");
  CHECK(diagnose(json{{"type", "pii"}, {"on", "prompt"}}) ==
        "rejected\np.toml:7: error: pii assertion option 'on' must be \"output\" or \"input\" []");
}
