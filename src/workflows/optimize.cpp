// SPDX-License-Identifier: MIT
// optimize: reflective prompt evolution. A pool of candidates scored per validation case; parents
// drawn from its Pareto front; a reflection model rewrites the text from a minibatch's failures;
// a proposal joins the pool only when it beats its parent on that minibatch. Every model call is
// counted against the budget whether the cache answers it or not, so a rerun after an interrupt
// follows the same path, paying only for what the cache lacks.
#include <promptops/optimize.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include <promptops/error.hpp>
#include <promptops/prompt_edit.hpp>
#include <promptops/template.hpp>
#include <promptops/trials.hpp>

#include "util/strings.hpp"

namespace promptops {

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

std::string value_text(const json& value) {
  if (value.is_null()) {
    return "(none)";
  }
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The reflection model's request: the current text, how it did on the minibatch, and the rules.
std::vector<Message> reflection_messages(const Prompt& prompt, std::size_t index, const std::string& text,
                                         const std::vector<DatasetCase>& cases, const TrialResult& run,
                                         const std::string& metric) {
  std::set<std::string> names;
  std::vector<std::string> required;
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
  const std::string what =
      prompt.messages.size() == 1 ? "prompt template" : prompt.messages[index].role + " message";
  std::string system =
      "You improve the instructions that a language model is given. You see the current " + what +
      " and how the model did with it on a few examples: the inputs, the model's output, the expected "
      "output and what went wrong. Write a better version that fixes the failures and keeps what works. "
      "It is a Mustache template: keep the {{variable}} placeholders that carry the inputs, and use no "
      "other variables than these: " +
      (variables.empty() ? "(none)" : variables) +
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
  user += "\nExamples (judged by " + metric + "):\n";
  std::size_t number = 0;
  for (const TrialCase& c : run.cases) {
    const DatasetCase& row = cases[c.index];
    user += "\n### Example " + std::to_string(++number) + "\nInputs:\n";
    if (row.vars.is_object()) {
      for (const auto& [key, value] : row.vars.items()) {
        user += "- " + key + ": " + value_text(value) + "\n";
      }
    }
    user += "Output: " + (c.error.empty() ? c.output : "(no answer: " + c.error + ")") + "\n";
    user += "Expected: " + value_text(row.expected) + "\n";
    if (c.error.empty() && c.pass) {
      user += "Feedback: correct\n";
    } else {
      user += "Feedback: wrong";
      if (!c.reasons.empty()) {
        user += ": " + util::join(c.reasons, "; ");
      }
      user += "\n";
    }
  }
  user += "\nWrite the improved " + what + " in one fenced code block.";
  return {Message{"system", system, {}}, Message{"user", user, {}}};
}

json interval_json(const std::optional<Interval>& interval) {
  return interval ? json::array({interval->low, interval->high}) : json(nullptr);
}

std::string metric_with_interval(const std::string& metric, double value,
                                 const std::optional<Interval>& interval) {
  std::string out = metric + " " + util::fixed(value, 3);
  if (interval) {
    out += " [" + util::fixed(interval->low, 3) + ", " + util::fixed(interval->high, 3) + "]";
  }
  return out;
}

}  // namespace

std::size_t optimized_message(const Prompt& prompt) {
  if (prompt.has_template_key) {
    return 0;
  }
  for (const std::string role : {"system", "user"}) {
    for (std::size_t i = 0; i < prompt.messages.size(); ++i) {
      if (prompt.messages[i].role == role) {
        return i;
      }
    }
  }
  return 0;
}

std::string extract_proposal(const std::string& answer) {
  std::size_t pos = 0;
  while (pos < answer.size()) {
    const std::size_t end = answer.find('\n', pos);
    const std::string_view line(answer.data() + pos, (end == std::string::npos ? answer.size() : end) - pos);
    const std::string_view trimmed = util::trim(line);
    const char mark = trimmed.empty() ? '\0' : trimmed.front();
    if ((mark == '`' || mark == '~') && end != std::string::npos) {
      std::size_t width = 0;
      while (width < trimmed.size() && trimmed[width] == mark) {
        ++width;
      }
      if (width >= 3) {
        // The block runs to a line of at least as many of the same marks, or to the end.
        std::string body;
        std::size_t at = end + 1;
        while (at <= answer.size()) {
          const std::size_t line_end = answer.find('\n', at);
          const std::string_view inner(answer.data() + at,
                                       (line_end == std::string::npos ? answer.size() : line_end) - at);
          const std::string_view inner_trimmed = util::trim(inner);
          if (inner_trimmed.size() >= width &&
              inner_trimmed.find_first_not_of(mark) == std::string_view::npos) {
            break;
          }
          body += std::string(inner);
          if (line_end == std::string::npos) {
            break;
          }
          body += "\n";
          at = line_end + 1;
        }
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
          body.pop_back();
        }
        return body;
      }
    }
    if (end == std::string::npos) {
      break;
    }
    pos = end + 1;
  }
  return std::string(util::trim(answer));
}

std::string check_proposal(const Prompt& prompt, std::size_t index, const std::string& text) {
  if (util::trim(text).empty()) {
    return "the proposal is empty";
  }
  const TemplateInfo info = analyze_template(text);
  if (!info.error.empty()) {
    return "template error at line " + std::to_string(info.error_line) + ": " + info.error;
  }
  std::set<std::string> before;
  std::set<std::string> after;
  for (std::size_t i = 0; i < prompt.messages.size(); ++i) {
    for (const TemplateVariable& variable : analyze_template(prompt.messages[i].content).variables) {
      if (!variable.in_section || prompt.find_var(variable.name) != nullptr) {
        before.insert(variable.name);
      }
    }
    const std::string& content = i == index ? text : prompt.messages[i].content;
    for (const TemplateVariable& variable : analyze_template(content).variables) {
      if (!variable.in_section || prompt.find_var(variable.name) != nullptr) {
        after.insert(variable.name);
      }
    }
  }
  for (const std::string& name : after) {
    if (before.count(name) == 0 && prompt.find_var(name) == nullptr) {
      return "it uses variable '" + name + "', which the prompt does not declare";
    }
  }
  for (const std::string& name : before) {
    const VarSpec* var = prompt.find_var(name);
    const bool required = var == nullptr || (var->required && !var->default_value);
    if (required && after.count(name) == 0) {
      return "it drops required variable '" + name + "'";
    }
  }
  return {};
}

OptimizeResult optimize(const git::Repository& repo, const git::Oid& base, const OptimizeOptions& options,
                        EvalServices& services, const OptimizeCallbacks& callbacks) {
  if (options.minibatch == 0) {
    throw UsageError("--minibatch must be at least 1");
  }
  if (!(options.train_fraction > 0.0 && options.train_fraction < 1.0)) {
    throw UsageError("--train must be a fraction between 0 and 1, such as 0.5");
  }
  if (!options.reference_model.empty() && options.target_model.empty()) {
    throw UsageError(
        "--reference-model needs --target-model: the reference's outputs label the cases for the target");
  }
  TrialOptions trial_options;
  trial_options.repeat = options.repeat;
  trial_options.provider_options = options.provider_options;
  if (options.train_set && options.val_set) {
    trial_options.datasets = {*options.train_set, *options.val_set};
  }
  Trials trials(repo, base, options.name, trial_options, services);
  const std::vector<DatasetCase>& cases = trials.cases();
  const std::string& metric = trials.metric();

  OptimizeResult result;
  result.base = base;
  result.prompt = trials.prompt();
  result.message = optimized_message(result.prompt);
  result.metric = metric;
  result.dataset = trials.dataset();
  result.budget = options.budget;
  const ModelSpec target = trials.resolve_model(options.target_model);
  ModelSpec reflection = trials.resolve_model(options.reflection_model);
  reflection.params = json::object();  // the prompt's (a low max_tokens, a stop) would cut proposals short
  result.model = label(target);
  result.prompt_provider = trials.resolve_model("").provider;
  if (result.prompt.messages.empty()) {
    throw ConfigError(result.prompt.path + ": prompt '" + options.name + "' has no message to optimize");
  }
  SplitMix64 random(options.seed);
  const std::optional<git::TreeEntry> entry = repo.entry_at(base, result.prompt.path);
  if (!entry || !entry->is_blob()) {
    throw NotFoundError(result.prompt.path + " is not a file at " + base.short_hex());
  }
  const std::string file_text = repo.read_blob(entry->id);

  // Train and validation cases.
  if (!trial_options.datasets.empty()) {
    const std::size_t split = trials.dataset_ends().front();
    for (std::size_t i = 0; i < cases.size(); ++i) {
      (i < split ? result.train : result.val).push_back(i);
    }
  } else {
    std::vector<std::string> groups;
    for (const DatasetCase& c : cases) {
      groups.push_back(c.group);
    }
    std::tie(result.train, result.val) = split_by_group(groups, options.train_fraction, random);
    if (result.train.empty() || result.val.empty()) {
      throw UsageError("--train " + util::shortest(options.train_fraction) + " of " +
                           std::to_string(cases.size()) + " cases in " + trials.dataset() + " leaves no " +
                           (result.train.empty() ? "training" : "validation") + " case",
                       "add cases, or give --train-set FILE --val-set FILE");
    }
  }
  for (const std::size_t i : result.val) {
    result.val_ids.push_back(cases[i].id);
  }

  // What calls cost.
  const auto cost = [&](const std::vector<std::size_t>& indices) {
    std::size_t total = 0;
    for (const std::size_t i : indices) {
      total += trials.calls_per_sample(i) * static_cast<std::size_t>(trials.repeat());
    }
    return total;
  };
  std::vector<std::size_t> unlabeled;
  if (!options.reference_model.empty()) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (cases[i].expected.is_null()) {
        unlabeled.push_back(i);
      }
    }
  }
  const std::size_t val_cost = cost(result.val);
  const std::size_t batch = std::min(options.minibatch, result.train.size());
  std::size_t batch_cost = 0;  // the dearest minibatch
  {
    std::vector<std::size_t> costs;
    for (const std::size_t i : result.train) {
      costs.push_back(cost({i}));
    }
    std::sort(costs.rbegin(), costs.rend());
    batch_cost =
        std::accumulate(costs.begin(), costs.begin() + static_cast<std::ptrdiff_t>(batch), std::size_t{0});
  }
  const std::size_t iteration_cost = 1 + 2 * batch_cost + val_cost;
  // The winner's evaluation on the prompt's own dataset at the new commit: its validation answers
  // are cached when validation is part of that dataset.
  result.reserved = trials.own_dataset_calls() - (trial_options.datasets.empty() ? val_cost : 0);
  const std::size_t reference_cost = cost(unlabeled);  // the reference runs the cases as the target does
  const std::size_t minimum = reference_cost + val_cost + iteration_cost + result.reserved;
  if (options.budget < minimum) {
    throw UsageError("--budget " + std::to_string(options.budget) + " is too small: " +
                         (reference_cost > 0 ? std::to_string(reference_cost) + " reference calls, " : "") +
                         std::to_string(val_cost) + " calls score the current version on " +
                         std::to_string(result.val.size()) + " validation cases, one iteration takes up to " +
                         std::to_string(iteration_cost) +
                         " and the winner's evaluation on the whole dataset " +
                         std::to_string(result.reserved),
                     "use --budget " + std::to_string(minimum) + " or more (a few times that finds more)");
  }
  const auto say = [&](const std::string& line) {
    if (callbacks.progress) {
      callbacks.progress("optimize: [" + std::to_string(result.calls) + "/" + std::to_string(options.budget) +
                         " calls] " + line);
    }
  };
  const auto run = [&](const Prompt& prompt, const std::vector<std::size_t>& indices, std::size_t counted) {
    TrialResult trial = trials.run(prompt, target, indices);
    result.calls += counted;
    result.real_calls += trial.real_calls;
    if (trial.interrupted) {
      result.interrupted = true;
    }
    return trial;
  };

  // Reference outputs label the unlabeled cases.
  if (!unlabeled.empty()) {
    const ModelSpec reference = trials.resolve_model(options.reference_model);
    TrialResult labels = trials.run(result.prompt, reference, unlabeled);
    result.calls += reference_cost;
    result.real_calls += labels.real_calls;
    if (labels.interrupted) {
      result.interrupted = true;
      return result;
    }
    for (const TrialCase& c : labels.cases) {
      if (!c.error.empty()) {
        throw ProviderError("reference model " + label(reference) + " gave no answer for case '" +
                                cases[c.index].id + "': " + c.error,
                            "answers received so far are cached; rerun to resume");
      }
      trials.set_expected(c.index, std::string(util::trim(c.output)));
    }
    say("labelled " + std::to_string(unlabeled.size()) + " cases with " + label(reference) + "'s answers");
  }

  // Per candidate: the training cases it has run on in this search (not counted twice).
  std::vector<std::map<std::size_t, TrialCase>> trained;
  const auto log_candidate = [&](json record) {
    if (callbacks.log) {
      record["calls"] = result.calls;
      callbacks.log(record);
    }
  };
  const auto ids_of = [&](const std::vector<std::size_t>& indices) {
    std::vector<std::string> ids;
    for (const std::size_t i : indices) {
      ids.push_back(cases[i].id);
    }
    return ids;
  };
  const auto add_to_pool = [&](Candidate candidate, const TrialResult& val) {
    for (const TrialCase& c : val.cases) {
      candidate.val_scores.push_back(case_value(c, metric));
    }
    candidate.value = val.result.value;
    candidate.interval = val.result.interval;
    result.pool.push_back(std::move(candidate));
    trained.emplace_back();
  };
  const auto prompt_with = [&](const std::string& text) {
    Prompt prompt = result.prompt;
    prompt.messages[result.message].content = text;
    return prompt;
  };

  // The seed.
  {
    Candidate seed;
    seed.text = result.prompt.messages[result.message].content;
    const TrialResult val = run(result.prompt, result.val, val_cost);
    if (result.interrupted) {
      return result;
    }
    add_to_pool(std::move(seed), val);
    const Candidate& c = result.pool.back();
    say("candidate 0 (current version): validation " + metric_with_interval(metric, c.value, c.interval));
    log_candidate({{"id", 0},
                   {"parent", nullptr},
                   {"iteration", 0},
                   {"status", "seed"},
                   {"train", ids_of(result.train)},
                   {"val", result.val_ids},
                   {"validation", c.value},
                   {"interval", interval_json(c.interval)},
                   {"val_scores", c.val_scores},
                   {"text", c.text}});
  }

  std::vector<std::size_t> train_order = result.train;
  std::size_t next_case = train_order.size();  // reshuffled at the start of each pass
  std::size_t perfect_in_a_row = 0;
  std::set<std::string> texts{result.pool.front().text};
  std::map<std::string, int> asked;  // reflection questions asked so far, for their sample index
  for (;;) {
    if (result.calls + iteration_cost + result.reserved > options.budget) {
      break;
    }
    if (perfect_in_a_row > result.train.size() / batch + 1) {
      break;
    }
    // The parent: from the Pareto front, more wins, more chance.
    std::vector<std::vector<double>> scores;
    for (const Candidate& c : result.pool) {
      scores.push_back(c.val_scores);
    }
    const auto front = pareto_front(scores);
    std::size_t total_wins = 0;
    for (const auto& [index, wins] : front) {
      total_wins += wins;
    }
    std::size_t draw = random.below(total_wins);
    std::size_t parent = front.front().first;
    for (const auto& [index, wins] : front) {
      if (draw < wins) {
        parent = index;
        break;
      }
      draw -= wins;
    }
    // The minibatch: the next cases of a shuffled pass over the training set.
    std::vector<std::size_t> minibatch;
    while (minibatch.size() < batch) {
      if (next_case >= train_order.size()) {
        random.shuffle(train_order);
        next_case = 0;
      }
      const std::size_t candidate_case = train_order[next_case++];
      if (std::find(minibatch.begin(), minibatch.end(), candidate_case) == minibatch.end()) {
        minibatch.push_back(candidate_case);
      }
    }
    // The parent runs (and pays for) only the cases it has no answer for; the others are taken from
    // its record.
    std::vector<std::size_t> unseen;
    for (const std::size_t i : minibatch) {
      const auto known = trained[parent].find(i);
      if (known == trained[parent].end() || !known->second.error.empty()) {
        unseen.push_back(i);
      }
    }
    const Candidate parent_candidate = result.pool[parent];  // a copy: the pool grows below
    const Prompt parent_prompt = prompt_with(parent_candidate.text);
    TrialResult parent_run;
    if (!unseen.empty()) {
      parent_run = run(parent_prompt, unseen, cost(unseen));
      if (result.interrupted) {
        break;
      }
      for (const TrialCase& c : parent_run.cases) {
        trained[parent][c.index] = c;
      }
    }
    parent_run.cases.clear();
    double parent_score = 0.0;
    for (const std::size_t i : minibatch) {
      parent_run.cases.push_back(trained[parent].at(i));
      parent_score += case_value(parent_run.cases.back(), metric);
    }
    const std::string of_batch = "/" + std::to_string(minibatch.size());
    const std::string mb_label = "minibatch " + util::shortest(parent_score) + of_batch;
    if (parent_score >= static_cast<double>(minibatch.size())) {
      ++perfect_in_a_row;
      say("candidate " + std::to_string(parent_candidate.id) +
          " passes every case of its minibatch; nothing to reflect on");
      continue;
    }
    perfect_in_a_row = 0;
    ++result.iterations;
    const std::size_t iteration = result.iterations;
    // Reflection.
    std::vector<Message> question =
        reflection_messages(result.prompt, result.message, parent_candidate.text, cases, parent_run, metric);
    std::string asked_before;  // the same question again (same parent, same minibatch) is another sample
    for (const Message& message : question) {
      asked_before += message.role + '\0' + message.content + '\0';
    }
    const AskResult answer = trials.ask(reflection, std::move(question), asked[asked_before]++);
    ++result.calls;
    if (!answer.response) {
      result.interrupted = true;
      break;
    }
    result.real_calls += answer.cached ? 0 : 1;
    ++result.proposed;
    const std::string text = extract_proposal(answer.response->text);
    const std::size_t proposal_id = result.proposed;
    json record = {{"id", proposal_id},
                   {"parent", parent_candidate.id},
                   {"iteration", iteration},
                   {"parent_minibatch", parent_score},
                   {"text", text}};
    record["minibatch"] = ids_of(minibatch);
    std::string why = texts.count(text) != 0 ? "the same text as an earlier candidate"
                                             : check_proposal(result.prompt, result.message, text);
    if (why.empty()) {
      try {  // exactly what would be committed must parse as cleanly as the current file
        (void)replace_message_content(file_text, result.prompt, result.message, text);
      } catch (const Error& e) {
        why = e.what();
      }
    }
    if (!why.empty()) {
      ++result.rejected;
      record["status"] = "rejected";
      record["reason"] = why;
      say("iteration " + std::to_string(iteration) + ": proposal " + std::to_string(proposal_id) +
          " from candidate " + std::to_string(parent_candidate.id) + " rejected: " + why);
      log_candidate(record);
      continue;
    }
    texts.insert(text);
    const Prompt proposal = prompt_with(text);
    TrialResult proposal_run = run(proposal, minibatch, cost(minibatch));
    if (result.interrupted) {
      break;
    }
    double proposal_score = 0.0;
    for (const TrialCase& c : proposal_run.cases) {
      proposal_score += case_value(c, metric);
    }
    record["minibatch_score"] = proposal_score;
    if (proposal_score <= parent_score) {
      ++result.not_better;
      record["status"] = "not-better";
      say("iteration " + std::to_string(iteration) + ": proposal " + std::to_string(proposal_id) +
          " from candidate " + std::to_string(parent_candidate.id) + ": " + mb_label + " -> " +
          util::shortest(proposal_score) + of_batch + ", not better");
      log_candidate(record);
      continue;
    }
    const TrialResult val = run(proposal, result.val, val_cost);
    if (result.interrupted) {
      break;
    }
    Candidate candidate;
    candidate.id = proposal_id;
    candidate.parent = parent_candidate.id;
    candidate.text = text;
    add_to_pool(std::move(candidate), val);
    std::map<std::size_t, TrialCase>& seen = trained.back();
    for (const TrialCase& c : proposal_run.cases) {
      seen[c.index] = c;
    }
    const Candidate& added = result.pool.back();
    if (added.value > result.pool[result.best].value) {
      result.best = result.pool.size() - 1;
    }
    record["status"] = "accepted";
    record["validation"] = added.value;
    record["interval"] = interval_json(added.interval);
    record["val_scores"] = added.val_scores;
    say("iteration " + std::to_string(iteration) + ": proposal " + std::to_string(proposal_id) +
        " from candidate " + std::to_string(parent_candidate.id) + ": " + mb_label + " -> " +
        util::shortest(proposal_score) + of_batch + ", validation " +
        metric_with_interval(metric, added.value, added.interval) + " (best " +
        util::fixed(result.pool[result.best].value, 3) + ")");
    log_candidate(record);
  }
  return result;
}

std::vector<std::pair<std::size_t, std::size_t>> pareto_front(
    const std::vector<std::vector<double>>& scores) {
  std::vector<std::size_t> wins(scores.size(), 0);
  const std::size_t cases = scores.empty() ? 0 : scores.front().size();
  for (std::size_t j = 0; j < cases; ++j) {
    double best = -1.0;
    for (const std::vector<double>& c : scores) {
      best = std::max(best, c[j]);
    }
    for (std::size_t i = 0; i < scores.size(); ++i) {
      if (scores[i][j] >= best) {
        ++wins[i];
      }
    }
  }
  // A candidate no better than another on every case, and worse on one, is dominated.
  const auto dominated = [&](std::size_t a) {
    for (std::size_t b = 0; b < scores.size(); ++b) {
      if (b == a || wins[b] == 0) {
        continue;
      }
      bool no_worse = true;
      bool better = false;
      for (std::size_t j = 0; j < cases; ++j) {
        no_worse = no_worse && scores[b][j] >= scores[a][j];
        better = better || scores[b][j] > scores[a][j];
      }
      if (no_worse && better) {
        return true;
      }
    }
    return false;
  };
  std::vector<std::pair<std::size_t, std::size_t>> front;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (wins[i] > 0 && !dominated(i)) {
      front.emplace_back(i, wins[i]);
    }
  }
  if (front.empty()) {
    front.emplace_back(0, 1);
  }
  return front;
}

std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split_by_group(
    const std::vector<std::string>& groups, double fraction, SplitMix64& random) {
  std::map<std::string, std::vector<std::size_t>> members;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string group = groups[i].empty() ? "\x01" + std::to_string(i) : groups[i];
    if (members.count(group) == 0) {
      order.push_back(group);
    }
    members[group].push_back(i);
  }
  random.shuffle(order);
  const auto wanted = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(groups.size())));
  std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split;
  for (const std::string& group : order) {
    std::vector<std::size_t>& side = split.first.size() < wanted ? split.first : split.second;
    side.insert(side.end(), members[group].begin(), members[group].end());
  }
  std::sort(split.first.begin(), split.first.end());
  std::sort(split.second.begin(), split.second.end());
  return split;
}

std::string optimize_branch_name(const std::string& prompt, std::int64_t now) {
  const auto seconds = static_cast<std::time_t>(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
  return "promptops/optimize/" + prompt + "-" + stamp;
}

std::string optimize_commit_message(const OptimizeResult& result) {
  const Candidate& before = result.pool.front();
  const Candidate& after = result.pool[result.best];
  std::vector<std::string> lineage;
  for (std::optional<std::size_t> id = after.id; id;) {
    lineage.insert(lineage.begin(), std::to_string(*id));
    const auto it =
        std::find_if(result.pool.begin(), result.pool.end(), [&](const Candidate& c) { return c.id == *id; });
    id = it == result.pool.end() ? std::nullopt : it->parent;
  }
  const Message& message = result.prompt.messages[result.message];
  const std::string what = result.prompt.has_template_key ? "template" : message.role + " message";
  std::string text = "optimize " + result.prompt.name + ": " + result.metric + " " +
                     util::fixed(before.value, 3) + " -> " + util::fixed(after.value, 3) +
                     " on validation\n\n";
  text += "Reflective optimization rewrote the " + what + " of " + result.prompt.path + " for " +
          result.model + ".\nJudged on " + std::to_string(result.val.size()) + " validation cases of " +
          result.dataset + " (" + std::to_string(result.train.size()) + " other cases trained):\n\n";
  text += "  before: " + metric_with_interval(result.metric, before.value, before.interval) +
          " (the version at " + result.base.short_hex() + ")\n";
  text += "  after:  " + metric_with_interval(result.metric, after.value, after.interval) + " (candidate " +
          util::join(lineage, " -> ") + ")\n\n";
  text += "The search used " + std::to_string(result.calls) + " of " + std::to_string(result.budget) +
          " model calls (" + std::to_string(result.reserved) +
          " more kept for the evaluation on the whole dataset, in this commit's notes) in " +
          std::to_string(result.iterations) + " iterations: " + std::to_string(result.proposed) +
          " candidates proposed, " + std::to_string(result.rejected) + " rejected before evaluation, " +
          std::to_string(result.not_better) + " no better on their minibatch, " +
          std::to_string(result.pool.size() - 1) + " kept.\n\n";
  text += "Promptops-Optimized-From: " + result.base.hex() + "\n";
  text += "Promptops-Metric: " + result.metric + " " + util::fixed(before.value, 3) + " -> " +
          util::fixed(after.value, 3) + "\n";
  return text;
}

WrittenBack write_back(git::Repository& repo, const OptimizeResult& result, const OptimizeOptions& options,
                       const WriteBack& how, EvalServices& services) {
  const Prompt& prompt = result.prompt;
  std::string text =
      replace_message_content(how.file_text, prompt, result.message, result.pool[result.best].text);
  if (!options.target_model.empty()) {
    ParsedPrompt reparsed = parse_prompt(text, prompt.path, prompt.name);
    if (!reparsed.prompt) {
      throw Error("internal: the rewritten " + prompt.path + " does not parse");
    }
    const std::size_t slash = result.model.find('/');
    const std::string provider = result.model.substr(0, slash);
    const std::string name = result.model.substr(slash + 1);
    // The provider is written only when it differs from the one the prompt already gets (from its
    // own [model] or the config's defaults).
    text = replace_model(text, *reparsed.prompt, provider == result.prompt_provider ? "" : provider, name);
  }
  WrittenBack out;
  out.message = optimize_commit_message(result);
  if (how.on_head && repo.has_local_changes(prompt.path)) {
    throw Error(prompt.path + " has local changes, which --commit would overwrite",
                "commit or stash them first, or leave out --commit to get a new branch");
  }
  out.commit = repo.create_file_commit(result.base, prompt.path, text, out.message);
  if (how.on_head) {
    repo.advance_head(out.commit, result.base, prompt.path);
  } else {
    // A second run within the same second gets "-2", and so on, rather than an error.
    const std::string stamped = optimize_branch_name(prompt.name, how.now);
    out.branch = stamped;
    for (int n = 2; repo.resolve("refs/heads/" + out.branch); ++n) {
      out.branch = stamped + "-" + std::to_string(n);
    }
    repo.create_branch(out.branch, out.commit);
  }
  EvalOptions eval;
  eval.names = {prompt.name};
  eval.repeat = options.repeat;
  eval.provider_options = options.provider_options;
  const std::string eval_hint = "run: git promptops eval " + out.commit.short_hex() + " -- " + prompt.name;
  EvalReport report;
  try {
    report =
        run_eval(repo, {EvalTarget::at_commit(out.commit, out.message.substr(0, out.message.find('\n')))},
                 eval, services);
  } catch (const InterruptedError&) {
    throw;
  } catch (const Error& e) {
    // The commit stands; say so, so that a rerun does not optimize on top of it.
    const std::string message = std::string(e.what()) + " (the commit " + out.commit.short_hex() +
                                " is made; its evaluation on the whole dataset and notes are not)";
    if (e.exit_code() == ExitCode::git_fatal) {
      throw GitError(message, eval_hint);
    }
    throw Error(message, eval_hint);
  }
  out.final_calls = report.real_calls;
  if (report.interrupted) {
    throw InterruptedError("interrupted during the evaluation of " + out.commit.short_hex() +
                               " on the whole dataset: the commit is made, its notes are not",
                           eval_hint);
  }
  record_eval_notes(repo, report);
  return out;
}

}  // namespace promptops
