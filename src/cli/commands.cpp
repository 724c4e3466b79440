// SPDX-License-Identifier: MIT
// The table of subcommands: name, one-line summary, and the function that adds it to the parser.
#include "context.hpp"

namespace promptops::cli {

void add_alias(CLI::App& app, Context& context);
void add_bisect(CLI::App& app, Context& context);
void add_bisect_run(CLI::App& app, Context& context);
void add_cache(CLI::App& app, Context& context);
void add_check(CLI::App& app, Context& context);
void add_compare(CLI::App& app, Context& context);
void add_completion(CLI::App& app, Context& context);
void add_diff(CLI::App& app, Context& context);
void add_eval(CLI::App& app, Context& context);
void add_export(CLI::App& app, Context& context);
void add_help(CLI::App& app, Context& context);
void add_hook(CLI::App& app, Context& context);
void add_hooks(CLI::App& app, Context& context);
void add_import(CLI::App& app, Context& context);
void add_init(CLI::App& app, Context& context);
void add_lint(CLI::App& app, Context& context);
void add_list(CLI::App& app, Context& context);
void add_log(CLI::App& app, Context& context);
void add_optimize(CLI::App& app, Context& context);
void add_render(CLI::App& app, Context& context);
void add_report(CLI::App& app, Context& context);
void add_review(CLI::App& app, Context& context);
void add_show(CLI::App& app, Context& context);
void add_textconv(CLI::App& app, Context& context);
void add_version(CLI::App& app, Context& context);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"init", "scaffold .promptops.toml, an example prompt and a dataset", add_init},
      {"list", "list the prompts", add_list},
      {"show", "show a prompt at a reference", add_show},
      {"render", "render a prompt's messages", add_render},
      {"log", "list a prompt's versions", add_log},
      {"alias", "set, list or remove aliases", add_alias},
      {"lint", "check config, prompts and datasets", add_lint},
      {"eval", "evaluate prompts per commit against their datasets", add_eval},
      {"report", "write the HTML page of recorded evaluations", add_report},
      {"cache", "show or clear the evaluation cache", add_cache},
      {"check", "lint and gate changed prompts against a baseline; exit 1 on a regression", add_check},
      {"export", "write prompts as a JSON bundle, or one prompt as a dotprompt or Prompty file", add_export},
      {"import", "turn promptfoo, dotprompt or Prompty files into prompts, datasets and config", add_import},
      {"diff", "show what changed in the prompts between two points", add_diff},
      {"compare", "A/B two references on the same cases with paired statistics", add_compare},
      {"review", "report a change for review: diffs, metrics with p-values, flipped cases, the gate", add_review},
      {"bisect", "find the first commit where a prompt's metric went bad", add_bisect},
      {"bisect-run", "test HEAD for git bisect run: exit 0 good, 1 bad, 125 untestable", add_bisect_run},
      {"optimize", "improve a prompt by reflective evolution and commit the winner for review", add_optimize},
      {"textconv", "print a prompt file as normalized text for git diff", add_textconv},
      {"hooks", "install or remove the pre-commit and pre-push hooks", add_hooks},
      {"version", "print the version", add_version},
      {"help", "show the manual of git-promptops or of a command", add_help},
      {"completion", "print the bash or zsh completion script", add_completion},
      {"hook", "", add_hook},  // hidden: what the installed hook shims run
  };
  return table;
}

}  // namespace promptops::cli
