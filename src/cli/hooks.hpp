// SPDX-License-Identifier: MIT
// What `hooks` shares with `init`: the textconv driver's git config, the .gitattributes lines and
// whether our shims are installed.
#pragma once

#include <string>
#include <vector>

#include <promptops/git/git.hpp>

namespace promptops::cli {

// A git config entry written by configure_textconv.
struct ConfigEntry {
  std::string name;
  std::string value;
};

// Sets diff.promptops.textconv = "git promptops textconv" and diff.promptops.cachetextconv = true
// in the repository's own config (`git config --local`, run as a child process) unless git
// config already sets them at any level; returns the entries it set. Throws Error when git fails.
std::vector<ConfigEntry> configure_textconv(const git::Repository& repo);

// The lines of templates/gitattributes that mark prompt files diff=promptops (no comments).
std::vector<std::string> gitattributes_lines();

// Whether git's hooks directory (core.hooksPath, else <common-dir>/hooks) holds our pre-commit
// shim, of any version.
bool hooks_installed(const git::Repository& repo);

}  // namespace promptops::cli
