// SPDX-License-Identifier: MIT
// The files of templates/, embedded at build time for `git promptops init`.
#pragma once

#include <string_view>
#include <vector>

namespace promptops::cli {

struct EmbeddedFile {
  std::string_view path;  // relative to templates/
  std::string_view content;
};

const std::vector<EmbeddedFile>& embedded_templates();

}  // namespace promptops::cli
