// SPDX-License-Identifier: MIT
// Unit tests for in-place edits of prompt files: message content and model, every other byte kept.
#include <catch2/catch.hpp>

#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/prompt_edit.hpp>

#include "support/text.hpp"

using namespace promptops;
using promptops::test::listing;

namespace {

Prompt parse_ok(std::string_view text, const std::string& path) {
  ParsedPrompt parsed = parse_prompt(text, path, "p");
  INFO(listing(parsed.diagnostics));
  REQUIRE(!has_errors(parsed.diagnostics));
  REQUIRE(parsed.prompt.has_value());
  return *parsed.prompt;
}

// The file with message `index` replaced; parsing it again gives exactly `content`.
std::string replaced(std::string_view text, const std::string& path, std::size_t index,
                     std::string_view content) {
  const Prompt prompt = parse_ok(text, path);
  const std::string out = replace_message_content(text, prompt, index, content);
  const Prompt again = parse_ok(out, path);
  REQUIRE(again.messages.size() > index);
  CHECK(again.messages[index].content == content);
  return out;
}

// The file with the model set; parsing it again gives that model.
std::string with_model(std::string_view text, const std::string& path, std::string_view provider,
                       std::string_view name) {
  const Prompt prompt = parse_ok(text, path);
  const std::string out = replace_model(text, prompt, provider, name);
  const Prompt again = parse_ok(out, path);
  CHECK(again.model.name == name);
  CHECK(again.model.provider == (provider.empty() ? prompt.model.provider : std::string(provider)));
  return out;
}

// Quotes, backslashes, a tab and non-ASCII text: `Say """hi""" \n<TAB>Tab é 🎉` NL `end "`.
const std::string k_tricky = "Say \"\"\"hi\"\"\" \\n\tTab \xC3\xA9 \xF0\x9F\x8E\x89\nend \"";

}  // namespace

TEST_CASE("a one-line basic template is replaced and comments and other keys stay", "[prompt_edit]") {
  const std::string text = R"(# classify questions
description = 'Scope check'   # a literal
template = "Is {{question}} in scope?"  # the prompt
tags = [ "a",  "b" ]

[model]
name = "gpt-4o-mini"
)";
  CHECK(replaced(text, "p.toml", 0, "Answer \"yes\" or no: {{question}}") == R"(# classify questions
description = 'Scope check'   # a literal
template = "Answer \"yes\" or no: {{question}}"  # the prompt
tags = [ "a",  "b" ]

[model]
name = "gpt-4o-mini"
)");
}

TEST_CASE("a one-line basic string escapes backslashes and control characters", "[prompt_edit]") {
  SECTION("new content") {
    CHECK(replaced("template = \"x\"\n", "p.toml", 0, "a\\b\x07 cr\r\ttab\x7F") ==
          "template = \"a\\\\b\\u0007 cr\\r\ttab\\u007F\"\n");
  }
  SECTION("an old value with escaped quotes and a final backslash") {
    CHECK(replaced(R"(template = "say \"hi\" \\" # "not" the end)"
                   "\n",
                   "p.toml", 0, "x") == R"(template = "x" # "not" the end)"
                                        "\n");
  }
}

TEST_CASE("a multi-line basic template keeps its leading newline", "[prompt_edit]") {
  const std::string text = R"(template = """
Line one {{x}}
Line two"""
description = "d"
)";
  CHECK(replaced(text, "p.toml", 0, "New one {{x}}\nNew two\n") == R"(template = """
New one {{x}}
New two
"""
description = "d"
)");
}

TEST_CASE("a multi-line literal template stays literal", "[prompt_edit]") {
  const std::string text = "template = '''\nC:\\path {{x}}\n'''\n";
  SECTION("backslashes") {
    CHECK(replaced(text, "p.toml", 0, "D:\\other {{x}}\nmore\n") ==
          "template = '''\nD:\\other {{x}}\nmore\n'''\n");
  }
  SECTION("quotes, tabs and non-ASCII text") {
    CHECK(replaced(text, "p.toml", 0, k_tricky) ==
          "template = '''\n"
          "Say \"\"\"hi\"\"\" \\n\tTab \xC3\xA9 \xF0\x9F\x8E\x89\n"
          "end \"'''\n");
  }
  SECTION("single quotes at both ends") {
    CHECK(replaced(text, "p.toml", 0, "'quoted' {{x}}''") == "template = '''\n'quoted' {{x}}'''''\n");
  }
}

TEST_CASE("content a literal cannot hold becomes a multi-line basic string", "[prompt_edit]") {
  SECTION("three single quotes") {
    CHECK(replaced("template = '''\nx'''\n", "p.toml", 0, "say '''{{x}}'''\nnow''") ==
          "template = \"\"\"\nsay '''{{x}}'''\nnow''\"\"\"\n");
  }
  SECTION("a control character") {
    CHECK(replaced("template = '''x'''\n", "p.toml", 0, "a\rb") == "template = \"\"\"a\\rb\"\"\"\n");
  }
}

TEST_CASE("quotes, backslashes, tabs and non-ASCII text round-trip in a multi-line basic string",
          "[prompt_edit]") {
  SECTION("from a one-line basic string") {
    CHECK(replaced("template = \"x\" # c\n", "p.toml", 0, k_tricky) ==
          "template = \"\"\"Say \"\"\\\"hi\"\"\\\" \\\\n\tTab \xC3\xA9 \xF0\x9F\x8E\x89\n"
          "end \"\"\"\" # c\n");
  }
  SECTION("runs of quotes everywhere") {
    CHECK(replaced("template = \"\"\"x\"\"\"\n", "p.toml", 0, "\"\"\"\"\"\"\"\n\"\"") ==
          "template = \"\"\"\"\"\\\"\"\"\\\"\"\n\"\"\"\"\"\n");
  }
  SECTION("content that starts with a newline") {
    CHECK(replaced("template = \"\"\"x\"\"\"\n", "p.toml", 0, "\nstarts with a newline") ==
          "template = \"\"\"\n\nstarts with a newline\"\"\"\n");
  }
}

TEST_CASE("an old multi-line value that ends in quotes is found whole", "[prompt_edit]") {
  SECTION("basic, two quotes before the delimiter") {
    CHECK(replaced(R"(template = """He said "hi"""""  # c
description = """d"""
)",
                   "p.toml", 0, "She said \"bye\"") ==
          R"(template = """She said "bye""""  # c
description = """d"""
)");
  }
  SECTION("basic, quotes at the start and an escaped quote") {
    CHECK(replaced(R"(template = """""x\""""" # c)"
                   "\n",
                   "p.toml", 0, "y") == "template = \"\"\"y\"\"\" # c\n");
  }
  SECTION("literal, two quotes before the delimiter") {
    CHECK(replaced("template = '''it'''''  # c\ndescription = '''d'''\n", "p.toml", 0, "that'") ==
          "template = '''that''''  # c\ndescription = '''d'''\n");
  }
}

TEST_CASE("a one-line literal that gets a quote or a newline changes style", "[prompt_edit]") {
  const std::string text = "template = 'plain {{x}}'\n";
  SECTION("a quote: multi-line basic") {
    CHECK(replaced(text, "p.toml", 0, "it's {{x}}") == "template = \"\"\"it's {{x}}\"\"\"\n");
  }
  SECTION("no quote: still a literal") {
    CHECK(replaced(text, "p.toml", 0, "no quote {{x}}") == "template = 'no quote {{x}}'\n");
  }
  SECTION("a newline: multi-line literal") {
    CHECK(replaced(text, "p.toml", 0, "two\nlines {{x}}") == "template = '''two\nlines {{x}}'''\n");
  }
  SECTION("a newline and a quote: multi-line literal") {
    CHECK(replaced(text, "p.toml", 0, "it's\n{{x}}") == "template = '''it's\n{{x}}'''\n");
  }
}

TEST_CASE("one of several [[messages]] is replaced", "[prompt_edit]") {
  const std::string text = R"([[messages]]
role = "system"
content = "You are terse."

[[messages]]
role = "user"
content = '{{question}}'  # asked
)";
  SECTION("the system message") {
    CHECK(replaced(text, "p.toml", 0, "You are brief.") == R"([[messages]]
role = "system"
content = "You are brief."

[[messages]]
role = "user"
content = '{{question}}'  # asked
)");
  }
  SECTION("the user message") {
    CHECK(replaced(text, "p.toml", 1, "Q: {{question}}") == R"([[messages]]
role = "system"
content = "You are terse."

[[messages]]
role = "user"
content = 'Q: {{question}}'  # asked
)");
  }
}

TEST_CASE("messages in an inline array of inline tables are replaced", "[prompt_edit]") {
  const std::string text = R"(messages = [
  { role = "system", content = "Be terse." },  # sys
  { content = '{{q}}', role = "user" },
]
)";
  SECTION("the first") {
    CHECK(replaced(text, "p.toml", 0, "Be brief, \"always\".") == R"(messages = [
  { role = "system", content = "Be brief, \"always\"." },  # sys
  { content = '{{q}}', role = "user" },
]
)");
  }
  SECTION("the second, with a newline") {
    CHECK(replaced(text, "p.toml", 1, "Q: {{q}}\nA:") == R"(messages = [
  { role = "system", content = "Be terse." },  # sys
  { content = '''Q: {{q}}
A:''', role = "user" },
]
)");
  }
}

TEST_CASE("a text prompt's body is replaced and its final newline kept", "[prompt_edit]") {
  SECTION("with a final newline") {
    CHECK(replaced("Hello {{name}}\n", "p.txt", 0, "Hi {{name}}\nBye") == "Hi {{name}}\nBye\n");
  }
  SECTION("without a final newline") {
    CHECK(replaced("Hello {{name}}", "p.txt", 0, "Hi {{name}}") == "Hi {{name}}");
  }
  SECTION("content that ends with a newline gets a final newline") {
    CHECK(replaced("Hello {{name}}", "p.txt", 0, "Hi {{name}}\n") == "Hi {{name}}\n\n");
    CHECK(replaced("Hello {{name}}\n", "p.txt", 0, "Hi {{name}}\n") == "Hi {{name}}\n\n");
  }
  SECTION("with front matter") {
    CHECK(replaced("+++\ndescription = \"greet\"  # front\n+++\nHello {{name}}\n", "p.md", 0,
                   "Hi\n\n{{name}}") == "+++\ndescription = \"greet\"  # front\n+++\nHi\n\n{{name}}\n");
  }
  SECTION("with front matter, a body that starts with +++") {
    CHECK(replaced("+++\n+++\nHello\n", "p.md", 0, "+++\nHi") == "+++\n+++\n+++\nHi\n");
  }
  SECTION("with a byte order mark") {
    CHECK(replaced("\xEF\xBB\xBFHello\n", "p.md", 0, "Hi") == "\xEF\xBB\xBFHi\n");
  }
}

TEST_CASE("CRLF files keep their line endings", "[prompt_edit]") {
  SECTION("a multi-line basic string writes content newlines as CRLF") {
    CHECK(replaced("# c\r\ntemplate = \"\"\"\r\nOne\r\nTwo\"\"\"\r\ndescription = \"d\"\r\n", "p.toml", 0,
                   "Uno\nDos\nTres") ==
          "# c\r\ntemplate = \"\"\"\r\nUno\r\nDos\r\nTres\"\"\"\r\ndescription = \"d\"\r\n");
  }
  SECTION("a one-line string that becomes multi-line") {
    CHECK(replaced("template = \"x\"\r\n", "p.toml", 0, "a\nb") == "template = \"\"\"a\r\nb\"\"\"\r\n");
  }
  SECTION("a carriage return of the content is escaped") {
    CHECK(replaced("template = \"\"\"x\"\"\"\r\n", "p.toml", 0, "a\r\nb") ==
          "template = \"\"\"a\\r\r\nb\"\"\"\r\n");
  }
  SECTION("a text prompt's body is written as given") {
    CHECK(replaced("Hello\r\nWorld\r\n", "p.txt", 0, "Hi\r\nthere") == "Hi\r\nthere\r\n");
    CHECK(replaced("Hello\r\n", "p.txt", 0, "Hi\nthere") == "Hi\nthere\r\n");
  }
}

TEST_CASE("a byte order mark stays in front of a TOML prompt", "[prompt_edit]") {
  CHECK(replaced("\xEF\xBB\xBFtemplate = \"x\" # c\n", "p.toml", 0, "y") ==
        "\xEF\xBB\xBFtemplate = \"y\" # c\n");
}

TEST_CASE("content that would not make a valid prompt is refused", "[prompt_edit]") {
  SECTION("a template syntax error") {
    const std::string text = "template = \"x\"\n";
    const Prompt prompt = parse_ok(text, "p.toml");
    CHECK_THROWS_WITH(replace_message_content(text, prompt, 0, "{{#open}} never closed"),
                      "cannot replace message 1 in p.toml: the result would not be valid: p.toml:1:13: "
                      "template syntax error: unclosed section 'open'");
  }
  SECTION("no such message") {
    const std::string text = "template = \"x\"\n";
    const Prompt prompt = parse_ok(text, "p.toml");
    CHECK_THROWS_WITH(replace_message_content(text, prompt, 1, "x"), "internal: p.toml has no message 2");
  }
  SECTION("an empty text prompt") {
    const Prompt body = parse_ok("Hello\n", "p.txt");
    CHECK_THROWS_WITH(replace_message_content("Hello\n", body, 0, "  "),
                      "cannot replace message 1 in p.txt: the result would not be valid: p.txt: prompt "
                      "has no template");
  }
  SECTION("a body that would be read as front matter") {
    const Prompt body = parse_ok("Hello\n", "p.txt");
    CHECK_THROWS_WITH(replace_message_content("Hello\n", body, 0, "+++\n+++\nHi"),
                      "cannot replace message 1 in p.txt: the new text starts with a +++ line, which would "
                      "be read as front matter");
  }
}

TEST_CASE("an existing model name is replaced in place", "[prompt_edit]") {
  const std::string text = R"(template = "x"

[model]
provider = "openai"  # vendor
name = 'gpt-4o'   # model
temperature = 0
)";
  SECTION("the name") {
    CHECK(with_model(text, "p.toml", "", "gpt-4o-mini") == R"(template = "x"

[model]
provider = "openai"  # vendor
name = 'gpt-4o-mini'   # model
temperature = 0
)");
  }
  SECTION("the provider and the name") {
    CHECK(with_model(text, "p.toml", "anthropic", "claude") == R"(template = "x"

[model]
provider = "anthropic"  # vendor
name = 'claude'   # model
temperature = 0
)");
  }
  SECTION("written with dotted keys or inline") {
    CHECK(with_model("model.name = \"big\" # m\ntemplate = \"x\"\n", "p.toml", "", "small") ==
          "model.name = \"small\" # m\ntemplate = \"x\"\n");
    CHECK(with_model("model = { provider = 'a', name = \"big\" }\ntemplate = \"x\"\n", "p.toml", "b",
                     "small") == "model = { provider = 'b', name = \"small\" }\ntemplate = \"x\"\n");
  }
}

TEST_CASE("a missing name goes on the line after the [model] header", "[prompt_edit]") {
  const std::string text = "template = \"x\"\n[model] # which\ntemperature = 0.2\n";
  SECTION("the name") {
    CHECK(with_model(text, "p.toml", "", "small") ==
          "template = \"x\"\n[model] # which\nname = \"small\"\ntemperature = 0.2\n");
  }
  SECTION("the provider and the name") {
    CHECK(with_model(text, "p.toml", "local", "small") ==
          "template = \"x\"\n[model] # which\nprovider = \"local\"\nname = \"small\"\ntemperature = 0.2\n");
  }
  SECTION("a header at the end of a CRLF file") {
    CHECK(with_model("template = \"x\"\r\n[model]", "p.toml", "", "small") ==
          "template = \"x\"\r\n[model]\r\nname = \"small\"\r\n");
  }
  SECTION("the provider is inserted, the name replaced") {
    CHECK(with_model("template = \"x\"\n[ model ]\nname = \"big\"\n", "p.toml", "local", "small") ==
          "template = \"x\"\n[ model ]\nprovider = \"local\"\nname = \"small\"\n");
  }
}

TEST_CASE("a [model] table is appended when there is none", "[prompt_edit]") {
  SECTION("after a final newline") {
    CHECK(with_model("template = \"x\"\n", "p.toml", "", "small") ==
          "template = \"x\"\n\n[model]\nname = \"small\"\n");
  }
  SECTION("after a blank line") {
    CHECK(with_model("template = \"x\"\n\n", "p.toml", "", "small") ==
          "template = \"x\"\n\n[model]\nname = \"small\"\n");
  }
  SECTION("without a final newline") {
    CHECK(with_model("template = \"x\"", "p.toml", "", "small") ==
          "template = \"x\"\n\n[model]\nname = \"small\"\n");
  }
  SECTION("in a CRLF file, with a provider") {
    CHECK(with_model("template = \"x\"\r\n", "p.toml", "local", "small") ==
          "template = \"x\"\r\n\r\n[model]\r\nprovider = \"local\"\r\nname = \"small\"\r\n");
  }
  SECTION("after a [model.params] table") {
    CHECK(with_model("template = \"x\"\n[model.params]\nseed = 1\n", "p.toml", "", "small") ==
          "template = \"x\"\n[model.params]\nseed = 1\n\n[model]\nname = \"small\"\n");
  }
}

TEST_CASE("a text prompt's model goes into its front matter", "[prompt_edit]") {
  SECTION("front matter without a model") {
    CHECK(with_model("+++\ndescription = \"d\"\n+++\nHello\n", "p.md", "", "small") ==
          "+++\ndescription = \"d\"\n\n[model]\nname = \"small\"\n+++\nHello\n");
  }
  SECTION("front matter with a model") {
    CHECK(with_model("+++\n[model]\nname = \"big\"\n+++\nHello\n", "p.md", "local", "small") ==
          "+++\n[model]\nprovider = \"local\"\nname = \"small\"\n+++\nHello\n");
  }
  SECTION("no front matter") {
    CHECK(with_model("Hello\n", "p.md", "", "small") == "+++\n[model]\nname = \"small\"\n+++\nHello\n");
  }
  SECTION("no front matter, CRLF") {
    CHECK(with_model("Hello\r\n", "p.md", "local", "small") ==
          "+++\r\n[model]\r\nprovider = \"local\"\r\nname = \"small\"\r\n+++\r\nHello\r\n");
  }
  SECTION("no front matter, a byte order mark") {
    CHECK(with_model("\xEF\xBB\xBFHello", "p.md", "", "small") ==
          "\xEF\xBB\xBF+++\n[model]\nname = \"small\"\n+++\nHello");
  }
}

TEST_CASE("a model that cannot be added to is left to be edited by hand", "[prompt_edit]") {
  SECTION("root dotted keys") {
    const std::string text = "model.provider = \"p\"\ntemplate = \"x\"\n";
    const Prompt prompt = parse_ok(text, "p.toml");
    CHECK_THROWS_WITH(replace_model(text, prompt, "", "small"),
                      "p.toml:1: cannot add to the model: it is written with dotted keys");
  }
  SECTION("root dotted keys in front matter") {
    const std::string text = "+++\ndescription = \"d\"\nmodel.provider = \"p\"\n+++\nHello\n";
    const Prompt prompt = parse_ok(text, "p.md");
    CHECK_THROWS_WITH(replace_model(text, prompt, "", "small"),
                      "p.md:3: cannot add to the model: it is written with dotted keys");
  }
  SECTION("an inline table") {
    const std::string text = "model = { name = \"x\" }\ntemplate = \"x\"\n";
    const Prompt prompt = parse_ok(text, "p.toml");
    CHECK_THROWS_WITH(replace_model(text, prompt, "local", "small"),
                      "p.toml:1: cannot add to the model: it is written as an inline table");
  }
  SECTION("a name that is not a string") {
    const std::string text = "template = \"x\"\n[model]\nname = 4\n";
    ParsedPrompt parsed = parse_prompt(text, "p.toml", "p");
    REQUIRE(parsed.prompt.has_value());
    CHECK_THROWS_WITH(replace_model(text, *parsed.prompt, "", "small"),
                      "p.toml:3: 'model.name' is not a string");
  }
}
