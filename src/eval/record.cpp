// SPDX-License-Identifier: MIT
// Evaluation summaries to and from git notes: one entry per (prompt, evaluation) per commit.
#include <promptops/eval.hpp>

#include <promptops/error.hpp>
#include <promptops/notes.hpp>

namespace promptops {

std::size_t record_eval_notes(git::Repository& repo, const EvalReport& report) {
  std::map<git::Oid, std::vector<nlohmann::json>> additions;
  std::size_t count = 0;
  for (const EvalRow& row : report.rows) {
    const EvalTarget& target = report.targets.at(row.target);
    const auto result = report.results.find(row.key);
    // A result with cases that got no answer is not a measurement of the version: not recorded.
    if (!target.commit || result == report.results.end() || result->second.errors > 0) {
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
                     "git promptops eval: " + std::to_string(count) + " result" + (count == 1 ? "" : "s") + "\n");
  }
  return count;
}

std::optional<EvalResult> latest_eval_note(const std::vector<nlohmann::json>& entries, const std::string& prompt) {
  std::optional<EvalResult> best;
  for (const nlohmann::json& entry : entries) {
    if (entry.value("type", "") != "eval" || entry.value("prompt", "") != prompt) {
      continue;
    }
    try {
      EvalResult result = EvalResult::from_json(entry);
      result.key = entry.value("eval_key", result.key);
      if (!best || result.evaluated_at >= best->evaluated_at) {
        best = std::move(result);
      }
    } catch (const Error&) {
      // written by another version of the tool: skipped
    }
  }
  return best;
}

}  // namespace promptops
