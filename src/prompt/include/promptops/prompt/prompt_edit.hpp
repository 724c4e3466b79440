// SPDX-License-Identifier: MIT
// Edits of prompt files that keep every other byte: optimize writes its winner back with them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <promptops/prompt/prompt.hpp>

namespace promptops::inline prompt {

// `text` (the file `prompt` was parsed from) with the content of prompt.messages[index] replaced by
// `content`: a TOML prompt's `template` value or the index-th message's `content` (in [[messages]]
// tables or an inline array), a text prompt's body. Every other byte stays. The string keeps its
// style (basic or literal, one-line or multi-line) when that style can hold `content` exactly; a
// one-line string that gets newlines becomes multi-line of the same kind when it can; otherwise it
// becomes a multi-line basic string with the needed escapes. Newlines inside a TOML multi-line
// string are written in the file's style (TOML reads CRLF there as LF); a text prompt's body is
// written as given and keeps the file's final newline. The result is parsed again: throws Error
// naming the first new error diagnostic when the result is not a valid prompt (such as a template
// syntax error in `content`), Error("internal: ...") when it changed more than that content, and
// Error when the value cannot be located.
std::string replace_message_content(std::string_view text, const Prompt& prompt, std::size_t index,
                                    std::string_view content);

// `text` with the model name (and, when `provider` is not empty, the provider) set. A value that
// exists is replaced in place however [model] is written (table, dotted keys, inline table), kept in
// its string style like replace_message_content. A missing key gets a `key = "..."` line right
// after the [model] header line; with no [model] table, "[model]" and the keys are appended at the
// end of the TOML after a blank line (for a text prompt at the end of the front matter, which is
// created when there is none). Inserted lines use the file's line endings. Verified like
// replace_message_content. Throws Error, with the hint to edit the file by hand, when a missing key
// cannot be added: [model] is an inline table or made by root dotted keys (model.name = "...").
std::string replace_model(std::string_view text, const Prompt& prompt, std::string_view provider,
                          std::string_view name);

}  // namespace promptops::prompt
