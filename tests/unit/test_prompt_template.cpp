// SPDX-License-Identifier: MIT
// Unit tests for Mustache template analysis and rendering.
#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/prompt/template.hpp>

using namespace promptops;

namespace {

// "name@line:col" per variable, with "*" for names used only inside a section.
std::string variables_of(std::string_view text) {
  std::string out;
  for (const TemplateVariable& v : analyze_template(text).variables) {
    if (!out.empty()) {
      out += " ";
    }
    out += v.name + "@" + std::to_string(v.line) + ":" + std::to_string(v.column) + (v.in_section ? "*" : "");
  }
  return out;
}

std::string error_of(std::string_view text) {
  const TemplateInfo info = analyze_template(text);
  return info.error + "@" + std::to_string(info.error_line) + ":" + std::to_string(info.error_column);
}

}  // namespace

TEST_CASE("analyze_template finds every kind of tag", "[prompt]") {
  SECTION("plain, triple and & variables, first use only") {
    CHECK(variables_of("Hi {{name}}, {{{raw}}} and {{& amp }} {{name}}") == "name@1:4 raw@1:14 amp@1:28");
  }
  SECTION("comments and partials are not variables") {
    CHECK(variables_of("{{! a comment }}{{> header}}{{x}}") == "x@1:29");
    CHECK(variables_of("{{!\nmulti-line comment\n}}{{y}}") == "y@3:3");
  }
  SECTION("dotted names give their first component; . is the implicit iterator") {
    CHECK(variables_of("{{user.name}} {{user.email}}") == "user@1:1");
    CHECK(variables_of("{{#items}}{{.}}{{/items}}") == "items@1:1");
  }
  SECTION("sections and inverted sections") {
    CHECK(variables_of("{{#items}}\n  - {{name}} {{price}}\n{{/items}}{{^items}}none{{/items}}") ==
          "items@1:1 name@2:5* price@2:14*");
    CHECK(variables_of("{{#a}}{{#b}}{{c}}{{/b}}{{/a}}") == "a@1:1 b@1:7* c@1:13*");
    // A name used inside a section and later outside it is not section-only.
    CHECK(variables_of("{{#s}}{{x}}{{/s}} {{x}}") == "s@1:1 x@1:7");
  }
  SECTION("delimiter changes") {
    CHECK(variables_of("{{=<% %>=}}<% a %> {{not_a_tag}} <%={{ }}=%>{{b}}") == "a@1:12 b@1:45");
    CHECK(variables_of("{{= | | =}}|#list||item||/list|") == "list@1:12 item@1:19*");
  }
  SECTION("no tags at all, JSON and unicode") {
    CHECK(analyze_template("{\"a\": 1, \"b\": [1, {\"c\": 2}]}").variables.empty());
    CHECK(analyze_template("").variables.empty());
    // Columns count bytes: "é" is two.
    CHECK(variables_of("é {{x}}\n✓{{y}}") == "x@1:4 y@2:4");
  }
}

TEST_CASE("analyze_template reports syntax errors with their position", "[prompt]") {
  CHECK(error_of("ok {{name}}") == "@0:0");
  CHECK(error_of("line\n  {{name") == "unclosed tag@2:3");
  CHECK(error_of("{{{raw}}") == "unclosed tag@1:1");
  CHECK(error_of("a\n{{#items}}\n{{x}}") == "unclosed section 'items'@2:1");
  CHECK(error_of("{{#a}}{{#b}}{{/a}}{{/b}}") == "mismatched close 'a' for section 'b'@1:13");
  CHECK(error_of("x {{/a}}") == "unopened section 'a'@1:3");
  CHECK(error_of("{{=<%=}}") == "invalid delimiter change@1:1");
  // Variables before the error are still listed.
  CHECK(analyze_template("{{a}} {{b").variables.size() == 1);
}

TEST_CASE("render_template inserts values without escaping", "[prompt]") {
  SECTION("no HTML escaping in any tag kind") {
    const nlohmann::json ctx = {{"v", "<b>&\"'"}};
    CHECK(render_template("{{v}}|{{{v}}}|{{&v}}", ctx) == "<b>&\"'|<b>&\"'|<b>&\"'");
  }
  SECTION("text without tags renders verbatim, JSON included") {
    const std::string json_text = "Answer as {\"a\": 1, \"b\": [true, null]} and <xml a=\"1\"/> & done";
    CHECK(render_template(json_text, nlohmann::json::object()) == json_text);
    CHECK(render_template("{\"q\": \"{{q}}\"}", {{"q", "hi"}}) == "{\"q\": \"hi\"}");
  }
  SECTION("unicode passes through") {
    CHECK(render_template("Привет, {{name}} ✓ 🎉", {{"name", "Zoë — 日本"}}) == "Привет, Zoë — 日本 ✓ 🎉");
  }
  SECTION("numbers and booleans") {
    const nlohmann::json ctx = {{"n", 42}, {"f", 0.5}, {"t", true}, {"no", false}, {"nothing", nullptr}};
    CHECK(render_template("{{n}} {{f}} {{t}}", ctx) == "42 0.5 true");
    CHECK(render_template("{{#t}}yes{{/t}}{{^t}}no{{/t}}", ctx) == "yes");
    CHECK(render_template("{{#no}}yes{{/no}}{{^no}}no{{/no}}", ctx) == "no");
    CHECK(render_template("[{{nothing}}]{{^nothing}}absent{{/nothing}}", ctx) == "[]absent");
  }
  SECTION("missing names render as nothing") {
    CHECK(render_template("a{{missing}}b", nlohmann::json::object()) == "ab");
  }
  SECTION("lists, objects and dotted names") {
    const nlohmann::json ctx = {{"items", {{{"name", "tea"}}, {{"name", "cake"}}}},
                                {"tags", {"x", "y"}},
                                {"user", {{"name", "Ann"}}},
                                {"empty", nlohmann::json::array()}};
    CHECK(render_template("{{#items}}- {{name}}\n{{/items}}", ctx) == "- tea\n- cake\n");
    CHECK(render_template("{{#tags}}[{{.}}]{{/tags}}", ctx) == "[x][y]");
    CHECK(render_template("{{user.name}}", ctx) == "Ann");
    CHECK(render_template("{{#empty}}x{{/empty}}{{^empty}}none{{/empty}}", ctx) == "none");
  }
  SECTION("comments and delimiter changes") {
    CHECK(render_template("a{{! note }}b", nlohmann::json::object()) == "ab");
    CHECK(render_template("{{=<% %>=}}{{x}} <% x %>", {{"x", "1"}}) == "{{x}} 1");
  }
  SECTION("syntax errors throw ConfigError") {
    CHECK_THROWS_AS(render_template("{{#a}}", nlohmann::json::object()), ConfigError);
    CHECK_THROWS_WITH(render_template("x\n{{name", nlohmann::json::object()),
                      "template syntax error at line 2, column 1: unclosed tag");
  }
}

namespace {

std::string repeated(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

// `depth` sections named a, one inside the other, around "x".
std::string nested_sections(std::size_t depth) {
  return repeated("{{#a}}", depth) + "x" + repeated("{{/a}}", depth);
}

}  // namespace

TEST_CASE("templates nest sections at most 64 levels deep", "[prompt]") {
  CHECK(analyze_template(nested_sections(64)).error.empty());
  CHECK(render_template(nested_sections(64), {{"a", true}}) == "x");
  CHECK(error_of(nested_sections(65)) == "sections nested deeper than 64 levels@1:385");
  SECTION("100,000 levels: the scan stops at the 65th, and kainjow never sees the text") {
    const std::string deep = nested_sections(100000);
    CHECK(error_of(deep) == "sections nested deeper than 64 levels@1:385");
    CHECK_THROWS_WITH(render_template(deep, {{"a", true}}),
                      "template syntax error at line 1, column 385: sections nested deeper than 64 levels");
  }
  SECTION("inverted sections count too") {
    CHECK(error_of(repeated("{{^a}}", 65)) == "sections nested deeper than 64 levels@1:385");
  }
}

TEST_CASE("render_template bounds the template and the text it renders", "[prompt]") {
  SECTION("a template over 4 MiB is refused before kainjow parses it") {
    const std::string big = repeated("word ", (k_max_rendered_bytes / 5) + 1);
    CHECK(error_of(big) == "template is larger than 4 MiB@1:1");
    CHECK_THROWS_WITH(render_template(big, nlohmann::json::object()),
                      "template syntax error at line 1, column 1: template is larger than 4 MiB");
  }
  SECTION("a text at the limit renders; one byte more is an error") {
    const nlohmann::json ctx = {{"v", std::string(k_max_rendered_bytes - 2, 'v')}};
    CHECK(render_template("[{{v}}]", ctx).size() == k_max_rendered_bytes);
    CHECK_THROWS_WITH(render_template("[{{v}}]!", ctx), "rendered text is larger than 4 MiB");
  }
  SECTION("a list that repeats a line stops at the limit") {
    const nlohmann::json ctx = {{"items", nlohmann::json::array()}, {"v", std::string(1000, 'v')}};
    nlohmann::json items = nlohmann::json::array();
    for (int i = 0; i < 5000; ++i) {
      items.push_back(i);
    }
    CHECK_THROWS_WITH(render_template("{{#items}}{{v}}\n{{/items}}", {{"items", items}, {"v", ctx["v"]}}),
                      "rendered text is larger than 4 MiB");
  }
  SECTION("nested lists that multiply one line, with no newline to flush it, stop early") {
    nlohmann::json items = nlohmann::json::array();
    for (int i = 0; i < 100; ++i) {
      items.push_back(i);
    }
    // 100^6 iterations of a tiny section: the work budget stops it, not the output.
    CHECK_THROWS_WITH(render_template(nested_sections(6), {{"a", items}}), "rendered text is larger than 4 MiB");
    // A long text with one short iterated section is not charged the long text per iteration.
    const std::string long_text = "{{#intro}}" + std::string(200000, 'i') + "{{/intro}}{{#a}}{{.}},{{/a}}";
    CHECK(render_template(long_text, {{"intro", true}, {"a", items}}).size() == 200000 + 290);
  }
}

TEST_CASE("render_template refuses values nested deeper than 128 levels", "[prompt]") {
  nlohmann::json deep = "leaf";
  for (int i = 0; i < 127; ++i) {
    deep = nlohmann::json::array({deep});
  }
  CHECK(render_template("ok", {{"v", deep}}) == "ok");  // the context object is level 1
  deep = nlohmann::json::array({deep});
  CHECK_THROWS_WITH(render_template("ok", {{"v", deep}}),
                    "template values nest arrays and objects deeper than 128 levels");
}
