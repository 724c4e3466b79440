// SPDX-License-Identifier: MIT
// Mustache templates (kainjow-mustache, no HTML escaping) and their statically known variables.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace promptops::inline prompt {

// Sections ({{#x}}, {{^x}}) may nest at most this deep: kainjow keeps a copy of each section's
// text per level, so its memory grows with the square of the depth.
inline constexpr std::size_t k_max_section_depth = 64;
// A template, and the text it renders to, may be at most this long (4 MiB, about a million
// tokens): kainjow holds ~64 bytes per byte of template while it renders.
inline constexpr std::size_t k_max_rendered_bytes = std::size_t{4} << 20;
// Values given to a template may nest arrays and objects at most this deep.
inline constexpr int k_max_value_depth = 128;

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
  // Per section name, the most bytes from one of its open tags to its close tag.
  std::map<std::string, std::size_t, std::less<>> section_bytes;
};

// Reads a template's tags without rendering it: variables, sections, inverted sections,
// triple and & tags, comments, partials and delimiter changes. Sections nested deeper than
// k_max_section_depth are an error ("sections nested deeper than 64 levels"). Linear in the text.
TemplateInfo analyze_template(std::string_view text);

// Renders with `context` (a JSON object). Strings are inserted as they are (no escaping);
// numbers as JSON text; true as "true" and false as nothing (so both work as sections); a
// missing name renders as nothing. Throws ConfigError on a template syntax error (checked with
// analyze_template() before kainjow sees the text), on a template or a rendered text longer than
// k_max_rendered_bytes, and on values nested deeper than k_max_value_depth.
std::string render_template(std::string_view text, const nlohmann::json& context);

// A template read and parsed once, then rendered many times: an evaluation renders each message
// once per case. render() gives exactly what render_template() gives for the same text, and
// throws the same errors (a syntax error on every render, not at construction). Not thread-safe.
class CompiledTemplate {
 public:
  explicit CompiledTemplate(std::string text);
  ~CompiledTemplate();
  CompiledTemplate(CompiledTemplate&&) noexcept;
  CompiledTemplate& operator=(CompiledTemplate&&) noexcept;

  const TemplateInfo& info() const;
  std::string render(const nlohmann::json& context) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace promptops::prompt
