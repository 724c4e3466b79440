// SPDX-License-Identifier: MIT
// Files embedded at build time (cmake/EmbedTemplates.cmake): templates/ for `git promptops init`
// and hooks/ for `git promptops hooks install`; man/ rendered for the built-in help.
#pragma once

#include <string_view>
#include <vector>

namespace promptops::cli {

struct EmbeddedFile {
  std::string_view path;  // relative to the embedded directory (templates/ or hooks/)
  std::string_view content;
};

// The files of templates/, sorted by path.
const std::vector<EmbeddedFile>& embedded_templates();
// The hook shims of hooks/ (pre-commit, pre-push), sorted by path.
const std::vector<EmbeddedFile>& embedded_hooks();
// The man pages of man/ as `man` shows them (cmake/EmbedManPages.cmake): "git-promptops-eval" ->
// its text, sorted by name.
const std::vector<EmbeddedFile>& embedded_manuals();

}  // namespace promptops::cli
