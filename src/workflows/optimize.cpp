// SPDX-License-Identifier: MIT
// optimize's parts that take plain values: the message it rewrites, the proposal taken out of an
// answer and vetted, the split, the budget plan, the Pareto front and the parent drawn from it,
// the training passes, the lineage, and the typed errors the CLI words with its flags.
#include <promptops/workflows/optimize.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include <promptops/util/error.hpp>
#include <promptops/prompt/prompt_edit.hpp>
#include <promptops/prompt/registry.hpp>
#include <promptops/prompt/template.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline workflows {

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

BudgetPlan plan_budget(const std::vector<std::size_t>& case_calls, const std::vector<std::size_t>& train,
                       const std::vector<std::size_t>& val, const std::vector<std::size_t>& unlabeled,
                       std::size_t minibatch, std::size_t own_dataset_calls, bool validation_in_own_dataset) {
  const auto cost = [&](const std::vector<std::size_t>& indices) {
    std::size_t total = 0;
    for (const std::size_t i : indices) {
      total += case_calls[i];
    }
    return total;
  };
  BudgetPlan plan;
  plan.val_cases = val.size();
  plan.validation = cost(val);
  std::vector<std::size_t> costs;
  for (const std::size_t i : train) {
    costs.push_back(case_calls[i]);
  }
  std::sort(costs.rbegin(), costs.rend());
  const std::size_t batch = std::min(minibatch, costs.size());
  const std::size_t batch_cost =  // the dearest minibatch
      std::accumulate(costs.begin(), costs.begin() + static_cast<std::ptrdiff_t>(batch), std::size_t{0});
  plan.iteration = 1 + 2 * batch_cost + plan.validation;
  // The winner's evaluation on the prompt's own dataset at the new commit: its validation answers
  // are cached when validation is part of that dataset.
  plan.reserved = own_dataset_calls - (validation_in_own_dataset ? plan.validation : 0);
  plan.reference = cost(unlabeled);  // the reference runs the cases as the target does
  return plan;
}

std::string budget_breakdown(const BudgetPlan& plan) {
  return (plan.reference > 0 ? std::to_string(plan.reference) + " reference calls, " : "") +
         std::to_string(plan.validation) + " calls score the current version on " + std::to_string(plan.val_cases) +
         " validation cases, one iteration takes up to " + std::to_string(plan.iteration) +
         " and the winner's evaluation on the whole dataset " + std::to_string(plan.reserved);
}

BudgetTooSmallError::BudgetTooSmallError(std::size_t budget_, const BudgetPlan& plan_)
    : UsageError("a budget of " + std::to_string(budget_) + " model calls is too small: " + budget_breakdown(plan_),
                 "give a budget of " + std::to_string(plan_.minimum()) + " or more"),
      budget(budget_),
      plan(plan_) {}

EmptySplitError::EmptySplitError(double fraction_, std::size_t cases_, std::string dataset_, bool no_training_)
    : UsageError("a training fraction of " + util::shortest(fraction_) + " leaves no " +
                 (no_training_ ? "training" : "validation") + " case"),
      fraction(fraction_),
      cases(cases_),
      dataset(std::move(dataset_)),
      no_training(no_training_) {}

LocalChangesError::LocalChangesError(const std::string& path_)
    : Error(path_ + " has local changes, which the commit would overwrite", "commit or stash them first"),
      path(path_) {}

std::size_t draw_parent(const std::vector<Candidate>& pool, SplitMix64& random) {
  std::vector<std::vector<double>> scores;
  for (const Candidate& c : pool) {
    scores.push_back(c.val_scores);
  }
  const auto front = pareto_front(scores);
  std::size_t total_wins = 0;
  for (const auto& [index, wins] : front) {
    total_wins += wins;
  }
  std::size_t draw = random.below(total_wins);
  for (const auto& [index, wins] : front) {
    if (draw < wins) {
      return index;
    }
    draw -= wins;
  }
  return front.front().first;
}

std::vector<std::size_t> TrainingPasses::next_minibatch(std::size_t size, SplitMix64& random) {
  std::vector<std::size_t> minibatch;
  while (minibatch.size() < size) {
    if (m_next >= m_order.size()) {
      random.shuffle(m_order);
      m_next = 0;
    }
    const std::size_t candidate_case = m_order[m_next++];
    if (std::find(minibatch.begin(), minibatch.end(), candidate_case) == minibatch.end()) {
      minibatch.push_back(candidate_case);
    }
  }
  return minibatch;
}

std::string proposal_problem(const OptimizeResult& result, const std::set<std::string>& texts,
                             const std::string& text) {
  if (texts.count(text) != 0) {
    return "the same text as an earlier candidate";
  }
  std::string why = check_proposal(result.prompt, result.message, text);
  if (why.empty()) {
    try {  // exactly what would be committed must parse as cleanly as the current file
      (void)replace_message_content(result.file_text, result.prompt, result.message, text);
    } catch (const Error& e) {
      why = e.what();
    }
  }
  return why;
}

std::string lineage(const OptimizeResult& result) {
  std::vector<std::string> ids;
  for (std::optional<std::size_t> id = result.pool[result.best].id; id;) {
    ids.insert(ids.begin(), std::to_string(*id));
    const auto it =
        std::find_if(result.pool.begin(), result.pool.end(), [&](const Candidate& c) { return c.id == *id; });
    id = it == result.pool.end() ? std::nullopt : it->parent;
  }
  return util::join(ids, " -> ");
}

std::string metric_with_interval(const std::string& metric, double value, const std::optional<Interval>& interval) {
  std::string out = metric + " " + util::fixed(value, 3);
  if (interval) {
    out += " [" + util::fixed(interval->low, 3) + ", " + util::fixed(interval->high, 3) + "]";
  }
  return out;
}

void refuse_local_changes(const git::Repository& repo, const git::Oid& head, const std::string& name) {
  const std::unique_ptr<Snapshot> at_head = commit_snapshot(repo, head);
  const ParsedConfig config = load_config(*at_head);
  std::string path;
  for (const PromptFile& file : find_prompts(*at_head, config.config)) {
    if (file.name == name) {
      path = file.path;
    }
  }
  if (!path.empty() && repo.has_local_changes(path)) {
    throw LocalChangesError(path);
  }
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

}  // namespace promptops::workflows
