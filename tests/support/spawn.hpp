// SPDX-License-Identifier: MIT
// The one way the tests start a child process (the e2e binary links no layer of the tool).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace promptops::test {

// How spawn() starts a child. The e2e binary links no layer of the tool (it tests the binary from
// outside), so the tests have this one spawner of their own rather than util::Child.
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] looked up in the PATH of `env`
  std::vector<std::string> env;   // "NAME=value": the child's whole environment
  std::filesystem::path cwd;
  int in = -1;  // descriptors that become the child's 0, 1 and 2 (opened close-on-exec)
  int out = -1;
  int err = -1;
  bool own_group = false;       // the leader of a new process group
  bool default_sigint = false;  // SIGINT at its default action and unblocked, as in a foreground job
  // setrlimit(resource, {soft, hard}) for each
  std::vector<std::pair<int, std::pair<unsigned long, unsigned long>>> limits;
};

// Forks and runs `spec`; only async-signal-safe calls run between fork and exec (argv and the
// environment are built before). Returns the child's pid, or -1 when fork fails (the caller
// closes its descriptors either way). The child exits 126 when it cannot enter cwd and 127 when
// it cannot run argv[0].
int spawn(const SpawnSpec& spec);

}  // namespace promptops::test
