// SPDX-License-Identifier: MIT
// A grammar-only check of JSON text (RFC 8259), iterative, without converting any value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace promptops::inline eval {

struct JsonSyntax {
  bool valid = false;
  std::string type;        // valid: "object", "array", "string", "number", "boolean" or "null"
  std::size_t offset = 0;  // invalid: the byte where the text stops being JSON (prefix: see below)
  std::string error;       // invalid: what was expected there
};

// Whether `text` is one JSON value with optional whitespace around it. Accepts everything the
// RFC's grammar does, which includes escapes of lone surrogates ("\ud800") and numbers beyond any
// double (1e400); strings must be valid UTF-8. Nesting depth costs one byte of memory per level,
// never stack.
JsonSyntax check_json_syntax(std::string_view text);

// Whether `text` starts with one JSON value (after optional whitespace); what follows it is not
// read. When valid, `offset` is the byte just past the value. Otherwise as check_json_syntax().
JsonSyntax check_json_prefix(std::string_view text);

}  // namespace promptops::eval
