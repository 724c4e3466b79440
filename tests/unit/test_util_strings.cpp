// SPDX-License-Identifier: MIT
// Unit tests for util/strings and util/file.
#include <catch2/catch.hpp>

#include "support/harness.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

using namespace promptops;

TEST_CASE("strings split, join, trim and measure", "[util]") {
  CHECK(util::split("a/b//c", '/') == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(util::join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(util::trim("  x y \n") == "x y");
  CHECK(util::edit_distance("lsit", "list") == 1);
  CHECK(util::edit_distance("lsit", "init") == 2);
  CHECK(util::edit_distance("kitten", "sitting") == 3);
  CHECK(util::edit_distance("", "abc") == 3);
  CHECK(util::utf8_length("héllo ✓") == 7);
  CHECK(util::replace_all("a.b.c", ".", "::") == "a::b::c");
}

TEST_CASE("plural counts a word, with an s unless there is one", "[util]") {
  CHECK(util::plural(1, "case") == "1 case");
  CHECK(util::plural(0, "case") == "0 cases");
  CHECK(util::plural(2, "model call") == "2 model calls");
}

TEST_CASE("numbers for messages: fixed decimals and the shortest form", "[util]") {
  CHECK(util::fixed(0.5, 3) == "0.500");
  CHECK(util::fixed(0.12345, 2) == "0.12");
  CHECK(util::fixed(-0.0004, 3) == "-0.000");
  CHECK(util::fixed(2.0, 0) == "2");
  CHECK(util::shortest(0.5) == "0.5");
  CHECK(util::shortest(12.0) == "12");
  CHECK(util::shortest(95.0) == "95");
  CHECK(util::shortest(0.00001) == "1e-05");
}

TEST_CASE("line_at reads one line without its ending and trailing blanks", "[util]") {
  const std::string text = "+++ \r\nname = 1\t\nlast";
  std::size_t next = 0;
  CHECK(util::line_at(text, 0, next) == "+++");
  CHECK(next == 6);
  CHECK(util::line_at(text, next, next) == "name = 1");
  CHECK(next == 16);
  CHECK(util::line_at(text, next, next) == "last");
  CHECK(next == text.size());
  CHECK(util::line_at("", 0, next).empty());
  CHECK(next == 0);
}

TEST_CASE("atomic writes replace the whole file and leave no temp file", "[util]") {
  test::TempDir dir;
  const auto file = dir.path() / "sub" / "f.txt";
  CHECK_FALSE(util::read_file(file).has_value());
  util::write_file_atomic(file, "first");
  util::write_file_atomic(file, "second");
  CHECK(util::read_file(file).value() == "second");
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(file.parent_path())) {
    (void)entry;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("invalid_utf8_at finds the first byte of a malformed sequence", "[util]") {
  constexpr std::size_t npos = std::string_view::npos;
  CHECK(util::invalid_utf8_at("") == npos);
  CHECK(util::invalid_utf8_at("h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x8E\x89 \xF4\x8F\xBF\xBF") == npos);
  CHECK(util::invalid_utf8_at("caf\xE9!") == 3);              // Latin-1
  CHECK(util::invalid_utf8_at("ab\xC3") == 2);                // truncated at the end
  CHECK(util::invalid_utf8_at("\xC3(") == 0);                 // bad continuation
  CHECK(util::invalid_utf8_at("x\x80") == 1);                 // lone continuation byte
  CHECK(util::invalid_utf8_at("\xC0\xAF") == 0);              // overlong '/'
  CHECK(util::invalid_utf8_at("\xE0\x80\xAF") == 0);          // overlong, three bytes
  CHECK(util::invalid_utf8_at("\xED\xA0\x80") == 0);          // surrogate U+D800
  CHECK(util::invalid_utf8_at("\xF4\x90\x80\x80") == 0);      // above U+10FFFF
  CHECK(util::invalid_utf8_at("\xF5\x80\x80\x80") == 0);
}
