// SPDX-License-Identifier: MIT
// Evaluation summaries to and from git notes: one entry per (prompt, evaluation) per commit.
#include <promptops/eval/eval.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include <promptops/util/error.hpp>
#include <promptops/git/notes.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

std::size_t record_eval_notes(git::Repository& repo, const EvalReport& report) {
  std::map<git::Oid, std::vector<nlohmann::json>> additions;
  std::size_t count = 0;
  for (const EvalRow& row : report.rows) {
    const EvalTarget& target = report.targets.at(row.target);
    const auto result = report.results.find(row.key);
    // A result with cases that got no answer is not a measurement of the version, and a matrix
    // column that read another prompt's file or replaced the messages measured text that is not
    // the commit's: neither is recorded.
    const bool other_text = target.only && (!target.only->read_from.empty() || !target.only->messages.empty());
    if (!target.commit || result == report.results.end() || result->second.errors > 0 || other_text) {
      continue;
    }
    nlohmann::json entry = result->second.to_json();
    entry["key"] = "eval:" + row.prompt + ":" + row.key;
    entry["type"] = "eval";
    entry["eval_key"] = row.key;
    entry["prompt"] = row.prompt;
    entry["path"] = row.path;
    additions[*target.commit].push_back(std::move(entry));
    ++count;
  }
  if (!additions.empty()) {
    git::merge_notes(repo, additions,
                     "git promptops eval: " + util::plural(count, "result") + "\n");
  }
  return count;
}

namespace {

// A string field of an untrusted entry, or "" when it is absent or not a string.
std::string string_field(const nlohmann::json& entry, const char* name) {
  const auto it = entry.find(name);
  return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool known_outcome(char c) { return c == 'p' || c == 'f' || c == 'x' || c == 'e'; }

// An eval entry as a result, or why it is not one.
std::optional<EvalResult> eval_entry(const nlohmann::json& entry, std::string& problem) {
  const std::string eval_key = string_field(entry, "eval_key");
  const std::string prompt = string_field(entry, "prompt");
  if (eval_key.empty() || prompt.empty()) {
    problem = "an eval entry without a string \"eval_key\" and \"prompt\"";
    return std::nullopt;
  }
  EvalResult result;
  try {
    result = EvalResult::from_json(entry);
  } catch (const Error&) {
    problem = "an eval entry with missing or mistyped fields";
    return std::nullopt;
  }
  const std::size_t cases = result.outcomes.size();
  if (result.case_ids.size() != cases || result.scores.size() != cases ||
      !std::all_of(result.outcomes.begin(), result.outcomes.end(), known_outcome) || !std::isfinite(result.value)) {
    problem = "an eval entry whose per-case lists disagree";
    return std::nullopt;
  }
  result.key = eval_key;
  result.prompt = prompt;
  return result;
}

}  // namespace

EvalNotes eval_notes(const git::NoteLines& lines) {
  EvalNotes out;
  out.problems = lines.problems;
  for (std::size_t i = 0; i < lines.entries.size(); ++i) {
    const nlohmann::json& entry = lines.entries[i];
    if (string_field(entry, "type") != "eval") {
      continue;
    }
    std::string problem;
    if (std::optional<EvalResult> result = eval_entry(entry, problem)) {
      out.results.push_back(std::move(*result));
    } else {
      const std::size_t line = i < lines.entry_lines.size() ? lines.entry_lines[i] : 0;
      out.problems.push_back("line " + std::to_string(line) + ": " + problem);
    }
  }
  return out;
}

std::optional<EvalResult> latest_eval_note(const std::vector<nlohmann::json>& entries, const std::string& prompt) {
  std::optional<EvalResult> best;
  for (const nlohmann::json& entry : entries) {
    if (!entry.is_object() || string_field(entry, "type") != "eval" || string_field(entry, "prompt") != prompt) {
      continue;
    }
    std::string problem;
    std::optional<EvalResult> result = eval_entry(entry, problem);
    if (result && (!best || result->evaluated_at >= best->evaluated_at)) {
      best = std::move(result);
    }
  }
  return best;
}

std::optional<EvalResult> latest_eval_note(const EvalNotes& notes, const std::string& prompt) {
  const EvalResult* best = nullptr;
  for (const EvalResult& result : notes.results) {
    if (result.prompt == prompt && (best == nullptr || result.evaluated_at >= best->evaluated_at)) {
      best = &result;
    }
  }
  return best != nullptr ? std::optional<EvalResult>(*best) : std::nullopt;
}

std::map<std::string, EvalResult> last_recorded_results(const git::Repository& repo, const git::Oid& from,
                                                        const std::vector<std::string>& names) {
  const std::map<git::Oid, git::NoteLines> notes = git::read_all_note_lines(repo);
  std::map<std::string, EvalResult> found;
  const auto wanted = [&names](const std::string& prompt) {
    return names.empty() || std::find(names.begin(), names.end(), prompt) != names.end();
  };
  std::set<git::Oid> seen;  // a first-parent walk meets each commit once; this only guards a broken graph
  for (std::optional<git::Oid> commit = from; commit && seen.insert(*commit).second;) {
    if (const auto it = notes.find(*commit); it != notes.end()) {
      const EvalNotes evals = eval_notes(it->second);
      for (const EvalResult& result : evals.results) {
        if (wanted(result.prompt) && found.count(result.prompt) == 0) {
          found.emplace(result.prompt, *latest_eval_note(evals, result.prompt));
        }
      }
    }
    if (!names.empty() && found.size() == names.size()) {
      break;
    }
    const std::vector<git::Oid> parents = repo.parents(*commit);
    commit = parents.empty() ? std::nullopt : std::optional<git::Oid>(parents.front());
  }
  return found;
}

std::vector<NoteMismatch> compare_with_notes(const git::Oid& commit, const EvalResult& result,
                                             const EvalNotes& notes) {
  std::vector<NoteMismatch> out;
  for (const EvalResult& noted : notes.results) {
    if (noted.key != result.key) {
      continue;
    }
    const bool value_differs = std::fabs(noted.value - result.value) > 1e-9 || noted.metric != result.metric;
    const bool outcomes_differ = noted.outcomes != result.outcomes;
    if (value_differs || outcomes_differ) {
      out.push_back(NoteMismatch{commit, result.prompt, result.key, result.metric, noted.value, result.value,
                                 outcomes_differ});
    }
  }
  return out;
}

std::string describe_failure(const ProviderFailure& failure) {
  return std::to_string(failure.failed) + " of " + util::plural(failure.total, "case") + " got no answer from provider '" + failure.provider + "' (" +
         failure.endpoint + "): " + failure.cause;
}

std::string describe_mismatch(const NoteMismatch& mismatch) {
  std::string out = "the note on " + mismatch.commit.short_hex() + " claims " + mismatch.metric + " " +
                    util::fixed(mismatch.noted, 3) + " for prompt '" + mismatch.prompt + "', recomputed " +
                    util::fixed(mismatch.computed, 3);
  if (mismatch.outcomes_differ && std::fabs(mismatch.noted - mismatch.computed) <= 1e-9) {
    out += " with other per-case outcomes";
  }
  return out;
}

}  // namespace promptops::eval
