// SPDX-License-Identifier: MIT
// End-to-end: the docs stay true. Every command of the command table has a man page whose text
// its --help prints, and the long flags of the command table (as the generated completion script
// lists them) and those the man page's OPTIONS documents are the same set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.hpp"

using namespace promptops::test;

namespace {

const std::filesystem::path k_source_dir = PROMPTOPS_SOURCE_DIR;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct TableEntry {
  std::string name;
  bool hidden = false;  // an empty summary: left out of --help (the `hook` the shims run)
};

// The commands of src/cli/commands.cpp's table, read from its source: `{"name", "summary", add_x}`.
std::vector<TableEntry> command_table(const std::string& source) {
  std::vector<TableEntry> entries;
  const std::regex entry(R"re(\{"([a-z-]+)",\s*"((?:[^"\\]|\\.)*)",\s*add_\w+\})re");
  for (auto it = std::sregex_iterator(source.begin(), source.end(), entry); it != std::sregex_iterator(); ++it) {
    entries.push_back(TableEntry{(*it)[1].str(), (*it)[2].str().empty()});
  }
  return entries;
}

// The words of level `level` ("eval", "alias set") in a table of the completion script that
// `git-promptops completion bash` prints: `function` is __git_promptops_flags or
// __git_promptops_subcommands. bash runs the script's own function.
template <class Run>
std::vector<std::string> completion_words(Run run, const std::string& function, const std::string& level) {
  const RunResult r = run({"completion", "bash"});
  const RunResult words =
      promptops::test::run(std::filesystem::current_path(), {"bash", "-c", r.out + "\n" + function + " \"$0\"", level});
  std::vector<std::string> out;
  std::istringstream stream(words.out);
  std::string word;
  while (stream >> word) {
    out.push_back(word);
  }
  return out;
}

// The long flags of a level of the command table, but --help (every command has it;
// git-promptops(1) documents it once).
template <class Run>
std::set<std::string> table_flags(Run run, const std::string& level) {
  std::set<std::string> flags;
  for (const std::string& word : completion_words(run, "__git_promptops_flags", level)) {
    if (word.starts_with("--") && word != "--help") {
      flags.insert(word);
    }
  }
  return flags;
}

// The long flags a man page documents: the tags (the line after .TP or .TQ) of its OPTIONS section.
std::set<std::string> man_flags(const std::string& roff) {
  std::set<std::string> flags;
  const std::regex flag(R"(\\-\\-((?:[a-z0-9]|\\-)+))");
  std::istringstream lines(roff);
  std::string line;
  std::string previous;
  bool in_options = false;
  while (std::getline(lines, line)) {
    if (line.rfind(".SH", 0) == 0) {
      in_options = line == ".SH OPTIONS";
    } else if (in_options && (previous == ".TP" || previous == ".TQ")) {
      for (auto it = std::sregex_iterator(line.begin(), line.end(), flag); it != std::sregex_iterator(); ++it) {
        std::string name = (*it)[1].str();
        name.erase(std::remove(name.begin(), name.end(), '\\'), name.end());
        flags.insert("--" + name);
      }
    }
    previous = line;
  }
  flags.erase("--help");
  return flags;
}

// What is wrong with the docs of `command`: one line per problem, none when they agree.
// `run` runs the binary with the given arguments.
template <class Run>
std::vector<std::string> docs_problems(const std::string& command, const std::filesystem::path& man_dir, Run run) {
  std::vector<std::string> problems;
  const std::filesystem::path page = man_dir / ("git-promptops-" + command + ".1");
  if (!std::filesystem::is_regular_file(page)) {
    problems.push_back(command + ": no man page " + page.filename().string());
  }
  const RunResult help = run({command, "--help"});
  std::string heading = "GIT-PROMPTOPS-" + command + "(1)";
  std::transform(heading.begin(), heading.end(), heading.begin(), [](unsigned char c) { return std::toupper(c); });
  if (help.exit_code != 0 || !help.out.starts_with(heading)) {
    problems.push_back(command + ": --help exits " + std::to_string(help.exit_code) + " without its manual");
    return problems;
  }
  std::set<std::string> listed = table_flags(run, command);
  for (const std::string& sub : completion_words(run, "__git_promptops_subcommands", command)) {
    const std::set<std::string> flags = table_flags(run, command + " " + sub);
    listed.insert(flags.begin(), flags.end());
  }
  if (!std::filesystem::is_regular_file(page)) {
    return problems;
  }
  const std::set<std::string> documented = man_flags(read_text(page));
  for (const std::string& flag : listed) {
    if (documented.count(flag) == 0) {
      problems.push_back(command + ": the command table has " + flag + " but " + page.filename().string() +
                         " does not document it");
    }
  }
  for (const std::string& flag : documented) {
    if (listed.count(flag) == 0) {
      problems.push_back(command + ": " + page.filename().string() + " documents " + flag +
                         " but the command table does not have it");
    }
  }
  return problems;
}

}  // namespace

TEST_CASE("every command has a man page that --help prints, and the same flags as the command table", "[e2e][docs]") {
  TempDir dir;
  const auto run = [&dir](const std::vector<std::string>& args) { return run_promptops(dir.path(), args); };
  const std::vector<TableEntry> table = command_table(read_text(k_source_dir / "src/cli/commands.cpp"));
  INFO(k_source_dir.string());
  REQUIRE(table.size() >= 20);
  for (const TableEntry& entry : table) {
    if (entry.hidden) {
      continue;
    }
    INFO(entry.name);
    CHECK(docs_problems(entry.name, k_source_dir / "man", run) == std::vector<std::string>{});
  }
}

TEST_CASE("the docs check fails on a missing man page and on flags that differ", "[e2e][docs]") {
  TempDir dir;
  const auto run = [&dir](const std::vector<std::string>& args) { return run_promptops(dir.path(), args); };

  SECTION("the command table as commands.cpp writes it") {
    const std::vector<TableEntry> table =
        command_table(R"({"list", "list the prompts", add_list},
      {"hook", "", add_hook},  // hidden)");
    REQUIRE(table.size() == 2);
    CHECK(table[0].name == "list");
    CHECK_FALSE(table[0].hidden);
    CHECK(table[1].hidden);
  }
  SECTION("a command without a man page") {
    TempDir man;
    CHECK(docs_problems("list", man.path(), run) ==
          std::vector<std::string>{"list: no man page git-promptops-list.1"});
  }
  SECTION("a page that lacks a flag and documents one the command does not have") {
    TempDir man;
    std::ofstream(man.path() / "git-promptops-list.1")
        << ".SH OPTIONS\n.TP\n.BI \\-\\-format \" format\"\ntext\n.TP\n.B \\-\\-json\nsame\n"
           ".TP\n.B \\-\\-no\\-such\\-flag\nnothing\n.SH EXIT STATUS\n.TP\n.B \\-\\-at\nnot an option tag\n";
    CHECK(docs_problems("list", man.path(), run) ==
          std::vector<std::string>{
              "list: the command table has --at but git-promptops-list.1 does not document it",
              "list: git-promptops-list.1 documents --no-such-flag but the command table does not have it"});
  }
  SECTION("a command whose --help does not work") {
    TempDir man;
    std::ofstream(man.path() / "git-promptops-frobnicate.1") << ".SH OPTIONS\n";
    CHECK(docs_problems("frobnicate", man.path(), run) ==
          std::vector<std::string>{"frobnicate: --help exits 129 without its manual"});
  }
}
