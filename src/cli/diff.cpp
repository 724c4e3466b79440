// SPDX-License-Identifier: MIT
// `git promptops diff [A [B]] [-- NAME...]`: what changed in the prompts between two points, field
// by field and word by word, with the eval metric when notes hold one for both commits.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include <promptops/diff/diff.hpp>
#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>
#include <promptops/git/notes.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/workflows/prompt_diff.hpp>

#include "common.hpp"
#include "diff_text.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;
using Value = std::optional<std::string>;

struct DiffOptions {
  std::string old_revision;
  std::string new_revision;
  std::vector<std::string> names;
  std::string format;
};

struct DiffSide {
  std::unique_ptr<Snapshot> snapshot;
};

DiffSide load_side(Context& context, const std::string& revision) {
  return DiffSide{snapshot_at(context, revision)};
}

std::optional<EvalResult> eval_note(const git::Repository& repo, const Snapshot& snapshot,
                                    const std::string& name) {
  const std::optional<git::Oid> commit = snapshot.commit();
  if (!commit) {
    return std::nullopt;
  }
  if (!notes_trusted(repo)) {
    return std::nullopt;
  }
  const EvalNotes evals = eval_notes(git::read_note_lines(repo, *commit));
  warn_note_problems(*commit, evals.problems);
  return latest_eval_note(evals, name);
}

std::string signed3(double value) { return (value >= 0 ? "+" : "") + util::fixed(value, 3); }

json value_json(const Value& value) { return value ? json(*value) : json(nullptr); }

std::string render_text(const std::vector<PromptChange>& changes, diff::Markers markers) {
  std::string out;
  for (const PromptChange& change : changes) {
    out += out.empty() ? "" : "\n";
    if (change.status == "renamed") {
      out += "prompt " + change.name + " (renamed from " + change.old_name +
             (change.similarity < 1.0
                  ? ", " + std::to_string(static_cast<int>(change.similarity * 100)) + "% similar"
                  : std::string()) +
             ")\n";
    } else {
      const Prompt& prompt = change.new_prompt ? *change.new_prompt : *change.old_prompt;
      out += "prompt " + change.name + " (" + prompt.path + ")" +
             (change.status == "modified" ? "" : " " + change.status) + "\n";
    }
    for (const std::string& line : change_lines(change, markers)) {
      out += "  " + line + "\n";
    }
    if (change.metric) {
      const MetricChange& metric = *change.metric;
      out += "  metric " + metric.name + ": " + util::fixed(metric.old_value, 3) + " → " +
             util::fixed(metric.new_value, 3) + " (" + signed3(metric.new_value - metric.old_value) + ")\n";
    }
  }
  return out;
}

json render_json(const std::vector<PromptChange>& changes) {
  json prompts = json::array();
  for (const PromptChange& change : changes) {
    json fields = json::array();
    for (const FieldChange& field : change.fields) {
      fields.push_back(
          {{"key", field.key}, {"old", value_json(field.old_value)}, {"new", value_json(field.new_value)}});
    }
    json messages = json::array();
    for (const MessageChange& message : change.messages) {
      messages.push_back({{"index", message.index},
                          {"role", message.role},
                          {"old", message.old_message ? json(message.old_message->content) : json(nullptr)},
                          {"new", message.new_message ? json(message.new_message->content) : json(nullptr)},
                          {"word_diff", diff::render(message.runs)}});
    }
    json metric = nullptr;
    if (change.metric) {
      metric = {{"name", change.metric->name},
                {"old", change.metric->old_value},
                {"new", change.metric->new_value},
                {"delta", change.metric->new_value - change.metric->old_value}};
    }
    prompts.push_back({{"name", change.name},
                       {"old_path", change.old_prompt ? json(change.old_prompt->path) : json(nullptr)},
                       {"new_path", change.new_prompt ? json(change.new_prompt->path) : json(nullptr)},
                       {"status", change.status},
                       {"similarity", change.status == "renamed" ? json(change.similarity) : json(nullptr)},
                       {"fields", std::move(fields)},
                       {"messages", std::move(messages)},
                       {"chars", {char_count(change.old_prompt), char_count(change.new_prompt)}},
                       {"tokens", {token_count(change.old_prompt), token_count(change.new_prompt)}},
                       {"metric", std::move(metric)}});
  }
  return {{"prompts", std::move(prompts)}};
}

void run_diff(Context& context, const DiffOptions& options) {
  // Arguments after "--" are prompt names; before it, at most two revisions.
  const Positionals split =
      split_positionals(context, {&options.old_revision, &options.new_revision}, options.names);
  const std::vector<std::string>& positionals = split.words;
  const std::size_t before = split.before;
  if (before > 2) {
    throw UsageError("diff takes at most two revisions, got '" + positionals[2] + "' too",
                     "put prompt names after --: git promptops diff " + positionals[0] + " " +
                         positionals[1] + " -- " + positionals[2]);
  }
  const std::set<std::string> names(positionals.begin() + static_cast<std::ptrdiff_t>(before),
                                    positionals.end());
  const std::string old_revision = before >= 1 ? positionals[0] : "HEAD";
  const std::string new_revision = before == 2 ? positionals[1] : "";
  const DiffSide old_side = load_side(context, old_revision);
  const DiffSide new_side = load_side(context, new_revision);

  std::vector<std::string> skipped;
  std::vector<PromptChange> changes = diff_prompts(*old_side.snapshot, *new_side.snapshot, names, &skipped);
  for (const std::string& message : skipped) {
    context.warn(message);
  }
  const bool notes = old_side.snapshot->commit() && new_side.snapshot->commit();
  for (PromptChange& change : changes) {
    if (notes && change.old_prompt && change.new_prompt) {
      const auto old_eval = eval_note(context.repo(), *old_side.snapshot, change.old_name);
      const auto new_eval = eval_note(context.repo(), *new_side.snapshot, change.name);
      if (old_eval && new_eval && old_eval->metric == new_eval->metric) {
        change.metric = MetricChange{new_eval->metric, old_eval->value, new_eval->value};
      }
    }
  }

  if (options.format == "json") {
    context.out_json(render_json(changes));
    return;
  }
  context.out(render_text(changes, context.stdout_color() ? diff::Markers::color : diff::Markers::plain));
}

}  // namespace

std::vector<std::string> change_lines(const PromptChange& change, diff::Markers markers) {
  const auto text_value = [](const Value& value) { return value ? *value : std::string("(none)"); };
  std::vector<std::string> lines;
  for (const FieldChange& field : change.fields) {
    lines.push_back(field.key + ": " + text_value(field.old_value) + " → " + text_value(field.new_value));
  }
  for (const MessageChange& message : change.messages) {
    lines.push_back("--- " + message.role + " ---");
    for (const std::string& line : diff::changed_lines(message.runs, markers)) {
      lines.push_back("  " + line);
    }
  }
  lines.push_back("chars: " + std::to_string(char_count(change.old_prompt)) + " → " +
                  std::to_string(char_count(change.new_prompt)));
  lines.push_back("tokens: " + std::to_string(token_count(change.old_prompt)) + " → " +
                  std::to_string(token_count(change.new_prompt)));
  return lines;
}

void add_diff(CLI::App& app, Context& context) {
  auto options = std::make_shared<DiffOptions>();
  CLI::App* command = app.add_subcommand("diff", "show what changed in the prompts between two revisions");
  command->add_option("A", options->old_revision, "the old revision (default HEAD)");
  command->add_option("B", options->new_revision, "the new revision (default the working tree)");
  command->add_option("names", options->names, "after --: the prompts to compare (default: every prompt)");
  add_format_option(*command, options->format, {"text", "json"});
  command->callback([&context, options] { run_diff(context, *options); });
}

}  // namespace promptops::cli
