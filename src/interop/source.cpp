// SPDX-License-Identifier: MIT
// Reading an import's source and the files it names, inside the source's own directory.
#include <charconv>
#include <optional>

#include <promptops/util/error.hpp>
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

#include <promptops/interop/interop.hpp>

#include "yaml_source.hpp"

namespace promptops::inline interop {

namespace {

constexpr std::uint64_t k_max_referenced_bytes = 64ull << 20;

// "file://a/b.txt" and "a/b.txt" name the same file; promptfoo's "./a" too.
std::string referenced_path(const std::string& name) {
  std::string path = name.rfind("file://", 0) == 0 ? name.substr(7) : name;
  while (path.rfind("./", 0) == 0) {
    path.erase(0, 2);
  }
  return path;
}

bool leaves_directory(const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return true;
  }
  for (const std::string& part : util::split(path, '/')) {
    if (part == "..") {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string read_beside(const ImportSource& source, const std::string& name, const Location& where) {
  const std::string path = referenced_path(name);
  const std::string hint = "name a file inside " + (source.path.find('/') == std::string::npos
                                                        ? std::string("the current directory")
                                                        : "'" + std::filesystem::path(source.path).parent_path().string() + "'") +
                           ", by a relative path";
  if (leaves_directory(path)) {
    throw ConfigError(where.format() + ": '" + name + "' is outside the directory of " + source.path, hint);
  }
  const std::filesystem::path directory = std::filesystem::path(source.path).parent_path();
  const util::TreeFile file =
      util::read_beneath(directory.empty() ? std::filesystem::path(".") : directory, path, k_max_referenced_bytes);
  switch (file.kind) {
    case util::TreeFile::Kind::regular:
      return file.bytes;
    case util::TreeFile::Kind::missing:
      throw ConfigError(where.format() + ": '" + name + "' does not exist", hint);
    case util::TreeFile::Kind::link:
      throw ConfigError(where.format() + ": '" + name + "' is a symbolic link (to '" + file.bytes + "'), which is not followed",
                        hint);
    case util::TreeFile::Kind::special:
      throw ConfigError(where.format() + ": '" + name + "' is not a regular file", hint);
    case util::TreeFile::Kind::too_large:
      throw ConfigError(where.format() + ": '" + name + "' is larger than 64 MiB", hint);
  }
  throw ConfigError(where.format() + ": '" + name + "' cannot be read");
}

YAML::Node parse_yaml(const ImportSource& source, const std::string& text, int first_line) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& error) {
    const Location where{source.path, error.mark.is_null() ? 0 : error.mark.line + first_line, 0};
    throw ConfigError(where.format() + ": invalid YAML: " + error.msg, "fix the YAML syntax at that line");
  }
}

Location location_of(const ImportSource& source, const YAML::Node& node, int first_line) {
  const YAML::Mark mark = node.Mark();
  return {source.path, mark.is_null() ? 0 : mark.line + first_line, 0};
}

namespace {

bool yaml_is_null(const std::string& text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

std::optional<bool> yaml_bool(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  return std::nullopt;
}

// An integer or float plain scalar, parsed whole; nullopt for any other text.
std::optional<nlohmann::json> yaml_number(const std::string& text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  const bool is_decimal = text.find_first_not_of("+-0123456789") == std::string::npos;
  if (is_decimal) {
    long long integer = 0;
    const auto [ptr, ec] = std::from_chars(begin + (text.front() == '+' ? 1 : 0), end, integer);
    if (ec == std::errc() && ptr == end) {
      return nlohmann::json(integer);
    }
  }
  if (text.find_first_not_of("+-0123456789.eE") != std::string::npos ||
      text.find_first_of("0123456789") == std::string::npos) {
    return std::nullopt;
  }
  double number = 0;
  const auto [ptr, ec] = std::from_chars(begin + (text.front() == '+' ? 1 : 0), end, number);
  if (ec == std::errc() && ptr == end) {
    return nlohmann::json(number);
  }
  return std::nullopt;
}

// The values yaml_json() makes at most: aliases let a few lines stand for billions of them.
constexpr std::size_t k_max_yaml_values = 1'000'000;

nlohmann::json yaml_json_within(const YAML::Node& node, std::size_t& budget) {
  if (budget == 0) {
    throw ConfigError("the YAML expands to more than 1000000 values (through aliases?)",
                      "write the values out, or split the file");
  }
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& item : node) {
        array.push_back(yaml_json_within(item, budget));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& item : node) {
        object[item.first.IsScalar() ? item.first.Scalar() : YAML::Dump(item.first)] =
            yaml_json_within(item.second, budget);
      }
      return object;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "?") {
        return text;  // quoted or explicitly tagged: a string
      }
      if (yaml_is_null(text)) {
        return nullptr;
      }
      if (const auto boolean = yaml_bool(text)) {
        return *boolean;
      }
      if (auto number = yaml_number(text)) {
        return std::move(*number);
      }
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace

nlohmann::json yaml_json(const ImportSource& source, const YAML::Node& node) {
  std::size_t budget = k_max_yaml_values;
  try {
    return yaml_json_within(node, budget);
  } catch (const ConfigError& error) {
    throw ConfigError(location_of(source, node).format() + ": " + error.what(), error.hint());
  }
}

Diagnostic import_note(const Location& where, std::string code, std::string message, std::string hint) {
  return Diagnostic{Severity::warning, where, std::move(code), std::move(message), std::move(hint)};
}

}  // namespace promptops::interop
