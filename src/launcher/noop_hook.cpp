// SPDX-License-Identifier: MIT
// A no-op pre-commit hook in two git processes run side by side, without the core.
//
// The record, written by the core (cli/check.cpp, remember_staged_filter) after each pre-commit
// hook whose index config parsed without errors:
//   git-promptops pre-commit filter 1
//   config <mode in octal> <blob hex> <config path>     ("config none <path>" without one)
//   root <dir>                                          (one per prompt root; "" is the whole tree)
//   extension <.ext>                                    (one per dataset extension, lower case)
// `git ls-files -s` tells whether the index still holds that config entry and
// `git diff --cached --name-only` what is staged; anything unexpected sends the hook to the core.
#include "noop_hook.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace promptops::launcher {

namespace {

struct Filter {
  std::string config_entry;  // "100644 <hex>" or "none"
  std::string config_path;
  std::vector<std::string> roots;
  std::vector<std::string> extensions;
};

bool tracing() {
  for (const char* name : {"GIT_PROMPTOPS_TRACE", "GIT_TRACE"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0 && std::strcmp(value, "false") != 0) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// GIT_DIR, or the .git directory (or "gitdir:" file) of the nearest enclosing directory. Unsure
// set-ups (GIT_WORK_TREE or GIT_COMMON_DIR without GIT_DIR) give nullopt.
std::optional<std::string> find_git_dir() {
  if (const char* dir = std::getenv("GIT_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir);
  }
  if (std::getenv("GIT_WORK_TREE") != nullptr || std::getenv("GIT_COMMON_DIR") != nullptr) {
    return std::nullopt;
  }
  char buffer[4096];
  if (::getcwd(buffer, sizeof buffer) == nullptr) {
    return std::nullopt;
  }
  for (std::string dir = buffer;;) {
    const std::string dot_git = (dir == "/" ? "" : dir) + "/.git";
    struct stat info {};
    if (::stat(dot_git.c_str(), &info) == 0) {
      if (S_ISDIR(info.st_mode)) {
        return dot_git;
      }
      const std::optional<std::string> text = read_whole(dot_git);
      if (!text || text->rfind("gitdir: ", 0) != 0) {
        return std::nullopt;
      }
      std::string target = text->substr(8, text->find('\n') == std::string::npos ? std::string::npos
                                                                                    : text->find('\n') - 8);
      return target.front() == '/' ? target : dir + "/" + target;
    }
    if (dir == "/") {
      return std::nullopt;
    }
    const std::size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
}

std::optional<Filter> read_filter(const std::string& git_dir) {
  const std::optional<std::string> text = read_whole(git_dir + "/promptops/pre-commit-filter");
  if (!text) {
    return std::nullopt;
  }
  std::istringstream lines(*text);
  std::string line;
  if (!std::getline(lines, line) || line != "git-promptops pre-commit filter 1") {
    return std::nullopt;
  }
  Filter filter;
  while (std::getline(lines, line)) {
    if (line.rfind("root ", 0) == 0) {
      filter.roots.push_back(line.substr(5));
    } else if (line.rfind("extension ", 0) == 0) {
      filter.extensions.push_back(line.substr(10));
    } else if (line.rfind("config none ", 0) == 0) {
      filter.config_entry = "none";
      filter.config_path = line.substr(12);
    } else if (line.rfind("config ", 0) == 0) {
      const std::size_t path_at = line.find(' ', line.find(' ', 7) + 1);
      if (path_at == std::string::npos) {
        return std::nullopt;
      }
      filter.config_entry = line.substr(7, path_at - 7);
      filter.config_path = line.substr(path_at + 1);
    } else {
      return std::nullopt;
    }
  }
  if (filter.config_path.empty()) {
    return std::nullopt;
  }
  return filter;
}

// One git command, started at once; finish() collects its output.
class Git {
 public:
  explicit Git(std::vector<std::string> args) : m_args(std::move(args)) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> argv;
    for (std::string& arg : m_args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    if (posix_spawnp(&m_pid, "git", &actions, nullptr, argv.data(), environ) != 0) {
      m_pid = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    m_fd = pipe_fds[0];
  }
  Git(const Git&) = delete;
  Git& operator=(const Git&) = delete;
  ~Git() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }

  // Its standard output when it exits 0.
  std::optional<std::string> finish() {
    std::string out;
    char buffer[65536];
    for (ssize_t n; m_fd >= 0 && (n = ::read(m_fd, buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno != EINTR) {
        break;
      }
      out.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    int status = 0;
    if (m_pid <= 0) {
      return std::nullopt;
    }
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return std::nullopt;
    }
    return out;
  }

 private:
  std::vector<std::string> m_args;
  pid_t m_pid = -1;
  int m_fd = -1;
};

std::vector<std::string_view> split_nul(std::string_view text) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// "100644 <hex>" from `git ls-files -s -z` of the config, "none" when absent; nullopt for
// anything else (a conflict, more than one entry).
std::optional<std::string> config_entry(std::string_view listing) {
  const std::vector<std::string_view> entries = split_nul(listing);
  if (entries.empty()) {
    return std::string("none");
  }
  const std::string_view entry = entries.front();
  const std::size_t tab = entry.find('\t');
  if (entries.size() != 1 || tab == std::string_view::npos || tab < 3 || entry.substr(tab - 2, 2) != " 0") {
    return std::nullopt;
  }
  return std::string(entry.substr(0, tab - 2));
}

bool ends_with_extension(std::string_view path, const std::string& extension) {
  if (path.size() <= extension.size() || path[path.size() - extension.size() - 1] == '/') {
    return false;
  }
  for (std::size_t i = 0; i < extension.size(); ++i) {
    const char c = path[path.size() - extension.size() + i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != extension[i]) {
      return false;
    }
  }
  return true;
}

bool under_root(std::string_view path, const std::string& root) {
  return root.empty() || path == root || (path.size() > root.size() && path.substr(0, root.size()) == root &&
                                          path[root.size()] == '/');
}

// Whether the staged `path` could make the core's check read anything.
bool matters(std::string_view path, const Filter& filter) {
  if (path == filter.config_path) {
    return true;
  }
  for (const std::string& extension : filter.extensions) {
    if (ends_with_extension(path, extension)) {
      return true;
    }
  }
  for (const std::string& root : filter.roots) {
    if (under_root(path, root)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool noop_pre_commit(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "hook") != 0 || std::strcmp(argv[2], "pre-commit") != 0 || tracing()) {
    return false;
  }
  const std::optional<std::string> git_dir = find_git_dir();
  const std::optional<Filter> filter = git_dir ? read_filter(*git_dir) : std::nullopt;
  if (!filter) {
    return false;
  }
  Git staged({"git", "diff", "--cached", "--name-only", "-z", "--no-renames", "--no-relative",
              "--ignore-submodules=none"});
  Git config({"git", "ls-files", "-s", "-z", "--", ":(top,literal)" + filter->config_path});
  const std::optional<std::string> paths = staged.finish();
  const std::optional<std::string> listing = config.finish();
  if (!paths || !listing || config_entry(*listing) != filter->config_entry) {
    return false;
  }
  for (std::string_view path : split_nul(*paths)) {
    if (matters(path, *filter)) {
      return false;
    }
  }
  return true;
}

}  // namespace promptops::launcher
