// SPDX-License-Identifier: MIT
// The semantic diff of the prompts at two points.
#include <promptops/workflows/prompt_diff.hpp>

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include <promptops/util/error.hpp>

namespace promptops::inline workflows {

namespace {

using json = nlohmann::json;
using Value = std::optional<std::string>;

std::map<std::string, PromptFile> files_of(const Snapshot& snapshot) {
  std::map<std::string, PromptFile> files;
  const Config config = load_config(snapshot).config;
  for (PromptFile& file : find_prompts(snapshot, config)) {
    std::string name = file.name;
    files.emplace(std::move(name), std::move(file));
  }
  return files;
}

std::optional<Prompt> try_load(const Snapshot& snapshot, const PromptFile& file,
                               std::vector<std::string>* skipped) {
  try {
    return load_prompt(snapshot, file);
  } catch (const ConfigError& error) {
    if (skipped != nullptr) {
      skipped->push_back("skipping '" + file.name + "' at " + snapshot.label() + ": " + error.what());
    }
    return std::nullopt;
  }
}

PromptChange change(const std::string& name, std::optional<Prompt> old_prompt,
                    std::optional<Prompt> new_prompt, const char* status) {
  PromptChange out;
  out.name = name;
  out.old_name = name;
  out.old_prompt = std::move(old_prompt);
  out.new_prompt = std::move(new_prompt);
  out.status = status;
  return out;
}

std::string value_text(const json& value) {
  return value.is_string() ? value.get<std::string>()
                           : value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string number_text(double value) { return value_text(json(value)); }

void add_field(std::vector<FieldChange>& fields, const std::string& key, const Value& old_value,
               const Value& new_value) {
  if (old_value != new_value) {
    fields.push_back(FieldChange{key, old_value, new_value});
  }
}

Value non_empty(const std::string& text) { return text.empty() ? Value() : Value(text); }

std::vector<FieldChange> field_changes(const Prompt& old_prompt, const Prompt& new_prompt) {
  std::vector<FieldChange> fields;
  add_field(fields, "description", non_empty(old_prompt.description), non_empty(new_prompt.description));
  const auto tags = [](const Prompt& prompt) {
    std::string out;
    for (const std::string& tag : prompt.tags) {
      out += (out.empty() ? "" : ", ") + tag;
    }
    return non_empty(out);
  };
  add_field(fields, "tags", tags(old_prompt), tags(new_prompt));
  add_field(fields, "model.provider", non_empty(old_prompt.model.provider),
            non_empty(new_prompt.model.provider));
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
    const auto required = [](const VarSpec* var) {
      return var ? Value(var->required ? "true" : "false") : Value();
    };
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
  add_field(fields, "gate.confidence", number_text(old_prompt.gate.confidence),
            number_text(new_prompt.gate.confidence));
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

}  // namespace

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

namespace {

std::string messages_text(const Prompt& prompt) {
  std::string out;
  for (const Message& message : prompt.messages) {
    out += message.role + "\n" + message.content + "\n";
  }
  return out;
}

}  // namespace

double message_similarity(const Prompt& a, const Prompt& b) {
  const std::string old_text = messages_text(a);
  const std::string new_text = messages_text(b);
  if (old_text.empty() && new_text.empty()) {
    return 1.0;
  }
  std::size_t kept = 0;
  for (const diff::Run& run : diff::word_diff(old_text, new_text)) {
    kept += run.kind == diff::RunKind::equal ? run.text.size() : 0;
  }
  return 2.0 * static_cast<double>(kept) / static_cast<double>(old_text.size() + new_text.size());
}

std::vector<PromptChange> diff_prompts(const Snapshot& old_side, const Snapshot& new_side,
                                       const std::set<std::string>& names,
                                       std::vector<std::string>* skipped) {
  const std::map<std::string, PromptFile> old_files = files_of(old_side);
  const std::map<std::string, PromptFile> new_files = files_of(new_side);
  const auto wanted = [&](const std::string& name) { return names.empty() || names.contains(name); };
  std::vector<PromptChange> changes;
  std::vector<PromptChange> removed;
  std::vector<PromptChange> added;
  for (const auto& [name, old_file] : old_files) {
    const auto it = new_files.find(name);
    if (it == new_files.end()) {
      if (auto prompt = try_load(old_side, old_file, skipped)) {
        removed.push_back(change(name, std::move(prompt), std::nullopt, "deleted"));
      }
      continue;
    }
    if (!wanted(name) || (old_file.path == it->second.path &&
                          old_side.read(old_file.path) == new_side.read(it->second.path))) {
      continue;
    }
    std::optional<Prompt> old_prompt = try_load(old_side, old_file, skipped);
    std::optional<Prompt> new_prompt = try_load(new_side, it->second, skipped);
    if (old_prompt && new_prompt) {
      changes.push_back(change(name, std::move(old_prompt), std::move(new_prompt), "modified"));
    }
  }
  for (const auto& [name, new_file] : new_files) {
    if (!old_files.contains(name)) {
      if (auto prompt = try_load(new_side, new_file, skipped)) {
        added.push_back(change(name, std::nullopt, std::move(prompt), "added"));
      }
    }
  }
  // A deleted and an added prompt with (nearly) the same messages are one prompt renamed: the most
  // alike pairs first, each prompt in one pair at most.
  struct Candidate {
    double similarity;
    std::size_t gone;
    std::size_t fresh;
  };
  std::vector<Candidate> pairs;
  for (std::size_t g = 0; g < removed.size(); ++g) {
    for (std::size_t f = 0; f < added.size(); ++f) {
      const double similarity = message_similarity(*removed[g].old_prompt, *added[f].new_prompt);
      if (similarity >= k_rename_similarity) {
        pairs.push_back(Candidate{similarity, g, f});
      }
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const Candidate& a, const Candidate& b) { return a.similarity > b.similarity; });
  for (const Candidate& pair : pairs) {
    PromptChange& gone = removed[pair.gone];
    PromptChange& fresh = added[pair.fresh];
    if (gone.status != "deleted" || fresh.status != "added") {
      continue;
    }
    fresh.status = "renamed";
    fresh.similarity = pair.similarity;
    fresh.old_name = gone.name;
    fresh.old_prompt = std::move(gone.old_prompt);
    gone.status.clear();
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

  for (PromptChange& change : changes) {
    const Prompt empty;
    const Prompt& old_prompt = change.old_prompt ? *change.old_prompt : empty;
    const Prompt& new_prompt = change.new_prompt ? *change.new_prompt : empty;
    change.fields = field_changes(old_prompt, new_prompt);
    change.messages = message_changes(old_prompt, new_prompt);
  }
  return changes;
}

}  // namespace promptops::workflows
