// SPDX-License-Identifier: MIT
// Word-level diffs of prompt text: tokens, runs of equal/inserted/deleted text, and renderers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace promptops::diff {

enum class RunKind { equal, insert, remove };

// "equal", "insert" or "delete".
const char* kind_name(RunKind kind);

struct Run {
  RunKind kind = RunKind::equal;
  std::string text;

  bool operator==(const Run& other) const = default;
};

// `text` cut into maximal runs of whitespace and of non-whitespace; concatenated they give `text`.
std::vector<std::string> word_tokens(std::string_view text);

// The runs that turn `old_text` into `new_text`, computed by dtl over word_tokens(). Adjacent runs
// of one kind are merged, and in each changed stretch the deletion comes before the insertion.
// Concatenating the equal and remove runs gives `old_text`; the equal and insert runs, `new_text`.
std::vector<Run> word_diff(std::string_view old_text, std::string_view new_text);

// How changed text is marked: `git diff --word-diff=plain` brackets, or ANSI red and green.
enum class Markers { plain, color };

// The runs as one text, changes marked: "[-old-]{+new+}" (plain) or red/green (color).
std::string render(const std::vector<Run>& runs, Markers markers = Markers::plain);

// The lines of the new text (with deleted text shown in place) that hold a change, each marked as
// render() does and without its newline; the equal lines are left out.
std::vector<std::string> changed_lines(const std::vector<Run>& runs, Markers markers = Markers::plain);

}  // namespace promptops::diff
