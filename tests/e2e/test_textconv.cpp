// SPDX-License-Identifier: MIT
// End-to-end tests of `textconv`: normalized prompt text, and plain `git diff` through .gitattributes.
#include <string>

#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

const char* k_v1 = R"(description = "Classify a question"
tags = ["support"]

[model]
provider = "openai"
name = "gpt-4o-mini"
temperature = 0

[vars]
question = { required = true, description = "the question" }

[[messages]]
role = "system"
content = """
Answer IN_SCOPE or OUT_OF_SCOPE.
Cards are in scope.
"""

[[messages]]
role = "user"
content = "{{question}}"
)";

// v1 with the tables reordered and one word of the system message changed.
const char* k_v2 = R"(tags = ["support"]
description = "Classify a question"

[[messages]]
role = "system"
content = """
Answer IN_SCOPE or OUT_OF_SCOPE.
Cards and loans are in scope.
"""

[[messages]]
role = "user"
content = "{{question}}"

[vars]
question = { description = "the question", required = true }

[model]
name = "gpt-4o-mini"
temperature = 0
provider = "openai"
)";

}  // namespace

TEST_CASE("textconv prints a prompt with fields in a fixed order and the messages verbatim", "[e2e][textconv]") {
  TempRepo repo;
  repo.write("prompts/c.toml", k_v1);
  const RunResult r = run_promptops(repo.path(), {"textconv", "prompts/c.toml"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "description: Classify a question\n"
        "tags: support\n"
        "model: openai/gpt-4o-mini\n"
        "model.temperature: 0\n"
        "var question: required -- the question\n"
        "\n--- system ---\n"
        "Answer IN_SCOPE or OUT_OF_SCOPE.\n"
        "Cards are in scope.\n"
        "\n--- user ---\n"
        "{{question}}\n");
  repo.write("prompts/d.toml", k_v2);
  CHECK(run_promptops(repo.path(), {"textconv", "prompts/d.toml"}).out ==
        "description: Classify a question\n"
        "tags: support\n"
        "model: openai/gpt-4o-mini\n"
        "model.temperature: 0\n"
        "var question: required -- the question\n"
        "\n--- system ---\n"
        "Answer IN_SCOPE or OUT_OF_SCOPE.\n"
        "Cards and loans are in scope.\n"
        "\n--- user ---\n"
        "{{question}}\n");

  SECTION("a file that is not a valid prompt is printed as it is") {
    repo.write("prompts/bad.toml", "template = \n");
    const RunResult bad = run_promptops(repo.path(), {"textconv", "prompts/bad.toml"});
    CHECK(bad.exit_code == 0);
    CHECK(bad.out == "template = \n");
  }
  SECTION("a missing file exits 2") {
    const RunResult missing = run_promptops(repo.path(), {"textconv", "prompts/none.toml"});
    CHECK(missing.exit_code == 2);
    CHECK(missing.err == "git-promptops: error: cannot read 'prompts/none.toml'\n"
                         "hint: textconv takes the path of a prompt file\n");
  }
}

TEST_CASE("git diff through diff=promptops shows the change in meaning, not in layout", "[e2e][textconv]") {
  TempRepo repo;
  repo.write(".gitattributes", "prompts/*.toml diff=promptops\n");
  repo.write("prompts/c.toml", k_v1);
  repo.commit("v1");
  repo.write("prompts/c.toml", k_v2);
  repo.git({"config", "diff.promptops.textconv", promptops_binary().string() + " textconv"});
  const std::string diff = repo.git({"diff", "--no-color", "-U0", "--", "prompts/c.toml"});
  const std::string hunks = diff.substr(diff.find("@@"));
  CHECK(hunks == "@@ -9 +9 @@ Answer IN_SCOPE or OUT_OF_SCOPE.\n"
                 "-Cards are in scope.\n"
                 "+Cards and loans are in scope.\n");
}
