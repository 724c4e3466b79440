// SPDX-License-Identifier: MIT
// What the YAML-based importers share: parsing a source with yaml-cpp into a node tree, and the
// file:line of a node for diagnostics.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <promptops/config/diagnostic.hpp>
#include <promptops/interop/interop.hpp>

namespace promptops::inline interop {

// The YAML document of `text` (the source's, or a front matter starting at `first_line`).
// Throws ConfigError "path:line: invalid YAML: ..." on a syntax error.
YAML::Node parse_yaml(const ImportSource& source, const std::string& text, int first_line = 1);

// Where `node` starts in the source, for a front matter starting at `first_line`.
Location location_of(const ImportSource& source, const YAML::Node& node, int first_line = 1);

// A YAML node as JSON. Plain scalars are typed by YAML 1.2's core schema (null, true/false,
// integers, floats); quoted ones stay strings. Aliases are followed, up to 1,000,000 values in
// all: more is a ConfigError at the node's line (a few lines of aliases can stand for billions).
nlohmann::json yaml_json(const ImportSource& source, const YAML::Node& node);

// A warning at `where`: what is left out, and why.
Diagnostic import_note(const Location& where, std::string code, std::string message, std::string hint = {});

}  // namespace promptops::interop
