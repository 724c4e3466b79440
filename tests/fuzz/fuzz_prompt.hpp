// SPDX-License-Identifier: MIT
// The prompt-file checks that the TOML and the text (+++ front matter) targets share.
#pragma once

#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/prompt_edit.hpp>
#include <promptops/prompt/template.hpp>

#include "fuzz_support.hpp"

namespace promptops::fuzz {

// What the tool does with a prompt file from a clone: parse it (never throws), show it as JSON,
// lint its templates, render it with the variables a dataset row gives, and (optimize) rewrite
// its first message and its model in place.
inline void check_prompt(std::string_view text, const std::string& path) {
  const ParsedPrompt parsed = parse_prompt(text, path, "fuzz/p");
  if (!parsed.prompt) {
    return;
  }
  const Prompt& prompt = *parsed.prompt;
  prompt.to_json().dump();
  for (const Message& message : prompt.messages) {
    analyze_template(message.content);
  }
  if (has_errors(parsed.diagnostics)) {
    return;  // load_prompt refuses such a file: nothing renders or edits it
  }
  const nlohmann::json values = {{"input", "text"}, {"question", "why?"}, {"items", {"a", "b"}}};
  allow_error([&] { render_prompt(prompt, values); });
  if (!prompt.messages.empty()) {
    allow_error([&] { replace_message_content(text, prompt, 0, "New {{input}}\n\"quoted\" '''x''' \\ end"); });
  }
  allow_error([&] { replace_model(text, prompt, "", "fuzz-model"); });
}

}  // namespace promptops::fuzz
