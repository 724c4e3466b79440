// SPDX-License-Identifier: MIT
// Mustache templates (kainjow-mustache, no HTML escaping) and their statically known variables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops {

struct TemplateVariable {
  std::string name;  // the top-level name: "user" for {{user.name}}
  int line = 0;      // 1-based line in the template text of the first use
  int column = 0;
  bool in_section = false;  // only used inside a {{#section}}: may be a field of the section
};

struct TemplateInfo {
  std::vector<TemplateVariable> variables;  // first use order, each name once
  std::string error;                        // a syntax error ("unclosed section 'x'"), or empty
  int error_line = 0;
  int error_column = 0;
};

// Reads a template's tags without rendering it: variables, sections, inverted sections,
// triple and & tags, comments, partials and delimiter changes.
TemplateInfo analyze_template(std::string_view text);

// Renders with `context` (a JSON object). Strings are inserted as they are (no escaping);
// numbers as JSON text; true as "true" and false as nothing (so both work as sections); a
// missing name renders as nothing. Throws ConfigError on
// a template syntax error.
std::string render_template(std::string_view text, const nlohmann::json& context);

}  // namespace promptops
