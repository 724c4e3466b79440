// SPDX-License-Identifier: MIT
// Unit tests of the dtl word diff: tokens, runs, plain and colour markers, changed lines.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <promptops/diff/diff.hpp>

using namespace promptops::diff;

namespace {

Run eq(const std::string& text) { return Run{RunKind::equal, text}; }
Run ins(const std::string& text) { return Run{RunKind::insert, text}; }
Run del(const std::string& text) { return Run{RunKind::remove, text}; }

}  // namespace

TEST_CASE("word_tokens cuts text into words and whitespace", "[diff]") {
  SECTION("words and runs of whitespace") {
    CHECK(word_tokens("Hi  there,\n\tyou") == std::vector<std::string>{"Hi", "  ", "there,", "\n\t", "you"});
  }
  SECTION("leading and trailing whitespace") {
    CHECK(word_tokens(" a ") == std::vector<std::string>{" ", "a", " "});
  }
  SECTION("empty text") { CHECK(word_tokens("").empty()); }
}

TEST_CASE("word_diff gives exact runs", "[diff]") {
  SECTION("equal texts are one equal run") {
    CHECK(word_diff("Hello {{who}}!", "Hello {{who}}!") == std::vector<Run>{eq("Hello {{who}}!")});
  }
  SECTION("one word replaced") {
    CHECK(word_diff("Hello {{who}}!", "Hi {{who}}!") == std::vector<Run>{del("Hello"), ins("Hi"), eq(" {{who}}!")});
  }
  SECTION("words inserted") {
    CHECK(word_diff("Cards are in scope.", "Cards and loans are in scope.") ==
          std::vector<Run>{eq("Cards "), ins("and loans "), eq("are in scope.")});
  }
  SECTION("a word deleted") {
    CHECK(word_diff("be very brief", "be brief") == std::vector<Run>{eq("be "), del("very "), eq("brief")});
  }
  SECTION("from and to empty text") {
    CHECK(word_diff("", "new text") == std::vector<Run>{ins("new text")});
    CHECK(word_diff("old text", "") == std::vector<Run>{del("old text")});
    CHECK(word_diff("", "").empty());
  }
  SECTION("kind names") {
    CHECK(std::string(kind_name(RunKind::equal)) == "equal");
    CHECK(std::string(kind_name(RunKind::insert)) == "insert");
    CHECK(std::string(kind_name(RunKind::remove)) == "delete");
  }
}

TEST_CASE("render marks changes like git diff --word-diff=plain or in colour", "[diff]") {
  const std::vector<Run> runs{del("Hello"), ins("Hi"), eq(" {{who}}!")};
  SECTION("plain") { CHECK(render(runs) == "[-Hello-]{+Hi+} {{who}}!"); }
  SECTION("colour") { CHECK(render(runs, Markers::color) == "\x1b[31mHello\x1b[m\x1b[32mHi\x1b[m {{who}}!"); }
}

TEST_CASE("changed_lines keeps only the lines that hold a change", "[diff]") {
  SECTION("one changed line among equal ones") {
    const auto runs = word_diff("Answer yes or no.\nCards are in scope.\nBe brief.\n",
                                "Answer yes or no.\nCards and loans are in scope.\nBe brief.\n");
    CHECK(changed_lines(runs) == std::vector<std::string>{"Cards {+and loans +}are in scope."});
  }
  SECTION("an added line") {
    const auto runs = word_diff("one\n", "one\ntwo\n");
    CHECK(changed_lines(runs) == std::vector<std::string>{"{+two+}"});
  }
  SECTION("no change, no lines") { CHECK(changed_lines(word_diff("same\n", "same\n")).empty()); }
}
