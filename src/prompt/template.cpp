// SPDX-License-Identifier: MIT
// Mustache templates: a static scan of their tags, and rendering through kainjow without escaping.
#include <promptops/prompt/template.hpp>

#include <algorithm>
#include <map>
#include <vector>

#include <kainjow/mustache.hpp>

#include <promptops/util/error.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

namespace {

namespace mustache = kainjow::mustache;

// Byte offset -> 1-based line and byte column.
class LineStarts {
 public:
  explicit LineStarts(std::string_view text) {
    m_starts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        m_starts.push_back(i + 1);
      }
    }
  }
  std::pair<int, int> position(std::size_t offset) const {
    const auto it = std::upper_bound(m_starts.begin(), m_starts.end(), offset);
    const auto line = static_cast<std::size_t>(it - m_starts.begin()) - 1;
    return {static_cast<int>(line + 1), static_cast<int>(offset - m_starts[line] + 1)};
  }

 private:
  std::vector<std::size_t> m_starts;
};

// "=<% %>=" -> the two new delimiters, or false when the tag is malformed.
bool parse_delimiters(std::string_view content, std::string& open, std::string& close) {
  if (content.size() < 5 || content.back() != '=') {
    return false;
  }
  const std::string_view inner = util::trim(content.substr(1, content.size() - 2));
  std::size_t split = 0;
  while (split < inner.size() && !util::is_ascii_space(inner[split])) {
    ++split;
  }
  const std::string_view first = inner.substr(0, split);
  const std::string_view second = util::trim(inner.substr(split));
  const auto valid = [](std::string_view delimiter) {
    if (delimiter.empty()) {
      return false;
    }
    for (const char c : delimiter) {
      if (c == '=' || util::is_ascii_space(c)) {
        return false;
      }
    }
    return true;
  };
  if (!valid(first) || !valid(second)) {
    return false;
  }
  open = std::string(first);
  close = std::string(second);
  return true;
}

// The recursion is bounded: every level checks the depth before going one deeper.
mustache::data to_data(const nlohmann::json& value, int depth = 1) {
  if (depth > k_max_value_depth && (value.is_object() || value.is_array())) {
    throw ConfigError("template values nest arrays and objects deeper than " +
                      std::to_string(k_max_value_depth) + " levels");
  }
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      mustache::data out{mustache::data::type::object};
      for (const auto& [key, item] : value.items()) {
        if (!item.is_null()) {
          out.set(key, to_data(item, depth + 1));
        }
      }
      return out;
    }
    case nlohmann::json::value_t::array: {
      mustache::data out{mustache::data::type::list};
      for (const auto& item : value) {
        out.push_back(to_data(item, depth + 1));
      }
      return out;
    }
    case nlohmann::json::value_t::string:
      return mustache::data{value.get<std::string>()};
    case nlohmann::json::value_t::boolean:
      // true as the text "true": it opens sections, skips inverted ones and renders as JSON
      // text. false must stay kainjow's false so that sections skip and inverted ones render,
      // which means {{flag}} renders nothing for false.
      if (value.get<bool>()) {
        return mustache::data{std::string("true")};
      }
      return mustache::data{false};
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return mustache::data{value.dump()};
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      break;
  }
  return mustache::data{false};
}

struct TooLong {};

// kainjow's context, counting what a render can produce so that it stops early. kainjow gives
// its output in whole lines, so a long line is caught by the work that builds it: every section
// iteration (push) adds at most its section's text, and every lookup at most the string it finds.
// Both share a budget of 16 times the output limit: far above what a text within the limit
// needs, far below what nested lists repeating one another build.
class BoundedContext final : public mustache::context<std::string> {
 public:
  BoundedContext(const mustache::data* data, const TemplateInfo& info)
      : mustache::context<std::string>(data), m_info(info) {
    for (const auto& [name, bytes] : info.section_bytes) {
      m_longest = std::max(m_longest, bytes);
    }
  }

  // kainjow looks a section up right before its first push, and pops each item before pushing
  // the next, so the section being entered is the last one looked up, else the last one popped.
  void push(const mustache::data* data) override {
    const std::size_t bytes = m_looked_up ? m_looked_up_bytes : m_popped_bytes;
    m_looked_up = false;
    spend(bytes);
    m_open.push_back(bytes);
    mustache::context<std::string>::push(data);
  }

  void pop() override {
    mustache::context<std::string>::pop();
    if (!m_open.empty()) {
      m_popped_bytes = m_open.back();
      m_open.pop_back();
    }
    m_looked_up = false;
  }

  const mustache::data* get(const std::string& name) const override {
    const mustache::data* found = mustache::context<std::string>::get(name);
    if (found != nullptr && found->is_string()) {
      spend(found->string_value().size());
    }
    const auto section = m_info.section_bytes.find(name);
    m_looked_up = true;
    m_looked_up_bytes = section == m_info.section_bytes.end() ? m_longest : section->second;
    return found;
  }

 private:
  static constexpr std::size_t k_budget = 16 * k_max_rendered_bytes;

  void spend(std::size_t bytes) const {
    bytes = std::max<std::size_t>(bytes, 1);
    if (bytes > k_budget - m_spent) {
      throw TooLong{};
    }
    m_spent += bytes;
  }

  const TemplateInfo& m_info;
  std::size_t m_longest = 0;
  std::vector<std::size_t> m_open;  // the bytes of each section being rendered
  std::size_t m_popped_bytes = 0;
  // get() is const in kainjow's interface.
  mutable std::size_t m_spent = 0;
  mutable bool m_looked_up = false;
  mutable std::size_t m_looked_up_bytes = 0;
};

// What kainjow writes: the text, which may not pass k_max_rendered_bytes.
class BoundedOutput {
 public:
  explicit BoundedOutput(std::string& out) : m_out(out) {}
  BoundedOutput& operator<<(const std::string& piece) {
    if (piece.size() > k_max_rendered_bytes - m_out.size()) {
      throw TooLong{};
    }
    m_out += piece;
    return *this;
  }

 private:
  std::string& m_out;
};

}  // namespace

TemplateInfo analyze_template(std::string_view text) {
  TemplateInfo info;
  const LineStarts lines(text);
  std::map<std::string, std::size_t, std::less<>> seen;
  struct Section {
    std::string name;
    std::size_t offset;
  };
  std::vector<Section> sections;
  std::string open = "{{";
  std::string close = "}}";

  const auto fail = [&](std::string message, std::size_t offset) {
    info.error = std::move(message);
    const auto [line, column] = lines.position(offset);
    info.error_line = line;
    info.error_column = column;
  };
  const auto use = [&](std::string_view raw, std::size_t offset) {
    std::string_view name = util::trim(raw);
    if (name == ".") {
      return;  // the implicit iterator
    }
    name = name.substr(0, name.find('.'));
    if (name.empty()) {
      return;
    }
    const bool in_section = !sections.empty();
    const auto it = seen.find(name);
    if (it != seen.end()) {
      if (!in_section) {
        info.variables[it->second].in_section = false;
      }
      return;
    }
    const auto [line, column] = lines.position(offset);
    seen.emplace(std::string(name), info.variables.size());
    info.variables.push_back(TemplateVariable{std::string(name), line, column, in_section});
  };

  if (text.size() > k_max_rendered_bytes) {
    fail("template is larger than " + util::mib(k_max_rendered_bytes), 0);
    return info;
  }
  std::size_t pos = 0;
  for (;;) {
    const std::size_t start = text.find(open, pos);
    if (start == std::string_view::npos) {
      break;
    }
    // Same rule as kainjow: "{{{" opens a triple tag only with the default delimiters.
    const bool triple = open == "{{" && close == "}}" && start + 2 < text.size() && text[start + 2] == '{';
    const std::size_t content_start = start + open.size() + (triple ? 1 : 0);
    const std::string_view end_delimiter = triple ? std::string_view("}}}") : std::string_view(close);
    const std::size_t end = text.find(end_delimiter, content_start);
    if (end == std::string_view::npos) {
      fail("unclosed tag", start);
      return info;
    }
    const std::string_view content = util::trim(text.substr(content_start, end - content_start));
    pos = end + end_delimiter.size();
    if (triple) {
      use(content, start);
      continue;
    }
    if (content.empty()) {
      continue;
    }
    const std::string_view rest = util::trim(content.substr(1));
    switch (content.front()) {
      case '=':
        if (!parse_delimiters(content, open, close)) {
          fail("invalid delimiter change", start);
          return info;
        }
        break;
      case '!':
      case '>':
        break;  // comments, and partials (which render as nothing: no partials are defined)
      case '#':
      case '^':
        if (sections.size() == k_max_section_depth) {
          fail("sections nested deeper than " + std::to_string(k_max_section_depth) + " levels", start);
          return info;
        }
        use(rest, start);
        sections.push_back(Section{std::string(rest), start});
        break;
      case '/':
        if (sections.empty()) {
          fail("unopened section '" + std::string(rest) + "'", start);
          return info;
        }
        if (sections.back().name != rest) {
          fail("mismatched close '" + std::string(rest) + "' for section '" + sections.back().name + "'",
               start);
          return info;
        }
        {
          std::size_t& bytes = info.section_bytes[sections.back().name];
          bytes = std::max(bytes, start - sections.back().offset);
        }
        sections.pop_back();
        break;
      case '&':
        use(rest, start);
        break;
      default:
        use(content, start);
        break;
    }
  }
  if (!sections.empty()) {
    fail("unclosed section '" + sections.back().name + "'", sections.back().offset);
  }
  return info;
}

struct CompiledTemplate::Impl {
  explicit Impl(std::string text_in) : text(std::move(text_in)), info(analyze_template(text)) { parse(); }

  // kainjow keeps an error from a failed render; a fresh parse starts the next one clean.
  void parse() {
    if (info.error.empty()) {
      tmpl = std::make_unique<mustache::mustache>(text);
      tmpl->set_custom_escape([](const std::string& s) { return s; });
    }
  }

  std::string text;
  TemplateInfo info;
  std::unique_ptr<mustache::mustache> tmpl;  // null after a syntax error
};

CompiledTemplate::CompiledTemplate(std::string text) : m_impl(std::make_unique<Impl>(std::move(text))) {}
CompiledTemplate::~CompiledTemplate() = default;
CompiledTemplate::CompiledTemplate(CompiledTemplate&&) noexcept = default;
CompiledTemplate& CompiledTemplate::operator=(CompiledTemplate&&) noexcept = default;

const TemplateInfo& CompiledTemplate::info() const { return m_impl->info; }

std::string CompiledTemplate::render(const nlohmann::json& context) const {
  const TemplateInfo& info = m_impl->info;
  if (!info.error.empty()) {
    throw ConfigError("template syntax error at line " + std::to_string(info.error_line) + ", column " +
                      std::to_string(info.error_column) + ": " + info.error);
  }
  const mustache::data data = to_data(context.is_object() ? context : nlohmann::json::object());
  mustache::mustache& tmpl = *m_impl->tmpl;
  if (!tmpl.is_valid()) {
    throw ConfigError("template syntax error: " + util::to_lower(tmpl.error_message()));
  }
  BoundedContext bounded(&data, info);
  std::string out;
  try {
    BoundedOutput output(out);
    tmpl.render(bounded, output);
  } catch (const TooLong&) {
    m_impl->parse();
    throw ConfigError("rendered text is larger than " + util::mib(k_max_rendered_bytes));
  }
  if (!tmpl.is_valid()) {
    const std::string message = util::to_lower(tmpl.error_message());
    m_impl->parse();
    throw ConfigError("template error: " + message);
  }
  return out;
}

std::string render_template(std::string_view text, const nlohmann::json& context) {
  return CompiledTemplate(std::string(text)).render(context);
}

}  // namespace promptops::prompt
