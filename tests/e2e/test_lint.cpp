// SPDX-License-Identifier: MIT
// End-to-end: `lint` (every finding at once) and how every command reports bad input.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

std::string greet_toml(const std::string& text) {
  return "description = \"Greets a user\"\n"
         "template = \"" + text + "\"\n"
         "\n"
         "[vars]\n"
         "who = { required = true }\n";
}

// greet in three committed versions (and an unrelated commit between v2 and v3).
struct GreetRepo : GreetHistory {
  std::string head = v3;
  GreetRepo() : GreetHistory(greet_toml) {}
};

// A project with one problem of each kind, spread over several files:
// a.toml: an undeclared variable (2:25), an unused one (warning, 6:1), a missing dataset;
// b.toml: a dataset outside the repository; c.toml: a dataset row without a required variable;
// d.toml: an unknown key; e.toml: a TOML syntax error; ok.toml: nothing.
void write_problem_project(const TempRepo& repo) {
  repo.write("prompts/a.toml",
             "description = \"a\"\n"
             "template = \"Hi {{name}} {{extra}}\"\n"
             "\n"
             "[vars]\n"
             "name = { required = true }\n"
             "spare = { default = \"x\" }\n"
             "\n"
             "[eval]\n"
             "dataset = \"evals/missing.jsonl\"\n");
  repo.write("prompts/b.toml",
             "template = \"Q: {{q}}\"\n"
             "\n"
             "[vars]\n"
             "q = { required = true }\n"
             "\n"
             "[eval]\n"
             "dataset = \"../x.jsonl\"\n");
  repo.write("prompts/c.toml",
             "template = \"Q: {{q}}\"\n"
             "\n"
             "[vars]\n"
             "q = { required = true }\n"
             "\n"
             "[eval]\n"
             "dataset = \"evals/c.jsonl\"\n");
  repo.write("evals/c.jsonl",
             "{\"id\": \"one\", \"vars\": {\"q\": \"hi\"}}\n"
             "{\"id\": \"two\", \"vars\": {\"p\": \"hi\"}}\n");
  repo.write("prompts/d.toml",
             "descripton = \"x\"\n"
             "template = \"ok\"\n");
  repo.write("prompts/e.toml",
             "description = \"ok\"\n"
             "template = \"Hi {{who}}\"\n"
             "[vars\n"
             "who = { required = true }\n");
  repo.write("prompts/ok.toml", greet_toml("Fine {{who}}"));
}

const char* const k_all_findings =
    "evals/c.jsonl:2: error: case 'two' gives no value for required variable 'q' of prompt 'c' [missing-variable]\n"
    "  hint: add \"q\" to the case's vars\n"
    "prompts/a.toml:2:25: error: variable 'extra' is used but not declared [undeclared-variable]\n"
    "  hint: declare it under [vars], for example: extra = { required = true }\n"
    "prompts/a.toml:6:1: warning: variable 'spare' is declared but never used [unused-variable]\n"
    "  hint: use {{spare}} in the template, or remove it from [vars]\n"
    "prompts/a.toml:8:1: error: dataset 'evals/missing.jsonl' does not exist [dataset-not-found]\n"
    "  hint: create it, or fix the path in [eval] dataset\n"
    "prompts/b.toml:6:1: error: dataset '../x.jsonl' is outside the repository [dataset-outside-repository]\n"
    "  hint: give a path relative to the repository root, such as evals/x.jsonl\n"
    "prompts/d.toml:1:1: error: unknown key 'descripton' [unknown-key]\n"
    "  hint: did you mean 'description'?\n"
    "prompts/e.toml:3:6: error: invalid table header: expected ']', saw '\\n' [syntax-error]\n"
    "6 errors, 1 warning\n";

// The first line of stderr.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

// --- lint -----------------------------------------------------------------------------------------

TEST_CASE("lint reports every problem in every file at once and exits 1", "[e2e][lint]") {
  TempRepo repo;
  write_problem_project(repo);
  const RunResult r = run_promptops(repo.path(), {"lint"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  CHECK(r.out == k_all_findings);
}

TEST_CASE("lint --format json lists the findings with their places and codes", "[e2e][lint]") {
  TempRepo repo;
  write_problem_project(repo);
  const RunResult r = run_promptops(repo.path(), {"lint", "--format", "json"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc.at("schema_version") == 1);
  CHECK(doc.at("errors") == 6);
  CHECK(doc.at("warnings") == 1);
  const auto& list = doc.at("diagnostics");
  REQUIRE(list.size() == 7);
  CHECK(list[0] == nlohmann::json({{"file", "evals/c.jsonl"},
                                   {"line", 2},
                                   {"column", 0},
                                   {"severity", "error"},
                                   {"code", "missing-variable"},
                                   {"message", "case 'two' gives no value for required variable 'q' of prompt 'c'"},
                                   {"hint", "add \"q\" to the case's vars"}}));
  CHECK(list[1] == nlohmann::json({{"file", "prompts/a.toml"},
                                   {"line", 2},
                                   {"column", 25},
                                   {"severity", "error"},
                                   {"code", "undeclared-variable"},
                                   {"message", "variable 'extra' is used but not declared"},
                                   {"hint", "declare it under [vars], for example: extra = { required = true }"}}));
  std::vector<std::string> codes;
  std::vector<std::string> severities;
  for (const auto& d : list) {
    codes.push_back(d.at("code").get<std::string>());
    severities.push_back(d.at("severity").get<std::string>());
  }
  CHECK(codes == std::vector<std::string>{"missing-variable", "undeclared-variable", "unused-variable",
                                          "dataset-not-found", "dataset-outside-repository", "unknown-key",
                                          "syntax-error"});
  CHECK(severities == std::vector<std::string>{"error", "error", "warning", "error", "error", "error", "error"});
  CHECK(list[6].at("file") == "prompts/e.toml");
  CHECK(list[6].at("line") == 3);
  CHECK(list[6].at("column") == 6);
}

TEST_CASE("lint NAME checks only the named prompts; unknown names are findings", "[e2e][lint]") {
  TempRepo repo;
  write_problem_project(repo);
  SECTION("a clean prompt") {
    const RunResult r = run_promptops(repo.path(), {"lint", "ok"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
  }
  SECTION("a prompt and its dataset") {
    const RunResult r = run_promptops(repo.path(), {"lint", "c"});
    CHECK(r.exit_code == 1);
    CHECK(r.out ==
          "evals/c.jsonl:2: error: case 'two' gives no value for required variable 'q' of prompt 'c' [missing-variable]\n"
          "  hint: add \"q\" to the case's vars\n"
          "1 error, 0 warnings\n");
  }
  SECTION("an unknown name") {
    const RunResult r = run_promptops(repo.path(), {"lint", "okk"});
    CHECK(r.exit_code == 1);
    CHECK(r.out ==
          "prompts: error: no prompt named 'okk' [unknown-prompt]\n"
          "  hint: did you mean 'ok'?\n"
          "1 error, 0 warnings\n");
  }
}

TEST_CASE("lint with only warnings still exits 1", "[e2e][lint]") {
  TempRepo repo;
  repo.write("prompts/w.toml",
             "template = \"Hi {{who}}\"\n"
             "[vars]\n"
             "who = { required = true }\n"
             "unused = { default = \"u\" }\n");
  const RunResult r = run_promptops(repo.path(), {"lint"});
  CHECK(r.exit_code == 1);
  CHECK(r.out ==
        "prompts/w.toml:4:1: warning: variable 'unused' is declared but never used [unused-variable]\n"
        "  hint: use {{unused}} in the template, or remove it from [vars]\n"
        "0 errors, 1 warning\n");
}

TEST_CASE("lint checks [eval] assertions and the metric as eval reads them", "[e2e][lint][eval]") {
  TempRepo repo;
  repo.write("evals/w.jsonl", "{\"vars\": {\"who\": \"x\"}, \"expected\": \"Hi x\"}\n");
  repo.write("prompts/w.toml",
             "template = \"Hi {{who}}\"\n"
             "[vars]\n"
             "who = { required = true }\n"
             "[eval]\n"
             "dataset = \"evals/w.jsonl\"\n"
             "metric = \"acuracy\"\n"
             "assert = [{ type = \"contians\", value = \"Hi\" }]\n");
  const RunResult r = run_promptops(repo.path(), {"lint"});
  CHECK(r.exit_code == 1);
  CHECK(r.out ==
        "prompts/w.toml:4:1: error: unknown assertion type 'contians' [unknown-assertion]\n"
        "  hint: did you mean 'contains'?\n"
        "prompts/w.toml:4:1: error: unknown metric 'acuracy' in [eval] [unknown-metric]\n"
        "  hint: did you mean 'accuracy'?\n"
        "2 errors, 0 warnings\n");
}

TEST_CASE("lint reads the working tree, and --at a revision", "[e2e][lint]") {
  GreetRepo g;
  g.repo.write("prompts/greet.toml", "template = \"Hi {{who}}\"\n");
  const RunResult now = run_promptops(g.repo.path(), {"lint"});
  CHECK(now.exit_code == 1);
  CHECK(now.out ==
        "prompts/greet.toml:1:16: error: variable 'who' is used but not declared [undeclared-variable]\n"
        "  hint: declare it under [vars], for example: who = { required = true }\n"
        "1 error, 0 warnings\n");
  const RunResult at_head = run_promptops(g.repo.path(), {"lint", "--at", "HEAD"});
  CHECK(at_head.exit_code == 0);
  CHECK(at_head.out.empty());
}

TEST_CASE("lint reports a broken .promptops.toml, and list refuses it with exit 2", "[e2e][lint][list]") {
  TempRepo repo;
  repo.write("prompts/ok.toml", greet_toml("Fine {{who}}"));
  SECTION("an unknown key") {
    repo.write(".promptops.toml", "promtps = [\"prompts\"]\n");
    const RunResult lint = run_promptops(repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          ".promptops.toml:1:1: error: unknown key 'promtps' [unknown-key]\n"
          "  hint: did you mean 'prompts'?\n"
          "1 error, 0 warnings\n");
    const RunResult list = run_promptops(repo.path(), {"list"});
    CHECK(list.exit_code == 2);
    CHECK(list.out.empty());
    CHECK(list.err ==
          "git-promptops: error: .promptops.toml:1:1: unknown key 'promtps'\n"
          "hint: did you mean 'prompts'?\n");
    const RunResult bundle = run_promptops(repo.path(), {"export", "--worktree"});
    CHECK(bundle.exit_code == 2);
    CHECK(bundle.out.empty());
    CHECK(bundle.err ==
          "git-promptops: error: .promptops.toml:1:1: unknown key 'promtps'\n"
          "hint: did you mean 'prompts'?\n");
  }
  SECTION("a syntax error") {
    repo.write(".promptops.toml", "prompts = [\"prompts\"\n");
    const RunResult lint = run_promptops(repo.path(), {"lint"});
    CHECK(lint.exit_code == 1);
    CHECK(lint.out ==
          ".promptops.toml:1:22: error: invalid array: encountered end-of-file [syntax-error]\n"
          "1 error, 0 warnings\n");
    const RunResult list = run_promptops(repo.path(), {"list"});
    CHECK(list.exit_code == 2);
    CHECK(list.out.empty());
    CHECK(first_line(list.err).rfind("git-promptops: error: .promptops.toml:1:22: ", 0) == 0);
  }
}

// --- bad input everywhere -------------------------------------------------------------------------

TEST_CASE("a prompt with broken TOML: show exits 2 with file:line:col, lint lists it", "[e2e][show][lint]") {
  TempRepo repo;
  write_problem_project(repo);
  const RunResult show = run_promptops(repo.path(), {"show", "e"});
  CHECK(show.exit_code == 2);
  CHECK(show.out.empty());
  CHECK(show.err ==
        "git-promptops: error: prompts/e.toml:3:6: invalid table header: expected ']', saw '\\n'\n"
        "hint: run 'git promptops lint e' for every problem\n");

  const RunResult raw = run_promptops(repo.path(), {"show", "--raw", "e"});
  CHECK(raw.exit_code == 0);
  CHECK(raw.out == repo.read("prompts/e.toml"));

  const RunResult lint = run_promptops(repo.path(), {"lint", "e"});
  CHECK(lint.exit_code == 1);
  CHECK(lint.out ==
        "prompts/e.toml:3:6: error: invalid table header: expected ']', saw '\\n' [syntax-error]\n"
        "1 error, 0 warnings\n");

  SECTION("list keeps going, marks the prompt invalid and warns") {
    const RunResult list = run_promptops(repo.path(), {"list", "--format", "tsv"});
    CHECK(list.exit_code == 0);
    CHECK(list.out.find("\ne\t\t\t(invalid: run git promptops lint e)\n") != std::string::npos);
    CHECK(list.out.find("\nok\t\twho\tGreets a user\n") != std::string::npos);
    CHECK(list.err.find("git-promptops: warning: prompts/e.toml:3:6: ") != std::string::npos);
  }
}

TEST_CASE("an unknown key in a prompt: show exits 2 with did-you-mean", "[e2e][show]") {
  TempRepo repo;
  write_problem_project(repo);
  const RunResult r = run_promptops(repo.path(), {"show", "d"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: prompts/d.toml:1:1: unknown key 'descripton'\n"
        "hint: did you mean 'description'?\n");
}

TEST_CASE("an unknown prompt name exits 2 with did-you-mean", "[e2e][show][render]") {
  GreetRepo g;
  SECTION("working tree") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "gret"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: no prompt named 'gret' in the working tree\n"
          "hint: did you mean 'greet'?\n");
  }
  SECTION("at a revision") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greeet@HEAD", "--var", "who=x"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: prompt 'greeet' does not exist at " + short_sha(g.head) + " (HEAD)\n"
          "hint: did you mean 'greet'?\n");
  }
}

TEST_CASE("NAME@v99 exits 2 and says which versions exist", "[e2e][show]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"show", "greet@v99"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: prompt 'greet' has no version v99\n"
        "hint: its versions are v1..v3 (see 'git promptops log greet')\n");
}

TEST_CASE("an unknown revision exits 2 with did-you-mean", "[e2e][show]") {
  GreetRepo g;
  const RunResult r = run_promptops(g.repo.path(), {"show", "greet@mian"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "git-promptops: error: unknown revision or alias 'mian' for prompt 'greet'\n"
        "hint: did you mean 'main'?\n");

  const RunResult list = run_promptops(g.repo.path(), {"list", "--at", "mian"});
  CHECK(list.exit_code == 2);
  CHECK(list.err ==
        "git-promptops: error: unknown revision 'mian'\n"
        "hint: did you mean 'main'?\n");
}

TEST_CASE("malformed references and --var are usage errors (129)", "[e2e][render]") {
  GreetRepo g;
  SECTION("--var without '='") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet", "--var", "who"});
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: invalid --var 'who'\n"
          "hint: write --var NAME=VALUE\n");
  }
  SECTION("--var with an empty name") {
    const RunResult r = run_promptops(g.repo.path(), {"render", "greet", "--var", "=x"});
    CHECK(r.exit_code == 129);
    CHECK(first_line(r.err) == "git-promptops: error: invalid --var '=x'");
  }
  SECTION("nothing after '@'") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "greet@"});
    CHECK(r.exit_code == 129);
    CHECK(r.err ==
          "git-promptops: error: invalid reference 'greet@': nothing after '@'\n"
          "hint: write NAME, NAME@vN, NAME@ALIAS or NAME@REVISION\n");
  }
  SECTION("no name") {
    const RunResult r = run_promptops(g.repo.path(), {"show", "@v1"});
    CHECK(r.exit_code == 129);
    CHECK(first_line(r.err) == "git-promptops: error: invalid reference '@v1': no prompt name");
  }
}

TEST_CASE("outside a repository every registry command exits 128", "[e2e][cli]") {
  TempDir dir;
  const std::string where = std::filesystem::canonical(dir.path()).string();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"}, {"show", "greet"}, {"log", "greet"}, {"lint"}, {"init"}}) {
    INFO(args.front());
    const RunResult r = run_promptops(dir.path(), args);
    CHECK(r.exit_code == 128);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: not a git repository (or any of the parent directories): " + where + "\n"
          "hint: run the command inside a git repository, or create one with 'git init'\n");
  }
}

TEST_CASE("unknown flags and missing arguments exit 129", "[e2e][cli]") {
  GreetRepo g;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"list", "--bogus"}, {"show"}, {"log", "greet", "--format", "xml"}, {"alias"}, {"render", "greet", "-q"}}) {
    INFO(args.front() << " " << (args.size() > 1 ? args[1] : ""));
    const RunResult r = run_promptops(g.repo.path(), args);
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("git-promptops: error: ", 0) == 0);
    CHECK(r.err.find("\nhint: run 'git promptops help' for usage\n") != std::string::npos);
  }
}
