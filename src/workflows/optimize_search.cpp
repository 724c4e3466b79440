// SPDX-License-Identifier: MIT
// optimize's search: reflective prompt evolution. A pool of candidates scored per validation case;
// parents drawn from its Pareto front; a reflection model rewrites the text from a minibatch's
// failures; a proposal joins the pool only when it beats its parent on that minibatch. Every model
// call is counted against the budget whether the cache answers it or not, so a rerun after an
// interrupt follows the same path, paying only for what the cache lacks.
#include <promptops/workflows/optimize.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <promptops/util/error.hpp>
#include <promptops/prompt/template.hpp>
#include <promptops/eval/trials.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline workflows {

namespace {

using json = nlohmann::json;

std::string label(const ModelSpec& model) { return model.provider + "/" + model.name; }

// A case's contribution to the search: its score for mean_score, else pass or fail.
double case_value(const TrialCase& c, const std::string& metric) {
  if (!c.error.empty()) {
    return 0.0;
  }
  return metric == "mean_score" ? c.score : (c.pass ? 1.0 : 0.0);
}

// The longest run of backticks in `text`, plus one (at least three): a fence it cannot close.
std::string fence_for(const std::string& text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (const char ch : text) {
    run = ch == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

std::string value_or_none(const json& value) {
  if (value.is_null()) {
    return "(none)";
  }
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// "{{a}}, {{b}}": every variable the prompt declares or uses outside a section, or "(none)".
std::string allowed_variables(const Prompt& prompt) {
  std::set<std::string> names;
  for (const Message& message : prompt.messages) {
    for (const TemplateVariable& variable : analyze_template(message.content).variables) {
      if (!variable.in_section) {
        names.insert(variable.name);
      }
    }
  }
  for (const VarSpec& var : prompt.vars) {
    names.insert(var.name);
  }
  std::string variables;
  for (const std::string& name : names) {
    variables += (variables.empty() ? "" : ", ") + std::string("{{") + name + "}}";
  }
  return variables.empty() ? "(none)" : variables;
}

// The minibatch as the reflection model sees it: per case its inputs, output, expected value and
// whether it was right (and why not).
std::string examples_text(const std::vector<DatasetCase>& cases, const TrialResult& run) {
  std::string out;
  std::size_t number = 0;
  for (const TrialCase& c : run.cases) {
    const DatasetCase& row = cases[c.index];
    out += "\n### Example " + std::to_string(++number) + "\nInputs:\n";
    if (row.vars.is_object()) {
      for (const auto& [key, value] : row.vars.items()) {
        out += "- " + key + ": " + value_or_none(value) + "\n";
      }
    }
    out += "Output: " + (c.error.empty() ? c.output : "(no answer: " + c.error + ")") + "\n";
    out += "Expected: " + value_or_none(row.expected) + "\n";
    if (c.error.empty() && c.pass) {
      out += "Feedback: correct\n";
    } else {
      out += "Feedback: wrong";
      if (!c.reasons.empty()) {
        out += ": " + util::join(c.reasons, "; ");
      }
      out += "\n";
    }
  }
  return out;
}

// The reflection model's request: the current text, how it did on the minibatch, and the rules.
std::vector<Message> reflection_messages(const Prompt& prompt, std::size_t index, const std::string& text,
                                         const std::vector<DatasetCase>& cases, const TrialResult& run,
                                         const std::string& metric) {
  const std::string what =
      prompt.messages.size() == 1 ? "prompt template" : prompt.messages[index].role + " message";
  std::string system =
      "You improve the instructions that a language model is given. You see the current " + what +
      " and how the model did with it on a few examples: the inputs, the model's output, the expected "
      "output and what went wrong. Write a better version that fixes the failures and keeps what works. "
      "It is a Mustache template: keep the {{variable}} placeholders that carry the inputs, and use no "
      "other variables than these: " +
      allowed_variables(prompt) +
      ". Answer with the complete new text in one fenced code block and nothing else in the block.";
  const std::string fence = fence_for(text);
  std::string user = "Current " + what + ":\n" + fence + "\n" + text + "\n" + fence + "\n";
  if (prompt.messages.size() > 1) {
    user += "\nThe other messages of the conversation stay as they are:\n";
    for (std::size_t i = 0; i < prompt.messages.size(); ++i) {
      if (i != index) {
        const std::string other_fence = fence_for(prompt.messages[i].content);
        user += prompt.messages[i].role + ":\n" + other_fence + "\n" + prompt.messages[i].content + "\n" +
                other_fence + "\n";
      }
    }
  }
  user += "\nExamples (judged by " + metric + "):\n" + examples_text(cases, run);
  user += "\nWrite the improved " + what + " in one fenced code block.";
  return {Message{"system", system, {}}, Message{"user", user, {}}};
}

// The options' ranges, which the CLI checks first where it parses them (naming its flags).
void check_search_options(const OptimizeOptions& options) {
  if (options.minibatch == 0) {
    throw UsageError("the minibatch must hold at least 1 case");
  }
  if (!(options.train_fraction > 0.0 && options.train_fraction < 1.0)) {
    throw UsageError("the training fraction must be between 0 and 1, such as 0.5");
  }
  if (!options.reference_model.empty() && options.target_model.empty()) {
    throw UsageError("a reference model needs a target model: its outputs label the cases for the target");
  }
}

TrialOptions trial_options_for(const OptimizeOptions& options) {
  TrialOptions trial_options;
  trial_options.repeat = options.repeat;
  trial_options.provider_options = options.provider_options;
  if (options.train_set && options.val_set) {
    trial_options.datasets = {*options.train_set, *options.val_set};
  }
  return trial_options;
}

double score_of(const std::vector<TrialCase>& cases, const std::string& metric) {
  double total = 0.0;
  for (const TrialCase& c : cases) {
    total += case_value(c, metric);
  }
  return total;
}

// A proposal on its way through an iteration.
struct Proposal {
  std::size_t id = 0;
  std::size_t parent = 0;  // the parent's candidate id
  std::size_t iteration = 0;
  std::string text;
  std::vector<std::size_t> minibatch;
  double parent_score = 0.0;
  json record;  // its --log line so far
};

// One run of the search: the trials it asks, the result it fills, and what it remembers between
// iterations. Each public member is a phase of optimize(); a phase that returns false was
// interrupted (result.interrupted is set).
class Search {
 public:
  Search(const git::Repository& repo, const git::Oid& base, const OptimizeOptions& options, EvalServices& services,
         const OptimizeCallbacks& callbacks);

  void split_cases();
  void plan_budget();
  bool label_unlabeled_cases();
  bool score_seed();
  bool affords_iteration() const;
  bool converged() const;
  bool iterate();

  OptimizeResult take_result() { return std::move(m_result); }

 private:
  std::size_t cost(const std::vector<std::size_t>& indices) const;
  TrialResult run(const Prompt& prompt, const std::vector<std::size_t>& indices, std::size_t counted);
  Prompt prompt_with(const std::string& text) const;
  void add_to_pool(Candidate candidate, const TrialResult& val);
  std::optional<TrialResult> run_parent(std::size_t parent, const std::vector<std::size_t>& minibatch);
  std::optional<std::string> propose(const std::string& parent_text, const TrialResult& parent_run);
  bool probe(Proposal& proposal);
  void reject(Proposal& proposal, const std::string& why);
  void say(const std::string& line) const;
  void log_candidate(json record) const;
  std::vector<std::string> ids_of(const std::vector<std::size_t>& indices) const;

  const OptimizeOptions& m_options;
  const OptimizeCallbacks& m_callbacks;
  const TrialOptions m_trial_options;
  Trials m_trials;
  OptimizeResult m_result;
  ModelSpec m_target;
  ModelSpec m_reflection;
  SplitMix64 m_random;
  BudgetPlan m_plan;
  std::vector<std::size_t> m_unlabeled;
  std::size_t m_batch = 0;
  std::optional<TrainingPasses> m_passes;
  // Per candidate: the training cases it has run on in this search (not counted twice).
  std::vector<std::map<std::size_t, TrialCase>> m_trained;
  std::size_t m_perfect_in_a_row = 0;
  std::set<std::string> m_texts;
  std::map<std::string, int> m_asked;  // reflection questions asked so far, for their sample index
};

Search::Search(const git::Repository& repo, const git::Oid& base, const OptimizeOptions& options,
               EvalServices& services, const OptimizeCallbacks& callbacks)
    : m_options(options),
      m_callbacks(callbacks),
      m_trial_options(trial_options_for(options)),
      m_trials(repo, base, options.name, m_trial_options, services),
      m_random(options.seed) {
  m_result.base = base;
  m_result.prompt = m_trials.prompt();
  m_result.message = optimized_message(m_result.prompt);
  m_result.metric = m_trials.metric();
  m_result.dataset = m_trials.dataset();
  m_result.budget = options.budget;
  m_target = m_trials.resolve_model(options.target_model);
  m_reflection = m_trials.resolve_model(options.reflection_model);
  m_reflection.params = json::object();  // the prompt's (a low max_tokens, a stop) would cut proposals short
  m_result.model = label(m_target);
  m_result.prompt_provider = m_trials.resolve_model("").provider;
  if (m_result.prompt.messages.empty()) {
    throw ConfigError(m_result.prompt.path + ": prompt '" + options.name + "' has no message to optimize");
  }
  const std::optional<git::TreeEntry> entry = repo.entry_at(base, m_result.prompt.path);
  if (!entry || !entry->is_blob()) {
    throw NotFoundError(m_result.prompt.path + " is not a file at " + base.short_hex());
  }
  m_result.file_text = repo.read_blob(entry->id);
}

// Train and validation cases: the given datasets, else whole groups by the seeded fraction.
void Search::split_cases() {
  const std::vector<DatasetCase>& cases = m_trials.cases();
  if (!m_trial_options.datasets.empty()) {
    const std::size_t split = m_trials.dataset_ends().front();
    for (std::size_t i = 0; i < cases.size(); ++i) {
      (i < split ? m_result.train : m_result.val).push_back(i);
    }
  } else {
    std::vector<std::string> groups;
    for (const DatasetCase& c : cases) {
      groups.push_back(c.group);
    }
    std::tie(m_result.train, m_result.val) = split_by_group(groups, m_options.train_fraction, m_random);
    if (m_result.train.empty() || m_result.val.empty()) {
      throw EmptySplitError(m_options.train_fraction, cases.size(), m_trials.dataset(), m_result.train.empty());
    }
  }
  m_result.val_ids = ids_of(m_result.val);
  m_batch = std::min(m_options.minibatch, m_result.train.size());
  m_passes.emplace(m_result.train);
}

// What calls cost, and whether the budget pays for the least search.
void Search::plan_budget() {
  const std::vector<DatasetCase>& cases = m_trials.cases();
  if (!m_options.reference_model.empty()) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (cases[i].expected.is_null()) {
        m_unlabeled.push_back(i);
      }
    }
  }
  std::vector<std::size_t> case_calls;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    case_calls.push_back(cost({i}));
  }
  m_plan = promptops::plan_budget(case_calls, m_result.train, m_result.val, m_unlabeled, m_batch,
                                  m_trials.own_dataset_calls(), m_trial_options.datasets.empty());
  m_result.reserved = m_plan.reserved;
  if (m_options.budget < m_plan.minimum()) {
    throw BudgetTooSmallError(m_options.budget, m_plan);
  }
}

// Reference outputs label the unlabeled cases.
bool Search::label_unlabeled_cases() {
  if (m_unlabeled.empty()) {
    return true;
  }
  const ModelSpec reference = m_trials.resolve_model(m_options.reference_model);
  TrialResult labels = m_trials.run(m_result.prompt, reference, m_unlabeled);
  m_result.calls += m_plan.reference;
  m_result.real_calls += labels.real_calls;
  if (labels.interrupted) {
    m_result.interrupted = true;
    return false;
  }
  for (const TrialCase& c : labels.cases) {
    if (!c.error.empty()) {
      throw ProviderError("reference model " + label(reference) + " gave no answer for case '" +
                              m_trials.cases()[c.index].id + "': " + c.error,
                          "answers received so far are cached; rerun to resume");
    }
    m_trials.set_expected(c.index, std::string(util::trim(c.output)));
  }
  say("labelled " + std::to_string(m_unlabeled.size()) + " cases with " + label(reference) + "'s answers");
  return true;
}

// The baseline: the current version, candidate 0, on the validation cases.
bool Search::score_seed() {
  Candidate seed;
  seed.text = m_result.prompt.messages[m_result.message].content;
  const TrialResult val = run(m_result.prompt, m_result.val, m_plan.validation);
  if (m_result.interrupted) {
    return false;
  }
  m_texts.insert(seed.text);
  add_to_pool(std::move(seed), val);
  const Candidate& c = m_result.pool.back();
  say("candidate 0 (current version): validation " + metric_with_interval(m_result.metric, c.value, c.interval));
  log_candidate({{"id", 0},
                 {"parent", nullptr},
                 {"iteration", 0},
                 {"status", "seed"},
                 {"train", ids_of(m_result.train)},
                 {"val", m_result.val_ids},
                 {"validation", c.value},
                 {"interval", interval_json(c.interval)},
                 {"val_scores", c.val_scores},
                 {"text", c.text}});
  return true;
}

bool Search::affords_iteration() const {
  return m_result.calls + m_plan.iteration + m_result.reserved <= m_options.budget;
}

// Every parent drawn passed its whole minibatch more often than a pass over the training set has
// minibatches: nothing is left to reflect on.
bool Search::converged() const { return m_perfect_in_a_row > m_result.train.size() / m_batch + 1; }

// One iteration: draw a parent and a minibatch, reflect on the parent's failures, vet the proposal,
// probe it on the minibatch, and judge it on validation when it beat its parent there.
bool Search::iterate() {
  const std::size_t parent = draw_parent(m_result.pool, m_random);
  Proposal proposal;
  proposal.minibatch = m_passes->next_minibatch(m_batch, m_random);
  const Candidate parent_candidate = m_result.pool[parent];  // a copy: the pool grows below
  const std::optional<TrialResult> parent_run = run_parent(parent, proposal.minibatch);
  if (!parent_run) {
    return false;
  }
  proposal.parent = parent_candidate.id;
  proposal.parent_score = score_of(parent_run->cases, m_result.metric);
  if (proposal.parent_score >= static_cast<double>(proposal.minibatch.size())) {
    ++m_perfect_in_a_row;
    say("candidate " + std::to_string(parent_candidate.id) +
        " passes every case of its minibatch; nothing to reflect on");
    return true;
  }
  m_perfect_in_a_row = 0;
  proposal.iteration = ++m_result.iterations;
  const std::optional<std::string> text = propose(parent_candidate.text, *parent_run);
  if (!text) {
    return false;
  }
  proposal.id = m_result.proposed;
  proposal.text = *text;
  proposal.record = {{"id", proposal.id},
                     {"parent", proposal.parent},
                     {"iteration", proposal.iteration},
                     {"parent_minibatch", proposal.parent_score},
                     {"text", proposal.text}};
  proposal.record["minibatch"] = ids_of(proposal.minibatch);
  const std::string why = proposal_problem(m_result, m_texts, proposal.text);
  if (!why.empty()) {
    reject(proposal, why);
    return true;
  }
  m_texts.insert(proposal.text);
  return probe(proposal);
}

// The parent runs (and pays for) only the cases it has no answer for; the others are taken from
// its record. The result holds the minibatch's cases in its order.
std::optional<TrialResult> Search::run_parent(std::size_t parent, const std::vector<std::size_t>& minibatch) {
  std::vector<std::size_t> unseen;
  for (const std::size_t i : minibatch) {
    const auto known = m_trained[parent].find(i);
    if (known == m_trained[parent].end() || !known->second.error.empty()) {
      unseen.push_back(i);
    }
  }
  TrialResult parent_run;
  if (!unseen.empty()) {
    parent_run = run(prompt_with(m_result.pool[parent].text), unseen, cost(unseen));
    if (m_result.interrupted) {
      return std::nullopt;
    }
    for (const TrialCase& c : parent_run.cases) {
      m_trained[parent][c.index] = c;
    }
  }
  parent_run.cases.clear();
  for (const std::size_t i : minibatch) {
    parent_run.cases.push_back(m_trained[parent].at(i));
  }
  return parent_run;
}

// Reflection: the reflection model rewrites the parent's text from its minibatch; nullopt when
// interrupted.
std::optional<std::string> Search::propose(const std::string& parent_text, const TrialResult& parent_run) {
  std::vector<Message> question = reflection_messages(m_result.prompt, m_result.message, parent_text,
                                                      m_trials.cases(), parent_run, m_result.metric);
  std::string asked_before;  // the same question again (same parent, same minibatch) is another sample
  for (const Message& message : question) {
    asked_before += message.role + '\0' + message.content + '\0';
  }
  const AskResult answer = m_trials.ask(m_reflection, std::move(question), m_asked[asked_before]++);
  ++m_result.calls;
  if (!answer.response) {
    m_result.interrupted = true;
    return std::nullopt;
  }
  m_result.real_calls += answer.cached ? 0 : 1;
  ++m_result.proposed;
  return extract_proposal(answer.response->text);
}

void Search::reject(Proposal& proposal, const std::string& why) {
  ++m_result.rejected;
  proposal.record["status"] = "rejected";
  proposal.record["reason"] = why;
  say("iteration " + std::to_string(proposal.iteration) + ": proposal " + std::to_string(proposal.id) +
      " from candidate " + std::to_string(proposal.parent) + " rejected: " + why);
  log_candidate(proposal.record);
}

// The proposal on the minibatch; when it beats its parent there, on validation, and into the pool.
bool Search::probe(Proposal& proposal) {
  const Prompt prompt = prompt_with(proposal.text);
  const TrialResult minibatch_run = run(prompt, proposal.minibatch, cost(proposal.minibatch));
  if (m_result.interrupted) {
    return false;
  }
  const double score = score_of(minibatch_run.cases, m_result.metric);
  proposal.record["minibatch_score"] = score;
  const std::string of_batch = "/" + std::to_string(proposal.minibatch.size());
  const std::string step = "iteration " + std::to_string(proposal.iteration) + ": proposal " +
                           std::to_string(proposal.id) + " from candidate " + std::to_string(proposal.parent) +
                           ": minibatch " + util::shortest(proposal.parent_score) + of_batch + " -> " +
                           util::shortest(score) + of_batch;
  if (score <= proposal.parent_score) {
    ++m_result.not_better;
    proposal.record["status"] = "not-better";
    say(step + ", not better");
    log_candidate(proposal.record);
    return true;
  }
  const TrialResult val = run(prompt, m_result.val, m_plan.validation);
  if (m_result.interrupted) {
    return false;
  }
  Candidate candidate;
  candidate.id = proposal.id;
  candidate.parent = proposal.parent;
  candidate.text = proposal.text;
  add_to_pool(std::move(candidate), val);
  for (const TrialCase& c : minibatch_run.cases) {
    m_trained.back()[c.index] = c;
  }
  const Candidate& added = m_result.pool.back();
  if (added.value > m_result.pool[m_result.best].value) {
    m_result.best = m_result.pool.size() - 1;
  }
  proposal.record["status"] = "accepted";
  proposal.record["validation"] = added.value;
  proposal.record["interval"] = interval_json(added.interval);
  proposal.record["val_scores"] = added.val_scores;
  say(step + ", validation " + metric_with_interval(m_result.metric, added.value, added.interval) + " (best " +
      util::fixed(m_result.pool[m_result.best].value, 3) + ")");
  log_candidate(proposal.record);
  return true;
}

std::size_t Search::cost(const std::vector<std::size_t>& indices) const {
  std::size_t total = 0;
  for (const std::size_t i : indices) {
    total += m_trials.calls_per_sample(i) * static_cast<std::size_t>(m_trials.repeat());
  }
  return total;
}

TrialResult Search::run(const Prompt& prompt, const std::vector<std::size_t>& indices, std::size_t counted) {
  TrialResult trial = m_trials.run(prompt, m_target, indices);
  m_result.calls += counted;
  m_result.real_calls += trial.real_calls;
  if (trial.interrupted) {
    m_result.interrupted = true;
  }
  return trial;
}

Prompt Search::prompt_with(const std::string& text) const {
  Prompt prompt = m_result.prompt;
  prompt.messages[m_result.message].content = text;
  return prompt;
}

void Search::add_to_pool(Candidate candidate, const TrialResult& val) {
  for (const TrialCase& c : val.cases) {
    candidate.val_scores.push_back(case_value(c, m_result.metric));
  }
  candidate.value = val.result.value;
  candidate.interval = val.result.interval;
  m_result.pool.push_back(std::move(candidate));
  m_trained.emplace_back();
}

void Search::say(const std::string& line) const {
  if (m_callbacks.progress) {
    m_callbacks.progress("optimize: [" + std::to_string(m_result.calls) + "/" + std::to_string(m_options.budget) +
                         " calls] " + line);
  }
}

void Search::log_candidate(json record) const {
  if (m_callbacks.log) {
    record["calls"] = m_result.calls;
    m_callbacks.log(record);
  }
}

std::vector<std::string> Search::ids_of(const std::vector<std::size_t>& indices) const {
  std::vector<std::string> ids;
  for (const std::size_t i : indices) {
    ids.push_back(m_trials.cases()[i].id);
  }
  return ids;
}

}  // namespace

OptimizeResult optimize(const git::Repository& repo, const git::Oid& base, const OptimizeOptions& options,
                        EvalServices& services, const OptimizeCallbacks& callbacks) {
  check_search_options(options);
  Search search(repo, base, options, services, callbacks);  // the prompt at base and its suite
  search.split_cases();
  search.plan_budget();
  if (!search.label_unlabeled_cases() || !search.score_seed()) {
    return search.take_result();
  }
  while (search.affords_iteration() && !search.converged()) {
    if (!search.iterate()) {
      break;
    }
  }
  return search.take_result();
}

}  // namespace promptops::workflows
