// SPDX-License-Identifier: MIT
// `git promptops diff [A [B]] [-- NAME...]`: what changed in the prompts between two points, field
// by field and word by word, with the eval metric when notes hold one for both commits.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <promptops/diff.hpp>
#include <promptops/error.hpp>
#include <promptops/eval.hpp>
#include <promptops/notes.hpp>
#include <promptops/prompt.hpp>

#include "cli/common.hpp"

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

struct Field {
  std::string key;
  Value old_value;
  Value new_value;
};

struct MessageChange {
  std::size_t index = 0;
  std::string role;
  std::optional<Message> old_message;
  std::optional<Message> new_message;
  std::vector<diff::Run> runs;
};

struct MetricChange {
  std::string name;
  double old_value = 0.0;
  double new_value = 0.0;
};

struct PromptChange {
  std::string name;
  std::string old_name;  // differs from name for a rename
  std::optional<Prompt> old_prompt;
  std::optional<Prompt> new_prompt;
  std::string status;  // modified | added | deleted | renamed
  std::vector<Field> fields;
  std::vector<MessageChange> messages;
  std::optional<MetricChange> metric;
};

struct Side {
  std::unique_ptr<Snapshot> snapshot;
  std::map<std::string, PromptFile> files;  // by name
};

Side load_side(Context& context, const std::string& revision) {
  Side side{snapshot_at(context, revision), {}};
  const Config config = load_config(*side.snapshot).config;
  for (PromptFile& file : find_prompts(*side.snapshot, config)) {
    side.files.emplace(file.name, std::move(file));
  }
  return side;
}

std::optional<Prompt> try_load(Context& context, const Side& side, const PromptFile& file) {
  try {
    return load_prompt(*side.snapshot, file);
  } catch (const ConfigError& error) {
    context.warn("skipping '" + file.name + "' at " + side.snapshot->label() + ": " + error.what());
    return std::nullopt;
  }
}

std::string value_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string number_text(double value) { return value_text(json(value)); }

void add_field(std::vector<Field>& fields, const std::string& key, const Value& old_value, const Value& new_value) {
  if (old_value != new_value) {
    fields.push_back(Field{key, old_value, new_value});
  }
}

Value non_empty(const std::string& text) { return text.empty() ? Value() : Value(text); }

std::vector<Field> field_changes(const Prompt& old_prompt, const Prompt& new_prompt) {
  std::vector<Field> fields;
  add_field(fields, "description", non_empty(old_prompt.description), non_empty(new_prompt.description));
  const auto tags = [](const Prompt& prompt) {
    std::string out;
    for (const std::string& tag : prompt.tags) {
      out += (out.empty() ? "" : ", ") + tag;
    }
    return non_empty(out);
  };
  add_field(fields, "tags", tags(old_prompt), tags(new_prompt));
  add_field(fields, "model.provider", non_empty(old_prompt.model.provider), non_empty(new_prompt.model.provider));
  add_field(fields, "model.name", non_empty(old_prompt.model.name), non_empty(new_prompt.model.name));
  std::set<std::string> params;
  for (const auto& [key, value] : old_prompt.model.params.items()) {
    params.insert(key);
  }
  for (const auto& [key, value] : new_prompt.model.params.items()) {
    params.insert(key);
  }
  const auto param = [](const Prompt& prompt, const std::string& key) {
    return prompt.model.params.contains(key) ? Value(value_text(prompt.model.params.at(key))) : Value();
  };
  for (const std::string& key : params) {
    add_field(fields, "model." + key, param(old_prompt, key), param(new_prompt, key));
  }
  std::vector<std::string> vars;  // new order first, then the removed ones
  for (const VarSpec& var : new_prompt.vars) {
    vars.push_back(var.name);
  }
  for (const VarSpec& var : old_prompt.vars) {
    if (std::find(vars.begin(), vars.end(), var.name) == vars.end()) {
      vars.push_back(var.name);
    }
  }
  for (const std::string& name : vars) {
    const VarSpec* old_var = old_prompt.find_var(name);
    const VarSpec* new_var = new_prompt.find_var(name);
    const std::string key = "var." + name;
    add_field(fields, key, old_var ? Value("declared") : Value(), new_var ? Value("declared") : Value());
    const auto required = [](const VarSpec* var) { return var ? Value(var->required ? "true" : "false") : Value(); };
    const auto default_value = [](const VarSpec* var) { return var ? var->default_value : Value(); };
    const auto description = [](const VarSpec* var) { return var ? non_empty(var->description) : Value(); };
    add_field(fields, key + ".required", required(old_var), required(new_var));
    add_field(fields, key + ".default", default_value(old_var), default_value(new_var));
    add_field(fields, key + ".description", description(old_var), description(new_var));
  }
  add_field(fields, "eval.dataset", non_empty(old_prompt.eval.dataset), non_empty(new_prompt.eval.dataset));
  add_field(fields, "eval.metric", non_empty(old_prompt.eval.metric), non_empty(new_prompt.eval.metric));
  const auto thresholds = [&](const char* group, const std::map<std::string, double>& old_map,
                              const std::map<std::string, double>& new_map) {
    std::set<std::string> metrics;
    for (const auto& [metric, value] : old_map) {
      metrics.insert(metric);
    }
    for (const auto& [metric, value] : new_map) {
      metrics.insert(metric);
    }
    for (const std::string& metric : metrics) {
      const auto at = [&](const std::map<std::string, double>& map) {
        const auto it = map.find(metric);
        return it == map.end() ? Value() : Value(number_text(it->second));
      };
      add_field(fields, std::string("gate.") + group + "." + metric, at(old_map), at(new_map));
    }
  };
  thresholds("min", old_prompt.gate.min, new_prompt.gate.min);
  thresholds("max_drop", old_prompt.gate.max_drop, new_prompt.gate.max_drop);
  add_field(fields, "gate.confidence", number_text(old_prompt.gate.confidence), number_text(new_prompt.gate.confidence));
  return fields;
}

std::vector<MessageChange> message_changes(const Prompt& old_prompt, const Prompt& new_prompt) {
  std::vector<MessageChange> changes;
  const std::size_t count = std::max(old_prompt.messages.size(), new_prompt.messages.size());
  for (std::size_t i = 0; i < count; ++i) {
    MessageChange change;
    change.index = i;
    if (i < old_prompt.messages.size()) {
      change.old_message = old_prompt.messages[i];
    }
    if (i < new_prompt.messages.size()) {
      change.new_message = new_prompt.messages[i];
    }
    const std::string old_content = change.old_message ? change.old_message->content : "";
    const std::string new_content = change.new_message ? change.new_message->content : "";
    const std::string old_role = change.old_message ? change.old_message->role : "";
    const std::string new_role = change.new_message ? change.new_message->role : "";
    if (change.old_message && change.new_message && old_content == new_content && old_role == new_role) {
      continue;
    }
    change.role = change.new_message ? new_role : old_role;
    if (change.old_message && change.new_message && old_role != new_role) {
      change.role = old_role + " → " + new_role;
    }
    change.runs = diff::word_diff(old_content, new_content);
    changes.push_back(std::move(change));
  }
  return changes;
}

bool same_messages(const Prompt& a, const Prompt& b) {
  if (a.messages.size() != b.messages.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.messages.size(); ++i) {
    if (a.messages[i].role != b.messages[i].role || a.messages[i].content != b.messages[i].content) {
      return false;
    }
  }
  return true;
}

std::size_t char_count(const std::optional<Prompt>& prompt) {
  std::size_t count = 0;
  for (const Message& message : prompt ? prompt->messages : std::vector<Message>{}) {
    for (const char c : message.content) {
      count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;  // code points, not bytes
    }
  }
  return count;
}

std::size_t token_count(const std::optional<Prompt>& prompt) {
  std::size_t count = 0;
  for (const Message& message : prompt ? prompt->messages : std::vector<Message>{}) {
    for (const std::string& token : diff::word_tokens(message.content)) {
      count += std::isspace(static_cast<unsigned char>(token.front())) ? 0 : 1;
    }
  }
  return count;
}

std::optional<EvalResult> eval_note(const git::Repository& repo, const Snapshot& snapshot, const std::string& name) {
  const std::optional<git::Oid> commit = snapshot.commit();
  if (!commit) {
    return std::nullopt;
  }
  return latest_eval_note(git::read_note(repo, *commit), name);
}

std::string fixed3(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  return buffer;
}

std::string signed3(double value) { return (value >= 0 ? "+" : "") + fixed3(value); }

json value_json(const Value& value) { return value ? json(*value) : json(nullptr); }

std::string text_value(const Value& value) { return value ? *value : "(none)"; }

std::string render_text(const std::vector<PromptChange>& changes, diff::Markers markers) {
  std::string out;
  for (const PromptChange& change : changes) {
    out += out.empty() ? "" : "\n";
    if (change.status == "renamed") {
      out += "prompt " + change.name + " (renamed from " + change.old_name + ")\n";
    } else {
      const Prompt& prompt = change.new_prompt ? *change.new_prompt : *change.old_prompt;
      out += "prompt " + change.name + " (" + prompt.path + ")" +
             (change.status == "modified" ? "" : " " + change.status) + "\n";
    }
    for (const Field& field : change.fields) {
      out += "  " + field.key + ": " + text_value(field.old_value) + " → " + text_value(field.new_value) + "\n";
    }
    for (const MessageChange& message : change.messages) {
      out += "  --- " + message.role + " ---\n";
      for (const std::string& line : diff::changed_lines(message.runs, markers)) {
        out += "    " + line + "\n";
      }
    }
    out += "  chars: " + std::to_string(char_count(change.old_prompt)) + " → " +
           std::to_string(char_count(change.new_prompt)) + "\n";
    out += "  tokens: " + std::to_string(token_count(change.old_prompt)) + " → " +
           std::to_string(token_count(change.new_prompt)) + "\n";
    if (change.metric) {
      const MetricChange& metric = *change.metric;
      out += "  metric " + metric.name + ": " + fixed3(metric.old_value) + " → " + fixed3(metric.new_value) + " (" +
             signed3(metric.new_value - metric.old_value) + ")\n";
    }
  }
  return out;
}

json render_json(const std::vector<PromptChange>& changes) {
  json prompts = json::array();
  for (const PromptChange& change : changes) {
    json fields = json::array();
    for (const Field& field : change.fields) {
      fields.push_back({{"key", field.key}, {"old", value_json(field.old_value)}, {"new", value_json(field.new_value)}});
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
                       {"fields", std::move(fields)},
                       {"messages", std::move(messages)},
                       {"chars", {char_count(change.old_prompt), char_count(change.new_prompt)}},
                       {"tokens", {token_count(change.old_prompt), token_count(change.new_prompt)}},
                       {"metric", std::move(metric)}});
  }
  return {{"prompts", std::move(prompts)}};
}

void run_diff(Context& context, const DiffOptions& options) {
  // Arguments after "--" are prompt names; before it, at most two revisions. The parser fills the
  // revisions first whichever side of "--" they came from, so count what followed "--".
  std::vector<std::string> positionals;
  for (const std::string* revision : {&options.old_revision, &options.new_revision}) {
    if (!revision->empty()) {
      positionals.push_back(*revision);
    }
  }
  positionals.insert(positionals.end(), options.names.begin(), options.names.end());
  std::size_t after_dashes = 0;
  const auto dashes = std::find(context.args.begin(), context.args.end(), "--");
  if (dashes != context.args.end()) {
    after_dashes = std::min(positionals.size(), static_cast<std::size_t>(context.args.end() - dashes - 1));
  }
  const std::size_t before = positionals.size() - after_dashes;
  if (before > 2) {
    throw UsageError("diff takes at most two revisions, got '" + positionals[2] + "' too",
                     "put prompt names after --: git promptops diff " + positionals[0] + " " + positionals[1] +
                         " -- " + positionals[2]);
  }
  const std::set<std::string> names(positionals.begin() + static_cast<std::ptrdiff_t>(before), positionals.end());
  const std::string old_revision = before >= 1 ? positionals[0] : "HEAD";
  const std::string new_revision = before == 2 ? positionals[1] : "";
  const Side old_side = load_side(context, old_revision);
  const Side new_side = load_side(context, new_revision);
  const auto wanted = [&](const std::string& name) { return names.empty() || names.contains(name); };

  std::vector<PromptChange> changes;
  std::vector<PromptChange> removed;
  std::vector<PromptChange> added;
  for (const auto& [name, old_file] : old_side.files) {
    const auto it = new_side.files.find(name);
    if (it == new_side.files.end()) {
      if (auto prompt = try_load(context, old_side, old_file)) {
        removed.push_back(PromptChange{name, name, std::move(prompt), std::nullopt, "deleted", {}, {}, {}});
      }
      continue;
    }
    if (!wanted(name) || (old_file.path == it->second.path &&
                          old_side.snapshot->read(old_file.path) == new_side.snapshot->read(it->second.path))) {
      continue;
    }
    std::optional<Prompt> old_prompt = try_load(context, old_side, old_file);
    std::optional<Prompt> new_prompt = try_load(context, new_side, it->second);
    if (old_prompt && new_prompt) {
      changes.push_back(PromptChange{name, name, std::move(old_prompt), std::move(new_prompt), "modified", {}, {}, {}});
    }
  }
  for (const auto& [name, new_file] : new_side.files) {
    if (!old_side.files.contains(name)) {
      if (auto prompt = try_load(context, new_side, new_file)) {
        added.push_back(PromptChange{name, name, std::nullopt, std::move(prompt), "added", {}, {}, {}});
      }
    }
  }
  // A deleted and an added prompt with the same messages are one prompt renamed.
  for (PromptChange& gone : removed) {
    const auto match = std::find_if(added.begin(), added.end(), [&](const PromptChange& fresh) {
      return fresh.status == "added" && same_messages(*gone.old_prompt, *fresh.new_prompt);
    });
    if (match != added.end()) {
      match->status = "renamed";
      match->old_name = gone.name;
      match->old_prompt = std::move(gone.old_prompt);
      gone.status.clear();
    }
  }
  for (PromptChange& change : removed) {
    if (!change.status.empty() && wanted(change.name)) {
      changes.push_back(std::move(change));
    }
  }
  for (PromptChange& change : added) {
    if (wanted(change.name) || wanted(change.old_name)) {
      changes.push_back(std::move(change));
    }
  }
  std::sort(changes.begin(), changes.end(),
            [](const PromptChange& a, const PromptChange& b) { return a.name < b.name; });

  const bool notes = old_side.snapshot->commit() && new_side.snapshot->commit();
  for (PromptChange& change : changes) {
    const Prompt empty;
    const Prompt& old_prompt = change.old_prompt ? *change.old_prompt : empty;
    const Prompt& new_prompt = change.new_prompt ? *change.new_prompt : empty;
    change.fields = field_changes(old_prompt, new_prompt);
    change.messages = message_changes(old_prompt, new_prompt);
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
