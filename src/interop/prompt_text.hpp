// SPDX-License-Identifier: MIT
// TOML text for what an import makes: values, and the [eval] table of an imported prompt.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>


namespace promptops::inline interop {

// `text` as a TOML basic string: one line when it has no newline, else a multi-line """ string
// that reads back exactly (its first newline is the one TOML trims).
std::string toml_string(std::string_view text);

// A key, bare when it can be, else quoted.
std::string toml_key(std::string_view key);

// A JSON value as an inline TOML value: strings, numbers, booleans, arrays, inline tables. null
// has no TOML form and is written as "" (callers leave nulls out).
std::string toml_value(const nlohmann::json& value);

// What an import puts in a prompt's [eval] table (and its [[eval.matrix]] columns).
struct EvalDraft {
  std::string dataset;                                     // empty = none
  nlohmann::json asserts = nlohmann::json::array();        // assert
  nlohmann::json default_vars = nlohmann::json::object();  // default_vars
  nlohmann::json matrix = nlohmann::json::array();         // [[eval.matrix]] tables (JSON objects)
};

// The [eval] table of `eval`, after a blank line; "" when it is empty.
std::string eval_tables_text(const EvalDraft& eval);

}  // namespace promptops::interop
