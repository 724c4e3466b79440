// SPDX-License-Identifier: MIT
// End-to-end: the launcher, --version, usage errors and exit statuses.
#include <catch2/catch.hpp>

#include "support/harness.hpp"

using namespace promptops::test;

TEST_CASE("the --version flag prints the version and exits 0", "[e2e][cli]") {
  TempDir dir;
  const RunResult r = run_promptops(dir.path(), {"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "git-promptops version " PROMPTOPS_TEST_VERSION "\n");
  CHECK(r.err.empty());
}

TEST_CASE("an unknown command is a usage error with exit 129", "[e2e][cli]") {
  TempDir dir;
  const RunResult r = run_promptops(dir.path(), {"frobnicate"});
  CHECK(r.exit_code == 129);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("git-promptops: error: ", 0) == 0);
}

TEST_CASE("eval --json with --format is a usage error, not a silent choice", "[e2e][cli]") {
  TempRepo repo;
  repo.write("prompts/greet.prompt", "Hello {{who}}\n");
  repo.commit("greet");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"eval", "--json", "--format", "csv"},
        std::vector<std::string>{"list", "--format", "table", "--json"}}) {
    INFO(args[0]);
    const RunResult r = run_promptops(repo.path(), args);
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    // CLI11 names the two in the order it checks them.
    const bool named =
        r.err == "git-promptops: error: --json excludes --format\nhint: give one of them, not both\n" ||
        r.err == "git-promptops: error: --format excludes --json\nhint: give one of them, not both\n";
    CHECK(named);
  }
}

TEST_CASE("format table is another name for text, with the same output", "[e2e][cli]") {
  TempRepo repo;
  repo.write("prompts/greet.prompt", "Hello {{who}}\n");
  repo.commit("greet");
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"list"}, std::vector<std::string>{"log", "greet"},
        std::vector<std::string>{"alias", "list"}, std::vector<std::string>{"show", "greet"},
        std::vector<std::string>{"lint"}}) {
    INFO(command[0]);
    std::vector<std::string> as_text = command;
    as_text.insert(as_text.end(), {"--format", "text"});
    std::vector<std::string> as_table = command;
    as_table.insert(as_table.end(), {"--format=table"});
    const RunResult text = run_promptops(repo.path(), as_text);
    const RunResult table = run_promptops(repo.path(), as_table);
    const RunResult plain = run_promptops(repo.path(), command);
    CHECK(table.exit_code == text.exit_code);
    CHECK(table.out == text.out);
    CHECK(table.err == text.err);
    CHECK(plain.out == text.out);
    if (command[0] == "list") {
      CHECK(text.out.rfind("NAME", 0) == 0);
    }
  }
  const RunResult other = run_promptops(repo.path(), {"list", "--format", "tabel"});
  CHECK(other.exit_code == 129);
}

TEST_CASE("an unknown flag or subcommand gets the closest known one", "[e2e][cli]") {
  TempRepo repo;
  repo.write("prompts/greet.prompt", "Hello {{who}}\n");
  repo.commit("greet");

  SECTION("a flag of the command") {
    const RunResult r = run_promptops(repo.path(), {"list", "--jsn"});
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: the following argument was not expected: --jsn\n"
          "hint: did you mean '--json'?\n");
  }
  SECTION("a flag with a value") {
    const RunResult r = run_promptops(repo.path(), {"eval", "--formt=json"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.find("hint: did you mean '--format'?\n") != std::string::npos);
  }
  SECTION("a subcommand of a command") {
    const RunResult r = run_promptops(repo.path(), {"alias", "lst"});
    CHECK(r.exit_code == 129);
    CHECK(r.err.find("hint: did you mean 'list'?\n") != std::string::npos);
  }
  SECTION("nothing close: how to get the command's usage") {
    const RunResult r = run_promptops(repo.path(), {"list", "--zzzzzzzz"});
    CHECK(r.exit_code == 129);
    CHECK(r.err ==
          "git-promptops: error: the following argument was not expected: --zzzzzzzz\n"
          "hint: run 'git promptops help' for usage\n");
  }
}

TEST_CASE("errors show bytes that are not UTF-8 as \\xNN", "[e2e][cli]") {
  TempRepo repo;
  repo.write("prompts/greet.prompt", "Hello {{who}}\n");
  repo.commit("greet");
  const RunResult r = run_promptops(repo.path(), {"show", "gr\xff\x1b[31meet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("gr\\xff\\x1b[31meet") != std::string::npos);
  CHECK(r.err.find('\xff') == std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
  // Valid UTF-8 stays as it is.
  const RunResult accented = run_promptops(repo.path(), {"show",
                                                         "gr\xc3\xa9"
                                                         "et"});
  CHECK(accented.err.find("gr\xc3\xa9"
                          "et") != std::string::npos);
}

TEST_CASE("render refuses a --var that is not one of the prompt's variables", "[e2e][cli]") {
  TempRepo repo;
  repo.write("prompts/ask.toml",
             "template = \"{{question}} ({{scope}})\"\n\n[vars]\nquestion = { required = true }\n"
             "scope = { default = \"cards\" }\n");
  repo.commit("ask");

  SECTION("a misspelled name: exit 129, the closest name and the prompt's variables") {
    const RunResult r =
        run_promptops(repo.path(), {"render", "ask", "--var", "question=Hi", "--var", "scpe=x"});
    CHECK(r.exit_code == 129);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "git-promptops: error: --var 'scpe': ask has no such variable\n"
          "hint: did you mean 'scope'? ask's variables: question, scope\n");
  }
  SECTION("the right names render") {
    const RunResult r =
        run_promptops(repo.path(), {"render", "ask", "--var", "question=Hi", "--var", "scope=x"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Hi (x)\n");
  }
}
