// SPDX-License-Identifier: MIT
// optimize_bench: `git promptops optimize` on a generated classification task against an in-process
// loopback model server, at several budgets. Prints the calls used and the validation accuracy
// reached per budget, and the optimizer's own share of the wall time: a rerun of the largest budget
// with every answer cached (the same search, no model latency) over the cold run.
//
// The task: N tickets in 6 categories; the "model" labels a ticket right when it is an easy one or
// when the prompt carries the hint word of the ticket's category, "neutral" otherwise. The
// reflection model reads the failed examples it is shown and adds the hint of the first category
// that failed (so a proposal helps only when its minibatch had a failure to learn from).
//
// usage: optimize_bench GIT_PROMPTOPS [--budgets 100,200,400,800] [--latency-ms 100] [--cases 60]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/llm_server.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int k_categories = 6;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Single-quoted for sh (built by append: GCC 12 gives a false -Wrestrict for "'" + text + "'").
std::string quote(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.append(1, '\'').append(text).append(1, '\'');
  return out;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string answer(const json& body) {
  const std::string text = promptops::test::LlmServer::prompt_text(body);
  if (contains(text, "You improve the instructions")) {
    // The current text is the first fenced block; the failures are the examples marked wrong.
    const std::size_t open = text.find("```\n");
    const std::size_t close = text.find("\n```", open + 4);
    std::string current = text.substr(open + 4, close - open - 4);
    std::size_t at = 0;
    while ((at = text.find("### Example", at)) != std::string::npos) {
      const std::size_t end = text.find("### Example", at + 1);
      const std::string example = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at += 1;
      if (!contains(example, "Feedback: wrong")) {
        continue;
      }
      for (int k = 1; k <= k_categories; ++k) {
        const std::string hint = "hint-cat" + std::to_string(k);
        if (contains(example, "#cat" + std::to_string(k) + " ") && !contains(current, hint)) {
          return "```\n" + current + " Mind " + hint + ".\n```";
        }
      }
    }
    return "```\n" + current + " Be careful.\n```";
  }
  const std::string label = contains(text, "#p") ? "positive" : "negative";
  for (int k = 1; k <= k_categories; ++k) {
    if (contains(text, "#cat" + std::to_string(k) + " ")) {
      return contains(text, "easy:") || contains(text, "hint-cat" + std::to_string(k)) ? label : "neutral";
    }
  }
  return "neutral";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr
        << "usage: optimize_bench GIT_PROMPTOPS [--budgets 100,200,400,800] [--latency-ms 100] [--cases 60]\n";
    return 129;
  }
  const std::string binary = fs::absolute(argv[1]).string();
  std::vector<int> budgets = {100, 200, 400, 800};
  int latency_ms = 100;
  int cases = 60;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--budgets") {
      budgets.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        budgets.push_back(std::stoi(item));
      }
    } else if (flag == "--latency-ms") {
      latency_ms = std::stoi(value);
    } else if (flag == "--cases") {
      cases = std::stoi(value);
    } else {
      std::cerr << "optimize_bench: unknown option " << flag << "\n";
      return 129;
    }
  }
  promptops::test::LlmServer server;
  server.set_responder(answer);
  server.set_latency(std::chrono::milliseconds(latency_ms));

  const fs::path root = fs::temp_directory_path() / ("optimize-bench-" + std::to_string(::getpid()));
  const fs::path repo = root / "repo";
  fs::create_directories(repo);
  std::string dataset;
  for (int i = 0; i < cases; ++i) {
    const int category = i % k_categories + 1;
    const bool positive = (i / k_categories) % 2 == 0;
    const bool easy = i % 3 == 0;
    const std::string text = std::string(easy ? "easy: " : "") + "ticket " + std::to_string(i) + " #cat" +
                             std::to_string(category) + " " + (positive ? "#p" : "#n");
    std::string id = "c";
    id += std::to_string(i);  // not "c" + ...: GCC 12 warns (-Wrestrict) on that in Release
    dataset += json({{"id", id},
                     {"vars", {{"text", text}}},
                     {"expected", positive ? "positive" : "negative"}})
                   .dump() +
               "\n";
  }
  write(repo / ".promptops.toml", "[providers.local]\nkind = \"openai\"\nbase_url = \"" + server.base_url() +
                                      "\"\nmax_concurrency = 64\n\n[defaults.model]\nprovider = \"local\"\n"
                                      "name = \"bench-model\"\n");
  write(repo / "prompts/classify.toml",
        "template = \"Classify the ticket as positive or negative: {{text}}\"\n\n[vars]\ntext = { required = "
        "true }\n\n"
        "[eval]\ndataset = \"evals/classify.jsonl\"\nmetric = \"accuracy\"\n");
  write(repo / "evals/classify.jsonl", dataset);
  const std::string git = "git -C " + quote(repo.string()) + " ";
  if (run(git + "init -q -b main && " + git + "add -A && " + git +
          "-c user.name=Bench -c user.email=bench@example.com commit -q -m classify") != 0) {
    std::cerr << "optimize_bench: cannot make the repository in " << repo << "\n";
    return 2;
  }

  std::printf(
      "git-promptops optimize benchmark: %d cases (6 categories, a third easy), minibatch 3, --train 0.5,"
      " loopback server answering after %d ms\n",
      cases, latency_ms);
  std::printf("%8s %8s %8s %10s %10s %9s %9s\n", "budget", "calls", "sent", "accuracy", "from", "kept",
              "wall s");
  double last_cold = 0.0;
  const auto optimize = [&](int budget, const std::string& log, std::string* out) {
    const fs::path stdout_file = root / "stdout.txt";
    const std::string command = "cd " + quote(repo.string()) + " && " + quote(binary) +
                                " optimize classify --budget " + std::to_string(budget) + " --log " +
                                quote(log) + " >" + quote(stdout_file.string()) + " 2>" +
                                quote((root / "stderr.txt").string());
    const auto start = std::chrono::steady_clock::now();
    const int status = run(command);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    *out = read(stdout_file);
    if (status != 0 && status != 1) {
      std::cerr << "optimize_bench: optimize exited " << status << ":\n" << read(root / "stderr.txt");
      std::exit(1);
    }
    return seconds;
  };
  const auto reset = [&] {
    fs::remove_all(repo / ".git/promptops");
    run(git + "update-ref -d refs/notes/promptops 2>/dev/null; " + git +
        "for-each-ref --format='delete %(refname)' refs/heads/promptops | " + git + "update-ref --stdin");
  };
  for (const int budget : budgets) {
    reset();
    server.reset_counters();
    const std::string log = (root / "log.jsonl").string();
    std::string out;
    const double seconds = optimize(budget, log, &out);
    double seed = 0.0;
    double best = 0.0;
    std::size_t kept = 0;
    std::istringstream lines(read(log));
    for (std::string line; std::getline(lines, line);) {
      const json record = json::parse(line);
      if (record["status"] == "seed") {
        seed = best = record["validation"].get<double>();
      } else if (record["status"] == "accepted") {
        ++kept;
        best = std::max(best, record["validation"].get<double>());
      }
    }
    const std::size_t calls_at = out.find("calls   ");
    const int calls = calls_at == std::string::npos ? -1 : std::atoi(out.c_str() + calls_at + 8);
    if (calls > budget) {
      std::cerr << "optimize_bench: " << calls << " calls counted with a budget of " << budget << "\n";
      return 1;
    }
    if (server.requests() > static_cast<std::size_t>(budget)) {
      std::cerr << "optimize_bench: the server saw " << server.requests() << " requests with a budget of "
                << budget << "\n";
      return 1;
    }
    std::printf("%8d %8d %8zu %10.3f %10.3f %9zu %9.2f\n", budget, calls, server.requests(), best, seed, kept,
                seconds);
    last_cold = seconds;
  }
  // The same search again with every answer cached: what is left is the optimizer's own work
  // (process start, planning, scoring, cache reads, the write-back and notes).
  const int largest = budgets.back();
  run(git + "update-ref -d refs/notes/promptops; " + git +
      "for-each-ref --format='delete %(refname)' refs/heads/promptops | " + git + "update-ref --stdin");
  server.reset_counters();
  std::string out;
  const double warm = optimize(largest, (root / "warm.jsonl").string(), &out);
  if (server.requests() != 0) {
    std::cerr << "optimize_bench: the cached rerun sent " << server.requests() << " requests\n";
    return 1;
  }
  if (read(root / "warm.jsonl") != read(root / "log.jsonl")) {
    std::cerr << "optimize_bench: the cached rerun took another path\n";
    return 1;
  }
  const double share = warm / last_cold;
  std::printf("optimizer overhead at budget %d: %.3f s of %.2f s cold = %.1f%% (target < 5%%: %s)\n", largest,
              warm, last_cold, 100.0 * share, share < 0.05 ? "met" : "MISS");
  fs::remove_all(root);
  return 0;
}
