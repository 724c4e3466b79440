// SPDX-License-Identifier: MIT
// Child processes: posix_spawn into a new process group, and running one to completion with
// poll() (no thread per pipe, no deadlock on full pipes).
#include <promptops/util/process.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <promptops/util/error.hpp>

extern char** environ;

namespace promptops::util {

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// SIGPIPE is blocked in this thread around the write and a pending one is consumed.
long write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_set;
  sigset_t old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  const ssize_t n = ::write(fd, data, size);
  const int saved = errno;
  if (n < 0 && saved == EPIPE) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return n;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    close_fd(m_fd);
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

namespace {

// A pipe whose both ends are close-on-exec; throws nothing, keeps errno when it failed.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
  int error = 0;

  Pipe() {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      error = errno;
    }
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
  }
};

// The file actions and attributes of one spawn, destroyed on every path.
class SpawnSetup {
 public:
  SpawnSetup(const Pipe& in, const Pipe& out, const Pipe& err, const std::filesystem::path& cwd) {
    posix_spawn_file_actions_init(&m_actions);
    posix_spawn_file_actions_adddup2(&m_actions, in.read_end.get(), 0);
    posix_spawn_file_actions_adddup2(&m_actions, out.write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&m_actions, err.write_end.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&m_actions, 3);  // nothing of ours leaks into the child
    if (!cwd.empty()) {
      posix_spawn_file_actions_addchdir_np(&m_actions, cwd.c_str());
    }
    posix_spawnattr_init(&m_attributes);
    posix_spawnattr_setflags(&m_attributes,
                             POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&m_attributes, 0);  // a group of its own, led by the child
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&m_attributes, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (const int signal_number : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD}) {
      sigaddset(&defaults, signal_number);
    }
    posix_spawnattr_setsigdefault(&m_attributes, &defaults);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&m_actions);
    posix_spawnattr_destroy(&m_attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  const posix_spawn_file_actions_t* actions() const { return &m_actions; }
  const posix_spawnattr_t* attributes() const { return &m_attributes; }

 private:
  posix_spawn_file_actions_t m_actions;
  posix_spawnattr_t m_attributes;
};

// Our environment with `extra` set over it ("NAME=value" strings, built before spawning).
std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string name(text.substr(0, text.find('=')));
    if (extra.count(name) == 0) {
      entries.emplace_back(text);
    }
  }
  for (const auto& [name, value] : extra) {
    entries.push_back(name + "=" + value);
  }
  return entries;
}

// argv-style pointers into `strings`, null-terminated; valid while `strings` is.
std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) {
    pointers.push_back(text.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

// errno of entering `cwd`, or 0: tells a failed chdir from a failed exec after posix_spawn fails.
int cwd_error(const std::filesystem::path& cwd) {
  if (cwd.empty()) {
    return 0;
  }
  struct stat info {};
  if (::stat(cwd.c_str(), &info) != 0) {
    return errno;
  }
  if (!S_ISDIR(info.st_mode)) {
    return ENOTDIR;
  }
  return ::access(cwd.c_str(), X_OK) == 0 ? 0 : errno;
}

}  // namespace

Child Child::spawn(const SpawnRequest& request) {
  if (request.argv.empty()) {
    throw Error("cannot run an empty command");
  }
  Child child;
  Pipe in;
  Pipe out;
  Pipe err;
  if (const int why = in.error != 0 ? in.error : out.error != 0 ? out.error : err.error; why != 0) {
    child.m_failure = Failure::pipe;
    child.m_reason = std::strerror(why);
    child.m_error = "cannot create a pipe: " + child.m_reason;
    return child;
  }
  std::vector<std::string> arguments = request.argv;
  std::vector<std::string> environment = environment_with(request.env);
  const std::vector<char*> argv = pointers_to(arguments);
  const std::vector<char*> envp = pointers_to(environment);
  const SpawnSetup setup(in, out, err, request.cwd);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], setup.actions(), setup.attributes(), argv.data(), envp.data());
  if (rc != 0) {
    child.m_reason = std::strerror(rc);
    if (const int why = cwd_error(request.cwd); why != 0) {
      child.m_failure = Failure::cwd;
      child.m_error = "cannot enter " + request.cwd.string() + ": " + std::strerror(why);
    } else {
      child.m_failure = Failure::exec;
      child.m_error = "cannot run " + request.argv.front() + ": " + child.m_reason;
    }
    return child;
  }
  child.m_pid = pid;
  child.stdin_pipe = std::move(in.write_end);
  child.stdout_pipe = std::move(out.read_end);
  child.stderr_pipe = std::move(err.read_end);
  for (const int fd : {child.stdin_pipe.get(), child.stdout_pipe.get(), child.stderr_pipe.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return child;  // the child's ends (in.read_end, out.write_end, err.write_end) close here
}

Child::Child(Child&& other) noexcept
    : stdin_pipe(std::move(other.stdin_pipe)),
      stdout_pipe(std::move(other.stdout_pipe)),
      stderr_pipe(std::move(other.stderr_pipe)),
      m_pid(other.m_pid),
      m_reaped(other.m_reaped),
      m_status(other.m_status),
      m_failure(other.m_failure),
      m_error(std::move(other.m_error)),
      m_reason(std::move(other.m_reason)) {
  other.m_pid = -1;
}

Child::~Child() {
  stdin_pipe.reset();
  stdout_pipe.reset();
  stderr_pipe.reset();
  if (started() && !m_reaped) {
    kill_group();
  }
}

bool Child::try_reap() {
  if (!started() || m_reaped) {
    return m_reaped;
  }
  const pid_t reaped = ::waitpid(m_pid, &m_status, WNOHANG);
  if (reaped == m_pid || (reaped < 0 && errno == ECHILD)) {
    m_reaped = true;
  }
  return m_reaped;
}

void Child::wait() {
  if (!started() || m_reaped) {
    return;
  }
  while (::waitpid(m_pid, &m_status, 0) < 0 && errno == EINTR) {
  }
  m_reaped = true;
}

void Child::kill_group() {
  if (!started() || m_reaped) {
    return;
  }
  ::kill(-m_pid, SIGKILL);
  wait();
}

namespace {

// Moves bytes until both output pipes are closed, the deadline passes (the group is killed) or
// stdout passes max_output (likewise).
void pump(Child& child, const std::string& input, std::chrono::steady_clock::time_point deadline,
          std::size_t max_output, ProcessResult& result) {
  std::size_t written = 0;
  if (input.empty()) {
    child.stdin_pipe.reset();
  }
  char buffer[65536];
  while (child.stdout_pipe.is_open() || child.stderr_pipe.is_open()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      child.kill_group();
      return;
    }
    pollfd fds[3];
    UniqueFd* owners[3];
    nfds_t count = 0;
    for (UniqueFd* pipe : {&child.stdout_pipe, &child.stderr_pipe}) {
      if (pipe->is_open()) {
        owners[count] = pipe;
        fds[count++] = pollfd{pipe->get(), POLLIN, 0};
      }
    }
    if (child.stdin_pipe.is_open()) {
      owners[count] = &child.stdin_pipe;
      fds[count++] = pollfd{child.stdin_pipe.get(), POLLOUT, 0};
    }
    const int ready = ::poll(fds, count, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      return;
    }
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      if (owners[i] == &child.stdin_pipe) {
        const ssize_t n = write_without_sigpipe(fds[i].fd, input.data() + written, input.size() - written);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
        }
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          child.stdin_pipe.reset();  // also when the child closed its stdin early (EPIPE)
        }
        continue;
      }
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        const bool is_out = owners[i] == &child.stdout_pipe;
        std::string& sink = is_out ? result.out : result.err;
        const std::size_t bytes = static_cast<std::size_t>(n);
        if (max_output == 0 || sink.size() + bytes <= max_output) {
          sink.append(buffer, bytes);
        } else if (is_out) {
          result.too_much_output = true;
          child.kill_group();
          return;
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        owners[i]->reset();
      }
    }
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          const std::filesystem::path& cwd, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env, std::size_t max_output) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Child child = Child::spawn(SpawnRequest{argv, cwd, env});
  ProcessResult result;
  if (!child.started()) {
    if (child.failure() == Child::Failure::pipe) {
      throw Error(child.error());
    }
    // As a forked child that could not go on would have said it, and exited 127.
    result.exit_code = 127;
    result.started = child.failure() != Child::Failure::exec;
    result.err = child.error() + "\n";
    return result;
  }
  pump(child, input, deadline, max_output, result);
  child.stdin_pipe.reset();
  child.stdout_pipe.reset();
  child.stderr_pipe.reset();
  child.wait();
  if (WIFEXITED(child.status())) {
    result.exit_code = WEXITSTATUS(child.status());
  }
  return result;
}

}  // namespace promptops::util
