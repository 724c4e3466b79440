// SPDX-License-Identifier: MIT
// Unit tests for util/process: the one child-process spawner and run_process.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "support/harness.hpp"
#include <promptops/util/process.hpp>

using namespace promptops;
using promptops::test::TempDir;
using namespace std::chrono_literals;

namespace {

// The descriptors this process has open, from /proc/self/fd.
int open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  REQUIRE(dir != nullptr);
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++count;
    }
  }
  ::closedir(dir);
  return count - 1;  // the directory's own
}

util::ProcessResult sh(const std::string& script, const std::string& input = "",
                       std::chrono::milliseconds timeout = 10s) {
  return util::run_process({"/bin/sh", "-c", script}, input, {}, timeout);
}

// Whether `pid` is gone, waiting up to two seconds for init to reap it.
bool gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("run_process reports the exit status and captures stdout and stderr", "[util][process]") {
  SECTION("exit status") {
    const util::ProcessResult result = sh("exit 3");
    CHECK(result.started);
    CHECK(result.exit_code == 3);
    CHECK_FALSE(result.timed_out);
  }
  SECTION("stdout and stderr apart") {
    const util::ProcessResult result = sh("echo out; echo err >&2; echo more");
    CHECK(result.exit_code == 0);
    CHECK(result.out == "out\nmore\n");
    CHECK(result.err == "err\n");
  }
  SECTION("killed by a signal") {
    const util::ProcessResult result = sh("kill -9 $$");
    CHECK(result.exit_code == -1);
    CHECK_FALSE(result.timed_out);
  }
}

TEST_CASE("run_process writes stdin while it reads stdout, and passes cwd and env", "[util][process]") {
  SECTION("a megabyte through cat: neither side blocks on a full pipe") {
    std::string input;
    for (int i = 0; input.size() < (1u << 20); ++i) {
      input += "line " + std::to_string(i) + "\n";
    }
    const util::ProcessResult result = util::run_process({"cat"}, input, {}, 10s);
    CHECK(result.exit_code == 0);
    CHECK(result.out == input);
  }
  SECTION("a child that ignores its stdin") {
    const util::ProcessResult result = sh("echo done", std::string(1u << 20, 'x'));
    CHECK(result.exit_code == 0);
    CHECK(result.out == "done\n");
  }
  SECTION("cwd and extra environment, over ours") {
    TempDir dir;
    ::setenv("PROMPTOPS_TEST_PROCESS", "ours", 1);
    const util::ProcessResult result =
        util::run_process({"/bin/sh", "-c", "pwd; echo \"$PROMPTOPS_TEST_PROCESS $PROMPTOPS_TEST_EXTRA\""}, "",
                          dir.path(), 10s, {{"PROMPTOPS_TEST_PROCESS", "theirs"}, {"PROMPTOPS_TEST_EXTRA", "x"}});
    ::unsetenv("PROMPTOPS_TEST_PROCESS");
    CHECK(result.exit_code == 0);
    CHECK(result.out == std::filesystem::canonical(dir.path()).string() + "\ntheirs x\n");
  }
}

TEST_CASE("run_process kills the whole process group on timeout and on too much output", "[util][process]") {
  SECTION("a grandchild that keeps stdout open dies with its parent") {
    const auto start = std::chrono::steady_clock::now();
    const util::ProcessResult result = sh("sleep 30 & echo $!; wait", "", 300ms);
    CHECK(result.timed_out);
    CHECK(result.exit_code == -1);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    const pid_t grandchild = static_cast<pid_t>(std::stol(result.out));
    CHECK(gone(grandchild));
  }
  SECTION("stdout past the limit") {
    const util::ProcessResult result =
        util::run_process({"/bin/sh", "-c", "while :; do echo xxxxxxxxxxxxxxxx; done"}, "", {}, 10s, {}, 1000);
    CHECK(result.too_much_output);
    CHECK(result.out.size() <= 1000);
  }
}

TEST_CASE("run_process explains a child that cannot start", "[util][process]") {
  SECTION("a missing program") {
    const util::ProcessResult result = util::run_process({"promptops-no-such-program"}, "", {}, 10s);
    CHECK_FALSE(result.started);
    CHECK(result.exit_code == 127);
    CHECK(result.err == "cannot run promptops-no-such-program: No such file or directory\n");
  }
  SECTION("a missing directory") {
    TempDir dir;
    const util::ProcessResult result = util::run_process({"true"}, "", dir.path() / "nope", 10s);
    CHECK(result.started);
    CHECK(result.exit_code == 127);
    CHECK(result.err == "cannot enter " + (dir.path() / "nope").string() + ": No such file or directory\n");
  }
  SECTION("an empty command") {
    CHECK_THROWS_WITH(util::run_process({}, "", {}, 10s), "cannot run an empty command");
  }
}

TEST_CASE("children leak no descriptor, ours or theirs", "[util][process]") {
  SECTION("every path closes what it opened") {
    const int before = open_fds();
    sh("echo hi; echo there >&2", "input");
    sh("sleep 30", "", 100ms);
    util::run_process({"promptops-no-such-program"}, "", {}, 10s);
    util::run_process({"true"}, "", "/nonexistent-promptops-dir", 10s);
    {
      util::Child child = util::Child::spawn(util::SpawnRequest{{"sleep", "30"}, {}, {}});
      REQUIRE(child.started());
    }  // dropped while running: killed, reaped, pipes closed
    CHECK(open_fds() == before);
  }
  SECTION("the child sees none of our descriptors") {
    const int ours = ::dup(0);  // not close-on-exec
    REQUIRE(ours > 2);
    const util::ProcessResult result =
        sh("if [ -e /proc/$$/fd/" + std::to_string(ours) + " ]; then echo leaked; else echo closed; fi");
    ::close(ours);
    CHECK(result.out == "closed\n");
  }
}

TEST_CASE("Child::spawn: a process group of its own, killed and reaped once", "[util][process]") {
  util::Child child = util::Child::spawn(util::SpawnRequest{{"sleep", "30"}, {}, {}});
  REQUIRE(child.started());
  CHECK(::getpgid(child.pid()) == child.pid());
  CHECK_FALSE(child.try_reap());
  child.kill_group();
  CHECK(child.reaped());
  CHECK(WIFSIGNALED(child.status()));
  CHECK(WTERMSIG(child.status()) == SIGKILL);
  child.kill_group();  // a second time does nothing
  CHECK(child.reaped());

  const util::Child missing = util::Child::spawn(util::SpawnRequest{{"promptops-no-such-program"}, {}, {}});
  CHECK_FALSE(missing.started());
  CHECK(missing.failure() == util::Child::Failure::exec);
  CHECK(missing.reason() == "No such file or directory");
}
