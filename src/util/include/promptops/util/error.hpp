// SPDX-License-Identifier: MIT
// The exit statuses and the one exception hierarchy; main() is the only place that catches Error.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

namespace promptops {

// Exit status of every command (DESIGN.md section 7; documented in git-promptops(1)).
enum class ExitCode : int {
  ok = 0,
  negative = 1,    // ran fine but the verdict is "no": lint findings, gate failed, regression found
  error = 2,       // bad input, config, prompt or template; provider failure; I/O
  untestable = 125,  // `git bisect run` helper: this commit cannot be tested
  git_fatal = 128, // not a repository, libgit2 failure (git's die() uses 128)
  usage = 129,     // bad flags or arguments (git's usage() uses 129)
  interrupted = 130,
};

// A fix that is a command-line option: the layer that throws says which fix, with its data (a
// subclass of its own, e.g. the variables a render is missing), and the CLI words it with the
// option's name. Lower layers know no flag names (scripts/check-layers.py checks it).
struct Remedy {
  virtual ~Remedy() = default;
};

// A failure that ends the command. what() is the one-line message (lower case, no final
// period, `file:line:` first for file errors); hint() is the optional "how to fix" line, and
// remedy() an optional fix the CLI words (before hint() on the same line). Code that wraps an
// error passes both on.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string hint = {}, std::shared_ptr<const Remedy> remedy = {})
      : std::runtime_error(message), m_hint(std::move(hint)), m_remedy(std::move(remedy)) {}
  const std::string& hint() const noexcept { return m_hint; }
  const std::shared_ptr<const Remedy>& remedy() const noexcept { return m_remedy; }
  virtual ExitCode exit_code() const noexcept { return ExitCode::error; }

 private:
  std::string m_hint;
  std::shared_ptr<const Remedy> m_remedy;
};

// Bad .promptops.toml, prompt file, template, dataset or variables.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// An unknown prompt name, version, alias or revision.
class NotFoundError : public Error {
 public:
  using Error::Error;
};

// Not a repository, or a libgit2 failure.
class GitError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::git_fatal; }
};

// A model provider failed: bad credentials, retries exhausted, a command that cannot run.
// Messages never hold an API key (see redact() in provider.hpp).
class ProviderError : public Error {
 public:
  using Error::Error;
};

// Bad flags or arguments.
class UsageError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::usage; }
};

// SIGINT arrived; the work done so far is kept.
class InterruptedError : public Error {
 public:
  explicit InterruptedError(const std::string& message = "interrupted", std::string hint = {})
      : Error(message, std::move(hint)) {}
  ExitCode exit_code() const noexcept override { return ExitCode::interrupted; }
};

}  // namespace promptops
