// SPDX-License-Identifier: MIT
// `git promptops alias set|list|rm`: named pointers to prompt versions, kept as git tags.
#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/output/table.hpp>

namespace promptops::cli {

namespace {

struct AliasOptions {
  std::string name;
  std::string alias;
  std::string target = "HEAD";
  std::string message;
  std::string format;
};

void run_set(Context& context, const AliasOptions& options) {
  git::Repository& repo = context.repo();
  const std::string name = prompt_name_argument(options.name, "give the target after the alias: alias set NAME ALIAS REV");
  if (options.alias.empty() || options.alias.find('@') != std::string::npos ||
      !git::is_valid_ref_component(options.alias) || options.alias.find('/') != std::string::npos) {
    throw UsageError("invalid alias name '" + options.alias + "'",
                     "use letters, digits, '-', '_' or '.', for example: production");
  }
  if (options.alias.size() >= 2 && options.alias[0] == 'v' &&
      options.alias.find_first_not_of("0123456789", 1) == std::string::npos) {
    throw UsageError("alias '" + options.alias + "' would hide version " + options.alias, "choose another name");
  }
  const ResolvedReference target = resolve_reference(repo, Reference{name, options.target});
  if (!target.commit) {
    throw UsageError("an alias needs a commit", "commit the prompt first, then set the alias");
  }
  const auto previous = repo.find_alias(name, options.alias);
  const git::Alias alias = repo.set_alias(name, options.alias, *target.commit, options.message);
  std::string path;
  const auto versions = prompt_versions(repo, context.head(), name, &path);
  std::string line = name + "@" + alias.name + " -> " + alias.commit.short_hex();
  if (const int number = version_at(repo, versions, path, alias.commit); number > 0) {
    line += " (v" + std::to_string(number) + ")";
  }
  if (previous) {
    line += previous->commit == alias.commit ? ", unchanged" : ", was " + previous->commit.short_hex();
  }
  context.out(line + "\n");
}

void run_list(Context& context, const AliasOptions& options) {
  git::Repository& repo = context.repo();
  const std::string name = options.name.empty() ? std::string() : Reference::parse(options.name).name;
  const std::vector<git::Alias> aliases = repo.aliases(name);
  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const git::Alias& alias : aliases) {
      list.push_back({{"prompt", alias.prompt}, {"alias", alias.name}, {"commit", alias.commit.hex()},
                      {"tag", alias.tag.is_zero() ? nlohmann::json(nullptr) : nlohmann::json(alias.tag.hex())},
                      {"tagger", person_json(alias.tagger)},
                      {"date", alias.tag.is_zero() ? nlohmann::json(nullptr) : nlohmann::json(format_iso_date(alias.tagger))}});
    }
    context.out_json({{"aliases", std::move(list)}});
    return;
  }
  output::Table table({"PROMPT", "ALIAS", "COMMIT", "SET BY", "DATE"});
  for (const git::Alias& alias : aliases) {
    table.add_row({alias.prompt, alias.name, alias.commit.short_hex(), alias.tagger.name,
                   alias.tag.is_zero() ? "" : format_date(alias.tagger)});
  }
  if (!table.empty()) {
    context.out(table.render(output::terminal_width(stdout)));
  }
}

void run_rm(Context& context, const AliasOptions& options) {
  git::Repository& repo = context.repo();
  const std::string name = prompt_name_argument(options.name, "write: alias rm NAME ALIAS");
  if (!repo.remove_alias(name, options.alias)) {
    std::vector<std::string> known;
    for (const git::Alias& alias : repo.aliases(name)) {
      known.push_back(alias.name);
    }
    const std::string close = did_you_mean(options.alias, known);
    throw NotFoundError("prompt '" + name + "' has no alias '" + options.alias + "'",
                        close.empty() ? "'git promptops alias list " + name + "' shows its aliases"
                                      : "did you mean '" + close + "'?");
  }
  context.out("removed " + name + "@" + options.alias + "\n");
}

}  // namespace

void add_alias(CLI::App& app, Context& context) {
  CLI::App* command = app.add_subcommand("alias", "set, list or remove aliases (git tags promptops/<name>/<alias>)");
  command->require_subcommand(1);

  auto set_options = std::make_shared<AliasOptions>();
  CLI::App* set = command->add_subcommand("set", "point an alias at a version (creates or moves the tag)");
  set->add_option("name", set_options->name, "the prompt's name")->required();
  set->add_option("alias", set_options->alias, "the alias, e.g. production")->required();
  set->add_option("target", set_options->target, "vN, another alias, or a git revision (default HEAD)");
  set->add_option("-m,--message", set_options->message, "why the alias moves (kept in the tag message)");
  set->callback([&context, set_options] { run_set(context, *set_options); });

  auto list_options = std::make_shared<AliasOptions>();
  CLI::App* list = command->add_subcommand("list", "list aliases, of one prompt or of all");
  list->add_option("name", list_options->name, "only this prompt's aliases");
  add_format_option(*list, list_options->format, {"text", "json"});
  list->callback([&context, list_options] { run_list(context, *list_options); });

  auto rm_options = std::make_shared<AliasOptions>();
  CLI::App* rm = command->add_subcommand("rm", "remove an alias");
  rm->add_option("name", rm_options->name, "the prompt's name")->required();
  rm->add_option("alias", rm_options->alias, "the alias to remove")->required();
  rm->callback([&context, rm_options] { run_rm(context, *rm_options); });
}

}  // namespace promptops::cli
