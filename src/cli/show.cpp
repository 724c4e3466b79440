// SPDX-License-Identifier: MIT
// `git promptops show REF` and `git promptops render REF`: a prompt at a reference, as written
// or with its variables filled in.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <promptops/config/config.hpp>
#include <promptops/util/error.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/prompt/template.hpp>

#include "common.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>
#include <promptops/util/json.hpp>

namespace promptops::cli {

namespace {

struct Loaded {
  ResolvedReference ref;
  std::unique_ptr<Snapshot> snapshot;
  Prompt prompt;
  Config config;
};

Loaded load(Context& context, const std::string& text) {
  git::Repository& repo = context.repo();
  ResolvedReference ref = resolve_reference(repo, Reference::parse(text));
  std::unique_ptr<Snapshot> snapshot =
      ref.commit ? commit_snapshot(repo, *ref.commit) : worktree_snapshot(repo);
  Config config = load_config(*snapshot).config;
  Prompt prompt = load_prompt(*snapshot, PromptFile{ref.name, ref.path});
  return Loaded{std::move(ref), std::move(snapshot), std::move(prompt), std::move(config)};
}

nlohmann::json reference_json(const ResolvedReference& ref) {
  nlohmann::json out = {{"name", ref.name}, {"path", ref.path}, {"how", ref.how},
                        {"commit", ref.commit ? nlohmann::json(ref.commit->hex()) : nlohmann::json(nullptr)}};
  if (ref.version > 0) {
    out["version"] = ref.version;
  }
  return out;
}

std::string at_label(const ResolvedReference& ref) {
  if (!ref.commit) {
    return "working tree";
  }
  return ref.how + " (" + ref.commit->short_hex() + ")";
}

std::string params_text(const nlohmann::json& params) {
  std::string out;
  for (auto it = params.begin(); it != params.end(); ++it) {
    out += " " + it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return out;
}

// --- show -------------------------------------------------------------------------------------

struct ShowOptions {
  std::string reference;
  std::string format;
  bool raw = false;
};

void run_show(Context& context, const ShowOptions& options) {
  if (options.raw) {  // the bytes as stored, even when the file does not parse
    git::Repository& repo = context.repo();
    const ResolvedReference ref = resolve_reference(repo, Reference::parse(options.reference));
    const auto snapshot = ref.commit ? commit_snapshot(repo, *ref.commit) : worktree_snapshot(repo);
    context.out(snapshot->read(ref.path).value_or(""));
    return;
  }
  Loaded loaded = load(context, options.reference);
  const Prompt& prompt = loaded.prompt;
  const ModelSpec model = prompt.effective_model(loaded.config);
  if (options.format == "json") {
    nlohmann::json document = prompt.to_json();
    document["reference"] = reference_json(loaded.ref);
    document["effective_model"] = {{"provider", model.provider}, {"name", model.name}, {"params", model.params}};
    context.out_json(std::move(document));
    return;
  }
  std::ostringstream out;
  out << "prompt       " << prompt.name << "\n";
  out << "path         " << prompt.path << "\n";
  out << "at           " << at_label(loaded.ref) << "\n";
  if (!prompt.description.empty()) {
    out << "description  " << prompt.description << "\n";
  }
  if (!prompt.tags.empty()) {
    out << "tags         ";
    for (std::size_t i = 0; i < prompt.tags.size(); ++i) {
      out << (i > 0 ? ", " : "") << prompt.tags[i];
    }
    out << "\n";
  }
  if (!model.empty()) {
    out << "model        " << (model.provider.empty() ? "" : model.provider + "/") << model.name
        << params_text(model.params) << "\n";
  }
  for (const VarSpec& var : prompt.vars) {
    out << "var          " << var.name;
    if (var.required) {
      out << " (required)";
    }
    if (var.default_value) {
      out << " = \"" << *var.default_value << "\"";
    }
    if (!var.description.empty()) {
      out << "  # " << var.description;
    }
    out << "\n";
  }
  if (prompt.eval.present) {
    out << "eval         " << prompt.eval.dataset;
    if (!prompt.eval.metric.empty()) {
      out << " (metric " << prompt.eval.metric << ")";
    }
    out << "\n";
  }
  for (const Message& message : prompt.messages) {
    out << "\n--- " << message.role << "\n" << message.content;
    if (message.content.empty() || message.content.back() != '\n') {
      out << "\n";
    }
  }
  context.out(out.str());
}

// --- render -----------------------------------------------------------------------------------

struct RenderOptions {
  std::string reference;
  std::vector<std::string> vars;
  std::vector<std::string> var_files;
  std::string format;
};

nlohmann::json read_values(const RenderOptions& options) {
  nlohmann::json values = nlohmann::json::object();
  for (const std::string& file : options.var_files) {
    std::string text;
    if (file == "-") {
      std::stringstream buffer;
      buffer << std::cin.rdbuf();
      text = buffer.str();
    } else {
      const auto content = util::read_file(file);
      if (!content) {
        throw UsageError("--vars file '" + file + "' does not exist");
      }
      text = *content;
    }
    util::JsonParse read = util::parse_json(text);
    if (!read.ok()) {
      throw ConfigError(file + ": invalid JSON: " + read.error, "--vars takes a JSON object such as {\"question\": \"...\"}");
    }
    const nlohmann::json& parsed = read.value;
    if (!parsed.is_object()) {
      throw ConfigError(file + ": --vars must hold a JSON object", "for example {\"question\": \"...\"}");
    }
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      values[it.key()] = *it;
    }
  }
  for (const std::string& assignment : options.vars) {
    const std::size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("invalid --var '" + assignment + "'", "write --var NAME=VALUE");
    }
    values[assignment.substr(0, eq)] = assignment.substr(eq + 1);
  }
  return values;
}

// The names the prompt reads: its declared [vars] and every name its messages use.
std::vector<std::string> prompt_variables(const Prompt& prompt) {
  std::vector<std::string> names;
  const auto add = [&names](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  };
  for (const VarSpec& var : prompt.vars) {
    add(var.name);
  }
  for (const Message& message : prompt.messages) {
    for (const TemplateVariable& variable : analyze_template(message.content).variables) {
      add(variable.name);
    }
  }
  return names;
}

// A --var NAME the prompt does not read is a typo that would otherwise render the prompt
// without the value: refused, with the closest name and the prompt's variables.
void check_var_names(const RenderOptions& options, const Loaded& loaded) {
  const std::vector<std::string> known = prompt_variables(loaded.prompt);
  for (const std::string& assignment : options.vars) {
    const std::string name = assignment.substr(0, assignment.find('='));
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      continue;
    }
    const std::string close = did_you_mean(name, known);
    const std::string& prompt = loaded.prompt.name;
    const std::string list =
        known.empty() ? prompt + " has no variables" : prompt + "'s variables: " + util::join(known, ", ");
    throw UsageError("--var '" + name + "': " + prompt + " has no such variable",
                     close.empty() ? list : "did you mean '" + close + "'? " + list);
  }
}

void run_render(Context& context, const RenderOptions& options) {
  const nlohmann::json values = read_values(options);
  Loaded loaded = load(context, options.reference);
  check_var_names(options, loaded);
  const std::vector<Message> messages = render_prompt(loaded.prompt, values);
  const ModelSpec model = loaded.prompt.effective_model(loaded.config);
  if (options.format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const Message& message : messages) {
      list.push_back({{"role", message.role}, {"content", message.content}});
    }
    context.out_json({{"reference", reference_json(loaded.ref)},
                      {"model", {{"provider", model.provider}, {"name", model.name}, {"params", model.params}}},
                      {"messages", std::move(list)}});
    return;
  }
  if (options.format == "text" && messages.size() == 1) {
    context.out(messages.front().content + (messages.front().content.ends_with("\n") ? "" : "\n"));
    return;
  }
  std::string out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    out += (i > 0 ? "\n" : "") + std::string("--- ") + messages[i].role + "\n" + messages[i].content;
    if (!messages[i].content.ends_with("\n")) {
      out += "\n";
    }
  }
  context.out(out);
}

}  // namespace

void add_show(CLI::App& app, Context& context) {
  auto options = std::make_shared<ShowOptions>();
  CLI::App* command = app.add_subcommand("show", "show a prompt at a reference (NAME, NAME@vN, NAME@ALIAS, NAME@REV)");
  command->add_option("reference", options->reference, "NAME[@vN|@ALIAS|@REVISION]")->required();
  command->add_flag("--raw", options->raw, "print the file exactly as stored");
  add_format_option(*command, options->format, {"text", "json"});
  command->callback([&context, options] { run_show(context, *options); });
}

void add_render(CLI::App& app, Context& context) {
  auto options = std::make_shared<RenderOptions>();
  CLI::App* command = app.add_subcommand("render", "render a prompt's messages with variable values");
  command->add_option("reference", options->reference, "NAME[@vN|@ALIAS|@REVISION]")->required();
  command->add_option("--var", options->vars,
                      "a value NAME=VALUE for one of the prompt's variables (repeatable)");
  command->add_option("--vars", options->var_files, "a JSON object file of values ('-' = stdin; repeatable)");
  add_format_option(*command, options->format, {"text", "json"});
  command->callback([&context, options] { run_render(context, *options); });
}

}  // namespace promptops::cli
