// SPDX-License-Identifier: MIT
// Small text helpers the unit tests share: diagnostics as lines, git output as ids.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/config/diagnostic.hpp>
#include <promptops/git/git.hpp>

namespace promptops::test {

// Every diagnostic as "location: severity: message [code] (hint)", one per line.
inline std::string listing(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.format() + " [" + d.code + "]";
    if (!d.hint.empty()) {
      out += " (" + d.hint + ")";
    }
    out += "\n";
  }
  return out;
}

// The text without its trailing newlines (git's output lines).
inline std::string chomp(std::string text) {
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  return text;
}

// The id git printed (e.g. `git rev-parse` output); REQUIREs that it parses.
inline git::Oid oid(const std::string& hex) {
  const auto parsed = git::Oid::parse(chomp(hex));
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace promptops::test
