// SPDX-License-Identifier: MIT
// What the one-prompt importers share: a prompt being imported and its TOML text, front matter
// in and out, the prompt's name, the model parameter names the formats spell differently, and
// typed YAML scalars.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <promptops/config/diagnostic.hpp>
#include <promptops/interop/interop.hpp>


namespace promptops::inline interop {

// A var as an import declares it; the default is a TOML value (string, number or boolean).
struct DraftVar {
  std::string name;
  bool required = false;
  nlohmann::json default_value;  // null = none
  std::string description;
};

// A prompt as an import writes it: the keys of a TOML prompt, in the order they are written.
struct PromptDraft {
  std::string description;
  std::vector<std::string> tags;
  std::string provider;
  std::string model;
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  std::vector<DraftVar> vars;
  std::vector<std::pair<std::string, std::string>> messages;  // (role, content)

  DraftVar* find_var(std::string_view name);
};

// The TOML prompt file: description, tags, [model], [vars], then `template` for one user
// message or [[messages]].
std::string prompt_draft_toml(const PromptDraft& draft);

// The name an import gives its prompt: `options.name`, else `preferred` when it is a valid name
// (else a note at `preferred_where`), else the source's file stem without `extension`.
// Throws UsageError for an invalid `options.name`.
std::string draft_prompt_name(const ImportSource& source, const ImportOptions& options, const std::string& preferred,
                              const Location& preferred_where, std::string_view extension,
                              std::vector<Diagnostic>& notes);

// Sorts the model parameters by name, as a prompt's [model] reads back (so that an export
// imports again to the same file).
void draft_sort_params(PromptDraft& draft);

// Notes in file order (by file, then line), for reading beside the source.
void draft_sort_notes(std::vector<Diagnostic>& notes);

// True for a name that is a safe relative path of segments [A-Za-z0-9._-], none "." or "..".
bool is_draft_prompt_name(std::string_view name);

// The project's parameter name for a camelCase one (maxOutputTokens -> max_tokens), or "".
std::string draft_param_from_camel(std::string_view name);
// The camelCase name (dotprompt config, Prompty options) for a project parameter, or "".
std::string draft_param_to_camel(std::string_view name);
// The OpenAI-style parameters that Prompty's `parameters` and the project spell alike.
bool draft_is_openai_param(std::string_view name);

// A YAML node as JSON: plain scalars that read as integers, numbers or booleans are typed,
// quoted ones stay strings.
nlohmann::json draft_yaml_to_json(const YAML::Node& node);

// A YAML front matter between `---` lines at the start of `text`: its text, the line it starts
// on, and the body after it with the line the body starts on. No front matter: all is body.
struct FrontMatter {
  bool present = false;
  std::string yaml;
  int yaml_line = 1;
  std::string body;
  int body_line = 1;
};
FrontMatter draft_split_front_matter(const ImportSource& source);

// The value of `key` in the map `node`, or a null node: never yaml-cpp's invalid node, which
// throws when it is looked at.
YAML::Node draft_get(const YAML::Node& node, const std::string& key);

// The front matter as YAML text (yaml-cpp's emitter) between `---` lines; strings that would read
// back as numbers or booleans are quoted. Empty for an empty object.
std::string draft_front_matter_text(const nlohmann::ordered_json& front);

// Leading blank lines and trailing white space removed (the first line keeps its indent).
std::string draft_trim(std::string_view text);

}  // namespace promptops::interop
