// SPDX-License-Identifier: MIT
// `git promptops lint [NAME...]`: every problem in the config, prompts and datasets at once.
#include <algorithm>
#include <tuple>

#include <promptops/eval/eval.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

struct LintOptions {
  std::vector<std::string> names;
  std::string at;
  std::string format;
};

void run_lint(Context& context, const LintOptions& options) {
  const auto snapshot = snapshot_at(context, options.at);
  std::vector<Diagnostic> diagnostics = lint(*snapshot, options.names);
  const std::vector<Diagnostic> eval = lint_eval(*snapshot, options.names);
  diagnostics.insert(diagnostics.end(), eval.begin(), eval.end());
  std::stable_sort(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) < std::tie(b.where.file, b.where.line, b.where.column);
  });
  std::size_t errors = 0;
  for (const Diagnostic& diagnostic : diagnostics) {
    errors += diagnostic.severity == Severity::error ? 1 : 0;
  }
  const std::size_t warnings = diagnostics.size() - errors;
  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const Diagnostic& d : diagnostics) {
      list.push_back({{"file", d.where.file}, {"line", d.where.line}, {"column", d.where.column},
                      {"severity", d.severity == Severity::error ? "error" : "warning"},
                      {"code", d.code}, {"message", d.message}, {"hint", d.hint}});
    }
    context.out_json({{"errors", errors}, {"warnings", warnings}, {"diagnostics", std::move(list)}});
  } else {
    std::string out;
    for (const Diagnostic& d : diagnostics) {
      out += d.format() + " [" + d.code + "]\n";
      if (!d.hint.empty()) {
        out += "  hint: " + d.hint + "\n";
      }
    }
    if (!diagnostics.empty()) {
      out += util::plural(errors, "error") + ", " + util::plural(warnings, "warning") + "\n";
    }
    context.out(out);
  }
  if (!diagnostics.empty()) {
    context.exit_status = ExitCode::negative;
  }
}

}  // namespace

void add_lint(CLI::App& app, Context& context) {
  auto options = std::make_shared<LintOptions>();
  CLI::App* command = app.add_subcommand("lint", "check the config, prompts and datasets; exit 1 on any finding");
  command->add_option("names", options->names, "only these prompts (default: all)");
  command->add_option("--at", options->at, "lint the files at this revision instead of the working tree");
  add_format_option(*command, options->format, {"text", "json"});
  command->callback([&context, options] { run_lint(context, *options); });
}

}  // namespace promptops::cli
