// SPDX-License-Identifier: MIT
// End-to-end: init, list, show and render: the registry read at the working tree and at references.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

// A TOML prompt with one required variable `who` and the given template.
std::string greet_toml(const std::string& text) {
  return "description = \"Greets a user\"\n"
         "template = \"" + text + "\"\n"
         "\n"
         "[vars]\n"
         "who = { required = true, description = \"who to greet\" }\n";
}

// `git promptops show` text for the greet prompt at `at` with `text` as its template.
std::string greet_show(const std::string& at, const std::string& text) {
  return "prompt       greet\n"
         "path         prompts/greet.toml\n"
         "at           " + at + "\n"
         "description  Greets a user\n"
         "var          who (required)  # who to greet\n"
         "\n"
         "--- user\n" + text + "\n";
}

// greet in three versions with an unrelated commit between v2 and v3, and an edit to the working
// tree on top, so that every kind of reference reads different text.
struct GreetRepo : GreetHistory {
  GreetRepo() : GreetHistory(greet_toml) {
    repo.write("prompts/greet.toml", greet_toml("Yo {{who}}!"));
  }
};

// The files `init` writes, with the first words of each, so the test notices a wrong template.
struct Scaffolded {
  const char* path;
  const char* starts_with;
};
const Scaffolded k_scaffolded[] = {
    {".promptops.toml", "# git-promptops project configuration."},
    {"prompts/support/classify.toml", "description = \"Is a customer question inside the bank's business scope?\""},
    {"prompts/summarize.prompt", "+++\ndescription = \"Summarize a support conversation for the next agent\""},
    {"evals/classify.jsonl", "{\"id\": \"card-lost\", "},
};

}  // namespace

// --- init and list ------------------------------------------------------------------------------

TEST_CASE("init scaffolds the config, two prompts and a dataset, and a second init keeps them", "[e2e][init]") {
  TempRepo repo;
  const RunResult first = run_promptops(repo.path(), {"init"});
  CHECK(first.exit_code == 0);
  CHECK(first.err.empty());
  CHECK(first.out ==
        "created  .promptops.toml\n"
        "created  prompts/support/classify.toml\n"
        "created  prompts/summarize.prompt\n"
        "created  evals/classify.jsonl\n"
        "created  .gitattributes\n"
        "set      git config diff.promptops.textconv = git promptops textconv\n"
        "set      git config diff.promptops.cachetextconv = true\n"
        "\n"
        "Next: git promptops lint && git promptops list, then commit the files.\n"
        "Hooks: git promptops hooks install (blocks commits that regress a prompt)\n");
  for (const Scaffolded& file : k_scaffolded) {
    INFO(file.path);
    CHECK(repo.read(file.path).rfind(file.starts_with, 0) == 0);
  }

  repo.write("prompts/summarize.prompt", "Mine: {{conversation}}\n");
  const RunResult second = run_promptops(repo.path(), {"init"});
  CHECK(second.exit_code == 0);
  CHECK(second.err.empty());
  CHECK(second.out ==
        "kept     .promptops.toml (exists; --force overwrites)\n"
        "kept     prompts/support/classify.toml (exists; --force overwrites)\n"
        "kept     prompts/summarize.prompt (exists; --force overwrites)\n"
        "kept     evals/classify.jsonl (exists; --force overwrites)\n"
        "kept     .gitattributes (has the diff=promptops lines)\n"
        "\n"
        "Hooks: git promptops hooks install (blocks commits that regress a prompt)\n");
  CHECK(repo.read("prompts/summarize.prompt") == "Mine: {{conversation}}\n");
}

TEST_CASE("the scaffolded project lints clean and lists both prompts", "[e2e][init][list]") {
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);

  SECTION("lint exits 0 with no output") {
    const RunResult r = run_promptops(repo.path(), {"lint"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
  }
  SECTION("list prints a table") {
    const RunResult r = run_promptops(repo.path(), {"list"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "NAME              MODEL               VARIABLES       DESCRIPTION\n"
          "summarize         openai/gpt-4o-mini  conversation    Summarize a support conversation for the next agent\n"
          "support/classify  openai/gpt-4o-mini  question,scope  Is a customer question inside the bank's business scope?\n");
  }
  SECTION("list --format json") {
    const RunResult r = run_promptops(repo.path(), {"list", "--format", "json"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind("{\n  \"schema_version\": 1,", 0) == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("schema_version") == 1);
    CHECK(doc.at("commit").is_null());
    const auto& prompts = doc.at("prompts");
    REQUIRE(prompts.size() == 2);
    CHECK(prompts[0].at("name") == "summarize");
    CHECK(prompts[0].at("path") == "prompts/summarize.prompt");
    CHECK(prompts[0].at("format") == "text");
    CHECK(prompts[0].at("vars") ==
          nlohmann::json::parse(R"([{"name": "conversation", "required": true, "description": ""}])"));
    CHECK(prompts[1].at("name") == "support/classify");
    CHECK(prompts[1].at("path") == "prompts/support/classify.toml");
    CHECK(prompts[1].at("format") == "toml");
    CHECK(prompts[1].at("tags") == nlohmann::json::array({"support", "classifier"}));
    CHECK(prompts[1].at("model") == nlohmann::json({{"provider", "openai"}, {"name", "gpt-4o-mini"}}));
    CHECK(prompts[1].at("vars") == nlohmann::json::parse(R"([
        {"name": "question", "required": true, "description": "the customer's question"},
        {"name": "scope", "required": false, "default": "cards, payment accounts, iPay",
         "description": "what the bank covers"}])"));
  }
  SECTION("--json is --format json") {
    const RunResult a = run_promptops(repo.path(), {"list", "--json"});
    const RunResult b = run_promptops(repo.path(), {"list", "--format", "json"});
    CHECK(a.exit_code == 0);
    CHECK(a.out == b.out);
  }
  SECTION("list --format tsv") {
    const RunResult r = run_promptops(repo.path(), {"list", "--format", "tsv"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "NAME\tMODEL\tVARIABLES\tDESCRIPTION\n"
          "summarize\topenai/gpt-4o-mini\tconversation\tSummarize a support conversation for the next agent\n"
          "support/classify\topenai/gpt-4o-mini\tquestion,scope\tIs a customer question inside the bank's business scope?\n");
  }
}

TEST_CASE("list --at reads a revision and list of an empty prompt root says so", "[e2e][list]") {
  GreetRepo g;
  g.repo.write("prompts/extra.prompt", "+++\n[vars]\nx = { required = true }\n+++\nExtra {{x}}\n");

  const RunResult now = run_promptops(g.repo.path(), {"list", "--format", "tsv"});
  CHECK(now.exit_code == 0);
  CHECK(now.out ==
        "NAME\tMODEL\tVARIABLES\tDESCRIPTION\n"
        "extra\t\tx\t\n"
        "greet\t\twho\tGreets a user\n");

  const RunResult at = run_promptops(g.repo.path(), {"list", "--at", g.v1, "--json"});
  CHECK(at.exit_code == 0);
  const auto doc = nlohmann::json::parse(at.out);
  CHECK(doc.at("commit") == g.v1);
  REQUIRE(doc.at("prompts").size() == 1);
  CHECK(doc.at("prompts")[0].at("name") == "greet");

  TempRepo empty;
  const RunResult none = run_promptops(empty.path(), {"list"});
  CHECK(none.exit_code == 0);
  CHECK(none.out == "no prompts under prompts matching *.toml, *.prompt\n");
}

// --- show -----------------------------------------------------------------------------------------

TEST_CASE("show reads the working tree, versions, revisions, shas, aliases and tags", "[e2e][show]") {
  GreetRepo g;

  SECTION("NAME is the working tree") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == greet_show("working tree", "Yo {{who}}!"));
  }
  SECTION("NAME@v1") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@v1"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("v1 (" + short_sha(g.v1) + ")", "Hello {{who}}!"));
  }
  SECTION("NAME@v3 is the newest version") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@v3"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("v3 (" + short_sha(g.v3) + ")", "Hey {{who}}!"));
  }
  SECTION("NAME@HEAD~1 is the unrelated commit, which still has v2") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@HEAD~1"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("HEAD~1 (" + short_sha(g.unrelated) + ")", "Hi {{who}}!"));
  }
  SECTION("NAME@<full sha>") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@" + g.v1});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show(g.v1 + " (" + short_sha(g.v1) + ")", "Hello {{who}}!"));
  }
  SECTION("NAME@<short sha>") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@" + short_sha(g.v2)});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show(short_sha(g.v2) + " (" + short_sha(g.v2) + ")", "Hi {{who}}!"));
  }
  SECTION("NAME@ALIAS") {
    REQUIRE(run_promptops(g.repo.path(), {"alias", "set", "greet", "production", "v2"}).exit_code == 0);
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@production"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("alias production (" + short_sha(g.v2) + ")", "Hi {{who}}!"));
  }
  SECTION("NAME@<annotated tag> peels to its commit") {
    g.repo.git({"tag", "-a", "release-1", "-m", "first release", g.v1});
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@release-1"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("release-1 (" + short_sha(g.v1) + ")", "Hello {{who}}!"));
  }
  SECTION("NAME@<branch>") {
    g.repo.git({"branch", "old", g.v2});
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@old"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_show("old (" + short_sha(g.v2) + ")", "Hi {{who}}!"));
  }
  SECTION("--raw prints the stored file") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "--raw", "greet@v1"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == greet_toml("Hello {{who}}!"));
  }
}

TEST_CASE("show --format json carries the prompt and how the reference resolved", "[e2e][show]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"show", "greet@v2", "--format", "json"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc.at("schema_version") == 1);
  CHECK(doc.at("name") == "greet");
  CHECK(doc.at("path") == "prompts/greet.toml");
  CHECK(doc.at("format") == "toml");
  CHECK(doc.at("description") == "Greets a user");
  CHECK(doc.at("messages") == nlohmann::json::array({{{"role", "user"}, {"content", "Hi {{who}}!"}}}));
  CHECK(doc.at("variables") == nlohmann::json::array({"who"}));
  CHECK(doc.at("vars") == nlohmann::json::array({{{"name", "who"}, {"required", true}, {"description", "who to greet"}}}));
  CHECK(doc.at("reference") == nlohmann::json({{"name", "greet"},
                                               {"path", "prompts/greet.toml"},
                                               {"how", "v2"},
                                               {"commit", g.v2},
                                               {"version", 2}}));
}

// --- render ---------------------------------------------------------------------------------------

TEST_CASE("render fills variables from --var, --vars FILE and --vars -", "[e2e][render]") {
  GreetRepo g;

  SECTION("--var at the working tree") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet", "--var", "who=Ada"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == "Yo Ada!\n");
  }
  SECTION("--var at a version") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v1", "--var", "who=Ada"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hello Ada!\n");
  }
  SECTION("a value may contain '='") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v2", "--var", "who=a=b"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hi a=b!\n");
  }
  SECTION("--vars FILE.json") {
    g.repo.write("values.json", "{\"who\": \"Grace\"}\n");
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v3", "--vars", "values.json"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hey Grace!\n");
  }
  SECTION("numbers and booleans from --vars render as JSON text") {
    g.repo.write("values.json", "{\"who\": 42}\n");
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v3", "--vars", "values.json"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hey 42!\n");
  }
  SECTION("--var wins over --vars") {
    g.repo.write("values.json", "{\"who\": \"Grace\"}\n");
    const RunResult r =
        run_promptops(g.repo.path(), {"render", "greet@v3", "--vars", "values.json", "--var", "who=Linus"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hey Linus!\n");
  }
  SECTION("--vars - reads stdin") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v3", "--vars", "-"}, {}, "{\"who\": \"Barbara\"}");
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hey Barbara!\n");
  }
  SECTION("--format json") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v1", "--var", "who=Ada", "--format", "json"});
    CHECK(r.exit_code == 0);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc.at("schema_version") == 1);
    CHECK(doc.at("messages") == nlohmann::json::array({{{"role", "user"}, {"content", "Hello Ada!"}}}));
    CHECK(doc.at("reference").at("how") == "v1");
    CHECK(doc.at("reference").at("commit") == g.v1);
  }
}

TEST_CASE("render of a conversation prints each message under its role, with defaults applied", "[e2e][render]") {
  TempRepo repo;
  REQUIRE(run_promptops(repo.path(), {"init"}).exit_code == 0);
  const RunResult r = run_promptops(repo.path(), {"render", "support/classify", "--var", "question=Is iPay free?"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "--- system\n"
        "Decide whether the question is about cards, payment accounts, iPay.\n"
        "Answer with exactly one word: IN_SCOPE or OUT_OF_SCOPE.\n"
        "\n"
        "--- user\n"
        "Is iPay free?\n");

  const RunResult overridden =
      run_promptops(repo.path(), {"render", "support/classify", "--var", "question=q", "--var", "scope=loans"});
  CHECK(overridden.exit_code == 0);
  CHECK(overridden.out.find("Decide whether the question is about loans.\n") != std::string::npos);
}

TEST_CASE("render without a required variable exits 2 and names it", "[e2e][render]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"render", "greet@v1"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: missing value for required variable 'who' in prompt 'greet'\n"
        "hint: pass --var who=VALUE or --vars FILE.json\n");
}

TEST_CASE("render --vars with a missing file or bad JSON fails cleanly", "[e2e][render]") {
  GreetRepo g;
  SECTION("missing file is a usage error") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet", "--vars", "nope.json"});
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err == "git-promptops: error: --vars file 'nope.json' does not exist\n");
  }
  SECTION("a JSON array is not an object") {
    g.repo.write("values.json", "[1, 2]\n");
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet", "--vars", "values.json"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: values.json: --vars must hold a JSON object\n"
          "hint: for example {\"question\": \"...\"}\n");
  }
}

TEST_CASE("unicode round-trips through show --raw and render", "[e2e][show][render]") {
  TempRepo repo;
  const std::string text =
      "+++\n"
      "description = \"Begrüßung für Gäste 🎉\"\n"
      "[vars]\n"
      "name = { required = true }\n"
      "+++\n"
      "Grüß dich, {{name}}! 👋 你好，{{name}}。Ça va? — «ñ»\n";
  repo.write("prompts/welcome.prompt", text);
  repo.commit("add welcome");

  const RunResult raw = run_promptops(repo.path(), {"show", "--raw", "welcome@HEAD"});
  CHECK(raw.exit_code == 0);
  CHECK(raw.out == text);

  const RunResult shown = run_promptops(repo.path(), {"show", "welcome"});
  CHECK(shown.exit_code == 0);
  CHECK(shown.out ==
        "prompt       welcome\n"
        "path         prompts/welcome.prompt\n"
        "at           working tree\n"
        "description  Begrüßung für Gäste 🎉\n"
        "var          name (required)\n"
        "\n"
        "--- user\n"
        "Grüß dich, {{name}}! 👋 你好，{{name}}。Ça va? — «ñ»\n");

  const RunResult rendered = run_promptops(repo.path(), {"render", "welcome", "--var", "name=Zoë 李"});
  CHECK(rendered.exit_code == 0);
  CHECK(rendered.out == "Grüß dich, Zoë 李! 👋 你好，Zoë 李。Ça va? — «ñ»\n");

  const RunResult as_json = run_promptops(repo.path(), {"render", "welcome@HEAD", "--vars", "-", "--json"}, {},
                                          "{\"name\": \"Ådne 🚀\"}");
  CHECK(as_json.exit_code == 0);
  CHECK(nlohmann::json::parse(as_json.out).at("messages")[0].at("content") ==
        "Grüß dich, Ådne 🚀! 👋 你好，Ådne 🚀。Ça va? — «ñ»");
}

TEST_CASE("JSON braces in a template are text and values are not HTML-escaped", "[e2e][render]") {
  TempRepo repo;
  repo.write("prompts/extract.toml",
             "template = '''\n"
             "Return JSON like {\"label\": \"{{label}}\", \"meta\": {\"score\": 1}}\n"
             "Example: {\"items\": [{\"a\": 1}, {\"b\": {}}]}'''\n"
             "\n"
             "[vars]\n"
             "label = { required = true }\n");

  SECTION("braces stay as written") {
    const RunResult r = run_promptops(repo.path(), {"render", "extract", "--var", "label=spam"});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "Return JSON like {\"label\": \"spam\", \"meta\": {\"score\": 1}}\n"
          "Example: {\"items\": [{\"a\": 1}, {\"b\": {}}]}\n");
  }
  SECTION("<, >, & and quotes are inserted as they are") {
    const RunResult r = run_promptops(repo.path(), {"render", "extract", "--var", "label=<b>&\"x\"</b>'"});
    CHECK(r.exit_code == 0);
    CHECK(r.out ==
          "Return JSON like {\"label\": \"<b>&\"x\"</b>'\", \"meta\": {\"score\": 1}}\n"
          "Example: {\"items\": [{\"a\": 1}, {\"b\": {}}]}\n");
  }
  SECTION("lint sees one variable and no problems") {
    const RunResult r = run_promptops(repo.path(), {"lint", "extract"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
  }
}
