// SPDX-License-Identifier: MIT
// The exec backend: a trusted command per request (argv, no shell), many at once under one poll().
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "backends.hpp"
#include <promptops/util/process.hpp>
#include <promptops/util/trace.hpp>

namespace promptops::inline providers {

namespace {

using util::write_without_sigpipe;

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr Millis k_pipe_poll_interval{50};

// One running command and what it has said so far.
struct Process {
  std::uint64_t id = 0;
  std::optional<util::Child> child;
  std::string input;
  std::size_t written = 0;
  std::string out;
  std::string err;
  bool too_much_output = false;
  Clock::time_point started;
  std::optional<Clock::time_point> deadline;

  bool pipes_closed() const { return !child->stdout_pipe.is_open() && !child->stderr_pipe.is_open(); }
  bool exited() const { return child->reaped(); }
};

// Starts `command` in `workdir` (see util::Child); returns why it could not start, or "".
std::string spawn(Process& process, const std::vector<std::string>& command,
                  const std::filesystem::path& workdir) {
  process.child.emplace(util::Child::spawn(util::SpawnRequest{command, workdir, {}}));
  if (process.child->started()) {
    return {};
  }
  return process.child->failure() == util::Child::Failure::pipe ? process.child->error()
                                                                : process.child->reason();
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
        const bool timed_out = !process.exited() && process.deadline && now >= *process.deadline;
        if (timed_out || process.too_much_output) {
          process.child->kill_group();
        } else if (!process.exited() && process.pipes_closed()) {
          process.child->try_reap();
        }
        if (!process.exited() || (!process.pipes_closed() && !timed_out && !process.too_much_output)) {
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

  // Sleeps until a pipe is ready (at most k_pipe_poll_interval, less when a deadline is near), then
  // moves bytes: input to the children, their output to the buffers.
  static void wait_and_serve(std::vector<std::unique_ptr<Process>>& processes,
                             std::optional<Clock::time_point> stop_deadline) {
    const Clock::time_point now = Clock::now();
    Millis wait = k_pipe_poll_interval;
    std::vector<pollfd> fds;
    std::vector<Process*> owners;
    for (const std::unique_ptr<Process>& process : processes) {
      if (process->deadline) {
        wait = std::min(wait, std::chrono::ceil<Millis>(*process->deadline - now));
      }
      if (process->pipes_closed() && !process->exited()) {
        wait = std::min(wait, Millis(1));  // between closing its pipes and becoming reapable
      }
      const util::Child& child = *process->child;
      if (child.stdin_pipe.is_open()) {
        fds.push_back(pollfd{child.stdin_pipe.get(), POLLOUT, 0});
        owners.push_back(process.get());
      }
      for (const util::UniqueFd* pipe : {&child.stdout_pipe, &child.stderr_pipe}) {
        if (pipe->is_open()) {
          fds.push_back(pollfd{pipe->get(), POLLIN, 0});
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
      util::Child& child = *process.child;
      if (fds[i].fd == child.stdin_pipe.get()) {
        const std::size_t left = process.input.size() - process.written;
        const ssize_t n = write_without_sigpipe(fds[i].fd, process.input.data() + process.written, left);
        if (n > 0) {
          process.written += static_cast<std::size_t>(n);
        }
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || process.written == process.input.size()) {
          child.stdin_pipe.reset();  // also when the child closed its stdin early (EPIPE)
        }
        continue;
      }
      const bool is_out = fds[i].fd == child.stdout_pipe.get();
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
        (is_out ? child.stdout_pipe : child.stderr_pipe).reset();
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
    const int status = process.child->status();
    if (WIFSIGNALED(status)) {
      why = " was killed by signal " + std::to_string(WTERMSIG(status));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
      why = " exited with status " + std::to_string(WEXITSTATUS(status));
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
