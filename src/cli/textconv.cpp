// SPDX-License-Identifier: MIT
// `git promptops textconv FILE`: a prompt file as normalized text, for `git diff` via .gitattributes.
#include <cstdio>
#include <filesystem>

#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/registry.hpp>

#include "common.hpp"
#include <promptops/util/file.hpp>

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

// The bytes of the file git names, read as git reads a work tree: a relative path (a working-tree
// file, from the top of the work tree where git runs textconv) is read with no link below the
// current directory followed; an absolute one (git's temp file of a blob) is read in its own
// directory. A link is shown as its target, as git shows a link's blob; a fifo or device is
// never opened; at most a prompt file's size limit is read.
std::string read_for_textconv(const std::string& file) {
  const std::filesystem::path path(file);
  const bool absolute = path.is_absolute();
  const std::filesystem::path root = absolute ? path.parent_path() : std::filesystem::current_path();
  const std::string relative = absolute ? path.filename().string() : path.lexically_normal().generic_string();
  if (relative.empty() || relative.starts_with("../") || relative == "..") {
    throw NotFoundError("cannot read '" + file + "': it is outside the current directory",
                        "textconv takes the path of a prompt file in the work tree, as git passes it");
  }
  // A file over a prompt's limit is no prompt, but a diff must not fail on it: it is shown as it is
  // up to a dataset's limit.
  const util::TreeFile found = util::read_beneath(root, relative, size_limit(FileRole::dataset));
  switch (found.kind) {
    case util::TreeFile::Kind::regular:
      return found.bytes;
    case util::TreeFile::Kind::link:
      if (found.link == relative) {
        return found.bytes;
      }
      throw ConfigError("'" + file + "' is under '" + found.link + "', a symbolic link, which is not followed",
                        "textconv reads only files inside the work tree, as git tracks a link as a link");
    case util::TreeFile::Kind::missing:
      throw NotFoundError("cannot read '" + file + "'", "textconv takes the path of a prompt file");
    case util::TreeFile::Kind::special:
      throw ConfigError("'" + file + "' is not a regular file (a fifo, device or socket)",
                        "textconv reads only regular files");
    case util::TreeFile::Kind::too_large:
      throw ConfigError("'" + file + "' is " + std::to_string(found.size) + " bytes, over the limit for a dataset",
                        "textconv shows files of at most 256 MiB");
  }
  return "";
}

void run_textconv(Context& context, const TextconvOptions& options) {
  const std::optional<std::string> text = read_for_textconv(options.file);
  // git names its temp files "XXXXXX_<name>", so the extension still says TOML or text.
  const std::string path = std::filesystem::path(options.file).filename().string();
  if (text->size() > size_limit(FileRole::prompt)) {
    context.out(*text);  // too large to be a prompt file: shown as it is
    return;
  }
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
