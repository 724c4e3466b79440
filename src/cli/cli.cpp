// SPDX-License-Identifier: MIT
// The command line: parse, dispatch to src/cli/<command>.cpp, map errors to exit statuses.
#include "cli/cli.hpp"

#include <algorithm>
#include <cstdio>

#include <promptops/config.hpp>
#include <string>
#include <string_view>

#include <promptops/error.hpp>

#include "cli/context.hpp"

namespace promptops::cli {

namespace {

int report(const Error& error) {
  // A message of several lines is several errors reported at once (mold): each gets the prefix.
  const std::string_view what = error.what();
  for (std::size_t start = 0; start <= what.size();) {
    const std::size_t end = std::min(what.find('\n', start), what.size());
    std::fprintf(stderr, "git-promptops: error: %.*s\n", static_cast<int>(end - start), what.data() + start);
    start = end + 1;
  }
  if (!error.hint().empty()) {
    std::fprintf(stderr, "hint: %s\n", error.hint().c_str());
  }
  return static_cast<int>(error.exit_code());
}

}  // namespace

int main(int argc, char** argv) {
  Context context;
  context.args.assign(argv + std::min(argc, 1), argv + argc);
  CLI::App app{"git-promptops: LLM prompts versioned, tested and reviewed like code", "git-promptops"};
  app.set_version_flag("--version", "git-promptops version " PROMPTOPS_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--color", context.color, "colour output: auto|always|never (default auto)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.footer("Run 'git promptops <command> --help' for a command's options; 'man git-promptops' for the manual.");
  for (const Command& command : commands()) {
    command.add(app, context);
  }
  try {
    if (argc >= 2 && argv[1][0] != '-') {
      std::vector<std::string> names;
      for (const Command& command : commands()) {
        names.emplace_back(command.name);
      }
      if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
        const std::string close = did_you_mean(argv[1], names);
        throw UsageError(std::string("'") + argv[1] + "' is not a git-promptops command",
                         close.empty() ? "run 'git promptops --help' for the commands" : "did you mean '" + close + "'?");
      }
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::fputs(app.help().c_str(), stdout);
      return 0;
    } catch (const CLI::CallForAllHelp&) {
      std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
      return 0;
    } catch (const CLI::CallForVersion&) {
      std::printf("git-promptops version %s\n", PROMPTOPS_VERSION);
      return 0;
    } catch (const CLI::ParseError& error) {
      std::string message = error.what();  // CLI11 capitalises; our messages are lower case
      if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z' &&
          (message.size() < 2 || message[1] < 'A' || message[1] > 'Z')) {
        message[0] = static_cast<char>(message[0] - 'A' + 'a');
      }
      throw UsageError(message, "run 'git promptops --help' for usage");
    }
  } catch (const Error& error) {
    return report(error);
  } catch (const std::bad_alloc&) {
    std::fputs("git-promptops: error: out of memory\n", stderr);
    return static_cast<int>(ExitCode::error);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "git-promptops: error: %s\n", error.what());
    return static_cast<int>(ExitCode::error);
  }
  return static_cast<int>(context.exit_status);
}

}  // namespace promptops::cli
