// SPDX-License-Identifier: MIT
// The exec backend: a trusted command per request (argv, no shell), many at once under one poll().
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "providers/backends.hpp"
#include "util/process.hpp"
#include "util/trace.hpp"

namespace promptops::providers {

namespace {

using util::close_fd;
using util::write_without_sigpipe;

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr Millis k_poll_interval{50};

// One running command.
struct Process {
  std::uint64_t id = 0;
  pid_t pid = -1;
  int to_child = -1;
  int from_out = -1;
  int from_err = -1;
  std::string input;
  std::size_t written = 0;
  std::string out;
  std::string err;
  bool too_much_output = false;
  bool exited = false;
  int status = 0;
  Clock::time_point started;
  std::optional<Clock::time_point> deadline;

  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    close_fd(to_child);
    close_fd(from_out);
    close_fd(from_err);
    if (pid > 0 && !exited) {
      kill_group();
    }
  }

  bool pipes_closed() const { return from_out < 0 && from_err < 0; }

  // Kills the command and whatever it started (its process group), and reaps it.
  void kill_group() {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    exited = true;
  }

  void try_reap() {
    const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid || (reaped < 0 && errno == ECHILD)) {
      exited = true;
    }
  }
};

// Starts `command` in `workdir` as the leader of a new process group, with pipes for stdin,
// stdout and stderr; returns why it could not start, or "".
std::string spawn(Process& process, const std::vector<std::string>& command,
                  const std::filesystem::path& workdir) {
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const std::string why = std::string("cannot create a pipe: ") + std::strerror(errno);
    for (int* pipe : {in_pipe, out_pipe, err_pipe}) {
      close_fd(pipe[0]);
      close_fd(pipe[1]);
    }
    return why;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!workdir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int signal_number : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD}) {
    sigaddset(&defaults, signal_number);
  }
  posix_spawnattr_setsigdefault(&attributes, &defaults);

  std::vector<char*> argv;
  for (const std::string& arg : command) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  const int rc = ::posix_spawnp(&process.pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close_fd(in_pipe[0]);
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  process.to_child = in_pipe[1];
  process.from_out = out_pipe[0];
  process.from_err = err_pipe[0];
  if (rc != 0) {
    process.pid = -1;
    return std::strerror(rc);
  }
  for (const int fd : {process.to_child, process.from_out, process.from_err}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return {};
}

class ExecProvider final : public Provider {
 public:
  ExecProvider(ProviderSpec spec, const ProviderOptions& options, std::string key)
      : Provider(std::move(spec)), m_workdir(options.workdir), m_key(std::move(key)) {}

  void run(CallQueue& queue, const std::atomic<bool>& stop, std::chrono::milliseconds grace) override {
    const std::size_t limit = static_cast<std::size_t>(std::max(1, spec().max_concurrency));
    std::vector<std::unique_ptr<Process>> processes;
    bool exhausted = false;
    bool stopping = false;
    Clock::time_point stop_deadline;
    for (;;) {
      Clock::time_point now = Clock::now();
      if (!stopping && stop.load()) {
        stopping = true;
        stop_deadline = now + grace;
      }
      if (stopping && now >= stop_deadline) {
        while (!processes.empty()) {
          std::unique_ptr<Process> process = std::move(processes.back());
          processes.pop_back();
          const std::uint64_t id = process->id;
          process.reset();  // kills its process group
          queue.done(id,
                     failure("`" + command_line(spec().command) + "` was cancelled", CallError::cancelled));
        }
      }
      while (!stopping && !exhausted && processes.size() < limit) {
        std::optional<std::pair<std::uint64_t, ChatRequest>> item = queue.next();
        if (!item) {
          exhausted = true;
          break;
        }
        auto process = std::make_unique<Process>();
        process->id = item->first;
        process->input = payload(item->second);
        process->started = Clock::now();
        if (spec().timeout_seconds > 0) {
          process->deadline = process->started + Millis(std::llround(spec().timeout_seconds * 1000.0));
        }
        const std::string why = spawn(*process, spec().command, m_workdir);
        if (!why.empty()) {
          std::string where = m_workdir.empty() ? "" : " in " + m_workdir.string();
          queue.done(item->first,
                     failure("could not run `" + command_line(spec().command) + "`" + where + ": " + why,
                             CallError::exec_failed));
          continue;
        }
        processes.push_back(std::move(process));
      }
      if (processes.empty() && (exhausted || stopping)) {
        return;
      }
      wait_and_serve(processes, stopping ? std::optional(stop_deadline) : std::nullopt);

      now = Clock::now();
      for (std::size_t i = 0; i < processes.size();) {
        Process& process = *processes[i];
        const bool timed_out = !process.exited && process.deadline && now >= *process.deadline;
        if (timed_out || process.too_much_output) {
          process.kill_group();
        } else if (!process.exited && process.pipes_closed()) {
          process.try_reap();
        }
        if (!process.exited || (!process.pipes_closed() && !timed_out && !process.too_much_output)) {
          ++i;
          continue;
        }
        std::unique_ptr<Process> ended = std::move(processes[i]);
        processes.erase(processes.begin() + static_cast<std::ptrdiff_t>(i));
        queue.done(ended->id, result_of(*ended, timed_out));
      }
    }
  }

 private:
  static std::string payload(const ChatRequest& request) {
    const nlohmann::json body{
        {"model", request.model},
        {"messages", messages_json(request.messages)},
        {"params", request.params.is_object() ? request.params : nlohmann::json::object()}};
    return dump_json(body) + "\n";
  }

  // Sleeps until a pipe is ready (at most k_poll_interval, less when a deadline is near), then
  // moves bytes: input to the children, their output to the buffers.
  static void wait_and_serve(std::vector<std::unique_ptr<Process>>& processes,
                             std::optional<Clock::time_point> stop_deadline) {
    const Clock::time_point now = Clock::now();
    Millis wait = k_poll_interval;
    std::vector<pollfd> fds;
    std::vector<Process*> owners;
    for (const std::unique_ptr<Process>& process : processes) {
      if (process->deadline) {
        wait = std::min(wait, std::chrono::ceil<Millis>(*process->deadline - now));
      }
      if (process->pipes_closed() && !process->exited) {
        wait = std::min(wait, Millis(1));  // between closing its pipes and becoming reapable
      }
      if (process->to_child >= 0) {
        fds.push_back(pollfd{process->to_child, POLLOUT, 0});
        owners.push_back(process.get());
      }
      for (const int fd : {process->from_out, process->from_err}) {
        if (fd >= 0) {
          fds.push_back(pollfd{fd, POLLIN, 0});
          owners.push_back(process.get());
        }
      }
    }
    if (stop_deadline) {
      wait = std::min(wait, std::chrono::ceil<Millis>(*stop_deadline - now));
    }
    const int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::max<Millis::rep>(0, wait.count())));
    if (ready <= 0) {
      return;
    }
    char buffer[65536];
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) {
        continue;
      }
      Process& process = *owners[i];
      if (fds[i].fd == process.to_child) {
        const std::size_t left = process.input.size() - process.written;
        const ssize_t n =
            write_without_sigpipe(process.to_child, process.input.data() + process.written, left);
        if (n > 0) {
          process.written += static_cast<std::size_t>(n);
        }
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || process.written == process.input.size()) {
          close_fd(process.to_child);  // also when the child closed its stdin early (EPIPE)
        }
        continue;
      }
      const bool is_out = fds[i].fd == process.from_out;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        std::string& sink = is_out ? process.out : process.err;
        const std::size_t bytes = static_cast<std::size_t>(n);
        if (sink.size() + bytes <= k_max_answer_bytes) {
          sink.append(buffer, bytes);
        } else if (is_out) {
          process.too_much_output = true;  // killed at once: the rest is never read
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(is_out ? process.from_out : process.from_err);
      }
    }
  }

  ChatResult failure(const std::string& what, CallError error) const {
    ChatResult result;
    result.error = error;
    result.message = redact("exec provider '" + spec().name + "': " + what, m_key);
    return result;
  }

  ChatResult result_of(const Process& process, bool timed_out) const {
    const std::string command = "`" + command_line(spec().command) + "`";
    const double latency_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - process.started).count();
    PO_TRACE("exec " + command + " ended after " + std::to_string(std::llround(latency_ms)) + " ms");
    if (timed_out) {
      return failure(command + " timed out after " + format_seconds(spec().timeout_seconds),
                     CallError::exec_failed);
    }
    if (process.too_much_output) {
      return failure(command + " printed more than " + std::string(k_max_answer_text) +
                         ", the limit for one answer, and was killed",
                     CallError::exec_failed);
    }
    std::string why;
    if (WIFSIGNALED(process.status)) {
      why = " was killed by signal " + std::to_string(WTERMSIG(process.status));
    } else if (WIFEXITED(process.status) && WEXITSTATUS(process.status) != 0) {
      why = " exited with status " + std::to_string(WEXITSTATUS(process.status));
    }
    if (!why.empty()) {
      const std::string said = first_line(process.err);
      return failure(command + why + (said.empty() ? "" : ": " + said), CallError::exec_failed);
    }

    ChatResponse response;
    response.latency_ms = latency_ms;
    const nlohmann::json parsed = nlohmann::json::parse(process.out, nullptr, false);
    const auto output = parsed.find("output");  // end() when stdout is not a JSON object
    if (output != parsed.end() && output->is_string()) {
      response.text = output->get<std::string>();
      for (const auto& [name, count] :
           {std::pair{"tokens_in", &response.tokens_in}, std::pair{"tokens_out", &response.tokens_out}}) {
        const auto field = parsed.find(name);
        if (field != parsed.end() && field->is_number_integer()) {
          *count = field->get<std::int64_t>();
        }
      }
    } else {
      response.text = process.out;
      if (!response.text.empty() && response.text.back() == '\n') {
        response.text.pop_back();
        if (!response.text.empty() && response.text.back() == '\r') {
          response.text.pop_back();
        }
      }
    }
    ChatResult result;
    result.response = std::move(response);
    return result;
  }

  std::filesystem::path m_workdir;
  std::string m_key;
};

}  // namespace

std::unique_ptr<Provider> make_exec_provider(ProviderSpec spec, const ProviderOptions& options,
                                             std::string key) {
  return std::make_unique<ExecProvider>(std::move(spec), options, std::move(key));
}

}  // namespace promptops::providers
