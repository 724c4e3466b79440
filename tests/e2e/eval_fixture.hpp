// SPDX-License-Identifier: MIT
// Shared by the eval end-to-end suites: a project whose provider is a loopback LlmServer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/llm_server.hpp"

namespace promptops::test::eval {

// How many requests the server saw that `match` accepts.
template <class Match>
std::size_t count_seen(const LlmServer& server, Match match) {
  std::size_t count = 0;
  for (const SeenRequest& request : server.seen()) {
    count += match(request) ? 1 : 0;
  }
  return count;
}

// Requests the server saw for `model`.
inline std::size_t seen_model(const LlmServer& server, const std::string& model) {
  return count_seen(server, [&](const SeenRequest& request) {
    return request.body.is_object() && request.body.value("model", "") == model;
  });
}

// The greeting pair of the compare and matrix tests: v1 "Hey NAME" is right for Ann, Bob, Cid and
// Dee, v2 "Yo NAME" for Ann, Bob, Cid, Eve, Fay and Gus. True when `prompt` is one of those.
inline bool greets_right(const std::string& prompt) {
  for (const char* name : {"Ann", "Bob", "Cid", "Dee"}) {
    if (prompt.find(std::string("Hey ") + name) != std::string::npos) {
      return true;
    }
  }
  for (const char* name : {"Ann", "Bob", "Cid", "Eve", "Fay", "Gus"}) {
    if (prompt.find(std::string("Yo ") + name) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// .promptops.toml with one openai provider "local" at the server, fast retries, and the default
// model "local"/"test-model". `provider_extra` goes into [providers.local], `extra` at the end.
inline std::string config_toml(const LlmServer& server, const std::string& provider_extra = "",
                               const std::string& extra = "") {
  return "[providers.local]\n"
         "kind = \"openai\"\n"
         "base_url = \"" +
         server.base_url() +
         "\"\n"
         "retry_delay = 0.01\n" +
         provider_extra +
         "\n"
         "[defaults.model]\n"
         "provider = \"local\"\n"
         "name = \"test-model\"\n" +
         extra;
}

// prompts/greet.toml: `template = "TEXT"`, a required `who`, and [eval] on evals/greet.jsonl with
// the accuracy metric (the cases' "expected" is the label); `eval_extra` goes into [eval].
inline std::string greet_toml(const std::string& text, const std::string& eval_extra = "") {
  return "template = \"" + text +
         "\"\n"
         "\n"
         "[vars]\n"
         "who = { required = true }\n"
         "\n"
         "[eval]\n"
         "dataset = \"evals/greet.jsonl\"\n"
         "metric = \"accuracy\"\n" +
         eval_extra;
}

// One case per name: {"id": "<name in lower case>", "vars": {"who": NAME}, "expected": "ok"}.
inline std::string greet_cases(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    std::string id = name;
    for (char& c : id) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out += nlohmann::json({{"id", id}, {"vars", {{"who", name}}}, {"expected", "ok"}}).dump() + "\n";
  }
  return out;
}

// The model answers "ok" (right) to "Hello Ann", to "Hi Ann"/"Hi Bob", and to "Hey Ann"/"Hey
// Bob"/"Hey Cid"; anything else is echoed back (wrong). With the cases Ann, Bob, Cid and Dee,
// "Hello" scores 0.25, "Hi" 0.5 and "Hey" 0.75.
inline std::vector<LlmServer::Rule> greet_rules() {
  return {{{"Hello Ann"}, "ok"}, {{"Hi Ann"}, "ok"},  {{"Hi Bob"}, "ok"},
          {{"Hey Ann"}, "ok"},   {{"Hey Bob"}, "ok"}, {{"Hey Cid"}, "ok"}};
}

// One commit for import_commits(): its message and the files it writes (path -> content).
struct CommitSpec {
  std::string message;
  std::map<std::string, std::string> files;
};

// Makes `commits` on main, each child of the previous, in one `git fast-import` (far cheaper than
// a commit process per commit), dated like TempRepo::commit (the n-th commit at 1700000000 +
// n hours) by Ada Tester; then checks out the last one. Returns the shas, oldest first.
inline std::vector<std::string> import_commits(const TempRepo& repo, const std::vector<CommitSpec>& commits) {
  std::string stream;
  int n = 0;
  for (const CommitSpec& commit : commits) {
    ++n;
    const std::string when = std::to_string(1700000000 + n * 3600) + " +0000";
    const std::string message = commit.message + "\n";
    stream += "commit refs/heads/main\nmark :" + std::to_string(n) + "\n";
    stream += "author Ada Tester <ada@example.com> " + when + "\n";
    stream += "committer Ada Tester <ada@example.com> " + when + "\n";
    stream += "data " + std::to_string(message.size()) + "\n" + message;
    if (n > 1) {
      stream += "from :" + std::to_string(n - 1) + "\n";
    }
    for (const auto& [path, content] : commit.files) {
      stream +=
          "M 100644 inline " + path + "\ndata " + std::to_string(content.size()) + "\n" + content + "\n";
    }
    stream += "\n";
  }
  const RunResult imported = run(repo.path(), {"git", "fast-import", "--quiet"}, {}, stream);
  INFO("git fast-import: " << imported.err);
  REQUIRE(imported.exit_code == 0);
  repo.git({"read-tree", "--reset", "-u", "HEAD"});
  std::vector<std::string> shas;
  const std::string list = repo.git({"rev-list", "--reverse", "HEAD"});
  for (std::size_t start = 0; start < list.size();) {
    const std::size_t end = list.find('\n', start);
    shas.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  REQUIRE(shas.size() == commits.size());
  return shas;
}

// A repository whose first commit holds the config, the four cases and greet v1 ("Hello"), then
// v2 ("Hi"), an unrelated commit (README.md) and v3 ("Hey") at HEAD, dated 2023-11-14 23:13,
// 2023-11-15 00:13, 01:13 and 02:13 UTC. The server answers by greet_rules().
struct GreetProject {
  LlmServer server;
  TempRepo repo;
  std::string v1;
  std::string v2;
  std::string unrelated;
  std::string v3;

  explicit GreetProject(const std::string& provider_extra = "", const std::string& config_extra = "") {
    server.set_rules(greet_rules());
    const std::vector<std::string> shas =
        import_commits(repo, {{"add greet",
                               {{".promptops.toml", config_toml(server, provider_extra, config_extra)},
                                {"evals/greet.jsonl", greet_cases({"Ann", "Bob", "Cid", "Dee"})},
                                {"prompts/greet.toml", greet_toml("Hello {{who}}!")}}},
                              {"greet: say hi", {{"prompts/greet.toml", greet_toml("Hi {{who}}!")}}},
                              {"add readme", {{"README.md", "# demo\n"}}},
                              {"greet: say hey", {{"prompts/greet.toml", greet_toml("Hey {{who}}!")}}}});
    v1 = shas[0];
    v2 = shas[1];
    unrelated = shas[2];
    v3 = shas[3];
  }

  const std::filesystem::path& path() const { return repo.path(); }
};

// `git promptops eval --format json ARGS...`; REQUIREs `exit_code` and parses stdout.
inline nlohmann::json eval_json(const std::filesystem::path& cwd, std::vector<std::string> args,
                                int exit_code = 0, const std::map<std::string, std::string>& env = {}) {
  // Before the arguments: whatever follows "--" is a prompt name.
  args.insert(args.begin(), {"eval", "--format", "json"});
  const RunResult r = run_promptops(cwd, args, env);
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  REQUIRE(r.exit_code == exit_code);
  const nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(!doc.is_discarded());
  return doc;
}

// The 95% Wilson interval of k/n as the eval table prints it: "[0.15, 0.85]" (`digits` decimals;
// optimize prints 3).
inline std::string wilson_text(double k, double n, int digits = 2) {
  const double z = 1.959963984540054;
  const double p = k / n;
  const double denominator = 1.0 + z * z / n;
  const double center = (p + z * z / (2 * n)) / denominator;
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator;
  char text[64];
  std::snprintf(text, sizeof text, "[%.*f, %.*f]", digits, std::max(0.0, center - half), digits,
                std::min(1.0, center + half));
  return text;
}

// How many commits refs/notes/promptops has (0 when it does not exist).
inline int notes_commits(const TempRepo& repo) {
  const RunResult r = run(repo.path(), {"git", "rev-list", "--count", "refs/notes/promptops", "--"});
  return r.exit_code == 0 ? std::stoi(r.out) : 0;
}

// Whether refs/notes/promptops exists.
inline bool has_notes_ref(const TempRepo& repo) {
  return run(repo.path(), {"git", "rev-parse", "--verify", "-q", "refs/notes/promptops"}).exit_code == 0;
}

// The note's JSON lines on `rev` (`git notes --ref=promptops show REV`), parsed.
inline std::vector<nlohmann::json> note_lines(const TempRepo& repo, const std::string& rev) {
  const std::string text = repo.git({"notes", "--ref=promptops", "show", rev});
  std::vector<nlohmann::json> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (end > start) {
      lines.push_back(nlohmann::json::parse(text.substr(start, end - start), nullptr, false));
    }
    start = end + 1;
  }
  return lines;
}

// The number of prompts the server saw that contain `needle`.
inline std::size_t seen_with(const LlmServer& server, const std::string& needle) {
  std::size_t count = 0;
  for (const SeenRequest& request : server.seen()) {
    if (LlmServer::prompt_text(request.body).find(needle) != std::string::npos) {
      ++count;
    }
  }
  return count;
}

inline std::string pad_right(const std::string& text, std::size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

inline std::string pad_left(const std::string& text, std::size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

// A table as the tool's tables print: `header`, then `rows`; columns separated by two spaces and as
// wide as their widest cell, the columns marked in `right` right-aligned, no trailing blanks. Cells
// are ASCII here.
inline std::string aligned_table(const std::vector<std::string>& header, const std::vector<bool>& right,
                                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all = {header};
  all.insert(all.end(), rows.begin(), rows.end());
  std::vector<std::size_t> widths(right.size(), 0);
  for (const auto& row : all) {
    REQUIRE(row.size() == right.size());
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : all) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += (c > 0 ? "  " : "") + (right[c] ? pad_left(row[c], widths[c]) : pad_right(row[c], widths[c]));
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

// The eval table as the man page describes it: VALUE, DELTA, CALLS and COST right-aligned.
inline std::string eval_table(const std::vector<std::vector<std::string>>& rows) {
  return aligned_table(
      {"COMMIT", "PROMPT", "VERSION", "METRIC", "VALUE", "95% CI", "DELTA", "CALLS", "COST", "SUBJECT"},
      {false, false, false, false, true, false, true, true, true, false}, rows);
}

// A row of prompt greet with the accuracy metric and no price.
inline std::vector<std::string> greet_row(const std::string& commit, const std::string& version,
                                          const std::string& value, const std::string& ci,
                                          const std::string& delta, const std::string& calls,
                                          const std::string& subject) {
  return {commit, "greet", version, "accuracy", value, ci, delta, calls, "-", subject};
}

// The text without its trailing newline (one line of git output).
inline std::string chomp_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// The subject of the commit `rev` names.
inline std::string repo_git_subject(const TempRepo& repo, const std::string& rev) {
  return chomp_line(repo.git({"log", "-1", "--format=%s", rev, "--"}));
}

// A whole file ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream stream(file, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

// How many times `needle` occurs in `text`.
inline std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// The per-case records of a row's results file, by case id (written as answers arrive).
inline std::map<std::string, nlohmann::json> records_by_id(const nlohmann::json& row) {
  std::map<std::string, nlohmann::json> records;
  const std::string text = read_text(row.at("results_file").get<std::string>());
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    nlohmann::json record = nlohmann::json::parse(text.substr(start, end - start));
    const std::string id = record.at("id").get<std::string>();
    records[id] = std::move(record);
    start = end + 1;
  }
  return records;
}

// One commit: prompts/ask.toml (`template = "Q: {{q}}"`, [eval] on evals/ask.jsonl with
// `asserts`) and the dataset; the loopback server answers by `rules`.
struct AskRepo {
  LlmServer server;
  TempRepo repo;

  AskRepo(const std::string& asserts, const std::string& dataset, std::vector<LlmServer::Rule> rules) {
    server.set_rules(std::move(rules));
    repo.write(".promptops.toml", config_toml(server));
    repo.write("prompts/ask.toml",
               "template = \"Q: {{q}}\"\n"
               "[vars]\n"
               "q = { required = true }\n"
               "[eval]\n"
               "dataset = \"evals/ask.jsonl\"\n"
               "assert = [\n" +
                   asserts + "]\n");
    repo.write("evals/ask.jsonl", dataset);
    repo.commit("ask");
  }
};

// One JSONL row of AskRepo's dataset: `id`, vars {q}, and `extra` keys.
inline std::string ask_row(const std::string& id, const std::string& q,
                            const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json row = {{"id", id}, {"vars", {{"q", q}}}};
  row.update(extra);
  return row.dump() + "\n";
}

}  // namespace promptops::test::eval
