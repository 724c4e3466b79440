// SPDX-License-Identifier: MIT
// Test harness: temp dirs, real git repositories made with the git CLI, and running processes.
#include "support/harness.hpp"
#include "support/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

extern char** environ;

namespace promptops::test {

namespace {

const std::filesystem::path& temp_root() {
  static const std::filesystem::path root = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "promptops-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    std::filesystem::create_directories(std::filesystem::path(pattern) / "home");
    return std::filesystem::path(pattern);
  }();
  return root;
}

bool keep_dirs() {
  const char* keep = std::getenv("PROMPTOPS_KEEP_TEST_DIRS");
  return keep != nullptr && std::string(keep) == "1";
}

}  // namespace

std::map<std::string, std::string> test_environment() {
  std::map<std::string, std::string> env;
  const char* path = std::getenv("PATH");
  env["PATH"] = path != nullptr ? path : "/usr/bin:/bin";
  env["HOME"] = (temp_root() / "home").string();
  env["XDG_CONFIG_HOME"] = (temp_root() / "home" / ".config").string();
  env["GIT_CONFIG_NOSYSTEM"] = "1";
  env["GIT_AUTHOR_NAME"] = "Ada Tester";
  env["GIT_AUTHOR_EMAIL"] = "ada@example.com";
  env["GIT_COMMITTER_NAME"] = "Ada Tester";
  env["GIT_COMMITTER_EMAIL"] = "ada@example.com";
  env["NO_COLOR"] = "1";
  env["LC_ALL"] = "C.UTF-8";
  env["TZ"] = "UTC";
  return env;
}

void isolate_process_environment() {
  for (const char* name :
       {"TERM", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_TRACE", "GIT_PROMPTOPS_TRACE", "EMAIL"}) {
    ::unsetenv(name);
  }
  for (const auto& [name, value] : test_environment()) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
}

namespace {

// "NAME=value" strings of test_environment() with `env` applied (an empty value unsets).
std::vector<std::string> child_environment(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> full = test_environment();
  for (const auto& [name, value] : env) {
    if (value.empty()) {
      full.erase(name);
    } else {
      full[name] = value;
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, value] : full) {
    out.push_back(name + "=" + value);
  }
  return out;
}

}  // namespace

EnvOverride::EnvOverride(std::string name, const std::optional<std::string>& value)
    : m_name(std::move(name)) {
  if (const char* old = std::getenv(m_name.c_str())) {
    m_old = old;
  }
  if (value) {
    ::setenv(m_name.c_str(), value->c_str(), 1);
  } else {
    ::unsetenv(m_name.c_str());
  }
}

EnvOverride::~EnvOverride() {
  if (m_old) {
    ::setenv(m_name.c_str(), m_old->c_str(), 1);
  } else {
    ::unsetenv(m_name.c_str());
  }
}

int spawn(const SpawnSpec& spec) {
  std::vector<char*> args;
  for (const std::string& a : spec.argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : spec.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  std::vector<std::pair<int, rlimit>> limits;
  for (const auto& [resource, values] : spec.limits) {
    limits.emplace_back(resource, rlimit{static_cast<rlim_t>(values.first), static_cast<rlim_t>(values.second)});
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (spec.own_group) {
      ::setpgid(0, 0);
    }
    for (const auto& [resource, limit] : limits) {
      ::setrlimit(resource, &limit);
    }
    ::dup2(spec.in, 0);
    ::dup2(spec.out, 1);
    ::dup2(spec.err, 2);
    if (::chdir(spec.cwd.c_str()) != 0) {
      ::_exit(126);
    }
    if (spec.default_sigint) {
      ::signal(SIGINT, SIG_DFL);
      sigset_t unblock;
      sigemptyset(&unblock);
      sigaddset(&unblock, SIGINT);
      ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
    }
    environ = envp.data();
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (pid > 0 && spec.own_group) {
    ::setpgid(pid, pid);  // as the child does, whichever runs first: the group exists on return
  }
  return pid;
}

RunResult run(const std::filesystem::path& cwd, const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env, const std::string& input) {
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = child_environment(env);
  spec.cwd = cwd;
  spec.in = in_pipe[0];
  spec.out = out_pipe[1];
  spec.err = err_pipe[1];
  const pid_t pid = spawn(spec);
  ::close(in_pipe[0]);
  if (pid < 0) {
    for (const int fd : {in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      ::close(fd);
    }
    throw std::runtime_error("fork failed");
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Feed stdin from a writer that never blocks the readers: small inputs fit the pipe buffer.
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_pipe[1]);
    in_pipe[1] = -1;
  }
  RunResult result;
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
  int open_readers = 2;
  while (open_readers > 0) {
    const nfds_t count = in_pipe[1] >= 0 ? 3 : 2;
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        char buffer[65536];
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_readers;
        } else {
          (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
        }
      }
    }
    if (in_pipe[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::write(in_pipe[1], input.data() + written, input.size() - written);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
      }
      if (n < 0 || written == input.size()) {
        ::close(in_pipe[1]);
        in_pipe[1] = -1;
        fds[2].fd = -1;
      }
    }
  }
  if (in_pipe[1] >= 0) {
    ::close(in_pipe[1]);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

TempDir::TempDir() {
  std::string pattern = (temp_root() / "t-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  if (keep_dirs() || std::uncaught_exceptions() > 0) {
    std::fprintf(stderr, "kept test directory %s\n", m_path.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

TempRepo::TempRepo(bool bare) {
  std::vector<std::string> args = {"init", "-q", "-b", "main"};
  if (bare) {
    args.push_back("--bare");
  }
  git(args);
}

void TempRepo::write(const std::string& relative, const std::string& content) const {
  const auto file = path() / relative;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream stream(file, std::ios::binary | std::ios::trunc);
  stream << content;
  REQUIRE(stream.good());
}

void TempRepo::remove(const std::string& relative) const { std::filesystem::remove(path() / relative); }

std::string TempRepo::read(const std::string& relative) const {
  std::ifstream stream(path() / relative, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

std::string TempRepo::git(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(path(), argv);
  INFO("git " << args.front() << " failed: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

std::string TempRepo::commit(const std::string& message) {
  git({"add", "-A"});
  ++m_clock;
  const std::string date = std::to_string(1700000000 + m_clock * 3600) + " +0000";
  std::vector<std::string> argv = {"git", "commit", "-q", "--allow-empty", "-m", message};
  const RunResult r = run(path(), argv, {{"GIT_AUTHOR_DATE", date}, {"GIT_COMMITTER_DATE", date}});
  INFO("git commit failed: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::string sha = git({"rev-parse", "HEAD"});
  sha.erase(sha.find_last_not_of('\n') + 1);
  return sha;
}

std::filesystem::path promptops_binary() {
  // Another build of the same version under test, such as the one the Debian package installs
  // (scripts/package-test.sh).
  if (const char* other = std::getenv("PROMPTOPS_TEST_BINARY"); other != nullptr && *other != '\0') {
    return other;
  }
#ifdef PROMPTOPS_BINARY
  return PROMPTOPS_BINARY;
#else
  return "git-promptops";
#endif
}

RunResult run_promptops(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, const std::string& input) {
  std::vector<std::string> argv = {promptops_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(cwd, argv, env, input);
}

}  // namespace promptops::test

namespace promptops::test {

std::string short_sha(const std::string& sha) { return sha.substr(0, 7); }

GreetHistory::GreetHistory(std::string (*toml)(const std::string& text)) {
  repo.write("prompts/greet.toml", toml("Hello {{who}}!"));
  v1 = repo.commit("add greet");
  repo.write("prompts/greet.toml", toml("Hi {{who}}!"));
  v2 = repo.commit("greet: say hi");
  repo.write("README.md", "# demo\n");
  unrelated = repo.commit("add readme");
  repo.write("prompts/greet.toml", toml("Hey {{who}}!"));
  v3 = repo.commit("greet: say hey");
}

}  // namespace promptops::test

namespace promptops::test {

namespace {

std::string read_whole(const std::filesystem::path& file) {
  std::ifstream stream(file, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

}  // namespace

BackgroundRun::BackgroundRun(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env, Launch launch)
    : m_own_group(launch == Launch::through_git) {
  std::map<std::string, std::string> full_env = env;
  std::vector<std::string> argv = {promptops_binary().string()};
  if (m_own_group) {
    full_env["PATH"] = promptops_binary().parent_path().string() + ":" + test_environment().at("PATH");
    argv = {"git", "promptops"};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out_path = (m_dir.path() / "stdout").string();
  const std::string err_path = (m_dir.path() / "stderr").string();
  const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    throw std::runtime_error("cannot open the files of a background run");
  }
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = child_environment(full_env);
  spec.cwd = cwd;
  spec.in = in_fd;
  spec.out = out_fd;
  spec.err = err_fd;
  spec.own_group = m_own_group;
  spec.default_sigint = true;
  const int pid = spawn(spec);
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  m_pid = pid;
}

BackgroundRun::~BackgroundRun() {
  if (m_pid > 0 && !m_reaped) {
    ::kill(m_own_group ? -m_pid : m_pid, SIGKILL);
    int status = 0;
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void BackgroundRun::signal(int signal_number) const {
  if (m_pid > 0 && !m_reaped) {
    ::kill(m_pid, signal_number);
  }
}

void BackgroundRun::signal_group(int signal_number) const {
  if (m_pid > 0 && !m_reaped && m_own_group) {
    ::kill(-m_pid, signal_number);
  }
}

RunResult BackgroundRun::wait(std::chrono::milliseconds timeout) {
  RunResult result;
  if (m_pid <= 0 || m_reaped) {
    return result;
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const pid_t reaped = ::waitpid(m_pid, &status, WNOHANG);
    if (reaped == m_pid) {
      break;
    }
    if (reaped < 0 && errno != EINTR) {
      m_reaped = true;
      return result;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(m_own_group ? -m_pid : m_pid, SIGKILL);
      while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_reaped = true;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_whole(m_dir.path() / "stdout");
  result.err = read_whole(m_dir.path() / "stderr");
  return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace promptops::test
