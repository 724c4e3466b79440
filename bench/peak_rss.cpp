// SPDX-License-Identifier: MIT
// peak_rss CMD [ARG...]: runs CMD (searched in PATH), waits for it with wait4() and prints its
// peak resident set size and times on stderr as one line:
//   peak_rss: max_rss_kb=N wall_s=S user_s=U sys_s=Y run_delay_s=D status=C
// and exits with CMD's status (128 + signal when it was killed). ru_maxrss covers the child only,
// not its own children (git-promptops runs no subprocess on the eval path with the openai kind).
// run_delay_s is how long CMD's main thread was runnable but waited for a CPU (from
// /proc/PID/schedstat, read while the child is a zombie; -1 when unavailable): on a busy machine
// it tells scheduling delay apart from the program's own time.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: peak_rss CMD [ARG...]\n");
    return 129;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::fprintf(stderr, "peak_rss: fork: %s\n", std::strerror(errno));
    return 126;
  }
  if (pid == 0) {
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "peak_rss: cannot run %s: %s\n", argv[1], std::strerror(errno));
    ::_exit(127);
  }
  // Wait for the exit without reaping, so that /proc/PID/schedstat still describes the child.
  siginfo_t info{};
  int rc = 0;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  const auto wall_end = std::chrono::steady_clock::now();
  double run_delay = -1.0;
  if (std::FILE* stat = std::fopen(("/proc/" + std::to_string(pid) + "/schedstat").c_str(), "r")) {
    unsigned long long on_cpu = 0;
    unsigned long long delay = 0;
    if (std::fscanf(stat, "%llu %llu", &on_cpu, &delay) == 2) {
      run_delay = static_cast<double>(delay) / 1e9;
    }
    std::fclose(stat);
  }
  int status = 0;
  struct rusage usage {};
  pid_t waited = 0;
  do {
    waited = ::wait4(pid, &status, 0, &usage);
  } while (waited < 0 && errno == EINTR);
  if (waited < 0) {
    std::fprintf(stderr, "peak_rss: wait4: %s\n", std::strerror(errno));
    return 126;
  }
  const double wall = std::chrono::duration<double>(wall_end - start).count();
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::fprintf(stderr,
               "peak_rss: max_rss_kb=%ld wall_s=%.3f user_s=%.3f sys_s=%.3f run_delay_s=%.3f status=%d\n",
               usage.ru_maxrss, wall, seconds(usage.ru_utime), seconds(usage.ru_stime), run_delay, code);
  return code;
}
