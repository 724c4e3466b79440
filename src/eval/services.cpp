// SPDX-License-Identifier: MIT
// llm-rubric (a judge model), similar (embeddings), moderation (a moderations endpoint) and exec (a
// trusted command) for the engine.
#include "services.hpp"

#include "model_graded.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <promptops/util/error.hpp>

#include <promptops/util/process.hpp>
#include <promptops/util/sha1.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

constexpr const char* k_judge_instructions =
    "You grade the output of a language model against a rubric. Reply with one JSON object and "
    "nothing else: {\"pass\": true or false, \"score\": a number from 0 to 1, \"reason\": \"one "
    "sentence\"}.";

double threshold_of(const Assertion& assertion, double fallback) {
  const auto it = assertion.spec.find("threshold");
  return it != assertion.spec.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string first_line(std::string_view text) {
  text = util::trim(text);
  return std::string(text.substr(0, text.find('\n')));
}

// pass/score/reason from a judge or an exec scorer's JSON answer.
AssertionResult verdict_from(const json& answer, double threshold) {
  AssertionResult result;
  const auto score = answer.find("score");
  const auto pass = answer.find("pass");
  if (score != answer.end() && score->is_number()) {
    result.score = score->get<double>();
  } else if (pass != answer.end() && pass->is_boolean()) {
    result.score = pass->get<bool>() ? 1.0 : 0.0;
  }
  result.pass = pass != answer.end() && pass->is_boolean() ? pass->get<bool>() && result.score >= threshold
                                                           : result.score >= threshold;
  const auto reason = answer.find("reason");
  result.reason = reason != answer.end() && reason->is_string() ? reason->get<std::string>() : "";
  return result;
}

// The program an exec command names, when its bytes identify the provider: a regular file (never
// a device or a pipe), and unless the user trusts the repository's commands, only one inside the
// work tree, since a tracked file names it. Read in blocks, so its size costs no memory.
std::optional<std::string> program_sha(const ProviderSpec& spec, const ProviderOptions& options) {
  namespace fs = std::filesystem;
  if (spec.command.empty() || options.workdir.empty() || spec.command[0].find('/') == std::string::npos) {
    return std::nullopt;
  }
  const fs::path named(spec.command[0]);
  std::error_code ec;
  const fs::path program = fs::canonical(named.is_absolute() ? named : options.workdir / named, ec);
  if (ec || !fs::is_regular_file(program, ec)) {
    return std::nullopt;
  }
  if (!options.exec_trusted) {
    const fs::path inside = program.lexically_relative(fs::canonical(options.workdir, ec));
    if (ec || inside.empty() || *inside.begin() == "..") {
      return std::nullopt;
    }
  }
  std::ifstream in(program, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  util::Sha1 sha;
  std::array<char, 65536> block;
  while (in.read(block.data(), block.size()) || in.gcount() > 0) {
    sha.update(std::string_view(block.data(), static_cast<std::size_t>(in.gcount())));
  }
  return sha.hex_digest();
}

}  // namespace

// Where answers come from, for keys: never the key or header values. An exec command that is a
// file of the work tree is identified by its bytes too, so editing the script asks again.
std::string provider_identity(const ProviderSpec& spec, const ProviderOptions& options) {
  if (spec.kind == "exec") {
    std::string identity = "exec " + util::join(spec.command, " ");
    if (const std::optional<std::string> sha = program_sha(spec, options)) {
      identity += " sha1:" + *sha;
    }
    return identity;
  }
  std::string base = spec.base_url;
  if (spec.kind == "anthropic" && base.empty()) {
    base = "https://api.anthropic.com/v1";
  }
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  std::string identity = spec.kind + " " + base;
  if (spec.kind == "azure") {  // one resource serves many deployments and API versions
    identity += " deployment=" + spec.deployment + " api-version=" + spec.api_version;
  }
  return identity;
}

RunnerServices::RunnerServices(EvalServices& services, const Config& providers_config, const ProviderOptions& options)
    : m_services(services), m_config(providers_config), m_options(options) {}

Provider& RunnerServices::provider(const ProviderSpec& spec) {
  auto& slot = m_providers[spec.name];
  if (!slot) {
    slot = m_services.make_provider ? m_services.make_provider(spec) : make_provider(spec, m_options);
  }
  return *slot;
}

void RunnerServices::set_current(const ProviderSpec* provider, const ModelSpec& model) {
  m_current_provider = provider;
  m_current_model = &model;
}

const ProviderSpec& RunnerServices::named_provider(const Assertion& assertion) const {
  const auto it = assertion.spec.find("provider");
  if (it == assertion.spec.end() || !it->is_string()) {
    if (m_current_provider == nullptr) {
      throw ConfigError(std::string(assertion_type_name(assertion.type)) + " assertion has no provider",
                        "add provider = \"NAME\" to the assertion");
    }
    return *m_current_provider;
  }
  const std::string name = it->get<std::string>();
  const auto found = m_config.providers.find(name);
  if (found == m_config.providers.end()) {
    throw ConfigError(std::string(assertion_type_name(assertion.type)) + " assertion uses provider '" + name +
                          "', which .promptops.toml does not define",
                      "add [providers." + name + "] to .promptops.toml");
  }
  return found->second;
}

JudgeCall RunnerServices::judge_call(const Assertion& assertion, std::string_view rubric,
                                        std::string_view output) const {
  return judge_messages(assertion, k_judge_instructions,
                        "Rubric:\n" + std::string(rubric) + "\n\nOutput:\n" + std::string(output));
}

JudgeCall RunnerServices::prompt_call(const Assertion& assertion, std::string_view prompt) const {
  return judge_messages(assertion, k_model_graded_system, std::string(prompt));
}

// The judge call with these messages, keyed by them, the judge and its model: so a changed
// judge prompt asks again.
JudgeCall RunnerServices::judge_messages(const Assertion& assertion, std::string_view system,
                                         std::string user) const {
  const ProviderSpec& spec = named_provider(assertion);
  std::string model = m_current_model != nullptr ? m_current_model->name : std::string();
  if (const auto it = assertion.spec.find("model"); it != assertion.spec.end() && it->is_string()) {
    model = it->get<std::string>();
  } else if (&spec != m_current_provider) {
    throw ConfigError(std::string(assertion_type_name(assertion.type)) + " assertion names provider '" + spec.name +
                          "' but no model",
                      "add model = \"NAME\" to the assertion");
  }
  JudgeCall call;
  call.provider = &spec;
  call.request.model = model;
  call.request.params = {{"temperature", 0}};
  call.request.messages = {Message{"system", std::string(system), {}}, Message{"user", std::move(user), {}}};
  call.key = content_key({"judge-1", provider_identity(spec, m_options), model, call.request.messages[0].content,
                          call.request.messages[1].content});
  return call;
}

bool RunnerServices::judge_known(const std::string& key) {
  if (m_judged.count(key) != 0) {
    return true;
  }
  if (const auto cached = m_services.cache->get("response", key); cached && cached->contains("text")) {
    m_judged[key] = JudgeAnswer{true, cached->at("text").get<std::string>()};
    return true;
  }
  return false;
}

void RunnerServices::set_judged(const std::string& key, JudgeAnswer answer) { m_judged[key] = std::move(answer); }

void RunnerServices::forget_judged(const std::string& key) { m_judged.erase(key); }

// The answer to `call`: queued and in, cached, or asked now (a caller outside the engine's
// queue). nullopt with `failure` set when the judge gave none.
std::optional<std::string> RunnerServices::answer_of(const JudgeCall& call, std::string& failure) const {
  if (const auto known = m_judged.find(call.key); known != m_judged.end()) {
    if (!known->second.ok) {
      failure = "the judge gave no answer: " + known->second.text;
      return std::nullopt;
    }
    return known->second.text;
  }
  if (const auto cached = m_services.cache->get("response", call.key); cached && cached->contains("text")) {
    return cached->at("text").get<std::string>();
  }
  auto& self = const_cast<RunnerServices&>(*this);
  const ChatResult result = self.provider(*call.provider).complete(call.request);
  if (result.error == CallError::auth) {
    throw ProviderError(result.message);
  }
  if (!result.ok()) {
    failure = "the judge gave no answer: " + result.message;
    return std::nullopt;
  }
  m_services.cache->put("response", call.key,
                        json{{"text", result.response->text},
                             {"tokens_in", result.response->tokens_in},
                             {"tokens_out", result.response->tokens_out},
                             {"latency_ms", result.response->latency_ms}});
  return result.response->text;
}

AssertionResult RunnerServices::llm_rubric(const Assertion& assertion, std::string_view rubric,
                                           std::string_view output, const EvalContext&) const {
  std::string failure;
  const std::optional<std::string> answer = answer_of(judge_call(assertion, rubric, output), failure);
  if (!answer) {
    return AssertionResult{false, 0.0, failure};
  }
  const json verdict = json_object_in(*answer);
  if (verdict.is_discarded() || !verdict.is_object()) {
    return AssertionResult{false, 0.0, "the judge's answer is not a JSON verdict: " + first_line(*answer)};
  }
  AssertionResult result = verdict_from(verdict, threshold_of(assertion, 0.5));
  if (result.reason.empty()) {
    result.reason = result.pass ? "the judge passed it" : "the judge failed it";
  }
  return result;
}

std::optional<std::string> RunnerServices::judge(const Assertion& assertion, std::string_view prompt,
                                                 std::string& failure) const {
  return answer_of(prompt_call(assertion, prompt), failure);
}

AssertionResult RunnerServices::similar(const Assertion& assertion, std::string_view reference,
                                        std::string_view output, const EvalContext&) const {
  const ProviderSpec& spec = named_provider(assertion);
  std::string model = spec.embedding_model.empty() ? "text-embedding-3-small" : spec.embedding_model;
  if (const auto it = assertion.spec.find("model"); it != assertion.spec.end() && it->is_string()) {
    model = it->get<std::string>();
  }
  auto& self = const_cast<RunnerServices&>(*this);
  std::vector<std::vector<double>> vectors(2);
  std::vector<std::string> missing;
  std::vector<std::size_t> missing_index;
  const std::string texts[2] = {std::string(reference), std::string(output)};
  std::string keys[2];
  for (std::size_t i = 0; i < 2; ++i) {
    keys[i] = content_key({"embedding-1", provider_identity(spec, m_options), model, texts[i]});
    if (const auto cached = m_services.cache->get("embedding", keys[i]); cached && cached->is_array()) {
      vectors[i] = cached->get<std::vector<double>>();
    } else {
      missing.push_back(texts[i]);
      missing_index.push_back(i);
    }
  }
  if (!missing.empty()) {
    const std::vector<std::vector<double>> got = self.provider(spec).embed(missing, model);
    for (std::size_t j = 0; j < missing_index.size() && j < got.size(); ++j) {
      vectors[missing_index[j]] = got[j];
      m_services.cache->put("embedding", keys[missing_index[j]], json(got[j]));
    }
  }
  if (vectors[0].empty() || vectors[0].size() != vectors[1].size()) {
    return AssertionResult{false, 0.0, "the embeddings endpoint gave vectors of different sizes"};
  }
  double dot = 0.0;
  double norm_a = 0.0;
  double norm_b = 0.0;
  for (std::size_t i = 0; i < vectors[0].size(); ++i) {
    dot += vectors[0][i] * vectors[1][i];
    norm_a += vectors[0][i] * vectors[0][i];
    norm_b += vectors[1][i] * vectors[1][i];
  }
  const double cosine = norm_a == 0.0 || norm_b == 0.0 ? 0.0 : dot / std::sqrt(norm_a * norm_b);
  const double threshold = threshold_of(assertion, 0.8);
  char text[96];
  std::snprintf(text, sizeof text, "cosine similarity %.3f %s threshold %.3f", cosine,
                cosine >= threshold ? ">=" : "<", threshold);
  return AssertionResult{cosine >= threshold, std::max(0.0, cosine), text};
}

namespace {

json moderation_json(const Moderation& moderation) {
  return json{
      {"flagged", moderation.flagged}, {"categories", moderation.categories}, {"scores", moderation.scores}};
}

Moderation moderation_from(const json& cached) {
  Moderation moderation;
  moderation.flagged = cached.value("flagged", false);
  moderation.categories = cached.value("categories", std::map<std::string, bool>{});
  moderation.scores = cached.value("scores", std::map<std::string, double>{});
  return moderation;
}

// "violence 0.90" for a reason line.
std::string category_shown(const Moderation& moderation, const std::string& category) {
  const auto score = moderation.scores.find(category);
  if (score == moderation.scores.end()) {
    return category;
  }
  char text[32];
  std::snprintf(text, sizeof text, " %.2f", score->second);
  return category + text;
}

// The verdict on `moderation` for the categories `checked` (empty: all, and the endpoint's own
// flag): pass when none is flagged; score 1 - the highest category score (0/1 without scores).
AssertionResult moderation_verdict(const Moderation& moderation, const std::vector<std::string>& checked,
                                   std::string_view where) {
  std::vector<std::string> categories = checked;
  if (categories.empty()) {
    for (const auto& [name, unused] : moderation.categories) {
      categories.push_back(name);
    }
  }
  std::vector<std::string> flagged;
  double highest = 0.0;
  std::string highest_name;
  for (const std::string& category : categories) {
    if (!moderation.categories.contains(category) && !moderation.scores.contains(category)) {
      AssertionResult unknown{false, 0.0, "the moderations endpoint has no category '" + category + "'"};
      unknown.error = true;
      return unknown;
    }
    if (const auto it = moderation.categories.find(category);
        it != moderation.categories.end() && it->second) {
      flagged.push_back(category_shown(moderation, category));
    }
    if (const auto it = moderation.scores.find(category);
        it != moderation.scores.end() && it->second >= highest) {
      highest = it->second;
      highest_name = category;
    }
  }
  const bool pass = flagged.empty() && (!checked.empty() || !moderation.flagged);
  const double score = moderation.scores.empty() ? (pass ? 1.0 : 0.0) : 1.0 - highest;
  if (!pass) {
    return AssertionResult{false, score,
                           "moderation flagged the " + std::string(where) +
                               (flagged.empty() ? std::string() : ": " + util::join(flagged, ", "))};
  }
  return AssertionResult{
      true, score,
      "moderation passed the " + std::string(where) +
          (highest_name.empty() ? std::string()
                                : " (highest: " + category_shown(moderation, highest_name) + ")")};
}

}  // namespace

AssertionResult RunnerServices::moderation(const Assertion& assertion, std::string_view text,
                                           const EvalContext&) const {
  const ProviderSpec& spec = named_provider(assertion);
  std::string model;
  if (const auto it = assertion.spec.find("model"); it != assertion.spec.end() && it->is_string()) {
    model = it->get<std::string>();
  }
  const std::string key =
      content_key({"moderation-1", provider_identity(spec, m_options), model, std::string(text)});
  Moderation moderation;
  if (const auto cached = m_services.cache->get("moderation", key); cached && cached->is_object()) {
    moderation = moderation_from(*cached);
  } else {
    moderation = const_cast<RunnerServices&>(*this).provider(spec).moderate(std::string(text), model);
    m_services.cache->put("moderation", key, moderation_json(moderation));
  }
  return moderation_verdict(moderation, assertion.items, assertion.on_input ? "input" : "output");
}

AssertionResult RunnerServices::exec(const Assertion& assertion, std::string_view command, std::string_view output,
                                     const EvalContext& context) const {
  if (!m_options.exec_trusted) {
    throw ConfigError("exec assertion runs `" + std::string(command) +
                          "` but this repository is not trusted to run commands",
                      "read the command in the prompt's [eval] assert, then run: git config promptops.trustExec true");
  }
  double timeout = 60.0;
  if (const auto it = assertion.spec.find("timeout"); it != assertion.spec.end() && it->is_number()) {
    timeout = it->get<double>();
  }
  const util::ProcessResult run =
      util::run_process({"/bin/sh", "-c", std::string(command)}, std::string(output), m_options.workdir,
                        std::chrono::milliseconds(static_cast<long long>(timeout * 1000)),
                        {{"PROMPTOPS_VARS", context.vars.dump()}}, k_max_answer_bytes);
  if (run.too_much_output) {
    return AssertionResult{false, 0.0,
                           "exec scorer printed more than " + std::string(k_max_answer_text) +
                               ", the limit for one answer, and was killed"};
  }
  if (run.timed_out) {
    char text[64];
    std::snprintf(text, sizeof text, "exec scorer timed out after %gs", timeout);
    return AssertionResult{false, 0.0, text};
  }
  const json answer = json::parse(run.out, nullptr, false);
  if (!answer.is_discarded() && answer.is_object() && run.exit_code == 0) {
    AssertionResult result = verdict_from(answer, threshold_of(assertion, 0.5));
    if (result.reason.empty()) {
      result.reason = result.pass ? "exec scorer passed it" : "exec scorer failed it";
    }
    return result;
  }
  const std::string said = first_line(run.out.empty() ? run.err : run.out);
  if (run.exit_code == 0) {
    return AssertionResult{true, 1.0, said.empty() ? "exec scorer exited 0" : said};
  }
  return AssertionResult{false, 0.0,
                         "exec scorer exited " + std::to_string(run.exit_code) + (said.empty() ? "" : ": " + said)};
}

}  // namespace promptops::eval
