// SPDX-License-Identifier: MIT
// Test harness: temp dirs, real git repositories made with the git CLI, and running processes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace promptops::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) in `cwd` with the test environment plus `env` (an empty value
// unsets the variable), feeding `input` on stdin. Never throws for a non-zero exit.
RunResult run(const std::filesystem::path& cwd, const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {}, const std::string& input = {});

// The environment every child process gets: HOME and XDG_CONFIG_HOME inside the test's temp root,
// GIT_CONFIG_NOSYSTEM=1, a fixed author and committer, TERM unset, NO_COLOR=1, LC_ALL=C.UTF-8.
std::map<std::string, std::string> test_environment();

// Sets this process's own environment to test_environment() (unit tests call libgit2 in-process).
void isolate_process_environment();

// A temp directory, removed at the end unless PROMPTOPS_KEEP_TEST_DIRS=1 or a REQUIRE failed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// Sets (or, with nullopt, unsets) one variable of this process and restores it on scope exit.
class EnvOverride {
 public:
  EnvOverride(std::string name, const std::optional<std::string>& value);
  ~EnvOverride();
  EnvOverride(const EnvOverride&) = delete;
  EnvOverride& operator=(const EnvOverride&) = delete;

 private:
  std::string m_name;
  std::optional<std::string> m_old;
};

// A real repository made with `git init` (branch main) in a temp dir.
class TempRepo {
 public:
  explicit TempRepo(bool bare = false);
  const std::filesystem::path& path() const { return m_dir.path(); }

  // Writes a file (creating directories) relative to the work tree.
  void write(const std::string& relative, const std::string& content) const;
  void remove(const std::string& relative) const;
  std::string read(const std::string& relative) const;
  // Runs git with the arguments in the work tree; REQUIREs exit 0 and returns stdout.
  std::string git(const std::vector<std::string>& args) const;
  // `git add -A && git commit -m message` with a fixed, increasing date; returns the new sha.
  std::string commit(const std::string& message);

 private:
  TempDir m_dir;
  int m_clock = 0;
};

// Runs the built git-promptops binary in `cwd`.
RunResult run_promptops(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {}, const std::string& input = {});

// The path of the built git-promptops binary, or $PROMPTOPS_TEST_BINARY when set (the packaged one).
std::filesystem::path promptops_binary();

}  // namespace promptops::test

namespace promptops::test {

// The first 7 hex digits of a sha, as the tables print it.
std::string short_sha(const std::string& sha);

// prompts/greet.toml in three versions, made with `toml(template text)`: v1 "Hello {{who}}!",
// v2 "Hi {{who}}!", an unrelated commit (README.md), then v3 "Hey {{who}}!" at HEAD.
struct GreetHistory {
  TempRepo repo;
  std::string v1;
  std::string v2;
  std::string unrelated;
  std::string v3;

  explicit GreetHistory(std::string (*toml)(const std::string& text));
};

}  // namespace promptops::test

namespace promptops::test {

// The built git-promptops binary started in the background, for tests that signal it while it
// runs (Ctrl-C). stdin is /dev/null; stdout and stderr go to files that wait() reads. The
// destructor kills (SIGKILL) and reaps a process that wait() did not reap.
//
// `through_git` starts `git promptops ARGS` instead, with the binary's directory first on PATH,
// as the leader of a new process group (so signal_group() reaches git and its child, as a
// terminal's Ctrl-C does). Either way SIGINT starts with its default disposition and unblocked,
// as in a foreground terminal job (a background job of a shell starts with it ignored).
class BackgroundRun {
 public:
  enum class Launch { direct, through_git };
  BackgroundRun(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {}, Launch launch = Launch::direct);
  ~BackgroundRun();
  BackgroundRun(const BackgroundRun&) = delete;
  BackgroundRun& operator=(const BackgroundRun&) = delete;

  int pid() const { return m_pid; }
  // Sends `signal_number` to the process (not to its children).
  void signal(int signal_number) const;
  // Sends `signal_number` to the process group of a `through_git` run (git and git-promptops).
  void signal_group(int signal_number) const;
  // Waits for the exit (at most `timeout`, then SIGKILL); the result as run() gives it.
  RunResult wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  TempDir m_dir;
  int m_pid = -1;
  bool m_own_group = false;
  bool m_reaped = false;
};

// Polls `condition` every few milliseconds until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace promptops::test
