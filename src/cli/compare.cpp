// SPDX-License-Identifier: MIT
// `git promptops compare A B [-- NAME...] [--model MODEL]`: two references evaluated on the same
// cases (B's dataset and assertions judge both), with paired statistics and the cases that differ.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <promptops/case_records.hpp>
#include <promptops/config.hpp>
#include <promptops/dataset.hpp>
#include <promptops/error.hpp>
#include <promptops/eval.hpp>
#include <promptops/gate.hpp>
#include <promptops/registry.hpp>
#include <promptops/statistics.hpp>

#include "cli/common.hpp"
#include "cli/evaluation.hpp"
#include "output/terminal.hpp"
#include "util/strings.hpp"

namespace promptops::cli {

namespace {

using json = nlohmann::json;

constexpr std::size_t k_resamples = 10000;
constexpr std::uint64_t k_seed = 1;
constexpr double k_confidence = 0.95;
constexpr std::size_t k_excerpt = 80;

struct CompareCommandOptions {
  std::string a;
  std::string b;
  std::vector<std::string> names;
  std::string model;
  bool offline = false;
  bool no_cache = false;
  std::string format;
};

// One side as the user named it and where it is evaluated.
struct Side {
  std::string text;                   // as written
  std::optional<std::string> prompt;  // NAME and NAME@REV name one prompt; a revision names none
  EvalTarget target;
  std::string label;  // "greet@v1 (1a2b3c4)", "greet (working tree)", "main (1a2b3c4)"
};

bool is_pass_metric(const std::string& metric) { return metric == "pass_rate" || metric == "accuracy"; }

Side commit_side(git::Repository& repo, const std::string& text, const git::Oid& id) {
  Side side;
  side.text = text;
  side.target = EvalTarget::at_commit(id, repo.read_commit(id).subject());
  side.label = text + " (" + id.short_hex() + ")";
  return side;
}

// NAME@REV, NAME (a prompt of the working tree; HEAD in a bare repository) or a revision. A word
// that is both a prompt and a revision is the prompt (NAME@REV or refs/heads/NAME say otherwise).
Side resolve_side(Context& context, const std::string& text) {
  git::Repository& repo = context.repo();
  const bool revision_syntax = text.empty() || text.front() == '@' || text.find("@{") != std::string::npos;
  if (!revision_syntax && text.find('@') != std::string::npos) {
    const ResolvedReference ref = resolve_reference(repo, Reference::parse(text));
    Side side =
        ref.commit ? commit_side(repo, text, *ref.commit) : Side{text, {}, EvalTarget::worktree(), ""};
    if (!ref.commit) {
      side.label = text + " (working tree)";
    }
    side.prompt = ref.name;
    return side;
  }
  std::vector<std::string> candidates;
  if (!revision_syntax) {
    const Reference ref = Reference::parse(text);
    const std::optional<git::Oid> head = repo.is_bare() ? repo.head() : std::nullopt;
    if (!repo.is_bare() || head) {
      const std::unique_ptr<Snapshot> current = head ? commit_snapshot(repo, *head) : worktree_snapshot(repo);
      for (const PromptFile& file : find_prompts(*current, load_config(*current).config)) {
        if (file.name == ref.name) {
          Side side = head ? commit_side(repo, text, *head) : Side{text, {}, EvalTarget::worktree(), ""};
          if (!head) {
            side.label = text + " (working tree)";
          }
          side.prompt = ref.name;
          return side;
        }
        candidates.push_back(file.name);
      }
    }
  }
  if (const std::optional<git::Oid> id = repo.resolve(text)) {
    return commit_side(repo, text, *id);
  }
  for (std::string& name : repo.ref_names()) {
    candidates.push_back(std::move(name));
  }
  const std::string close = did_you_mean(text, candidates);
  throw NotFoundError("no prompt or revision named '" + text + "'",
                      close.empty() ? "A and B are NAME (the working tree), NAME@REV or a revision; "
                                      "git promptops list shows the prompts"
                                    : "did you mean '" + close + "'?");
}

bool same_point(const EvalTarget& a, const EvalTarget& b) {
  return a.commit == b.commit && a.index == b.index;
}

std::unique_ptr<Snapshot> snapshot_of(const git::Repository& repo, const EvalTarget& target) {
  return target.commit ? commit_snapshot(repo, *target.commit) : worktree_snapshot(repo);
}

// Which prompts two revisions compare: those named, else every prompt at both with [eval] at B.
struct Selection {
  std::vector<std::string> names;
  std::vector<std::string> only_in_a;
  std::vector<std::string> only_in_b;
  std::vector<std::string> skipped;  // at both, without [eval] at B
};

Selection select_prompts(const git::Repository& repo, const Side& a, const Side& b,
                         const std::vector<std::string>& named) {
  const std::unique_ptr<Snapshot> snapshot_a = snapshot_of(repo, a.target);
  const std::unique_ptr<Snapshot> snapshot_b = snapshot_of(repo, b.target);
  std::map<std::string, PromptFile> files_a;
  std::map<std::string, PromptFile> files_b;
  for (PromptFile& file : find_prompts(*snapshot_a, load_config(*snapshot_a).config)) {
    std::string name = file.name;
    files_a.emplace(std::move(name), std::move(file));
  }
  for (PromptFile& file : find_prompts(*snapshot_b, load_config(*snapshot_b).config)) {
    std::string name = file.name;
    files_b.emplace(std::move(name), std::move(file));
  }
  Selection out;
  if (!named.empty()) {
    for (const std::string& name : named) {
      for (const auto* side : {&a, &b}) {
        const auto& files = side == &a ? files_a : files_b;
        if (files.count(name) == 0) {
          std::vector<std::string> known;
          for (const auto& [known_name, file] : files) {
            known.push_back(known_name);
          }
          const std::string close = did_you_mean(name, known);
          throw NotFoundError("no prompt named '" + name + "' at " + side->label,
                              close.empty() ? "" : "did you mean '" + close + "'?");
        }
      }
      if (std::find(out.names.begin(), out.names.end(), name) == out.names.end()) {
        out.names.push_back(name);
      }
    }
    return out;
  }
  for (const auto& [name, file] : files_a) {
    if (files_b.count(name) == 0) {
      out.only_in_a.push_back(name);
    }
  }
  for (const auto& [name, file] : files_b) {
    if (files_a.count(name) == 0) {
      out.only_in_b.push_back(name);
    } else if (load_prompt(*snapshot_b, file).eval.present) {
      out.names.push_back(name);
    } else {
      out.skipped.push_back(name);
    }
  }
  return out;
}

struct Difference {
  std::string id;
  char a = 'e';
  char b = 'e';
};

// One prompt at A and at B.
struct Comparison {
  std::string prompt;
  const EvalResult* a = nullptr;  // null: missing (--offline) or unfinished (interrupted)
  const EvalResult* b = nullptr;
  std::string problem;
  std::optional<Flips> flips;
  std::optional<McNemar> mcnemar;  // pass/fail metrics only
  BootstrapResult bootstrap;       // of the mean case scores: their interval
  SignFlipResult sign_flip;        // of the mean case scores: their p-value
  bool too_few_cases = false;      // the headline dropped, but no outcome of the changed cases is significant
  bool grouped = false;
  std::size_t paired = 0;
  std::vector<Difference> differences;  // in B's case order
  std::map<std::string, CaseRecord> records_a;
  std::map<std::string, CaseRecord> records_b;

  bool complete() const { return a != nullptr && b != nullptr; }
};

void analyse(Comparison& comparison, const Snapshot& snapshot_b) {
  const EvalResult& a = *comparison.a;
  const EvalResult& b = *comparison.b;
  comparison.flips = flips(a.case_ids, a.outcomes, b.case_ids, b.outcomes);
  if (is_pass_metric(b.metric)) {
    comparison.mcnemar =
        mcnemar_exact(comparison.flips->pass_to_fail.size(), comparison.flips->fail_to_pass.size());
  }
  std::map<std::string, std::size_t> index_a;
  for (std::size_t i = 0; i < a.case_ids.size(); ++i) {
    index_a.emplace(a.case_ids[i], i);
  }
  for (std::size_t i = 0; i < b.case_ids.size() && i < b.outcomes.size(); ++i) {
    const auto it = index_a.find(b.case_ids[i]);
    if (it != index_a.end() && it->second < a.outcomes.size() && a.outcomes[it->second] != b.outcomes[i]) {
      comparison.differences.push_back({b.case_ids[i], a.outcomes[it->second], b.outcomes[i]});
    }
  }
  const PairedCases paired = paired_cases(a, b, case_groups(snapshot_b, b), false);
  comparison.paired = paired.a.size();
  comparison.grouped = !paired.groups.empty();
  const std::vector<double>& scores_a = paired.a;
  const std::vector<double>& scores_b = paired.b;
  const std::vector<std::string>& paired_groups = paired.groups;
  comparison.bootstrap = paired_bootstrap(scores_a, scores_b, paired_groups, k_resamples, k_seed);
  comparison.sign_flip = paired_sign_flip(scores_a, scores_b, paired_groups, k_resamples, k_seed);
  const double smallest = comparison.mcnemar ? smallest_p_value(comparison.mcnemar->b + comparison.mcnemar->c)
                                             : comparison.sign_flip.min_p_value;
  comparison.too_few_cases = b.value < a.value && smallest >= 1.0 - k_confidence;
  if (!comparison.differences.empty()) {
    comparison.records_a = read_case_records(a);
    comparison.records_b = read_case_records(b);
  }
}

// --- formatting ---------------------------------------------------------------------------------

// p-values: 4 decimals, scientific below 0.0001 (as check prints them).
std::string latency_text(const EvalResult& result) {
  return result.metrics.latency ? fixed(result.metrics.latency->p50_ms, 0) + " ms" : "-";
}

std::string value_text(const EvalResult& result) {
  std::string out = fixed(result.value, 3);
  if (result.interval) {
    out += " [" + fixed(result.interval->low, 2) + ", " + fixed(result.interval->high, 2) + "]";
  }
  return out;
}

const char* outcome_word(char outcome) {
  switch (outcome) {
    case 'p':
      return "pass";
    case 'f':
      return "fail";
    case 'x':
      return "flaky";
    default:
      break;
  }
  return "error";
}

std::string bootstrap_interval(const BootstrapResult& result) {
  return "[" + signed_fixed(result.low, 3) + ", " + signed_fixed(result.high, 3) + "]";
}

std::string mcnemar_text(const McNemar& test) {
  return "p = " + p_value_text(test.p_value) + " (pass→fail " + std::to_string(test.b) + ", fail→pass " +
         std::to_string(test.c) + ")";
}

std::string bootstrap_value_text(const Comparison& comparison) {
  const BootstrapResult& boot = comparison.bootstrap;
  return fixed(boot.mean_a, 3) + " → " + fixed(boot.mean_b, 3) + " (" + signed_fixed(boot.delta, 3) + " " +
         bootstrap_interval(boot) + ", p = " + p_value_text(comparison.sign_flip.p_value) +
         " by sign-flip test" + (comparison.grouped ? " of groups" : "") + ")";
}

// A case's JSON value on one line: strings as they are, anything else as compact JSON.
std::string json_excerpt(const json& value) {
  return one_line_excerpt(value.is_string() ? value.get<std::string>() : value.dump(), k_excerpt);
}

std::string output_excerpt(const CaseRecord& record) {
  if (!record.error.empty()) {
    return one_line_excerpt("(no answer: " + record.error + ")", k_excerpt);
  }
  return one_line_excerpt(record.output, k_excerpt);
}

std::string differ_heading(const Comparison& comparison) {
  const std::size_t n = comparison.differences.size();
  const std::size_t total = comparison.b->case_ids.size();
  return std::to_string(n) + " of " + std::to_string(total) + " case" + (total == 1 ? "" : "s") +
         (n == 1 ? " differs" : " differ");
}

std::string row(const std::string& label, const std::string& text) {
  return "  " + label + std::string(label.size() < 13 ? 13 - label.size() : 1, ' ') + text + "\n";
}

std::string comparison_text(const Comparison& c, const Side& a, const Side& b) {
  std::string out = c.prompt + ": " + a.label + " → " + b.label + "\n";
  out += row("model", c.a->model + " → " + c.b->model);
  out += row(c.b->metric, value_text(*c.a) + " → " + value_text(*c.b) + " (" +
                              signed_fixed(c.b->value - c.a->value, 3) + ")");
  if (c.mcnemar) {
    out += row("McNemar", mcnemar_text(*c.mcnemar));
  }
  out += row("mean score", bootstrap_value_text(c));
  if (c.too_few_cases) {
    out += row("", too_few_cases_text(k_confidence));
  }
  out += row("cost", money(c.a->metrics.cost) + " → " + money(c.b->metrics.cost));
  out += row("p50 latency", latency_text(*c.a) + " → " + latency_text(*c.b));
  for (const auto& [side, result] : {std::pair{"A", c.a}, std::pair{"B", c.b}}) {
    if (result->errors > 0) {
      out += row("", std::string(side) + ": " + std::to_string(result->errors) + " case sample" +
                         (result->errors == 1 ? "" : "s") + " without an answer, left out of the pairing");
    }
  }
  if (c.differences.empty()) {
    out += "  no case differs (" + std::to_string(c.b->case_ids.size()) + " cases)\n";
    return out;
  }
  out += "  " + differ_heading(c) + ":\n";
  std::size_t width = 0;
  for (const Difference& d : c.differences) {
    width = std::max(width, d.id.size());
  }
  for (const Difference& d : c.differences) {
    out += "    " + d.id + std::string(width - d.id.size() + 2, ' ') + outcome_word(d.a) + " → " +
           outcome_word(d.b) + "\n";
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    if (any == nullptr) {
      continue;
    }
    if (!any->description.empty()) {
      out += "      case      " + one_line_excerpt(any->description, k_excerpt) + "\n";
    }
    out += "      vars      " + json_excerpt(any->vars) + "\n";
    if (!any->expected.is_null()) {
      out += "      expected  " + json_excerpt(any->expected) + "\n";
    }
    if (record_a != c.records_a.end()) {
      out += "      A         " + output_excerpt(record_a->second) + "\n";
    }
    if (record_b != c.records_b.end()) {
      out += "      B         " + output_excerpt(record_b->second) + "\n";
    }
  }
  return out;
}

std::string md_cell(const std::string& text) { return util::replace_all(text, "|", "\\|"); }

std::string md_code(const std::string& text) {
  return text.empty() ? "" : "`" + util::replace_all(md_cell(text), "`", "'") + "`";
}

std::string comparison_markdown(const Comparison& c, const Side& a, const Side& b) {
  std::string out = "### " + md_code(c.prompt) + ": " + md_cell(a.label) + " → " + md_cell(b.label) + "\n\n";
  out += "| | A | B | Δ |\n| --- | ---: | ---: | ---: |\n";
  out += "| " + c.b->metric + " | " + value_text(*c.a) + " | " + value_text(*c.b) + " | " +
         signed_fixed(c.b->value - c.a->value, 3) + " |\n";
  out += "| mean score | " + fixed(c.bootstrap.mean_a, 3) + " | " + fixed(c.bootstrap.mean_b, 3) + " | " +
         signed_fixed(c.bootstrap.delta, 3) + " " + bootstrap_interval(c.bootstrap) + " |\n";
  out += "| model | " + md_code(c.a->model) + " | " + md_code(c.b->model) + " | |\n";
  out += "| cost | " + money(c.a->metrics.cost) + " | " + money(c.b->metrics.cost) + " | |\n";
  out += "| p50 latency | " + latency_text(*c.a) + " | " + latency_text(*c.b) + " | |\n\n";
  std::vector<std::string> tests;
  if (c.mcnemar) {
    tests.push_back("McNemar " + mcnemar_text(*c.mcnemar));
  }
  tests.push_back("sign-flip test of the mean score" +
                  std::string(c.grouped ? " (groups flipped together)" : "") +
                  ": p = " + p_value_text(c.sign_flip.p_value));
  if (c.too_few_cases) {
    tests.push_back(too_few_cases_text(k_confidence));
  }
  out += util::join(tests, " · ") + "\n\n";
  if (c.differences.empty()) {
    return out + "No case differs (" + std::to_string(c.b->case_ids.size()) + " cases).\n";
  }
  out += "**" + differ_heading(c) + "**\n\n";
  out +=
      "| case | A | B | vars | expected | A output | B output |\n"
      "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const Difference& d : c.differences) {
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    std::vector<std::string> cells = {md_code(d.id), outcome_word(d.a), outcome_word(d.b)};
    cells.push_back(any != nullptr ? md_code(json_excerpt(any->vars)) : "");
    cells.push_back(any != nullptr && !any->expected.is_null() ? md_code(json_excerpt(any->expected)) : "");
    cells.push_back(record_a != c.records_a.end() ? md_cell(output_excerpt(record_a->second)) : "");
    cells.push_back(record_b != c.records_b.end() ? md_cell(output_excerpt(record_b->second)) : "");
    out += "| " + util::join(cells, " | ") + " |\n";
  }
  return out;
}

json result_json(const EvalResult* result) {
  if (result == nullptr) {
    return nullptr;
  }
  return {{"key", result->key},
          {"model", result->model},
          {"dataset", result->dataset},
          {"value", result->value},
          {"interval",
           result->interval ? json::array({result->interval->low, result->interval->high}) : json(nullptr)},
          {"cases", result->metrics.cases},
          {"passed", result->metrics.passed},
          {"mean_score", result->metrics.mean_score},
          {"errors", result->errors},
          {"cost", result->metrics.cost},
          {"latency_p50_ms", result->metrics.latency ? json(result->metrics.latency->p50_ms) : json(nullptr)},
          {"outcomes", result->outcomes},
          {"case_ids", result->case_ids},
          {"results_file", result->results_file.empty() ? json(nullptr) : json(result->results_file)}};
}

json record_json(const std::map<std::string, CaseRecord>& records, const std::string& id) {
  const auto it = records.find(id);
  if (it == records.end()) {
    return nullptr;
  }
  const CaseRecord& r = it->second;
  return {{"output", r.error.empty() ? json(r.output) : json(nullptr)},
          {"error", r.error.empty() ? json(nullptr) : json(r.error)},
          {"pass", r.pass},
          {"score", r.score},
          {"reasons", r.reasons},
          {"latency_ms", r.latency_ms ? json(*r.latency_ms) : json(nullptr)},
          {"cost", r.cost}};
}

json comparison_json(const Comparison& c) {
  json out = {{"prompt", c.prompt},
              {"a", result_json(c.a)},
              {"b", result_json(c.b)},
              {"problem", c.problem.empty() ? json(nullptr) : json(c.problem)}};
  if (!c.complete()) {
    out["metric"] = nullptr;
    return out;
  }
  out["metric"] = c.b->metric;
  out["delta"] = c.b->value - c.a->value;
  out["mcnemar"] = c.mcnemar ? json{{"pass_to_fail", c.mcnemar->b},
                                    {"fail_to_pass", c.mcnemar->c},
                                    {"p_value", c.mcnemar->p_value}}
                             : json(nullptr);
  out["bootstrap"] = {{"metric", "mean_score"},
                      {"mean_a", c.bootstrap.mean_a},
                      {"mean_b", c.bootstrap.mean_b},
                      {"delta", c.bootstrap.delta},
                      {"low", c.bootstrap.low},
                      {"high", c.bootstrap.high},
                      {"p_value", c.bootstrap.p_value},
                      {"resamples", c.bootstrap.resamples},
                      {"seed", k_seed},
                      {"grouped", c.grouped}};
  out["sign_flip"] = {{"metric", "mean_score"},           {"p_value", c.sign_flip.p_value},
                      {"clusters", c.sign_flip.clusters}, {"discordant", c.sign_flip.discordant},
                      {"exact", c.sign_flip.exact},       {"resamples", c.sign_flip.resamples}};
  out["too_few_cases"] = c.too_few_cases;
  out["pairs"] = {{"paired", c.paired},
                  {"both_pass", c.flips->both_pass},
                  {"both_fail", c.flips->both_fail},
                  {"pass_to_fail", c.flips->pass_to_fail},
                  {"fail_to_pass", c.flips->fail_to_pass},
                  {"skipped", c.flips->skipped}};
  json differences = json::array();
  for (const Difference& d : c.differences) {
    const auto record_a = c.records_a.find(d.id);
    const auto record_b = c.records_b.find(d.id);
    const CaseRecord* any = record_b != c.records_b.end()   ? &record_b->second
                            : record_a != c.records_a.end() ? &record_a->second
                                                            : nullptr;
    differences.push_back({{"id", d.id},
                           {"a", outcome_word(d.a)},
                           {"b", outcome_word(d.b)},
                           {"vars", any != nullptr ? any->vars : json(nullptr)},
                           {"expected", any != nullptr ? any->expected : json(nullptr)},
                           {"a_record", record_json(c.records_a, d.id)},
                           {"b_record", record_json(c.records_b, d.id)}});
  }
  out["differences"] = std::move(differences);
  return out;
}

json side_json(const Side& side) {
  return {{"reference", side.text},
          {"label", side.label},
          {"prompt", side.prompt ? json(*side.prompt) : json(nullptr)},
          {"commit", side.target.commit ? json(side.target.commit->hex()) : json(nullptr)},
          {"model", side.target.model.empty() ? json(nullptr) : json(side.target.model)}};
}

// --- the command --------------------------------------------------------------------------------

void run_compare(Context& context, const CompareCommandOptions& options) {
  // Arguments after "--" are prompt names; before it, exactly A and B.
  const Positionals split = split_positionals(context, {&options.a, &options.b}, options.names);
  const std::vector<std::string>& positionals = split.words;
  const std::size_t before = split.before;
  if (before < 2) {
    throw UsageError("compare takes two references, A and B",
                     "git promptops compare NAME@v1 NAME@v2, git promptops compare main feature, or "
                     "git promptops compare NAME NAME --model MODEL");
  }
  if (before > 2) {
    throw UsageError("compare takes two references, got '" + positionals[2] + "' too",
                     "put prompt names after --: git promptops compare " + positionals[0] + " " +
                         positionals[1] + " -- " + positionals[2]);
  }
  const std::vector<std::string> named(positionals.begin() + 2, positionals.end());

  git::Repository& repo = context.repo();
  const Side a = resolve_side(context, positionals[0]);
  Side b = resolve_side(context, positionals[1]);
  b.target.model = options.model;
  if (a.prompt || b.prompt) {
    if (!a.prompt || !b.prompt) {
      const Side& with = a.prompt ? a : b;
      const Side& without = a.prompt ? b : a;
      throw UsageError(
          std::string(a.prompt ? "A" : "B") + " names the prompt '" + *with.prompt + "' and " +
              (a.prompt ? "B" : "A") + " ('" + without.text + "') does not",
          "name it on both sides: git promptops compare " +
              (a.prompt ? a.text + " " + *a.prompt + "@" + b.text : *b.prompt + "@" + a.text + " " + b.text));
    }
    if (*a.prompt != *b.prompt) {
      throw UsageError("A and B name different prompts ('" + *a.prompt + "' and '" + *b.prompt + "')",
                       "compare two versions of one prompt (git promptops compare " + *b.prompt + "@v1 " +
                           *b.prompt + "@v2) or one prompt on another model (--model)");
    }
    if (!named.empty()) {
      throw UsageError("prompt names after -- go with two revisions, not with " + a.text + " and " + b.text,
                       "git promptops compare " + a.text + " " + b.text);
    }
  }
  if (same_point(a.target, b.target) && options.model.empty()) {
    throw UsageError("A and B are the same (" + a.label + ")",
                     "compare two versions (NAME@v1 NAME@v2), two revisions, or add --model MODEL to run B "
                     "on another model");
  }

  Selection selection;
  if (a.prompt) {
    selection.names = {*a.prompt};
  } else {
    selection = select_prompts(repo, a, b, named);
  }
  for (const auto& [what, list] :
       {std::pair{"only in A", &selection.only_in_a}, std::pair{"only in B", &selection.only_in_b},
        std::pair{"no [eval] at B", &selection.skipped}}) {
    if (!list->empty() && options.format == "text") {
      context.warn(std::string("not compared (") + what + "): " + util::join(*list, ", "));
    }
  }
  if (selection.names.empty()) {
    if (options.format == "json") {
      context.out_json(
          {{"a", side_json(a)},
           {"b", side_json(b)},
           {"prompts", json::array()},
           {"only_in_a", selection.only_in_a},
           {"only_in_b", selection.only_in_b},
           {"skipped", selection.skipped},
           {"missing", json::array()},
           {"summary", {{"real_calls", 0}, {"cache_hits", 0}, {"errors", 0}, {"interrupted", false}}}});
    } else {
      context.warn("no prompt with an [eval] section at both " + a.label + " and " + b.label +
                   ": nothing to compare");
    }
    return;
  }

  EvalOptions eval_options;
  eval_options.names = selection.names;
  eval_options.suite_at = SuiteAt::newest;  // B is last: its dataset and assertions judge both
  eval_options.offline = options.offline;
  eval_options.provider_options = provider_options_for(repo);
  eval_options.notes = notes_policy(repo, false);
  EvalSession session(repo, !options.no_cache, options.format == "text" && output::is_terminal(stderr));
  const EvalReport report = run_eval(repo, {a.target, b.target}, eval_options, session.services());
  session.clear_progress();
  if (!options.offline) {
    record_eval_notes(repo, report);
  }

  const std::set<std::string> missing(report.missing.begin(), report.missing.end());
  const std::unique_ptr<Snapshot> snapshot_b = snapshot_of(repo, b.target);
  std::vector<Comparison> comparisons;
  std::vector<std::string> not_found;  // "greet at A (greet@v1 (1a2b3c4))"
  for (const std::string& name : selection.names) {
    Comparison comparison;
    comparison.prompt = name;
    std::vector<std::string> problems;
    for (const EvalRow& row : report.rows) {
      if (row.prompt != name) {
        continue;
      }
      const bool is_a = row.target == 0;
      const Side& side = is_a ? a : b;
      const auto it = report.results.find(row.key);
      if (it != report.results.end()) {
        (is_a ? comparison.a : comparison.b) = &it->second;
      } else if (missing.count(row.key) != 0) {
        not_found.push_back(name + " at " + std::string(is_a ? "A" : "B") + " (" + side.label + ")");
        problems.push_back(std::string(is_a ? "A" : "B") + " not in the cache or notes (--offline)");
      } else {
        problems.push_back(std::string(is_a ? "A" : "B") + " unfinished (interrupted)");
      }
    }
    comparison.problem = util::join(problems, "; ");
    if (comparison.complete()) {
      analyse(comparison, *snapshot_b);
    }
    comparisons.push_back(std::move(comparison));
  }

  if (options.format == "json") {
    json prompts = json::array();
    for (const Comparison& comparison : comparisons) {
      prompts.push_back(comparison_json(comparison));
    }
    context.out_json({{"a", side_json(a)},
                      {"b", side_json(b)},
                      {"prompts", std::move(prompts)},
                      {"only_in_a", selection.only_in_a},
                      {"only_in_b", selection.only_in_b},
                      {"skipped", selection.skipped},
                      {"missing", not_found},
                      {"summary",
                       {{"real_calls", report.real_calls},
                        {"cache_hits", report.cache_hits},
                        {"errors", report.errors},
                        {"interrupted", report.interrupted}}}});
  } else {
    std::vector<std::string> blocks;
    for (const Comparison& comparison : comparisons) {
      if (comparison.complete()) {
        blocks.push_back(options.format == "markdown" ? comparison_markdown(comparison, a, b)
                                                      : comparison_text(comparison, a, b));
      }
    }
    context.out(util::join(blocks, "\n"));
    if (options.format == "text") {
      std::fflush(stdout);  // the report first, then the summary, also when both go to one pipe
      std::fprintf(stderr, "%zu model call%s, %zu cached answer%s\n", report.real_calls,
                   report.real_calls == 1 ? "" : "s", report.cache_hits, report.cache_hits == 1 ? "" : "s");
    }
  }
  if (report.interrupted) {
    throw InterruptedError("interrupted: " + std::to_string(report.real_calls) + " answer" +
                           (report.real_calls == 1 ? "" : "s") +
                           " received in this run kept in the cache; run the same command to resume");
  }
  if (!not_found.empty()) {
    throw Error("not in the cache or notes (--offline): " + util::join(not_found, ", "),
                "run the same command without --offline to evaluate them");
  }
  if (report.errors > 0) {
    throw ProviderError(std::to_string(report.errors) + " case" + (report.errors == 1 ? "" : "s") +
                            " got no answer from the provider (see the per-case results)",
                        "run the same command again to retry them; answers already received are cached");
  }
}

}  // namespace

void add_compare(CLI::App& app, Context& context) {
  auto options = std::make_shared<CompareCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "compare", "A/B two references on the same cases (B's dataset judges both) with paired statistics");
  command->add_option("A", options->a,
                      "NAME@REV (vN, an alias or a revision), NAME (the working tree) or a revision");
  command->add_option("B", options->b, "the same forms; B's dataset and assertions judge both sides");
  command->add_option("names", options->names,
                      "after --, with two revisions: the prompts to compare (default: every prompt at both)");
  command->add_option(
      "--model", options->model,
      "run B on this model instead of its own: PROVIDER/NAME or NAME (the prompt's provider)");
  command->add_flag("--offline", options->offline,
                    "use only results in the cache or notes; make no model call and name what is missing");
  command->add_flag("--no-cache", options->no_cache, "ask the model again instead of reading cached answers");
  add_format_option(*command, options->format, {"text", "json", "markdown"});
  command->callback([&context, options] { run_compare(context, *options); });
}

}  // namespace promptops::cli
