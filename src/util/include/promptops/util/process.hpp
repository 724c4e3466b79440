// SPDX-License-Identifier: MIT
// Child processes: one spawner (posix_spawn, its own process group, pipes that close themselves)
// and running a command to completion with stdin from a string, stdout and stderr captured and a
// timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace promptops::util {

// Closes `fd` when it is open and marks it closed (-1).
void close_fd(int& fd);

// write(2) that reports EPIPE instead of raising SIGPIPE when the reader (a child's stdin) is
// gone, without touching the process-wide disposition.
long write_without_sigpipe(int fd, const char* data, std::size_t size);

// An owned file descriptor: closed by the destructor, by reset() or when moved over.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() { close_fd(m_fd); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  bool is_open() const { return m_fd >= 0; }
  void reset() { close_fd(m_fd); }

 private:
  int m_fd = -1;
};

// What to start: `argv` (argv[0] looked up in PATH, no shell) in `cwd` (empty = ours), with our
// environment plus `env` (a name in both takes the value in `env`).
struct SpawnRequest {
  std::vector<std::string> argv;
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;
};

// One child process, started by posix_spawn as the leader of a new process group, with its stdin,
// stdout and stderr on pipes whose parent ends are non-blocking and close-on-exec, and every other
// descriptor closed in the child. Nothing runs between fork and exec but the spawn's own file
// actions: the environment and argv are built before. The destructor closes the pipes and, when
// the child was not reaped, kills its whole process group and reaps it, so no path leaks a
// descriptor or a zombie.
class Child {
 public:
  // Starts `request`. Never throws for a child that cannot start: started() is then false and
  // error() says why. Throws Error for an empty argv.
  static Child spawn(const SpawnRequest& request);

  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  // Why a child did not start.
  enum class Failure { none, pipe, cwd, exec };

  bool started() const { return m_pid > 0; }
  Failure failure() const { return m_failure; }
  // Why it did not start: "cannot create a pipe: REASON", "cannot enter CWD: REASON" or
  // "cannot run ARGV0: REASON"; reason() is REASON alone (strerror).
  const std::string& error() const { return m_error; }
  const std::string& reason() const { return m_reason; }
  pid_t pid() const { return m_pid; }

  // The parent's ends: write to stdin_pipe, read from stdout_pipe and stderr_pipe. Reset one to
  // close it (e.g. stdin once the input is written).
  UniqueFd stdin_pipe;
  UniqueFd stdout_pipe;
  UniqueFd stderr_pipe;

  // Reaps the child if it has exited, without waiting; true once it is reaped.
  bool try_reap();
  // Waits for the child to exit and reaps it.
  void wait();
  // Sends SIGKILL to the child's process group (it and whatever it started that stayed in the
  // group) and reaps the child.
  void kill_group();
  bool reaped() const { return m_reaped; }
  // The wait status (WIFEXITED, WEXITSTATUS...), meaningful once reaped().
  int status() const { return m_status; }

 private:
  Child() = default;

  pid_t m_pid = -1;
  bool m_reaped = false;
  int m_status = 0;
  Failure m_failure = Failure::none;
  std::string m_error;
  std::string m_reason;
};

struct ProcessResult {
  int exit_code = -1;      // the exit status; -1 when killed by a signal or never started
  bool timed_out = false;  // killed (with its process group) after the timeout
  bool started = true;     // false when argv[0] could not be executed (err says why)
  bool too_much_output = false;  // killed (with its process group) when stdout passed max_output
  std::string out;
  std::string err;
};

// Runs `argv` (looked up in PATH, no shell) in `cwd` (empty = ours) with our environment plus
// `env`, writing `input` to its stdin. The child leads its own process group, which is killed
// when `timeout` passes or when its stdout passes `max_output` bytes (0: no limit; stderr keeps
// at most that much too). Never throws for the child's failures: one that cannot start exits 127
// with the reason in `err` ("cannot run ..." with started false, or "cannot enter DIR: ...").
// Throws Error for an empty argv.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env = {}, std::size_t max_output = 0);

}  // namespace promptops::util
