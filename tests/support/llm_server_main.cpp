// SPDX-License-Identifier: MIT
// promptops-llm-server: runs the test model server alone, for benchmarks and manual demos.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/llm_server.hpp"

namespace {

constexpr const char* k_usage =
    "Usage: promptops-llm-server [--latency-ms N] [--rules FILE] [--key KEY] [--port N]\n"
    "\n"
    "Serves the OpenAI chat completions and embeddings APIs and the Anthropic Messages API on\n"
    "127.0.0.1. Prints the base URL (http://127.0.0.1:PORT/v1) as the first line, serves until\n"
    "SIGINT, SIGTERM or end of standard input, then prints a JSON summary on standard error.\n"
    "\n"
    "  --latency-ms N  every answer waits N ms first (requests wait concurrently)\n"
    "  --rules FILE    a JSON array of {\"when\": [STRING...], \"answer\": STRING}; the first rule\n"
    "                  whose every string occurs in the prompt answers, otherwise the last user\n"
    "                  message is echoed\n"
    "  --key KEY       require this API key (Authorization: Bearer KEY or x-api-key: KEY)\n"
    "  --port N        listen on port N (default 0: an ephemeral port)\n";

volatile std::sig_atomic_t g_signalled = 0;

void on_signal(int /*signal*/) { g_signalled = 1; }

struct Options {
  std::chrono::milliseconds latency{0};
  std::optional<std::string> rules_file;
  std::optional<std::string> key;
  int port = 0;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "promptops-llm-server: " << message << "\n\n" << k_usage;
  std::exit(2);
}

int parse_number(const std::string& option, const std::string& text, int max) {
  try {
    std::size_t used = 0;
    const long value = std::stol(text, &used);
    if (used == text.size() && value >= 0 && value <= max) {
      return static_cast<int>(value);
    }
  } catch (const std::exception&) {
    // reported below
  }
  usage_error(option + " wants a number from 0 to " + std::to_string(max) + ", not '" + text + "'");
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "-h" || argument == "--help") {
      std::cout << k_usage;
      std::exit(0);
    }
    std::string name = argument;
    std::optional<std::string> value;
    if (const auto equals = argument.find('='); argument.rfind("--", 0) == 0 && equals != std::string::npos) {
      name = argument.substr(0, equals);
      value = argument.substr(equals + 1);
    }
    if (name != "--latency-ms" && name != "--rules" && name != "--key" && name != "--port") {
      usage_error("unknown argument '" + argument + "'");
    }
    if (!value) {
      if (i + 1 >= argc) {
        usage_error(name + " needs a value");
      }
      value = argv[++i];
    }
    if (name == "--latency-ms") {
      options.latency = std::chrono::milliseconds(parse_number(name, *value, 24 * 60 * 60 * 1000));
    } else if (name == "--rules") {
      options.rules_file = *value;
    } else if (name == "--key") {
      options.key = *value;
    } else {
      options.port = parse_number(name, *value, 65535);
    }
  }
  return options;
}

std::vector<promptops::test::LlmServer::Rule> read_rules(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    usage_error("cannot read the rules file '" + path + "'");
  }
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_array()) {
    usage_error("the rules file '" + path + "' is not a JSON array");
  }
  std::vector<promptops::test::LlmServer::Rule> rules;
  for (const auto& item : json) {
    promptops::test::LlmServer::Rule rule;
    const bool ok = item.is_object() && item.contains("answer") && item["answer"].is_string();
    if (!ok) {
      usage_error("every rule in '" + path + "' needs a string \"answer\"");
    }
    rule.answer = item["answer"].get<std::string>();
    if (item.contains("when")) {
      const nlohmann::json& when = item["when"];
      if (when.is_string()) {
        rule.when.push_back(when.get<std::string>());
      } else if (when.is_array() && std::all_of(when.begin(), when.end(),
                                                [](const nlohmann::json& s) { return s.is_string(); })) {
        for (const auto& needle : when) {
          rule.when.push_back(needle.get<std::string>());
        }
      } else {
        usage_error("\"when\" in '" + path + "' must be an array of strings");
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

// Blocks until SIGINT, SIGTERM or end of standard input (the signals are blocked by the caller
// and only let through inside ppoll, so none is lost between checks).
void wait_for_end(const sigset_t& unblocked) {
  bool watch_stdin = true;
  while (g_signalled == 0) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    const int ready = ::ppoll(&input, watch_stdin ? 1 : 0, nullptr, &unblocked);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if ((input.revents & POLLNVAL) != 0) {
      watch_stdin = false;  // no standard input: only a signal ends the server
      continue;
    }
    if ((input.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[4096];
      const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        return;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  std::vector<promptops::test::LlmServer::Rule> rules;
  if (options.rules_file) {
    rules = read_rules(*options.rules_file);
  }

  // Block the signals before any server thread starts, so that they inherit the mask and only
  // the main thread's ppoll receives them.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigset_t previous;
  ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  sigset_t unblocked = previous;
  sigdelset(&unblocked, SIGINT);
  sigdelset(&unblocked, SIGTERM);

  try {
    promptops::test::LlmServer server(options.port);
    server.set_latency(options.latency);
    if (options.key) {
      server.set_key(*options.key);
    }
    if (options.rules_file) {
      server.set_rules(std::move(rules));
    }
    std::cout << server.base_url() << std::endl;

    wait_for_end(unblocked);

    const nlohmann::json summary = {{"requests", server.requests()},
                                    {"answered", server.answered()},
                                    {"connections", server.connections()},
                                    {"max_in_flight", server.max_in_flight()}};
    std::cerr << summary.dump() << std::endl;
  } catch (const std::exception& error) {
    std::cerr << "promptops-llm-server: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
