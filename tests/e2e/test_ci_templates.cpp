// SPDX-License-Identifier: MIT
// End-to-end: the CI templates run. templates/ci/github-actions.yml and gitlab-ci.yml are read
// with yaml-cpp and their shell steps run in order, the way GitHub Actions and GitLab CI run them
// (bash -eo pipefail; `if:` and `rules:` evaluated; `${{ }}` substituted; $GITHUB_PATH,
// $GITHUB_ENV and $GITHUB_STEP_SUMMARY honoured; `uses:` steps recorded, not run), in clones of a
// repository whose "origin" is a bare repository, against the loopback model server. The install
// step is the real one: it reuses this build (PROMPTOPS_SRC, PROMPTOPS_BUILD, as a runner with a
// checkout of its own, or a restored cache, would), so `cmake --build` has nothing to do and
// `cmake --install` puts git-promptops in a temp prefix that the later steps find on PATH.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include "e2e/gate_fixture.hpp"
#include "support/harness.hpp"
#include "support/llm_server.hpp"

using namespace promptops::test;
using namespace promptops::test::gate;

namespace {

namespace fs = std::filesystem;

const fs::path k_ci_source_dir = PROMPTOPS_SOURCE_DIR;
const std::string k_zero_sha = "0000000000000000000000000000000000000000";

std::string ci_read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void ci_write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// ---------------------------------------------------------------------------------------------
// Expressions: the subset of GitHub's `${{ }}` / `if:` language and of GitLab's `rules: if:` that
// the templates use. Anything else throws, so that a template that outgrows the runner fails here
// instead of being run wrong.

struct CiValue {
  enum class Kind { null, boolean, string };
  Kind kind = Kind::null;
  bool flag = false;
  std::string text;

  static CiValue of(std::string value) { return {Kind::string, false, std::move(value)}; }
  static CiValue of_bool(bool value) { return {Kind::boolean, value, {}}; }
  bool truthy() const { return kind == Kind::boolean ? flag : kind == Kind::string && !text.empty(); }
  std::string str() const { return kind == Kind::boolean ? (flag ? "true" : "false") : text; }
};

using CiLookup = std::function<CiValue(const std::string& name)>;

class CiExpression {
 public:
  // `ignore_case`: GitHub compares strings without regard to case; GitLab does not.
  CiExpression(std::string text, CiLookup lookup, bool job_failed, bool ignore_case)
      : m_text(std::move(text)),
        m_lookup(std::move(lookup)),
        m_failed(job_failed),
        m_ignore_case(ignore_case) {}

  CiValue evaluate() {
    m_pos = 0;
    const CiValue value = parse_or();
    skip_space();
    if (m_pos != m_text.size()) {
      fail("unexpected text");
    }
    return value;
  }
  // Whether a status function (success(), always()...) was called: else GitHub adds success().
  bool uses_status() const { return m_uses_status; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("expression '" + m_text + "': " + what + " at " + std::to_string(m_pos));
  }
  void skip_space() {
    while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos])) != 0) {
      ++m_pos;
    }
  }
  bool accept(std::string_view token) {
    skip_space();
    if (m_text.compare(m_pos, token.size(), token) == 0) {
      m_pos += token.size();
      return true;
    }
    return false;
  }
  CiValue parse_or() {
    CiValue value = parse_and();
    while (accept("||")) {
      const CiValue rhs = parse_and();
      value = value.truthy() ? value : rhs;
    }
    return value;
  }
  CiValue parse_and() {
    CiValue value = parse_unary();
    while (accept("&&")) {
      const CiValue rhs = parse_unary();
      value = value.truthy() ? rhs : value;
    }
    return value;
  }
  CiValue parse_unary() {
    skip_space();
    if (m_text.compare(m_pos, 1, "!") == 0 && m_text.compare(m_pos, 2, "!=") != 0) {
      ++m_pos;
      return CiValue::of_bool(!parse_unary().truthy());
    }
    CiValue left = parse_primary();
    if (accept("==")) {
      return CiValue::of_bool(equal(left, parse_primary()));
    }
    if (accept("!=")) {
      return CiValue::of_bool(!equal(left, parse_primary()));
    }
    return left;
  }
  bool equal(const CiValue& left, const CiValue& right) const {
    if (left.kind == CiValue::Kind::null || right.kind == CiValue::Kind::null) {
      return left.kind == right.kind;
    }
    std::string a = left.str();
    std::string b = right.str();
    if (m_ignore_case) {
      for (std::string* s : {&a, &b}) {
        std::transform(s->begin(), s->end(), s->begin(), [](unsigned char c) { return std::tolower(c); });
      }
    }
    return a == b;
  }
  CiValue parse_primary() {
    skip_space();
    if (accept("(")) {
      const CiValue value = parse_or();
      if (!accept(")")) {
        fail("expected ')'");
      }
      return value;
    }
    if (m_pos < m_text.size() && (m_text[m_pos] == '\'' || m_text[m_pos] == '"')) {
      const char quote = m_text[m_pos++];
      std::string value;
      while (true) {
        if (m_pos >= m_text.size()) {
          fail("unterminated string");
        }
        const char c = m_text[m_pos++];
        if (c == quote) {
          if (quote == '\'' && m_pos < m_text.size() && m_text[m_pos] == '\'') {
            value += '\'';
            ++m_pos;
            continue;
          }
          break;
        }
        value += c;
      }
      return CiValue::of(value);
    }
    const std::size_t start = m_pos;
    while (m_pos < m_text.size() &&
           (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) != 0 ||
            std::string_view("_.-$").find(m_text[m_pos]) != std::string_view::npos)) {
      ++m_pos;
    }
    const std::string name = m_text.substr(start, m_pos - start);
    if (name.empty()) {
      fail("expected a value");
    }
    if (accept("(")) {
      if (!accept(")")) {
        fail("function arguments are not supported");
      }
      m_uses_status = true;
      if (name == "success") {
        return CiValue::of_bool(!m_failed);
      }
      if (name == "failure") {
        return CiValue::of_bool(m_failed);
      }
      if (name == "always" || name == "!cancelled") {
        return CiValue::of_bool(true);
      }
      if (name == "cancelled") {
        return CiValue::of_bool(false);
      }
      fail("unknown function " + name);
    }
    if (name == "true" || name == "false") {
      return CiValue::of_bool(name == "true");
    }
    if (name == "null") {
      return {};
    }
    return m_lookup(name);
  }

  std::string m_text;
  CiLookup m_lookup;
  bool m_failed = false;
  bool m_ignore_case = false;
  std::size_t m_pos = 0;
  bool m_uses_status = false;
};

// `text` with each `${{ expression }}` replaced by its value.
std::string substitute_expressions(const std::string& text, const CiLookup& lookup) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = text.find("${{", pos);
    if (start == std::string::npos) {
      return out + text.substr(pos);
    }
    const std::size_t end = text.find("}}", start);
    if (end == std::string::npos) {
      throw std::runtime_error("unterminated ${{ in '" + text + "'");
    }
    out += text.substr(pos, start - pos);
    out += CiExpression(text.substr(start + 3, end - start - 3), lookup, false, true).evaluate().str();
    pos = end + 2;
  }
}

std::string strip_expression_braces(std::string text) {
  const std::size_t start = text.find_first_not_of(" \t");
  if (start != std::string::npos && text.compare(start, 3, "${{") == 0) {
    const std::size_t end = text.rfind("}}");
    text = text.substr(start + 3, end - start - 3);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// A GitHub Actions job, step by step.

struct StepRecord {
  std::string name;
  std::string status;  // "ran", "skipped" (its if: was false) or "uses" (an action: recorded)
  int exit_code = 0;
  std::string out;
  std::string err;
  std::string uses;
  std::map<std::string, std::string> with;  // the action's inputs, substituted
  double seconds = 0;
};

struct JobRecord {
  bool failed = false;
  std::vector<StepRecord> steps;
  std::string summary;  // $GITHUB_STEP_SUMMARY of every step, in order

  // "name: status" per step, with the exit status of the steps that ran.
  std::string statuses() const {
    std::string out;
    for (const StepRecord& step : steps) {
      out += step.name + ": " + step.status +
             (step.status == "ran" ? " " + std::to_string(step.exit_code) : std::string()) + "\n";
    }
    return out;
  }
  const StepRecord& step(const std::string& name) const {
    for (const StepRecord& step : steps) {
      if (step.name == name) {
        return step;
      }
    }
    throw std::runtime_error("no step '" + name + "'");
  }
  std::string log() const {
    std::string out;
    for (const StepRecord& step : steps) {
      out += "--- " + step.name + " (" + step.status + ", " + std::to_string(step.seconds) + " s)\n" +
             step.out + step.err;
    }
    return out;
  }
};

struct GithubRun {
  std::map<std::string, std::string> context;  // "github.event_name" -> "push", ...
  std::map<std::string, std::string> vars;     // repository variables
  std::map<std::string, std::string> secrets;
  std::map<std::string, std::string> runner_env;  // the runner's own environment
  std::function<void(const std::string& step_name)> before_step;
};

std::map<std::string, std::string> ci_string_map(const YAML::Node& node, const CiLookup& lookup) {
  std::map<std::string, std::string> out;
  if (node) {
    for (const auto& entry : node) {
      out[entry.first.as<std::string>()] = substitute_expressions(entry.second.as<std::string>(), lookup);
    }
  }
  return out;
}

// Reads $GITHUB_ENV: NAME=value lines and NAME<<DELIMITER blocks.
void read_github_env(const fs::path& file, std::map<std::string, std::string>& env) {
  std::istringstream lines(ci_read_file(file));
  std::string line;
  while (std::getline(lines, line)) {
    if (const std::size_t heredoc = line.find("<<"); heredoc != std::string::npos) {
      const std::string delimiter = line.substr(heredoc + 2);
      std::string value;
      std::string next;
      while (std::getline(lines, next) && next != delimiter) {
        value += (value.empty() ? "" : "\n") + next;
      }
      env[line.substr(0, heredoc)] = value;
    } else if (const std::size_t eq = line.find('='); eq != std::string::npos) {
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
}

JobRecord run_github_job(const fs::path& workflow_file, const fs::path& workspace,
                         const fs::path& runner_temp, const GithubRun& run_spec) {
  const YAML::Node workflow = YAML::LoadFile(workflow_file.string());
  REQUIRE(workflow["jobs"].size() == 1);
  const YAML::Node job = workflow["jobs"].begin()->second;
  const std::string default_shell =
      job["defaults"]["run"]["shell"] ? job["defaults"]["run"]["shell"].as<std::string>() : "sh";
  fs::create_directories(runner_temp);

  JobRecord record;
  std::vector<std::string> github_path;           // from $GITHUB_PATH, newest first
  std::map<std::string, std::string> github_env;  // from $GITHUB_ENV
  std::map<std::string, std::string> env;         // the env context while expressions are evaluated
  const CiLookup lookup = [&](const std::string& name) -> CiValue {
    const auto from = [&](const std::map<std::string, std::string>& map, const std::string& key) -> CiValue {
      const auto it = map.find(key);
      return it == map.end() ? CiValue{} : CiValue::of(it->second);
    };
    if (name.starts_with("env.")) {
      return from(env, name.substr(4));
    }
    if (name.starts_with("vars.")) {
      return from(run_spec.vars, name.substr(5));
    }
    if (name.starts_with("secrets.")) {
      return from(run_spec.secrets, name.substr(8));
    }
    if (name == "runner.temp") {
      return CiValue::of(runner_temp.string());
    }
    if (name == "github.workspace") {
      return CiValue::of(workspace.string());
    }
    if (name.starts_with("github.")) {
      return from(run_spec.context, name);
    }
    throw std::runtime_error("unknown context '" + name + "'");
  };
  env = ci_string_map(workflow["env"], lookup);
  for (const auto& [name, value] : ci_string_map(job["env"], lookup)) {
    env[name] = value;
  }
  const std::map<std::string, std::string> job_env = env;

  int index = 0;
  for (const YAML::Node& step : job["steps"]) {
    ++index;
    StepRecord done;
    done.uses = step["uses"] ? step["uses"].as<std::string>() : "";
    done.name = step["name"] ? step["name"].as<std::string>() : done.uses;
    env = job_env;
    for (const auto& [name, value] : github_env) {
      env[name] = value;
    }
    for (const auto& [name, value] : ci_string_map(step["env"], lookup)) {
      env[name] = value;
    }
    CiExpression condition(strip_expression_braces(step["if"] ? step["if"].as<std::string>() : "success()"),
                           lookup, record.failed, true);
    bool go = condition.evaluate().truthy();
    go = go && (condition.uses_status() || !record.failed);
    if (!go) {
      done.status = "skipped";
      record.steps.push_back(done);
      continue;
    }
    if (run_spec.before_step) {
      run_spec.before_step(done.name);
    }
    if (!done.uses.empty()) {
      done.status = "uses";
      done.with = ci_string_map(step["with"], lookup);
      record.steps.push_back(done);
      continue;
    }
    const std::string n = std::to_string(index);
    const fs::path script = runner_temp / ("step-" + n + ".sh");
    const fs::path path_file = runner_temp / ("path-" + n);
    const fs::path env_file = runner_temp / ("env-" + n);
    const fs::path summary_file = runner_temp / ("summary-" + n);
    for (const fs::path& file : {path_file, env_file, summary_file}) {
      ci_write_file(file, "");
    }
    ci_write_file(script, substitute_expressions(step["run"].as<std::string>(), lookup));

    std::map<std::string, std::string> process_env = run_spec.runner_env;
    std::string path = process_env.at("PATH");
    for (const std::string& dir : github_path) {
      path = dir + ":" + path;
    }
    process_env["PATH"] = path;
    process_env["CI"] = "true";
    process_env["GITHUB_ACTIONS"] = "true";
    process_env["GITHUB_WORKSPACE"] = workspace.string();
    process_env["GITHUB_EVENT_NAME"] = run_spec.context.at("github.event_name");
    process_env["GITHUB_BASE_REF"] =
        run_spec.context.count("github.base_ref") ? run_spec.context.at("github.base_ref") : "";
    process_env["RUNNER_TEMP"] = runner_temp.string();
    process_env["GITHUB_PATH"] = path_file.string();
    process_env["GITHUB_ENV"] = env_file.string();
    process_env["GITHUB_STEP_SUMMARY"] = summary_file.string();
    for (const auto& [name, value] : env) {
      process_env[name] = value;
    }
    const std::string shell = step["shell"] ? step["shell"].as<std::string>() : default_shell;
    std::vector<std::string> argv;
    if (shell == "bash") {
      argv = {"/bin/bash", "--noprofile", "--norc", "-eo", "pipefail", script.string()};
    } else if (shell == "sh") {
      argv = {"/bin/sh", "-e", script.string()};
    } else {
      throw std::runtime_error("unsupported shell '" + shell + "'");
    }
    const auto started = std::chrono::steady_clock::now();
    const RunResult result = run(workspace, argv, process_env);
    done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    done.status = "ran";
    done.exit_code = result.exit_code;
    done.out = result.out;
    done.err = result.err;
    record.failed = record.failed || result.exit_code != 0;
    std::istringstream added(ci_read_file(path_file));
    for (std::string line; std::getline(added, line);) {
      if (!line.empty()) {
        github_path.insert(github_path.begin(), line);
      }
    }
    read_github_env(env_file, github_env);
    record.summary += ci_read_file(summary_file);
    record.steps.push_back(done);
  }
  return record;
}

// ---------------------------------------------------------------------------------------------
// A GitLab CI job: `extends:` resolved, `rules:` evaluated, before_script + script in one shell.

YAML::Node merge_gitlab_nodes(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) {
    return YAML::Clone(over);
  }
  YAML::Node merged = YAML::Clone(base);
  for (const auto& entry : over) {
    const std::string key = entry.first.as<std::string>();
    merged[key] = merged[key] ? merge_gitlab_nodes(merged[key], entry.second) : YAML::Clone(entry.second);
  }
  return merged;
}

YAML::Node resolve_gitlab_job(const YAML::Node& pipeline, const std::string& name) {
  const YAML::Node job = pipeline[name];
  REQUIRE(job.IsMap());
  if (!job["extends"]) {
    return YAML::Clone(job);
  }
  std::vector<std::string> parents;
  if (job["extends"].IsSequence()) {
    for (const YAML::Node& parent : job["extends"]) {
      parents.push_back(parent.as<std::string>());
    }
  } else {
    parents.push_back(job["extends"].as<std::string>());
  }
  YAML::Node merged(YAML::NodeType::Map);
  for (const std::string& parent : parents) {
    merged = merge_gitlab_nodes(merged, resolve_gitlab_job(pipeline, parent));
  }
  merged = merge_gitlab_nodes(merged, job);
  merged.remove("extends");
  return merged;
}

void append_gitlab_lines(const YAML::Node& node, std::string& script) {
  if (!node) {
    return;
  }
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      append_gitlab_lines(item, script);
    }
    return;
  }
  script += node.as<std::string>() + "\n";
}

struct GitlabPipeline {
  std::map<std::string, std::string> predefined;  // CI_* as GitLab sets them
  std::map<std::string, std::string> project;     // Settings > CI/CD > Variables
  std::map<std::string, std::string> runner_env;
};

struct GitlabJobRun {
  bool in_pipeline = false;
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> artifacts;
};

std::map<std::string, std::string> gitlab_variables(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  if (node) {
    for (const auto& entry : node) {
      const std::string value = entry.second.as<std::string>();
      // GitLab expands $VAR in variables; the runner does not, so the templates must not need it.
      REQUIRE(value.find('$') == std::string::npos);
      out[entry.first.as<std::string>()] = value;
    }
  }
  return out;
}

// The jobs a pipeline runs: the visible jobs whose rules match, in the file's order.
std::vector<std::string> gitlab_pipeline_jobs(const YAML::Node& pipeline, const GitlabPipeline& spec) {
  static const std::vector<std::string> keywords = {"variables",     "stages",      "default",  "include",
                                                    "workflow",      "image",       "services", "cache",
                                                    "before_script", "after_script"};
  std::map<std::string, std::string> vars = spec.predefined;
  for (const auto& [name, value] : gitlab_variables(pipeline["variables"])) {
    vars[name] = value;
  }
  for (const auto& [name, value] : spec.project) {
    vars[name] = value;
  }
  const CiLookup lookup = [&](const std::string& name) -> CiValue {
    if (!name.starts_with("$")) {
      throw std::runtime_error("a GitLab rule names '" + name + "', not a $VARIABLE");
    }
    const auto it = vars.find(name.substr(1));
    return it == vars.end() ? CiValue{} : CiValue::of(it->second);
  };
  std::vector<std::string> jobs;
  for (const auto& entry : pipeline) {
    const std::string name = entry.first.as<std::string>();
    if (name.starts_with(".") || std::find(keywords.begin(), keywords.end(), name) != keywords.end()) {
      continue;
    }
    const YAML::Node job = resolve_gitlab_job(pipeline, name);
    bool runs = !job["rules"];
    for (const YAML::Node& rule : job["rules"]) {
      const bool matches =
          !rule["if"] || CiExpression(rule["if"].as<std::string>(), lookup, false, false).evaluate().truthy();
      if (matches) {
        runs = !rule["when"] || rule["when"].as<std::string>() != "never";
        break;
      }
    }
    if (runs) {
      jobs.push_back(name);
    }
  }
  return jobs;
}

GitlabJobRun run_gitlab_job(const fs::path& file, const std::string& name, const fs::path& project_dir,
                            const fs::path& temp, const GitlabPipeline& spec) {
  const YAML::Node pipeline = YAML::LoadFile(file.string());
  GitlabJobRun done;
  const std::vector<std::string> jobs = gitlab_pipeline_jobs(pipeline, spec);
  done.in_pipeline = std::find(jobs.begin(), jobs.end(), name) != jobs.end();
  if (!done.in_pipeline) {
    return done;
  }
  const YAML::Node job = resolve_gitlab_job(pipeline, name);
  std::string script = "set -eo pipefail\n";
  append_gitlab_lines(job["before_script"], script);
  append_gitlab_lines(job["script"], script);
  fs::create_directories(temp);
  const fs::path script_file = temp / (name + ".sh");
  ci_write_file(script_file, script);

  std::map<std::string, std::string> env = spec.runner_env;
  env["CI"] = "true";
  env["GITLAB_CI"] = "true";
  env["CI_PROJECT_DIR"] = project_dir.string();
  env["CI_JOB_NAME"] = name;
  for (const auto& layer : {spec.predefined, gitlab_variables(pipeline["variables"]),
                            gitlab_variables(job["variables"]), spec.project}) {
    for (const auto& [key, value] : layer) {
      env[key] = value;
    }
  }
  const RunResult result =
      run(project_dir, {"/bin/bash", "--noprofile", "--norc", script_file.string()}, env);
  done.exit_code = result.exit_code;
  done.out = result.out;
  done.err = result.err;
  if (job["artifacts"] && job["artifacts"]["paths"]) {
    for (const YAML::Node& path : job["artifacts"]["paths"]) {
      done.artifacts.push_back(path.as<std::string>());
    }
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP endpoint that records each request and answers 201 {} (the GitLab notes API).

class RecordingEndpoint {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };

  RecordingEndpoint() {
    m_listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(m_listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(m_listener, 8) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    m_port = ntohs(address.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~RecordingEndpoint() {
    m_stop = true;
    m_thread.join();
    ::close(m_listener);
  }
  RecordingEndpoint(const RecordingEndpoint&) = delete;
  RecordingEndpoint& operator=(const RecordingEndpoint&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<Request> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  void serve() {
    while (!m_stop) {
      pollfd ready{m_listener, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) {
        continue;
      }
      const int connection = ::accept(m_listener, nullptr, nullptr);
      if (connection >= 0) {
        answer(connection);
        ::close(connection);
      }
    }
  }
  static bool receive_more(int connection, std::string& data) {
    pollfd ready{connection, POLLIN, 0};
    if (::poll(&ready, 1, 5000) <= 0) {
      return false;
    }
    char buffer[4096];
    const ssize_t got = ::recv(connection, buffer, sizeof(buffer), 0);
    if (got <= 0) {
      return false;
    }
    data.append(buffer, static_cast<std::size_t>(got));
    return true;
  }
  static void send_all(int connection, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(connection, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  }
  void answer(int connection) {
    std::string data;
    std::size_t head_end = std::string::npos;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (!receive_more(connection, data)) {
        return;
      }
    }
    Request request;
    std::istringstream head(data.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    std::istringstream request_line(line);
    request_line >> request.method >> request.target;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string key = line.substr(0, colon);
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      request.headers[key] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    if (request.headers.count("expect") != 0) {
      send_all(connection, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    const std::size_t length =
        request.headers.count("content-length") != 0 ? std::stoul(request.headers["content-length"]) : 0;
    std::string body = data.substr(head_end + 4);
    while (body.size() < length && receive_more(connection, body)) {
    }
    request.body = body;
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
    }
    send_all(connection,
             "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
             "Connection: close\r\n\r\n{}");
  }

  int m_listener = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<Request> m_requests;
};

// application/x-www-form-urlencoded: the value of `name`, decoded.
std::string form_value(const std::string& body, const std::string& name) {
  const std::string prefix = name + "=";
  REQUIRE(body.starts_with(prefix));
  std::string out;
  const std::string encoded =
      body.substr(prefix.size(),
                  body.find('&') == std::string::npos ? std::string::npos : body.find('&') - prefix.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size()) {
      out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += encoded[i] == '+' ? ' ' : encoded[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The project: a bare origin, a developer's clone with a greet prompt in two versions and its
// dataset, and the loopback model server in .promptops.toml (answers right for "Hey NAME", for
// "Yo NAME" only for Ann and Bob: gate_rules()).

struct CiProject {
  LlmServer server;
  TempDir root;  // clones, homes, the install prefix
  TempRepo origin{true};
  TempRepo dev;
  std::string v1;
  std::string base;  // main's head: v2

  CiProject() {
    server.set_rules(gate_rules());
    dev.write(".promptops.toml", config_toml(server));
    dev.write("evals/greet.jsonl", greet_cases(k_names));
    dev.write("prompts/greet.toml", greet_toml("Hey {{who}}!"));
    dev.write("README.md", "# demo\n");
    v1 = dev.commit("add greet");
    dev.write("prompts/greet.toml", greet_toml("Hey {{who}}, hello!"));
    base = dev.commit("greet: say hello");
    dev.git({"remote", "add", "origin", origin.path().string()});
    dev.git({"push", "-q", "origin", "main"});
  }

  // Commits prompts/greet.toml with `text` on `branch` (created from main when new) and pushes it.
  std::string push_prompt(const std::string& branch, const std::string& text) {
    if (branch != "main") {
      dev.git({"checkout", "-q", "-B", branch, "main"});
    }
    dev.write("prompts/greet.toml", greet_toml(text));
    const std::string sha = dev.commit("greet: " + text);
    dev.git({"push", "-q", "origin", branch});
    dev.git({"checkout", "-q", "main"});
    return sha;
  }

  // A fresh clone of origin (what actions/checkout with fetch-depth 0 or GitLab's GIT_DEPTH 0
  // gives), at `revision`, detached.
  fs::path clone(const std::string& name, const std::string& revision) const {
    const fs::path path = root.path() / name;
    const RunResult cloned = run(root.path(), {"git", "clone", "-q", origin.path().string(), path.string()});
    REQUIRE(cloned.exit_code == 0);
    REQUIRE(run(path, {"git", "checkout", "-q", "--detach", revision}).exit_code == 0);
    return path;
  }

  // The runner's environment: its own HOME, a PATH without git-promptops, and this checkout and
  // build for the install step to reuse.
  std::map<std::string, std::string> runner_env(const std::string& name) const {
    const fs::path home = root.path() / ("home-" + name);
    fs::create_directories(home);
    return {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
            {"HOME", home.string()},
            {"XDG_CONFIG_HOME", (home / ".config").string()},
            {"PROMPTOPS_SRC", k_ci_source_dir.string()},
            {"PROMPTOPS_BUILD", fs::path(PROMPTOPS_BUILD_BIN).parent_path().string()},
            {"PROMPTOPS_PREFIX", (root.path() / "prefix").string()}};
  }

  std::string origin_git(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"git", "-C", origin.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run(root.path(), argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }

  // The commits that origin's refs/notes/promptops annotates, sorted.
  std::vector<std::string> noted_commits() const {
    std::vector<std::string> commits;
    std::istringstream lines(origin_git({"notes", "--ref", "promptops", "list"}));
    for (std::string note, commit; lines >> note >> commit;) {
      commits.push_back(commit);
    }
    std::sort(commits.begin(), commits.end());
    return commits;
  }
};

const fs::path k_github_workflow = k_ci_source_dir / "templates" / "ci" / "github-actions.yml";
const fs::path k_gitlab_pipeline = k_ci_source_dir / "templates" / "ci" / "gitlab-ci.yml";

GithubRun github_push_event(const CiProject& p, const std::string& name, const std::string& before) {
  GithubRun spec;
  spec.context = {{"github.event_name", "push"},
                  {"github.ref", "refs/heads/main"},
                  {"github.event.before", before},
                  {"github.run_id", "1"}};
  spec.vars = {{"PROMPTOPS_REPO", "https://git.example/git-promptops.git"}};
  spec.runner_env = p.runner_env(name);
  return spec;
}

GithubRun github_pull_request_event(const CiProject& p, const std::string& name) {
  GithubRun spec;
  spec.context = {{"github.event_name", "pull_request"},
                  {"github.base_ref", "main"},
                  {"github.head_ref", "feature"},
                  {"github.event.pull_request.number", "7"},
                  {"github.run_id", "2"}};
  spec.vars = {{"PROMPTOPS_REPO", "https://git.example/git-promptops.git"}};
  spec.runner_env = p.runner_env(name);
  return spec;
}

const std::string k_github_push_steps =
    "Install git (actions/checkout needs it for a real clone): ran 0\n"
    "actions/checkout@v4: uses\n"
    "Trust the checkout (the container's root does not own it): ran 0\n"
    "Restore the git-promptops build: uses\n"
    "Install git-promptops: ran 0\n"
    "Fetch the evaluation notes: ran 0\n"
    "Review the prompt changes: skipped\n"
    "Upload the review page: skipped\n"
    "Comment the review on the pull request: skipped\n"
    "Gate (fails when a prompt regresses): skipped\n"
    "Evaluate the new commits: ran 0\n"
    "Push the evaluation notes: ran 0\n";

}  // namespace

TEST_CASE(
    "the GitHub workflow installs git-promptops, reviews a pull request in the job summary and gates it",
    "[e2e][ci-templates]") {
  CiProject p;
  // main's scores first, as the push workflow leaves them on origin.
  const JobRecord push = run_github_job(k_github_workflow, p.clone("push", "origin/main"),
                                        p.root.path() / "tmp-push", github_push_event(p, "push", k_zero_sha));
  INFO(push.log());
  REQUIRE(push.statuses() == k_github_push_steps);
  CHECK(push.step("Fetch the evaluation notes").out == "no evaluation notes on origin yet\n");
  // The build was up to date: the step installed it and ran it from the prefix.
  CHECK(push.step("Install git-promptops")
            .out.ends_with("\ngit-promptops version " PROMPTOPS_TEST_VERSION "\n"));
  CHECK(fs::exists(p.root.path() / "prefix" / "bin" / "git-promptops"));
  CHECK(p.noted_commits() == std::vector<std::string>{p.base});
  const std::size_t after_main = p.server.requests();
  CHECK(after_main == 8);

  SECTION("a harmless change passes, with the review in the job summary and as an HTML artifact") {
    const std::string head = p.push_prompt("feature", "Hey {{who}}, welcome!");
    const fs::path workspace = p.clone("pr", "origin/feature");
    const JobRecord pr = run_github_job(k_github_workflow, workspace, p.root.path() / "tmp-pr",
                                        github_pull_request_event(p, "pr"));
    INFO(pr.log());
    CHECK(pr.statuses() ==
          "Install git (actions/checkout needs it for a real clone): ran 0\n"
          "actions/checkout@v4: uses\n"
          "Trust the checkout (the container's root does not own it): ran 0\n"
          "Restore the git-promptops build: uses\n"
          "Install git-promptops: ran 0\n"
          "Fetch the evaluation notes: ran 0\n"
          "Review the prompt changes: ran 0\n"
          "Upload the review page: uses\n"
          "Comment the review on the pull request: skipped\n"
          "Gate (fails when a prompt regresses): ran 0\n"
          "Evaluate the new commits: skipped\n"
          "Push the evaluation notes: skipped\n");
    CHECK_FALSE(pr.failed);
    CHECK(pr.step("actions/checkout@v4").with.at("fetch-depth") == "0");
    // The base's scores came from origin's notes: only the head was evaluated.
    CHECK(p.server.requests() - after_main == 8);

    CHECK(pr.summary == ci_read_file(workspace / "promptops-review.md"));
    CHECK(pr.summary.substr(0, pr.summary.find("\n|")) ==
          "## Prompt review: " + short_sha(p.base) + ".." + short_sha(head) +
              "\n"
              "\n"
              "✅ **Gate passed** · 1 prompt changed · 8 model calls, 0 cached answers\n"
              "\n"
              "### `greet` (modified) — passes\n");

    const StepRecord& upload = pr.step("Upload the review page");
    CHECK(upload.uses == "actions/upload-artifact@v4");
    REQUIRE(upload.with.at("path") == "promptops-review.html");
    CHECK(upload.with.at("if-no-files-found") == "error");
    const std::string html = ci_read_file(workspace / upload.with.at("path"));
    CHECK(html.starts_with("<!DOCTYPE html>"));

    CHECK(pr.step("Gate (fails when a prompt regresses)")
              .out.starts_with("check: " + short_sha(head) + " against " + short_sha(p.base) + "\n"));
  }

  SECTION("a regression fails the gate, after the review is in the summary") {
    const std::string head = p.push_prompt("feature", "Yo {{who}}!");
    const fs::path workspace = p.clone("pr", "origin/feature");
    GithubRun spec = github_pull_request_event(p, "pr");
    spec.vars["PROMPTOPS_PR_COMMENT"] = "true";
    const JobRecord pr = run_github_job(k_github_workflow, workspace, p.root.path() / "tmp-pr", spec);
    INFO(pr.log());
    CHECK(pr.failed);
    const StepRecord& gate = pr.step("Gate (fails when a prompt regresses)");
    CHECK(gate.exit_code == 1);
    CHECK(gate.out.find("accuracy 1.000 → 0.250") != std::string::npos);
    CHECK(pr.step("Review the prompt changes").exit_code == 0);
    CHECK(pr.summary.substr(0, pr.summary.find("\n|")) ==
          "## Prompt review: " + short_sha(p.base) + ".." + short_sha(head) +
              "\n"
              "\n"
              "❌ **Gate failed** · 1 prompt changed · 8 model calls, 0 cached answers\n"
              "\n"
              "### `greet` (modified) — FAILS\n");
    const StepRecord& comment = pr.step("Comment the review on the pull request");
    CHECK(comment.status == "uses");
    CHECK(comment.with.at("script").find("readFileSync('promptops-review.md'") != std::string::npos);
    CHECK(fs::exists(workspace / "promptops-review.md"));
    CHECK(fs::exists(workspace / "promptops-review.html"));
  }
}

TEST_CASE("the GitHub workflow pushes the notes of main, and merges them with a run that pushed first",
          "[e2e][ci-templates]") {
  CiProject p;
  const JobRecord first =
      run_github_job(k_github_workflow, p.clone("first", "origin/main"), p.root.path() / "tmp-first",
                     github_push_event(p, "first", k_zero_sha));
  INFO(first.log());
  REQUIRE(first.statuses() == k_github_push_steps);
  CHECK(p.origin_git({"ls-remote", ".", "refs/notes/promptops"}).find("\trefs/notes/promptops\n") !=
        std::string::npos);
  CHECK(p.noted_commits() == std::vector<std::string>{p.base});

  // Two pushes to main: run B (for c1) fetches the notes, then run C (for c1 and c2) pushes its
  // notes before B pushes: B's push is refused, B merges C's notes and pushes again.
  const std::string c1 = p.push_prompt("main", "Hey {{who}}, hi!");
  const std::string c2 = p.push_prompt("main", "Hey {{who}}, hi there!");
  JobRecord late;
  GithubRun b_spec = github_push_event(p, "b", p.base);
  b_spec.before_step = [&](const std::string& step) {
    if (step == "Push the evaluation notes") {
      late = run_github_job(k_github_workflow, p.clone("c", c2), p.root.path() / "tmp-c",
                            github_push_event(p, "c", p.base));
    }
  };
  const JobRecord b = run_github_job(k_github_workflow, p.clone("b", c1), p.root.path() / "tmp-b", b_spec);
  INFO(b.log());
  INFO(late.log());
  CHECK(late.statuses() == k_github_push_steps);
  CHECK(b.statuses() == k_github_push_steps);
  CHECK(b.step("Push the evaluation notes").out == "notes push 1 rejected: merging the notes on origin\n");
  std::vector<std::string> expected = {p.base, c1, c2};
  std::sort(expected.begin(), expected.end());
  CHECK(p.noted_commits() == expected);
  // The notes commit on origin is B's merge of C's notes and its own.
  const std::string parents = p.origin_git({"rev-list", "--parents", "-n", "1", "refs/notes/promptops"});
  CHECK(std::count(parents.begin(), parents.end(), ' ') == 2);
  // Both evaluated c1: the merged note holds their entries as cat_sort_uniq leaves them, sorted
  // and each line once.
  std::istringstream note(p.origin_git({"notes", "--ref", "promptops", "show", c1}));
  std::vector<std::string> lines;
  for (std::string line; std::getline(note, line);) {
    lines.push_back(line);
  }
  REQUIRE_FALSE(lines.empty());
  CHECK(std::is_sorted(lines.begin(), lines.end()));
  CHECK(std::adjacent_find(lines.begin(), lines.end()) == lines.end());
  CHECK(lines.front().find("\"key\"") != std::string::npos);
}

TEST_CASE("without PROMPTOPS_REPO the install step of either template fails with one line",
          "[e2e][ci-templates]") {
  CiProject p;
  SECTION("GitHub") {
    GithubRun spec = github_push_event(p, "norepo", k_zero_sha);
    spec.vars.clear();
    spec.runner_env.erase("PROMPTOPS_SRC");
    const JobRecord job = run_github_job(k_github_workflow, p.clone("norepo", "origin/main"),
                                         p.root.path() / "tmp-norepo", spec);
    INFO(job.log());
    CHECK(job.failed);
    const StepRecord& install = job.step("Install git-promptops");
    CHECK(install.exit_code == 1);
    CHECK(install.out ==
          "::error::PROMPTOPS_REPO is not set: set the variable to the git URL of the git-promptops sources "
          "(Settings > Secrets and variables > Actions > Variables)\n");
    CHECK(install.err.empty());
    CHECK(job.step("Evaluate the new commits").status == "skipped");
    CHECK(job.step("Push the evaluation notes").status == "skipped");
    CHECK_FALSE(fs::exists(p.root.path() / "home-norepo" / ".cache" / "git-promptops"));
  }
  SECTION("GitLab") {
    GitlabPipeline spec;
    spec.predefined = {{"CI_PIPELINE_SOURCE", "push"},
                       {"CI_COMMIT_BRANCH", "main"},
                       {"CI_DEFAULT_BRANCH", "main"},
                       {"CI_COMMIT_BEFORE_SHA", k_zero_sha}};
    spec.runner_env = p.runner_env("norepo");
    spec.runner_env.erase("PROMPTOPS_SRC");
    const fs::path project = p.clone("norepo", "origin/main");
    const GitlabJobRun job =
        run_gitlab_job(k_gitlab_pipeline, "promptops-eval", project, p.root.path() / "tmp", spec);
    REQUIRE(job.in_pipeline);
    CHECK(job.exit_code == 1);
    CHECK(job.out.empty());
    CHECK(job.err ==
          "error: PROMPTOPS_REPO is not set: set the variable to the git URL of the git-promptops sources "
          "(Settings > CI/CD > Variables)\n");
    CHECK_FALSE(fs::exists(project / ".promptops-cache"));
  }
}

TEST_CASE("the GitLab pipeline reviews a merge request, posts the review, gates it, and pushes main's notes",
          "[e2e][ci-templates]") {
  CiProject p;
  RecordingEndpoint gitlab;
  const std::string token = "glpat-test-0123456789";
  const std::string push_url = "https://oauth2:" + token + "@gitlab.example:443/group/project.git";
  const auto pipeline = [&](const std::string& name, std::map<std::string, std::string> predefined) {
    GitlabPipeline spec;
    spec.predefined = {{"CI_DEFAULT_BRANCH", "main"},
                       {"CI_SERVER_PROTOCOL", "https"},
                       {"CI_SERVER_HOST", "gitlab.example"},
                       {"CI_SERVER_PORT", "443"},
                       {"CI_PROJECT_PATH", "group/project"},
                       {"CI_PROJECT_ID", "42"},
                       {"CI_API_V4_URL", gitlab.url() + "/api/v4"}};
    for (const auto& [key, value] : predefined) {
      spec.predefined[key] = value;
    }
    spec.project = {{"PROMPTOPS_REPO", "https://git.example/git-promptops.git"},
                    {"PROMPTOPS_GITLAB_TOKEN", token}};
    spec.runner_env = p.runner_env(name);
    // The token URL leads to the bare origin (git's own URL rewriting, set for this runner only).
    spec.runner_env["GIT_CONFIG_COUNT"] = "1";
    spec.runner_env["GIT_CONFIG_KEY_0"] = "url." + p.origin.path().string() + ".insteadOf";
    spec.runner_env["GIT_CONFIG_VALUE_0"] = push_url;
    return spec;
  };
  const std::map<std::string, std::string> on_main = {
      {"CI_PIPELINE_SOURCE", "push"}, {"CI_COMMIT_BRANCH", "main"}, {"CI_COMMIT_BEFORE_SHA", k_zero_sha}};

  const YAML::Node file = YAML::LoadFile(k_gitlab_pipeline.string());
  CHECK(gitlab_pipeline_jobs(file, pipeline("rules", on_main)) == std::vector<std::string>{"promptops-eval"});
  CHECK(gitlab_pipeline_jobs(
            file, pipeline("rules", {{"CI_PIPELINE_SOURCE", "push"}, {"CI_COMMIT_BRANCH", "topic"}}))
            .empty());

  const fs::path main_dir = p.clone("main", "origin/main");
  const GitlabJobRun eval = run_gitlab_job(k_gitlab_pipeline, "promptops-eval", main_dir,
                                           p.root.path() / "tmp-main", pipeline("main", on_main));
  INFO(eval.out << eval.err);
  REQUIRE(eval.exit_code == 0);
  CHECK(eval.out.find("\ngit-promptops version " PROMPTOPS_TEST_VERSION
                      "\nno evaluation notes on origin yet\n") != std::string::npos);
  CHECK(p.noted_commits() == std::vector<std::string>{p.base});
  CHECK((eval.out + eval.err).find(token) == std::string::npos);
  const std::size_t after_main = p.server.requests();

  SECTION("a second pipeline on main pushes on top of the first") {
    const std::string c1 = p.push_prompt("main", "Hey {{who}}, hi!");
    auto second = on_main;
    second["CI_COMMIT_BEFORE_SHA"] = p.base;
    const GitlabJobRun again = run_gitlab_job(k_gitlab_pipeline, "promptops-eval", p.clone("main2", c1),
                                              p.root.path() / "tmp-main2", pipeline("main2", second));
    INFO(again.out << again.err);
    CHECK(again.exit_code == 0);
    std::vector<std::string> expected = {p.base, c1};
    std::sort(expected.begin(), expected.end());
    CHECK(p.noted_commits() == expected);
    CHECK(p.server.requests() - after_main == 8);
  }

  for (const bool regression : {false, true}) {
    DYNAMIC_SECTION((regression ? "a regression fails the gate" : "a harmless change passes")
                    << ", and the review is posted on the merge request") {
      const std::string head = p.push_prompt("feature", regression ? "Yo {{who}}!" : "Hey {{who}}, welcome!");
      const fs::path project = p.clone("mr", head);
      const std::map<std::string, std::string> mr = {{"CI_PIPELINE_SOURCE", "merge_request_event"},
                                                     {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"},
                                                     {"CI_MERGE_REQUEST_DIFF_BASE_SHA", p.base},
                                                     {"CI_MERGE_REQUEST_IID", "7"},
                                                     {"CI_COMMIT_BEFORE_SHA", k_zero_sha}};
      CHECK(gitlab_pipeline_jobs(file, pipeline("rules", mr)) ==
            std::vector<std::string>{"promptops-review"});
      const GitlabJobRun review = run_gitlab_job(k_gitlab_pipeline, "promptops-review", project,
                                                 p.root.path() / "tmp-mr", pipeline("mr", mr));
      INFO(review.out << review.err);
      CHECK(review.exit_code == (regression ? 1 : 0));
      CHECK(review.out.find("posted the review on merge request !7\n") != std::string::npos);
      CHECK((review.out + review.err).find(token) == std::string::npos);
      if (regression) {
        CHECK(review.out.find("accuracy 1.000 → 0.250") != std::string::npos);
      } else {
        CHECK(p.server.requests() - after_main == 8);
      }
      REQUIRE(review.artifacts == std::vector<std::string>{"promptops-review.html"});
      CHECK(ci_read_file(project / "promptops-review.html").starts_with("<!DOCTYPE html>"));

      const std::vector<RecordingEndpoint::Request> posted = gitlab.requests();
      REQUIRE(posted.size() == 1);
      CHECK(posted[0].method == "POST");
      CHECK(posted[0].target == "/api/v4/projects/42/merge_requests/7/notes");
      CHECK(posted[0].headers.at("private-token") == token);
      const std::string markdown = ci_read_file(project / "promptops-review.md");
      CHECK(markdown.starts_with("## Prompt review: " + short_sha(p.base) + ".." + short_sha(head) + "\n"));
      CHECK(form_value(posted[0].body, "body") == markdown);
    }
  }
}

TEST_CASE("init --ci writes the CI file alone, keeps an existing one and replaces it with --force",
          "[e2e][ci-templates][init]") {
  TempRepo repo;
  const RunResult github = run_promptops(repo.path(), {"init", "--ci", "github"});
  CHECK(github.exit_code == 0);
  CHECK(github.err.empty());
  CHECK(github.out ==
        "created  .github/workflows/promptops.yml\n"
        "\n"
        "Next: set the Actions variable PROMPTOPS_REPO to the git URL of the git-promptops sources,\n"
        "the secrets your providers' keys need, then commit the file.\n");
  CHECK(repo.read(".github/workflows/promptops.yml") == ci_read_file(k_github_workflow));
  // Nothing else: no scaffold, no git config.
  CHECK_FALSE(fs::exists(repo.path() / ".promptops.toml"));
  CHECK_FALSE(fs::exists(repo.path() / ".gitattributes"));
  CHECK(run(repo.path(), {"git", "config", "diff.promptops.textconv"}).exit_code == 1);

  const RunResult gitlab = run_promptops(repo.path(), {"init", "--ci", "gitlab"});
  CHECK(gitlab.exit_code == 0);
  CHECK(gitlab.out ==
        "created  .gitlab-ci.yml\n"
        "\n"
        "Next: set the CI/CD variables PROMPTOPS_REPO (the git URL of the git-promptops sources) and\n"
        "PROMPTOPS_GITLAB_TOKEN, and your providers' keys, then commit the file.\n");
  CHECK(repo.read(".gitlab-ci.yml") == ci_read_file(k_gitlab_pipeline));

  repo.write(".gitlab-ci.yml", "test:\n  script: [make test]\n");
  const RunResult kept = run_promptops(repo.path(), {"init", "--ci", "gitlab"});
  CHECK(kept.exit_code == 0);
  CHECK(kept.out == "kept     .gitlab-ci.yml (exists; --force overwrites)\n");
  CHECK(repo.read(".gitlab-ci.yml") == "test:\n  script: [make test]\n");

  const RunResult forced = run_promptops(repo.path(), {"init", "--ci", "gitlab", "--force"});
  CHECK(forced.exit_code == 0);
  CHECK(forced.out.starts_with("replaced .gitlab-ci.yml\n\n"));
  CHECK(repo.read(".gitlab-ci.yml") == ci_read_file(k_gitlab_pipeline));

  const RunResult unknown = run_promptops(repo.path(), {"init", "--ci", "jenkins"});
  CHECK(unknown.exit_code == 129);
  CHECK(unknown.out.empty());
  CHECK(unknown.err.find("jenkins") != std::string::npos);
}
