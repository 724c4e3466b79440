// SPDX-License-Identifier: MIT
// Running a command to completion: stdin from a string, stdout and stderr captured, a timeout.
#pragma once

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

struct ProcessResult {
  int exit_code = -1;      // the exit status; -1 when killed by a signal or never started
  bool timed_out = false;  // killed (with its process group) after the timeout
  bool started = true;     // false when argv[0] could not be executed (stderr says why)
  bool too_much_output = false;  // killed (with its process group) when stdout passed max_output
  std::string out;
  std::string err;
};

// Runs `argv` (looked up in PATH, no shell) in `cwd` (empty = ours) with our environment plus
// `env`, writing `input` to its stdin. The child leads its own process group, which is killed
// when `timeout` passes or when its stdout passes `max_output` bytes (0: no limit; stderr keeps
// at most that much too). Never throws for the child's failures; throws Error when pipes or fork
// fail.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env = {}, std::size_t max_output = 0);

}  // namespace promptops::util
