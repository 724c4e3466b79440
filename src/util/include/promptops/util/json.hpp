// SPDX-License-Identifier: MIT
// Parsing untrusted JSON with bounded nesting, so that no later step recurses without limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace promptops::util {

// The deepest nesting of arrays and objects that parse_json() accepts by default. nlohmann's
// parser and destructor are iterative, but copying, comparing, dumping and converting a value
// recurse once per level: 128 levels keep all of them far from the stack's end.
inline constexpr int k_json_max_depth = 128;

struct JsonParse {
  nlohmann::json value;  // null after an error
  // Empty on success; otherwise nlohmann's message without its "[json.exception...]" prefix
  // ("parse error at line 1, column 5: syntax error while parsing value - ...", "number overflow
  // parsing '1e400'"), or "arrays and objects nested deeper than 128 levels".
  std::string error;
  std::size_t byte = 0;  // on error: the 1-based byte of `text` where it was found (0: unknown)

  bool ok() const { return error.empty(); }
  // `error` without nlohmann's "parse error at line 1, column 5: ", for messages that give the
  // place themselves.
  std::string reason() const;
};

// Parses `text` as one JSON document with at most `max_depth` levels of arrays and objects (the
// top-level value's brackets are level 1). Nothing in it recurses with the input's depth, and it
// never throws for bad content (only std::bad_alloc).
JsonParse parse_json(std::string_view text, int max_depth = k_json_max_depth);

// `value` as compact JSON text, invalid UTF-8 in its strings shown as U+FFFD: never throws for
// content (nlohmann's plain dump() throws on a string from an untrusted file with a stray byte).
inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// nlohmann's what() without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const nlohmann::json::exception& e);

}  // namespace promptops::util
