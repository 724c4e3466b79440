// SPDX-License-Identifier: MIT
// The evaluation engine's entry point: run_eval() is the sequence of its steps (suite.cpp,
// plan.cpp, queue.cpp, answer_writer.cpp); plus EvalResult's JSON and the cost of a call.
#include <promptops/eval/eval.hpp>

#include <algorithm>
#include <atomic>
#include <map>

#include <promptops/util/error.hpp>

#include "answer_writer.hpp"
#include "plan.hpp"
#include "queue.hpp"
#include "services.hpp"
#include "suite.hpp"

namespace promptops::inline eval {

using json = nlohmann::json;

double call_cost(const Config& config, const std::string& model, std::int64_t tokens_in,
                 std::int64_t tokens_out) {
  const auto it = config.prices.find(model);
  if (it == config.prices.end()) {
    return 0.0;
  }
  return (static_cast<double>(tokens_in) * it->second.input +
          static_cast<double>(tokens_out) * it->second.output) /
         1e6;
}

std::int64_t estimated_tokens_in(const ChatRequest& request) {
  std::int64_t tokens = 0;
  for (const Message& message : request.messages) {
    tokens += static_cast<std::int64_t>((message.content.size() + 3) / 4);
  }
  return tokens;
}

std::optional<std::int64_t> max_tokens_of(const ChatRequest& request) {
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const auto it = request.params.find(name);
    if (it != request.params.end() && it->is_number_integer()) {
      return it->get<std::int64_t>();
    }
  }
  return std::nullopt;
}

json EvalResult::to_json() const {
  json out = {{"key", key},
          {"prompt", prompt},
          {"model", model},
          {"dataset", dataset},
          {"dataset_sha", dataset_sha},
          {"metric", metric},
          {"value", value},
          {"interval", interval ? json::array({interval->low, interval->high}) : json(nullptr)},
          {"metrics", metrics.to_json()},
          {"repeat", repeat},
          {"outcomes", outcomes},
          {"case_ids", case_ids},
          {"scores", scores},
          {"flaky", flaky},
          {"errors", errors},
          {"evaluated_at", evaluated_at}};
  if (!named_scores.empty()) {
    json by_name = json::object();
    for (const auto& [name, scores] : named_scores) {
      json list = json::array();
      for (const std::optional<double>& score : scores) {
        list.push_back(score ? json(*score) : json(nullptr));
      }
      by_name[name] = std::move(list);
    }
    out["named_scores"] = std::move(by_name);
  }
  return out;
}

EvalResult EvalResult::from_json(const json& in) {
  try {
    EvalResult out;
    out.key = in.at("key").get<std::string>();
    out.prompt = in.at("prompt").get<std::string>();
    out.model = in.at("model").get<std::string>();
    out.dataset = in.at("dataset").get<std::string>();
    out.dataset_sha = in.at("dataset_sha").get<std::string>();
    out.metric = in.at("metric").get<std::string>();
    out.value = in.at("value").get<double>();
    if (const json& interval = in.at("interval"); !interval.is_null()) {
      out.interval = Interval{interval.at(0).get<double>(), interval.at(1).get<double>()};
    }
    out.metrics = Metrics::from_json(in.at("metrics"));
    out.repeat = in.at("repeat").get<int>();
    out.outcomes = in.at("outcomes").get<std::string>();
    out.case_ids = in.at("case_ids").get<std::vector<std::string>>();
    out.scores = in.at("scores").get<std::vector<double>>();
    out.flaky = in.at("flaky").get<std::vector<std::string>>();
    out.errors = in.at("errors").get<std::size_t>();
    out.evaluated_at = in.at("evaluated_at").get<std::int64_t>();
    if (const auto named = in.find("named_scores"); named != in.end()) {
      for (const auto& [name, list] : named->items()) {
        std::vector<std::optional<double>>& scores = out.named_scores[name];
        for (const json& score : list) {
          scores.push_back(score.is_null() ? std::nullopt : std::optional<double>(score.get<double>()));
        }
      }
    }
    return out;
  } catch (const json::exception& e) {
    throw Error(std::string("unreadable evaluation result: ") + e.what());
  }
}

namespace {

// Where a provider sends its requests, as safe to print: the base URL without user info, query or
// fragment (which may carry a key), or an exec command's program.
std::string endpoint_of(const ProviderSpec& spec) {
  if (spec.kind == "exec") {
    return spec.command.empty() ? "exec" : spec.command.front();
  }
  std::string url = spec.base_url.substr(0, spec.base_url.find_first_of("?#"));
  const std::size_t scheme = url.find("://");
  const std::size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = url.find('@', host);
  if (at != std::string::npos && at < url.find('/', host)) {
    url.erase(host, at + 1 - host);
  }
  return url;
}

// Adds the provider's failure to the report when some of its case samples got no answer.
void add_failure(EvalReport& report, const ProviderSpec& spec, const std::vector<Job*>& jobs,
                 const std::map<std::string, std::string>& causes) {
  ProviderFailure failure;
  failure.provider = spec.name;
  failure.endpoint = endpoint_of(spec);
  for (const Job* job : jobs) {
    failure.failed += job->errors;
    failure.total += job->total;
  }
  if (failure.failed == 0) {
    return;
  }
  const auto cause = causes.find(spec.name);
  failure.cause = cause != causes.end() ? cause->second : "no answer";
  report.provider_failures.push_back(std::move(failure));
}

// Every case of every job must render before anything is sent.
void check_renderable(const std::vector<Job*>& jobs) {
  std::vector<Diagnostic> unrenderable;
  for (const Job* job : jobs) {
    const std::vector<Diagnostic> found = check_case_variables(job->prompt, job->suite->cases, job->suite->dataset);
    unrenderable.insert(unrenderable.end(), found.begin(), found.end());
  }
  throw_case_errors(unrenderable);
}

// The jobs grouped by provider name, in the order each provider first appears.
std::vector<std::vector<Job*>> by_provider(const std::vector<Job*>& jobs) {
  std::vector<std::vector<Job*>> groups;
  std::map<std::string, std::size_t> index;
  for (Job* job : jobs) {
    const auto [it, first] = index.try_emplace(job->provider->name, groups.size());
    if (first) {
      groups.emplace_back();
    }
    groups[it->second].push_back(job);
  }
  return groups;
}

// Runs the jobs, one provider after another, each through its own queue; answers are cached as
// they arrive. Every provider is made (keys read, trust checked) before the first request.
void run_jobs(const std::vector<Job*>& jobs, const Config& providers_config, const EvalOptions& options,
              EvalServices& services, std::atomic<bool>& stop, EvalReport& report) {
  RunnerServices assertion_services(services, providers_config, options.provider_options);
  const std::vector<std::vector<Job*>> groups = by_provider(jobs);
  for (const std::vector<Job*>& group : groups) {
    assertion_services.provider(*group.front()->provider);
  }
  AnswerWriter writer(*services.cache);
  RunContext run{services, stop, report, providers_config, assertion_services, writer, options.repeat, 0};
  run.max_calls = options.max_calls;
  run.max_cost = options.max_cost;
  if (options.max_cost > 0.0) {
    const CostEstimate estimate = estimate_cost(jobs, run);
    if (services.estimated) {
      services.estimated(estimate);
    }
  }
  for (const Job* job : jobs) {
    run.total += job->total;
  }
  for (const std::vector<Job*>& group : groups) {
    if (stop.load()) {
      break;
    }
    EvalQueue queue(group, run);
    queue.run();
    add_failure(report, *group.front()->provider, group, queue.causes());
    writer_close_on_fatal(writer, queue, stop);
  }
  writer.close();
}

void check_request(const EvalOptions& options, const EvalServices& services) {
  if (services.cache == nullptr) {
    throw Error("run_eval needs a cache");
  }
  check_repeat(options.repeat);
}

}  // namespace

void check_repeat(int repeat) {
  if (repeat < 1 || repeat > k_max_repeat) {
    throw Error("a run takes 1 to " + std::to_string(k_max_repeat) + " samples per case, not " +
                std::to_string(repeat));
  }
}

EvalReport run_eval(const git::Repository& repo, const std::vector<EvalTarget>& targets,
                    const EvalOptions& options, EvalServices& services) {
  check_request(options, services);
  EvalReport report;
  report.targets = targets;
  if (targets.empty()) {
    return report;
  }
  Planner planner(repo, targets, options, services);
  planner.load_targets();
  const std::vector<Job*> jobs = planner.plan(report);
  check_renderable(jobs);
  std::atomic<bool> local_stop{false};
  std::atomic<bool>& stop = services.stop != nullptr ? *services.stop : local_stop;
  run_jobs(jobs, planner.providers_config(), options, services, stop, report);
  // An unfinished job's results file is closed with the planner: its .partial stays for inspection.
  report.interrupted =
      stop.load() && std::any_of(jobs.begin(), jobs.end(), [](const Job* job) { return job->done < job->total; });
  if (options.notes == NotesPolicy::verify) {
    planner.verify_notes(report);
  }
  return report;
}

}  // namespace promptops::eval
