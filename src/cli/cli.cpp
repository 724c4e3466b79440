// SPDX-License-Identifier: MIT
// The command line: parse, dispatch to src/cli/<command>.cpp, map errors to exit statuses.
#include "cli.hpp"

#include <algorithm>
#include <cstdio>

#include <promptops/config/config.hpp>
#include <string>
#include <string_view>

#include <promptops/util/error.hpp>

#include "context.hpp"
#include "help.hpp"
#include "remedies.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

// Bytes that are not valid UTF-8, and control characters other than tab and newline, as \xNN,
// so that an error quoting a user's file name or value never sends raw bytes to a terminal;
// valid UTF-8 is kept as it is.
std::string printable(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = util::utf8_sequence_length(text, i);
    const bool control = byte == 0x7F || (byte < 0x20 && byte != '\t' && byte != '\n');
    if (length == 0 || control) {
      static const char* const k_hex = "0123456789abcdef";
      out += "\\x";
      out += k_hex[byte >> 4U];
      out += k_hex[byte & 0xFU];
      ++i;
      continue;
    }
    out.append(text, i, length);
    i += length;
  }
  return out;
}

int report(const Error& error) {
  // A message of several lines is several errors reported at once (mold): each gets the prefix.
  const std::string what = printable(error.what());
  for (std::size_t start = 0; start <= what.size();) {
    const std::size_t end = std::min(what.find('\n', start), what.size());
    std::fprintf(stderr, "git-promptops: error: %.*s\n", static_cast<int>(end - start), what.data() + start);
    start = end + 1;
  }
  const std::string hint = hint_line(error);
  if (!hint.empty()) {
    std::fprintf(stderr, "hint: %s\n", printable(hint).c_str());
  }
  return static_cast<int>(error.exit_code());
}

// The subcommand the parse reached (the app itself when none).
const CLI::App* selected_command(const CLI::App& app) {
  const CLI::App* current = &app;
  while (!current->get_subcommands().empty()) {
    current = current->get_subcommands().front();
  }
  return current;
}

// "--json" and "-o" forms of the options `command` accepts, with its parents' (options fall
// through to them).
std::vector<std::string> option_names(const CLI::App* command) {
  std::vector<std::string> names;
  for (const CLI::App* app = command; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* option : app->get_options()) {
      for (const std::string& name : option->get_lnames()) {
        names.push_back("--" + name);
      }
      for (const std::string& name : option->get_snames()) {
        names.push_back("-" + name);
      }
    }
  }
  return names;
}

std::vector<std::string> subcommand_names(const CLI::App* command) {
  std::vector<std::string> names;
  for (const CLI::App* sub : command->get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

// The hint for a parse error: "did you mean '--json'?" for the first option the command does
// not know, or for a word where the command expects one of its subcommands; else how to get
// the usage.
std::string parse_error_hint(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* command = selected_command(app);
  const std::vector<std::string> options = option_names(command);
  for (const std::string& arg : args) {
    if (arg == "--") {
      break;
    }
    // Long options only: any one-letter option is one edit from another.
    if (!arg.starts_with("--") || arg.size() < 3) {
      continue;
    }
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(options.begin(), options.end(), name) == options.end()) {
      const std::string close = did_you_mean(name, options);
      if (!close.empty()) {
        return "did you mean '" + close + "'?";
      }
    }
  }
  const std::vector<std::string> subcommands = subcommand_names(command);
  if (!subcommands.empty()) {
    // The first word after the command's own name is where a subcommand was expected.
    const auto at = std::find(args.begin(), args.end(), command->get_name());
    for (auto it = at == args.end() ? args.begin() : at + 1; it != args.end(); ++it) {
      if (!it->empty() && (*it)[0] != '-') {
        const std::string close = did_you_mean(*it, subcommands);
        if (!close.empty()) {
          return "did you mean '" + close + "'?";
        }
        break;
      }
    }
  }
  return "run 'git promptops help' for usage";
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
                         close.empty() ? "run 'git promptops help' for the commands" : "did you mean '" + close + "'?");
      }
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::fputs(manual_text(parsed_command_path(app)).c_str(), stdout);
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
      const bool exclusive = dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr;
      throw UsageError(message,
                       exclusive ? "give one of them, not both" : parse_error_hint(app, context.args));
    }
  } catch (const Error& error) {
    return report(error);
  } catch (const std::bad_alloc&) {
    std::fputs("git-promptops: error: out of memory\n", stderr);
    return static_cast<int>(ExitCode::error);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "git-promptops: error: %s\n", printable(error.what()).c_str());
    return static_cast<int>(ExitCode::error);
  }
  return static_cast<int>(context.exit_status);
}

}  // namespace promptops::cli
