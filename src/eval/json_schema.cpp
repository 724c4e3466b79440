// SPDX-License-Identifier: MIT
// The schema check at compile time (keyword types, references, patterns) and the validator.
#include "json_schema.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string_view>

#include <promptops/util/json.hpp>
#include <promptops/util/strings.hpp>

#include "regex.hpp"

namespace promptops::inline eval {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 7> k_type_names{"null", "boolean", "object", "array",
                                                       "number", "string", "integer"};
constexpr std::array<std::string_view, 4> k_schema_maps{"properties", "patternProperties", "$defs", "definitions"};
constexpr std::array<std::string_view, 3> k_single_schemas{"items", "additionalProperties", "not"};
constexpr std::array<std::string_view, 4> k_schema_lists{"prefixItems", "allOf", "anyOf", "oneOf"};
constexpr std::array<std::string_view, 5> k_numbers{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                                    "multipleOf"};
constexpr std::array<std::string_view, 6> k_counts{"minLength", "maxLength", "minItems",
                                                   "maxItems", "minProperties", "maxProperties"};

template <std::size_t N>
bool is_one_of(std::string_view key, const std::array<std::string_view, N>& keys) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// One JSON pointer token, escaped as RFC 6901 says.
std::string pointer_token(std::string_view key) {
  return util::replace_all(util::replace_all(std::string(key), "~", "~0"), "/", "~1");
}

bool is_schema(const json& node) { return node.is_object() || node.is_boolean(); }

bool is_count(const json& node) {
  if (node.is_number_integer()) {
    return node.get<std::int64_t>() >= 0 || node.is_number_unsigned();
  }
  return node.is_number_float() && node.get<double>() >= 0 && std::floor(node.get<double>()) == node.get<double>();
}

// A value for a reason line: its JSON text, long text elided.
std::string shown(const json& value) {
  constexpr std::size_t k_max = 40;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > k_max) {
    std::size_t cut = k_max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    text = text.substr(0, cut) + "...";
  }
  return text;
}

}  // namespace

// Checks the known keywords of every subschema and compiles the patterns, into a JsonSchema.
class SchemaChecker {
 public:
  explicit SchemaChecker(JsonSchema& schema) : m_schema(schema) {}

  std::string run() {
    check(m_schema.m_root, "");
    return m_error;
  }

 private:
  void fail(const std::string& path, const std::string& what) {
    if (m_error.empty()) {
      m_error = (path.empty() ? "the schema" : path) + " " + what;
    }
  }

  void check(const json& node, const std::string& path) {
    if (!m_error.empty() || !m_seen.insert(&node).second) {
      return;
    }
    if (!is_schema(node)) {
      fail(path, "must be a JSON object or a boolean, not " + std::string(node.type_name()));
      return;
    }
    if (node.is_boolean()) {
      return;
    }
    for (const auto& [key, value] : node.items()) {
      check_keyword(node, key, value, path + "/" + pointer_token(key));
    }
  }

  void check_keyword(const json& node, const std::string& key, const json& value, const std::string& path) {
    if (key == "type") {
      check_type(value, path);
    } else if (is_one_of(key, k_schema_maps)) {
      if (!value.is_object()) {
        fail(path, "must be an object of schemas");
        return;
      }
      for (const auto& [name, sub] : value.items()) {
        if (key == "patternProperties") {
          compile_property_pattern(name, sub, path + "/" + pointer_token(name));
        }
        check(sub, path + "/" + pointer_token(name));
      }
    } else if (is_one_of(key, k_single_schemas)) {
      check(value, path);
    } else if (is_one_of(key, k_schema_lists)) {
      if (!value.is_array() || value.empty()) {
        fail(path, "must be a non-empty array of schemas");
        return;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(value[i], path + "/" + std::to_string(i));
      }
    } else {
      check_value_keyword(node, key, value, path);
    }
  }

  // Keywords whose value is data, not a schema.
  void check_value_keyword(const json& node, const std::string& key, const json& value, const std::string& path) {
    if (key == "required" &&
        (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); }))) {
      fail(path, "must be an array of property names");
    } else if (key == "enum" && !value.is_array()) {
      fail(path, "must be an array");
    } else if (is_one_of(key, k_numbers) && !value.is_number()) {
      fail(path, "must be a number");
    } else if (key == "multipleOf" && value.get<double>() <= 0) {
      fail(path, "must be greater than 0");
    } else if (is_one_of(key, k_counts) && !is_count(value)) {
      fail(path, "must be a non-negative integer");
    } else if (key == "uniqueItems" && !value.is_boolean()) {
      fail(path, "must be true or false");
    } else if (key == "pattern") {
      check_pattern(node, value, path);
    } else if (key == "$ref") {
      check_ref(value, path);
    }
  }

  void check_type(const json& value, const std::string& path) {
    const auto known = [](const json& name) {
      return name.is_string() && is_one_of(name.get_ref<const std::string&>(), k_type_names);
    };
    if (known(value) || (value.is_array() && !value.empty() && std::all_of(value.begin(), value.end(), known))) {
      return;
    }
    fail(path, "must be one of null, boolean, object, array, number, string, integer, or an array of them");
  }

  void check_pattern(const json& node, const json& value, const std::string& path) {
    if (!value.is_string()) {
      fail(path, "must be a string");
      return;
    }
    RegexCompileResult compiled = Regex::compile(value.get<std::string>(), false);
    if (!compiled.regex) {
      fail(path, "is a bad regex /" + value.get<std::string>() + "/: " + compiled.error);
      return;
    }
    m_schema.m_patterns[&node] = std::move(compiled.regex);
  }

  // A patternProperties key, compiled and kept by the address of its schema.
  void compile_property_pattern(const std::string& pattern, const json& sub, const std::string& path) {
    RegexCompileResult compiled = Regex::compile(pattern, false);
    if (!compiled.regex) {
      fail(path, "is a bad regex /" + pattern + "/: " + compiled.error);
      return;
    }
    m_schema.m_property_patterns[&sub] = std::move(compiled.regex);
  }

  void check_ref(const json& value, const std::string& path) {
    if (!value.is_string()) {
      fail(path, "must be a string");
      return;
    }
    const std::string& ref = value.get_ref<const std::string&>();
    if (ref != "#" && ref.rfind("#/", 0) != 0) {
      fail(path, "'" + ref + "' does not point inside this schema; only \"#\" and \"#/...\" are supported");
      return;
    }
    try {
      const json& target = m_schema.m_root.at(json::json_pointer(ref.substr(1)));
      check(target, ref.substr(1));
    } catch (const json::exception&) {
      fail(path, "'" + ref + "' points to nothing in this schema");
    }
  }

  JsonSchema& m_schema;
  std::set<const json*> m_seen;
  std::string m_error;
};

namespace {

// The instance's JSON types as the specification names them; integers include 2.0.
bool has_type(const json& instance, std::string_view type) {
  if (type == "integer") {
    return instance.is_number_integer() ||
           (instance.is_number_float() && std::isfinite(instance.get<double>()) &&
            std::floor(instance.get<double>()) == instance.get<double>());
  }
  if (type == "number") {
    return instance.is_number();
  }
  if (type == "boolean") {
    return instance.is_boolean();
  }
  return instance.type_name() == type;
}

std::string type_of(const json& instance) {
  return has_type(instance, "integer") ? "integer" : instance.is_number() ? "number" : instance.type_name();
}

// Walks a schema over one document, keeping the instance's JSON pointer; stops at the first violation.
class Validator {
 public:
  explicit Validator(const JsonSchema& schema) : m_schema(schema) {}

  JsonSchemaCheck run(const json& instance) {
    const std::string message = check(m_schema.root(), instance);
    return JsonSchemaCheck{message.empty(), message, m_limit};
  }

 private:
  // The first violation as "pointer: what", or "".
  std::string check(const json& schema, const json& instance) {
    if (schema.is_boolean()) {
      return schema.get<bool>() ? "" : here() + ": no value is allowed here (schema false)";
    }
    if (m_limit) {
      return m_limit_message;
    }
    if (++m_steps > JsonSchema::k_max_steps) {
      return stop("schema validation took more than " + std::to_string(JsonSchema::k_max_steps) + " steps");
    }
    if (m_depth + 1 > JsonSchema::k_max_depth) {
      return stop("schema applied more than " + std::to_string(JsonSchema::k_max_depth) + " levels deep (a $ref loop?)");
    }
    ++m_depth;
    std::string message = check_generic(schema, instance);
    for (const auto& step : {&Validator::check_number, &Validator::check_string, &Validator::check_array,
                             &Validator::check_object, &Validator::check_combinators}) {
      if (!message.empty()) {
        break;
      }
      message = (this->*step)(schema, instance);
    }
    if (message.empty()) {
      if (const auto ref = schema.find("$ref"); ref != schema.end()) {
        message = check(m_schema.root().at(json::json_pointer(ref->get<std::string>().substr(1))), instance);
      }
    }
    --m_depth;
    return message;
  }

  std::string here() const { return m_pointer.empty() ? "(root)" : m_pointer; }

  // Ends the validation: every check from now on gives this message.
  std::string stop(const std::string& what) {
    m_limit = true;
    m_limit_message = here() + ": " + what;
    return m_limit_message;
  }

  // Runs `step` with `token` appended to the instance pointer.
  template <class Step>
  std::string at(std::string_view token, Step step) {
    const std::size_t size = m_pointer.size();
    m_pointer += "/" + pointer_token(token);
    std::string message = step();
    m_pointer.resize(size);
    return message;
  }

  std::string check_generic(const json& schema, const json& instance) {
    if (const auto type = schema.find("type"); type != schema.end()) {
      const auto matches = [&](const json& name) { return has_type(instance, name.get_ref<const std::string&>()); };
      const bool ok = type->is_string() ? matches(*type) : std::any_of(type->begin(), type->end(), matches);
      if (!ok) {
        const std::string wanted = type->is_string() ? type->get<std::string>() : util::join(type->get<std::vector<std::string>>(), " or ");
        return here() + ": expected " + wanted + ", got " + type_of(instance);
      }
    }
    if (const auto values = schema.find("enum"); values != schema.end()) {
      if (std::find(values->begin(), values->end(), instance) == values->end()) {
        return here() + ": " + shown(instance) + " is not one of " + shown(*values);
      }
    }
    if (const auto value = schema.find("const"); value != schema.end() && *value != instance) {
      return here() + ": " + shown(instance) + " is not " + shown(*value);
    }
    return "";
  }

  std::string check_number(const json& schema, const json& instance) {
    if (!instance.is_number()) {
      return "";
    }
    const double x = instance.get<double>();
    const auto limit = [&](const char* key, bool (*ok)(double, double), const char* what) -> std::string {
      const auto it = schema.find(key);
      if (it == schema.end() || ok(x, it->get<double>())) {
        return "";
      }
      return here() + ": " + shown(instance) + " " + what + " " + key + " " + shown(*it);
    };
    std::string message = limit("minimum", [](double a, double b) { return a >= b; }, "is less than");
    if (message.empty()) {
      message = limit("maximum", [](double a, double b) { return a <= b; }, "is greater than");
    }
    if (message.empty()) {
      message = limit("exclusiveMinimum", [](double a, double b) { return a > b; }, "is not greater than");
    }
    if (message.empty()) {
      message = limit("exclusiveMaximum", [](double a, double b) { return a < b; }, "is not less than");
    }
    if (message.empty()) {
      message = limit("multipleOf", [](double a, double b) {
        const double q = a / b;
        return std::isfinite(q) && std::abs(q - std::round(q)) < 1e-9;
      }, "is not a multiple of");
    }
    return message;
  }

  std::string check_string(const json& schema, const json& instance) {
    if (!instance.is_string()) {
      return "";
    }
    const std::string& text = instance.get_ref<const std::string&>();
    const std::size_t length = util::utf8_length(text);
    if (const auto min = schema.find("minLength"); min != schema.end() && length < min->get<double>()) {
      return here() + ": length " + std::to_string(length) + " is less than minLength " + shown(*min);
    }
    if (const auto max = schema.find("maxLength"); max != schema.end() && length > max->get<double>()) {
      return here() + ": length " + std::to_string(length) + " is greater than maxLength " + shown(*max);
    }
    if (const Regex* pattern = m_schema.pattern_of(schema)) {
      const RegexSearchResult found = pattern->search(text);
      if (!found.error.empty()) {
        return stop(found.error);
      }
      if (!found.found) {
        return here() + ": " + shown(instance) + " does not match /" + schema.at("pattern").get<std::string>() + "/";
      }
    }
    return "";
  }

  std::string check_array(const json& schema, const json& instance) {
    if (!instance.is_array()) {
      return "";
    }
    const std::string count = util::plural(instance.size(), "item");
    if (const auto min = schema.find("minItems"); min != schema.end() && instance.size() < min->get<double>()) {
      return here() + ": " + count + ", fewer than minItems " + shown(*min);
    }
    if (const auto max = schema.find("maxItems"); max != schema.end() && instance.size() > max->get<double>()) {
      return here() + ": " + count + ", more than maxItems " + shown(*max);
    }
    if (const auto unique = schema.find("uniqueItems"); unique != schema.end() && unique->get<bool>()) {
      std::set<json> seen;
      for (const json& item : instance) {
        if (!seen.insert(item).second) {
          return here() + ": " + shown(item) + " appears more than once (uniqueItems)";
        }
      }
    }
    return check_items(schema, instance);
  }

  std::string check_items(const json& schema, const json& instance) {
    std::size_t first = 0;
    if (const auto prefix = schema.find("prefixItems"); prefix != schema.end()) {
      for (; first < prefix->size() && first < instance.size(); ++first) {
        std::string message = at(std::to_string(first), [&] { return check((*prefix)[first], instance[first]); });
        if (!message.empty()) {
          return message;
        }
      }
      first = prefix->size();
    }
    const auto items = schema.find("items");
    if (items == schema.end()) {
      return "";
    }
    for (std::size_t i = first; i < instance.size(); ++i) {
      std::string message = at(std::to_string(i), [&] { return check(*items, instance[i]); });
      if (!message.empty()) {
        return message;
      }
    }
    return "";
  }

  std::string check_object(const json& schema, const json& instance) {
    if (!instance.is_object()) {
      return "";
    }
    const std::string count = std::to_string(instance.size()) + (instance.size() == 1 ? " property" : " properties");
    if (const auto min = schema.find("minProperties"); min != schema.end() && instance.size() < min->get<double>()) {
      return here() + ": " + count + ", fewer than minProperties " + shown(*min);
    }
    if (const auto max = schema.find("maxProperties"); max != schema.end() && instance.size() > max->get<double>()) {
      return here() + ": " + count + ", more than maxProperties " + shown(*max);
    }
    if (const auto required = schema.find("required"); required != schema.end()) {
      for (const json& name : *required) {
        if (!instance.contains(name.get_ref<const std::string&>())) {
          return here() + ": missing required property " + shown(name);
        }
      }
    }
    return check_properties(schema, instance);
  }

  std::string check_properties(const json& schema, const json& instance) {
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& item : instance.items()) {
      const std::string& key = item.key();  // named, not bound: clang 14 cannot capture a binding
      const json& value = item.value();
      bool declared = properties != schema.end() && properties->contains(key);
      if (declared) {
        if (std::string message = at(key, [&] { return check(properties->at(key), value); }); !message.empty()) {
          return message;
        }
      }
      std::string message = check_pattern_properties(schema, key, value, declared);
      if (!message.empty()) {
        return message;
      }
      if (declared || additional == schema.end()) {
        continue;
      }
      if (additional->is_boolean() && !additional->get<bool>()) {
        return here() + ": property " + shown(json(key)) + " is not allowed";
      }
      if (message = at(key, [&] { return check(*additional, value); }); !message.empty()) {
        return message;
      }
    }
    return "";
  }

  // The patternProperties schemas whose pattern `key` matches; `declared` becomes true if any does.
  std::string check_pattern_properties(const json& schema, const std::string& key, const json& value, bool& declared) {
    const auto patterns = schema.find("patternProperties");
    if (patterns == schema.end()) {
      return "";
    }
    for (const auto& item : patterns->items()) {
      const json& sub = item.value();
      const Regex* regex = m_schema.property_pattern_of(sub);
      const RegexSearchResult found = regex ? regex->search(key) : RegexSearchResult{};
      if (!found.error.empty()) {
        return stop(found.error);
      }
      if (found.found) {
        declared = true;
        if (std::string message = at(key, [&] { return check(sub, value); }); !message.empty()) {
          return message;
        }
      }
    }
    return "";
  }

  std::string check_combinators(const json& schema, const json& instance) {
    if (const auto all = schema.find("allOf"); all != schema.end()) {
      for (const json& sub : *all) {
        if (std::string message = check(sub, instance); !message.empty()) {
          return message;
        }
      }
    }
    if (const auto any = schema.find("anyOf"); any != schema.end()) {
      std::string first;
      bool matched = false;
      for (const json& sub : *any) {
        std::string message = check(sub, instance);
        if (message.empty() || m_limit) {
          matched = message.empty();
          first = std::move(message);
          break;
        }
        first = first.empty() ? std::move(message) : first;
      }
      if (!matched) {
        return m_limit ? first : here() + ": matches none of anyOf (" + first + ")";
      }
    }
    if (const auto one = schema.find("oneOf"); one != schema.end()) {
      std::size_t matched = 0;
      for (const json& sub : *one) {
        matched += check(sub, instance).empty() ? 1 : 0;
        if (m_limit) {
          return m_limit_message;
        }
      }
      if (matched != 1) {
        return here() + ": matches " + std::to_string(matched) + " of oneOf's " + std::to_string(one->size()) +
               " schemas, not exactly 1";
      }
    }
    if (const auto no = schema.find("not"); no != schema.end()) {
      std::string message = check(*no, instance);
      if (m_limit) {
        return message;
      }
      if (message.empty()) {
        return here() + ": matches the schema under not";
      }
    }
    return "";
  }

  const JsonSchema& m_schema;
  std::string m_pointer;
  int m_depth = 0;
  std::size_t m_steps = 0;
  bool m_limit = false;
  std::string m_limit_message;
};

}  // namespace

JsonSchemaCompiled JsonSchema::compile(const json& schema) {
  std::shared_ptr<JsonSchema> compiled(new JsonSchema());
  compiled->m_root = schema;
  std::string error = SchemaChecker(*compiled).run();
  if (!error.empty()) {
    return {nullptr, error};
  }
  return {std::move(compiled), ""};
}

JsonSchemaCompiled JsonSchema::compile_value(const json& value) {
  if (!value.is_string()) {
    return compile(value);
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.rfind("file://", 0) == 0) {
    return {nullptr, "is a file reference; schemas are inline only (write the schema as a table or object)"};
  }
  util::JsonParse parsed = util::parse_json(text);
  if (!parsed.ok()) {
    return {nullptr, "is a string that is not JSON: " + parsed.error};
  }
  return compile(parsed.value);
}

JsonSchemaCheck JsonSchema::validate(const json& instance) const { return Validator(*this).run(instance); }

const Regex* JsonSchema::property_pattern_of(const json& schema) const {
  const auto it = m_property_patterns.find(&schema);
  return it == m_property_patterns.end() ? nullptr : it->second.get();
}

const Regex* JsonSchema::pattern_of(const json& schema) const {
  const auto it = m_patterns.find(&schema);
  return it == m_patterns.end() ? nullptr : it->second.get();
}

}  // namespace promptops::eval
