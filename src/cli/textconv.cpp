// SPDX-License-Identifier: MIT
// `git promptops textconv FILE`: a prompt file as normalized text, for `git diff` via .gitattributes.
#include <cstdio>
#include <filesystem>

#include <promptops/error.hpp>
#include <promptops/prompt.hpp>

#include "cli/common.hpp"
#include "util/file.hpp"

namespace promptops::cli {

namespace {

using json = nlohmann::json;

struct TextconvOptions {
  std::string file;
};

// A scalar as TOML would write it; tables and arrays as compact JSON.
std::string value_text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// The prompt with every field on a line of its own, keys in a fixed order and the messages
// verbatim last, so that a diff shows what changed and nothing about how the TOML was laid out.
std::string normalized(const Prompt& prompt) {
  std::string out;
  if (!prompt.description.empty()) {
    out += "description: " + prompt.description + "\n";
  }
  if (!prompt.tags.empty()) {
    std::string tags;
    for (const std::string& tag : prompt.tags) {
      tags += (tags.empty() ? "" : ", ") + tag;
    }
    out += "tags: " + tags + "\n";
  }
  if (!prompt.model.empty()) {
    out += "model: " + (prompt.model.provider.empty() ? std::string("(default provider)") : prompt.model.provider) +
           "/" + (prompt.model.name.empty() ? std::string("(default model)") : prompt.model.name) + "\n";
    for (const auto& [key, value] : prompt.model.params.items()) {
      out += "model." + key + ": " + value_text(value) + "\n";
    }
  }
  for (const VarSpec& var : prompt.vars) {
    std::string line = "var " + var.name + ":";
    line += var.required ? " required" : "";
    line += var.default_value ? " default=" + value_text(*var.default_value) : "";
    line += var.description.empty() ? "" : " -- " + var.description;
    out += line + "\n";
  }
  if (prompt.eval.present) {
    for (const auto& [key, value] : prompt.eval.raw.items()) {
      if (key == "assert" && value.is_array()) {
        for (const json& assertion : value) {
          out += "eval.assert: " + value_text(assertion) + "\n";
        }
      } else {
        out += "eval." + key + ": " + value_text(value) + "\n";
      }
    }
  }
  if (!prompt.gate.empty()) {
    for (const auto& [metric, value] : prompt.gate.min) {
      out += "gate.min." + metric + ": " + value_text(value) + "\n";
    }
    for (const auto& [metric, value] : prompt.gate.max_drop) {
      out += "gate.max_drop." + metric + ": " + value_text(value) + "\n";
    }
    out += "gate.confidence: " + value_text(prompt.gate.confidence) + "\n";
  }
  for (const Message& message : prompt.messages) {
    out += "\n--- " + message.role + " ---\n" + message.content;
    if (message.content.empty() || message.content.back() != '\n') {
      out += "\n";
    }
  }
  return out;
}

void run_textconv(Context& context, const TextconvOptions& options) {
  const std::optional<std::string> text = util::read_file(options.file);
  if (!text) {
    throw NotFoundError("cannot read '" + options.file + "'", "textconv takes the path of a prompt file");
  }
  // git names its temp files "XXXXXX_<name>", so the extension still says TOML or text.
  const std::string path = std::filesystem::path(options.file).filename().string();
  const ParsedPrompt parsed = parse_prompt(*text, path, std::filesystem::path(path).stem().string());
  if (!parsed.prompt || has_errors(parsed.diagnostics)) {
    context.out(*text);  // a diff must never fail: a file we cannot read as a prompt is shown as it is
    return;
  }
  context.out(normalized(*parsed.prompt));
}

}  // namespace

void add_textconv(CLI::App& app, Context& context) {
  auto options = std::make_shared<TextconvOptions>();
  CLI::App* command = app.add_subcommand(
      "textconv", "print a prompt file as normalized text (for .gitattributes diff=promptops)");
  command->add_option("file", options->file, "the prompt file (git passes a temporary copy)")->required();
  command->callback([&context, options] { run_textconv(context, *options); });
}

}  // namespace promptops::cli
