// SPDX-License-Identifier: MIT
// Finding the work tree root without libgit2, for commands that only read the working tree.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <promptops/git/git.hpp>

#include <promptops/util/file.hpp>

namespace promptops::git {

namespace {

constexpr std::uint64_t k_max_git_file_bytes = std::uint64_t{1} << 20;  // .git/config, a .git file

bool env_set(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

// A `.git` directory that this user owns and whose config does not move the work tree.
bool plain_git_dir(const std::filesystem::path& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid()) {
    return false;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "HEAD", ec)) {
    return false;
  }
  // Bounded, and never through a link: a config that is not a plain file is left to libgit2.
  const util::TreeFile file = util::read_beneath(dir, "config", k_max_git_file_bytes);
  const std::optional<std::string> config =
      file.kind == util::TreeFile::Kind::regular ? std::optional(file.bytes) : std::nullopt;
  // core.worktree, core.bare = true, or extensions we may not read: let libgit2 decide.
  return config && config->find("worktree") == std::string::npos && config->find("bare = true") == std::string::npos &&
         config->find("objectformat") == std::string::npos;
}

}  // namespace

std::optional<std::filesystem::path> find_worktree_root(const std::filesystem::path& start) {
  if (env_set("GIT_DIR") || env_set("GIT_WORK_TREE") || env_set("GIT_CEILING_DIRECTORIES") ||
      env_set("GIT_DISCOVERY_ACROSS_FILESYSTEM")) {
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(start, ec).lexically_normal();
  if (ec) {
    return std::nullopt;
  }
  for (;;) {
    const std::filesystem::path dot_git = dir / ".git";
    const auto status = std::filesystem::symlink_status(dot_git, ec);
    if (std::filesystem::is_directory(status)) {
      return plain_git_dir(dot_git) ? std::optional(dir) : std::nullopt;
    }
    if (std::filesystem::is_regular_file(status)) {
      const util::TreeFile text = util::read_beneath(dir, ".git", k_max_git_file_bytes);
      return text.kind == util::TreeFile::Kind::regular && text.bytes.starts_with("gitdir: ") ? std::optional(dir)
                                                                                              : std::nullopt;
    }
    if (std::filesystem::exists(status) || std::filesystem::is_regular_file(dir / "HEAD", ec)) {
      return std::nullopt;  // a symlinked .git or a bare repository: not a plain layout
    }
    if (!dir.has_relative_path()) {
      return std::nullopt;
    }
    dir = dir.parent_path();
  }
}

}  // namespace promptops::git
