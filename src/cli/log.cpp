// SPDX-License-Identifier: MIT
// `git promptops log NAME`: the versions of a prompt along first-parent history, with aliases.
#include <map>

#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/notes.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/output/table.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

struct LogOptions {
  std::string name;
  std::string rev = "HEAD";
  std::string format;
  std::size_t max_count = 0;
};

void run_log(Context& context, const LogOptions& options) {
  git::Repository& repo = context.repo();
  const std::string name = prompt_name_argument(options.name, "use --rev REVISION to walk from another revision");
  const git::Oid tip = resolve_commit(context, options.rev);
  std::string path;
  std::vector<PromptVersion> versions = prompt_versions(repo, tip, name, &path);
  if (options.max_count > 0 && versions.size() > options.max_count) {
    versions.resize(options.max_count);
  }
  // An alias shows on the version its commit holds, even when it points at a later commit that
  // did not change the prompt.
  std::map<int, std::vector<std::string>> aliases_by_version;
  for (const git::Alias& alias : repo.aliases(name)) {
    if (const int number = version_at(repo, versions, path, alias.commit); number > 0) {
      aliases_by_version[number].push_back(alias.name);
    }
  }
  const auto aliases_of = [&](const PromptVersion& version) {
    const auto it = aliases_by_version.find(version.number);
    return version.deleted || it == aliases_by_version.end() ? std::vector<std::string>() : it->second;
  };

  // The headline metric of each version, from the notes that `eval` (here or in CI) recorded.
  // With promptops.trustNotes=false they are not shown.
  const std::map<git::Oid, git::NoteLines> notes =
      notes_trusted(repo) ? git::read_all_note_lines(repo) : std::map<git::Oid, git::NoteLines>();
  const auto eval_of = [&](const PromptVersion& version) -> std::optional<EvalResult> {
    const auto it = notes.find(version.commit);
    if (version.deleted || it == notes.end()) {
      return std::nullopt;
    }
    const EvalNotes evals = eval_notes(it->second);
    warn_note_problems(version.commit, evals.problems);
    return latest_eval_note(evals, name);
  };
  const auto metric_cell = [](const std::optional<EvalResult>& result) {
    if (!result) {
      return std::string();
    }
    char text[64];
    std::snprintf(text, sizeof text, "%s %.3f", result->metric.c_str(), result->value);
    return std::string(text);
  };

  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const PromptVersion& version : versions) {
      const git::Commit commit = repo.read_commit(version.commit);
      const git::Person author = repo.mailmap(commit.author);
      nlohmann::json entry = {{"version", version.deleted ? nlohmann::json(nullptr) : nlohmann::json(version.number)},
                              {"deleted", version.deleted},
                              {"commit", version.commit.hex()},
                              {"blob", version.deleted ? nlohmann::json(nullptr) : nlohmann::json(version.blob.hex())},
                              {"date", format_iso_date(commit.author)},
                              {"author", person_json(author)},
                              {"subject", commit.subject()},
                              {"aliases", aliases_of(version)}};
      const std::optional<EvalResult> result = eval_of(version);
      entry["eval"] = nullptr;
      if (result) {
        entry["eval"] = {{"metric", result->metric},
                         {"value", result->value},
                         {"interval", result->interval ? nlohmann::json::array({result->interval->low, result->interval->high})
                                                       : nlohmann::json(nullptr)},
                         {"model", result->model},
                         {"cases", result->metrics.cases},
                         {"eval_key", result->key},
                         {"source", "notes"}};
      }
      list.push_back(std::move(entry));
    }
    context.out_json({{"prompt", name}, {"path", path}, {"tip", tip.hex()}, {"versions", std::move(list)}});
    return;
  }
  // The METRIC column appears once some version has been evaluated.
  bool any_metric = false;
  std::vector<std::string> metrics;
  for (const PromptVersion& version : versions) {
    metrics.push_back(metric_cell(eval_of(version)));
    any_metric = any_metric || !metrics.back().empty();
  }
  std::vector<std::string> headers = {"VERSION", "COMMIT", "DATE", "AUTHOR", "ALIASES", "SUBJECT"};
  if (any_metric) {
    headers.insert(headers.begin() + 4, "METRIC");
  }
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const PromptVersion& version = versions[i];
    const git::Commit commit = repo.read_commit(version.commit);
    rows.push_back({version.deleted ? "deleted" : "v" + std::to_string(version.number), version.commit.short_hex(),
                    format_date(commit.author), repo.mailmap(commit.author).name,
                    util::join(aliases_of(version), ","), commit.subject()});
    if (any_metric) {
      rows.back().insert(rows.back().begin() + 4, metrics[i]);
    }
  }
  if (options.format == "tsv") {
    context.out(output::render_tsv(headers, rows));
    return;
  }
  output::Table table(headers, {output::Align::right});
  for (auto& row : rows) {
    table.add_row(std::move(row));
  }
  context.out(table.render(output::terminal_width(stdout)));
}

}  // namespace

void add_log(CLI::App& app, Context& context) {
  auto options = std::make_shared<LogOptions>();
  CLI::App* command = app.add_subcommand("log", "list the versions of a prompt (newest first) with their aliases");
  command->add_option("name", options->name, "the prompt's name, e.g. support/classify")->required();
  command->add_option("--rev", options->rev, "walk the first-parent history from this revision (default HEAD)");
  command->add_option("-n,--max-count", options->max_count, "show at most this many versions");
  add_format_option(*command, options->format, {"text", "json", "tsv"});
  command->callback([&context, options] { run_log(context, *options); });
}

}  // namespace promptops::cli
