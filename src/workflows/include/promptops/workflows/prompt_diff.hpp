// SPDX-License-Identifier: MIT
// The semantic diff of the prompts at two points: changed fields, word diffs of the messages,
// added, deleted and renamed prompts. `diff` prints it; `review` puts it in its report.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <promptops/diff/diff.hpp>
#include <promptops/prompt/prompt.hpp>
#include <promptops/prompt/registry.hpp>

namespace promptops::inline workflows {

// One changed field as `key: old → new` shows it; nullopt = absent on that side.
struct FieldChange {
  std::string key;  // "model.name", "var.question.default", "gate.min.accuracy", ...
  std::optional<std::string> old_value;
  std::optional<std::string> new_value;
};

struct MessageChange {
  std::size_t index = 0;
  std::string role;  // "system", or "user → system" when the role changed
  std::optional<Message> old_message;
  std::optional<Message> new_message;
  std::vector<diff::Run> runs;  // word diff of the contents
};

// The headline metric on both sides, when the caller knows it (from notes).
struct MetricChange {
  std::string name;
  double old_value = 0.0;
  double new_value = 0.0;
};

struct PromptChange {
  std::string name;
  std::string old_name;  // differs from name for a rename
  std::optional<Prompt> old_prompt;
  std::optional<Prompt> new_prompt;
  std::string status;       // modified | added | deleted | renamed
  double similarity = 1.0;  // renamed: the share of message text kept (1 = identical)
  std::vector<FieldChange> fields;
  std::vector<MessageChange> messages;
  std::optional<MetricChange> metric;  // filled by the caller
};

// Prompts with 80% or more of their message text in common count as one prompt renamed.
inline constexpr double k_rename_similarity = 0.8;

// Every prompt that differs between the two snapshots (each read with its own config), by name;
// `names` limits it (empty = all; a rename is kept when either name is wanted). A deleted and an
// added prompt whose messages are at least k_rename_similarity alike (the most alike pair first)
// are one prompt renamed. A file that cannot be loaded is left out, with a message in `skipped`.
std::vector<PromptChange> diff_prompts(const Snapshot& old_side, const Snapshot& new_side,
                                       const std::set<std::string>& names, std::vector<std::string>* skipped);

// The share of the messages' text (roles included) kept between two prompts: 2 x kept characters
// / (old + new characters) of the word diff; 1 for two prompts without text.
double message_similarity(const Prompt& a, const Prompt& b);

// Characters (code points) and words of a prompt's messages; 0 for none.
std::size_t char_count(const std::optional<Prompt>& prompt);
std::size_t token_count(const std::optional<Prompt>& prompt);

}  // namespace promptops::workflows
