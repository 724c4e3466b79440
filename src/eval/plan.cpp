// SPDX-License-Identifier: MIT
// Planning: loads the targets, gives every (target, prompt) a row and an eval key, reuses known
// results (cache, notes) and makes a job of the rest.
#include "plan.hpp"

#include <algorithm>
#include <initializer_list>

#include <promptops/eval/cache.hpp>
#include <promptops/util/error.hpp>

#include "services.hpp"

namespace promptops::inline eval {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// What decides the rendered messages: the messages (or template) and the variables' defaults.
std::string prompt_content(const Prompt& prompt) {
  json messages = json::array();
  for (const Message& message : prompt.messages) {
    messages.push_back({message.role, message.content});
  }
  json vars = json::object();
  for (const VarSpec& var : prompt.vars) {
    vars[var.name] = var.default_value ? json(*var.default_value) : json(nullptr);
  }
  return json{{"messages", messages}, {"vars", vars}}.dump();
}

// A target that varies one prompt keeps only that prompt, read from `only.read_from`'s file when
// set; none when that file is not at the target (its cell is then absent, as a variant's is).
void keep_one_prompt(const EvalTarget::OnePrompt& only, Target& target) {
  const std::string& source = only.read_from.empty() ? only.prompt : only.read_from;
  const auto it = target.files.find(source);
  std::optional<PromptFile> file;
  if (it != target.files.end()) {
    file = PromptFile{only.prompt, it->second.path};
  }
  target.files.clear();
  if (file) {
    target.files.emplace(only.prompt, std::move(*file));
  }
}

}  // namespace

std::string eval_key(const Prompt& prompt, const std::string& identity, const ModelSpec& model,
                     const Suite& suite, int repeat, const CaseSelection& selection) {
  std::vector<std::string> parts{"eval-1", prompt_content(prompt), identity, model.name, model.params.dump(), suite.dataset,
                                 suite.dataset_sha, suite.asserts_json.dump(), suite.metric, std::to_string(repeat)};
  if (!suite.defaults_json.is_null()) {  // only then: older suites keep their keys
    parts.push_back(suite.defaults_json.dump());
  }
  if (!suite.judge_prompts.empty()) {
    parts.push_back(suite.judge_prompts);  // a repository's judge prompt, edited, judges again
  }
  if (selection.active()) {
    parts.push_back(selection.key_text(prompt.name));  // a subset of the cases is another evaluation
  }
  if (!suite.override_vars.empty()) {
    parts.push_back("vars " + suite.override_vars.dump());
  }
  return content_key(std::vector<std::string_view>(parts.begin(), parts.end()));
}

// Applies a target's model ("PROVIDER/NAME", or "NAME" on the prompt's provider): the prefix is a
// provider only when one of that name is defined, since model names may contain '/'.
void override_model(ModelSpec& model, const std::string& spec, const Config& providers, const Config& own) {
  const std::size_t slash = spec.find('/');
  if (slash != std::string::npos) {
    const std::string provider = spec.substr(0, slash);
    if (providers.providers.count(provider) != 0 || own.providers.count(provider) != 0) {
      model.provider = provider;
      model.name = spec.substr(slash + 1);
      return;
    }
  }
  model.name = spec;
}

// The whole evaluation `key` from the cache: nullopt when it is not there, is unreadable (an entry
// from another version of the tool), or came from notes that `policy` does not trust.
std::optional<EvalResult> cached_result(const EvalServices& services, const std::string& key, NotesPolicy policy) {
  const std::optional<json> cached = services.cache->get("eval", key);
  if (!cached) {
    return std::nullopt;
  }
  EvalResult result;
  try {
    result = EvalResult::from_json(*cached);
  } catch (const Error&) {
    return std::nullopt;
  }
  result.from_notes = cached->is_object() && cached->value("source", json()) == "notes";
  if (result.from_notes && policy != NotesPolicy::trust) {
    return std::nullopt;
  }
  result.reused = true;
  if (!services.results_dir.empty()) {
    const fs::path results_file = services.results_dir / (key + ".jsonl");
    std::error_code ec;
    if (fs::exists(results_file, ec)) {
      result.results_file = results_file.string();
    }
  }
  return result;
}

Planner::Planner(const git::Repository& repo, const std::vector<EvalTarget>& targets, const EvalOptions& options,
                 EvalServices& services)
    : m_repo(repo), m_eval_targets(targets), m_options(options), m_services(services) {}

void Planner::load_targets() {
  for (const EvalTarget& target : m_eval_targets) {
    Target t;
    t.snapshot = target.commit  ? commit_snapshot(m_repo, *target.commit)
                 : target.index ? index_snapshot(m_repo)
                                : worktree_snapshot(m_repo);
    ParsedConfig parsed = load_config(*t.snapshot);
    throw_first_error(parsed.diagnostics);
    t.config = std::move(parsed.config);
    for (PromptFile& file : find_prompts(*t.snapshot, t.config)) {
      std::string name = file.name;
      t.files.emplace(std::move(name), std::move(file));
    }
    if (target.only) {
      keep_one_prompt(*target.only, t);
    }
    m_targets.push_back(std::move(t));
  }
}

std::vector<std::string> Planner::names() const {
  std::vector<std::string> all;
  for (const Target& t : m_targets) {
    for (const auto& [name, file] : t.files) {
      all.push_back(name);
    }
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (m_options.names.empty()) {
    return all;
  }
  for (const std::string& name : m_options.names) {
    if (!std::binary_search(all.begin(), all.end(), name)) {
      const std::string close = did_you_mean(name, all);
      throw NotFoundError(
          "no prompt named '" + name + "' at the evaluated commits",
          close.empty() ? "run 'git promptops list' to see the prompts" : "did you mean '" + close + "'?");
    }
  }
  std::vector<std::string> named = m_options.names;
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  return named;
}

Suite& Planner::suite(std::size_t target, const Prompt& prompt) {
  const auto id = std::make_pair(target, prompt.name);
  if (const auto it = m_suites.find(id); it != m_suites.end()) {
    return *it->second;
  }
  std::unique_ptr<Suite> suite = load_suite(*m_targets[target].snapshot, prompt);
  suite->from = target;
  suite->override_vars = m_options.vars;
  Suite& out = *suite;
  m_suites.emplace(id, std::move(suite));
  return out;
}

std::vector<Job*> Planner::plan(EvalReport& report) {
  std::vector<std::vector<EvalRow>> rows(m_targets.size());
  for (const std::string& name : names()) {
    plan_prompt(name, rows, report);
  }
  for (std::vector<EvalRow>& target_rows : rows) {
    for (EvalRow& row : target_rows) {
      report.rows.push_back(std::move(row));
    }
  }
  return m_order;
}

// Every version of prompt `name`, judged by the newest version's suite (or each its own).
void Planner::plan_prompt(const std::string& name, std::vector<std::vector<EvalRow>>& rows, EvalReport& report) {
  // The newest target that has the prompt holds the yardstick.
  std::optional<std::size_t> newest;
  for (std::size_t i = m_targets.size(); i-- > 0;) {
    if (m_targets[i].files.count(name) != 0) {
      newest = i;
      break;
    }
  }
  if (!newest) {
    return;
  }
  const Prompt newest_prompt = load_prompt(*m_targets[*newest].snapshot, m_targets[*newest].files.at(name));
  if (!newest_prompt.eval.present && m_options.suite_at == SuiteAt::newest) {
    if (!m_options.names.empty()) {
      throw ConfigError(newest_prompt.path + ": prompt '" + name + "' has no [eval] section",
                        "add [eval] with dataset = \"evals/" + name + ".jsonl\" to " + newest_prompt.path);
    }
    report.skipped.push_back(name);
    return;
  }
  for (std::size_t i = 0; i < m_targets.size(); ++i) {
    plan_version(name, i, *newest, newest_prompt, rows, report);
  }
}

// Prompt `name` at target `i`: its row and key, then a reused result or a job.
void Planner::plan_version(const std::string& name, std::size_t i, std::size_t newest, const Prompt& newest_prompt,
                           std::vector<std::vector<EvalRow>>& rows, EvalReport& report) {
  const auto file = m_targets[i].files.find(name);
  if (file == m_targets[i].files.end() || m_eval_targets[i].suite_only) {
    return;
  }
  Prompt prompt = i == newest ? newest_prompt : load_prompt(*m_targets[i].snapshot, file->second);
  if (const auto& only = m_eval_targets[i].only; only && !only->messages.empty()) {
    prompt.messages = only->messages;
    prompt.has_template_key = false;
  }
  const std::size_t suite_from = m_options.suite_at == SuiteAt::newest ? newest : i;
  const Prompt& suite_prompt = suite_from == i ? prompt : newest_prompt;
  if (!suite_prompt.eval.present) {
    return;  // --suite-at each, and this version has no [eval]
  }
  Suite& suite = this->suite(suite_from, suite_prompt);
  ModelSpec model = model_of(prompt, i);
  const ProviderSpec& provider = provider_of(prompt, model, i);
  std::string key = eval_key(prompt, identity_of(provider), model, suite, m_options.repeat, m_options.cases);
  EvalRow row;
  row.target = i;
  row.prompt = name;
  row.path = prompt.path;
  row.key = key;
  row.suite_from = suite_from;
  row.duplicate = !m_seen_keys.insert(key).second;
  const bool duplicate = row.duplicate;
  rows[i].push_back(std::move(row));
  if (duplicate || reuse_known(key, name, i, report)) {
    return;
  }
  if (m_options.offline) {
    report.missing.push_back(key);
    return;
  }
  parse_cases(suite);
  if (!m_options.provider_options.exec_trusted) {
    require_no_exec(suite, suite_prompt);
  }
  std::vector<std::size_t> cases;
  if (m_options.cases.active()) {
    cases = select_cases(
        m_options.cases, name, suite.cases.size(), [&suite](std::size_t index) { return suite.cases.at(index).id; },
        [&suite](std::size_t index) { return suite.cases.at(index).description; });
    if (cases.empty()) {
      throw UsageError("no case of " + suite.dataset + " is selected by " + m_options.cases.key_text(),
                       "check the filter against the case ids and descriptions");
    }
  }
  add_job(std::move(key), std::move(prompt), std::move(model), provider, suite, std::move(cases));
}

ModelSpec Planner::model_of(const Prompt& prompt, std::size_t i) const {
  ModelSpec model = prompt.effective_model(m_targets[i].config);
  if (!m_eval_targets[i].model.empty()) {
    override_model(model, m_eval_targets[i].model, providers_config(), m_targets[i].config);
  }
  if (!m_eval_targets[i].params.empty()) {
    model.params.update(m_eval_targets[i].params);
  }
  if (model.provider.empty() || model.name.empty()) {
    throw ConfigError(
        prompt.path + ": prompt '" + prompt.name + "' names no model" + (model.provider.empty() ? " provider" : ""),
        "set [model] provider and name in the prompt, or [defaults.model] in .promptops.toml");
  }
  return model;
}

const ProviderSpec& Planner::provider_of(const Prompt& prompt, const ModelSpec& model, std::size_t i) const {
  for (const Config* config : std::initializer_list<const Config*>{&providers_config(), &m_targets[i].config}) {
    if (const auto it = config->providers.find(model.provider); it != config->providers.end()) {
      return it->second;
    }
  }
  throw ConfigError(prompt.path + ": prompt '" + prompt.name + "' uses provider '" + model.provider +
                        "', which .promptops.toml does not define",
                    "add [providers." + model.provider + "] with kind and base_url to .promptops.toml");
}

// Once per provider: an exec identity reads and hashes the script.
const std::string& Planner::identity_of(const ProviderSpec& provider) {
  auto it = m_identities.find(provider.name);
  if (it == m_identities.end()) {
    it = m_identities.emplace(provider.name, provider_identity(provider, m_options.provider_options)).first;
  }
  return it->second;
}

// A result already computed: in the cache, or (trusted) in the notes of the target's commit,
// which then fills the cache. --no-cache asks the model again.
bool Planner::reuse_known(const std::string& key, const std::string& name, std::size_t i, EvalReport& report) {
  if (std::optional<EvalResult> cached = cached_result(m_services, key, m_options.notes)) {
    cached->prompt = name;
    report.from_notes += cached->from_notes ? 1 : 0;
    report.results[key] = std::move(*cached);
    return true;
  }
  const std::optional<git::Oid>& commit = m_eval_targets[i].commit;
  if (!commit || !m_services.cache->enabled() || m_options.notes != NotesPolicy::trust) {
    return false;
  }
  for (const EvalResult& noted : notes_of(*commit).results) {
    if (noted.key != key) {
      continue;
    }
    EvalResult result = noted;
    result.prompt = name;
    json entry = result.to_json();
    entry["source"] = "notes";  // so that a later run that does not trust notes can tell
    m_services.cache->put("eval", key, entry);
    result.reused = true;
    result.from_notes = true;
    report.results[key] = std::move(result);
    ++report.from_notes;
    return true;
  }
  return false;
}

const EvalNotes& Planner::notes_of(const git::Oid& commit) {
  auto it = m_notes.find(commit);
  if (it == m_notes.end()) {
    it = m_notes.emplace(commit, eval_notes(git::read_note_lines(m_repo, commit))).first;
    if (!it->second.problems.empty() && m_services.note_problems) {
      m_services.note_problems(commit, it->second.problems);
    }
  }
  return it->second;
}

void Planner::add_job(std::string key, Prompt prompt, ModelSpec model, const ProviderSpec& provider,
                      Suite& suite, std::vector<std::size_t> cases) {
  auto job = std::make_unique<Job>();
  job->key = key;
  job->prompt = std::move(prompt);
  job->model = std::move(model);
  job->provider = &provider;
  job->identity = identity_of(provider);
  job->suite = &suite;
  job->cases = std::move(cases);
  job->total = job->case_count() * static_cast<std::size_t>(m_options.repeat);
  job->tallies.resize(job->case_count());
  m_order.push_back(job.get());
  m_jobs[std::move(key)] = std::move(job);
}

void Planner::verify_notes(EvalReport& report) {
  for (const EvalRow& row : report.rows) {
    const auto result = report.results.find(row.key);
    const std::optional<git::Oid>& commit = report.targets[row.target].commit;
    if (commit && result != report.results.end() && !result->second.from_notes && result->second.errors == 0) {
      for (NoteMismatch& mismatch : compare_with_notes(*commit, result->second, notes_of(*commit))) {
        report.note_mismatches.push_back(std::move(mismatch));
      }
    }
  }
}

}  // namespace promptops::eval
