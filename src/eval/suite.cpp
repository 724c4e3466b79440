// SPDX-License-Identifier: MIT
// Suite loading: a prompt's [eval] dataset and assertions, read, parsed and checked before the
// first model call; and lint_eval(), which reports the same problems without stopping.
#include "suite.hpp"

#include "assertion_sets.hpp"
#include "model_graded.hpp"

#include <algorithm>
#include <exception>

#include <promptops/util/error.hpp>
#include <promptops/eval/eval.hpp>

#include <promptops/util/sha1.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::inline eval {

namespace {

using json = nlohmann::json;

const std::vector<std::string> k_metric_names{"pass_rate", "accuracy", "macro_f1", "mean_score"};
constexpr std::size_t k_max_label_length = 100;
constexpr std::size_t k_max_labels = 50;

// An error for each variable that an assertion uses and a case does not define (which would
// render as nothing, so that `contains "{{missing}}"` passed every output). The prompt's
// assertions are reported at the first case that lacks the variable, with a count of the others.
// `cases` is a vector of DatasetCase or a CaseTable: each case is read once.
template <typename Cases>
std::vector<Diagnostic> undefined_variables(const std::vector<Assertion>& prompt_asserts, const Cases& cases,
                                            const std::vector<std::vector<Assertion>>& case_asserts,
                                            const std::string& dataset) {
  struct Lack {
    const Assertion* assertion;
    const std::string* name;
    std::string first_id;  // empty while every case defines it
    int first_line = 0;
    std::size_t others = 0;
  };
  const auto report = [&](std::vector<Diagnostic>& out, const std::string& id, int line,
                          const Assertion& assertion, const std::string& name, std::size_t others) {
    const bool own = assertion.where.file == dataset && assertion.where.line == line;
    std::string message = "case '" + id + "' does not define variable '" + name + "' used by " +
                          (own ? "its own assertion" : "the assertion at " + assertion.where.format());
    if (others > 0) {
      message += " (nor do " + std::to_string(others) + " other cases)";
    }
    out.push_back(
        Diagnostic{Severity::error, Location{dataset, line, 0}, "undefined-variable", message,
                   "add \"" + name + "\" to the case's vars, or remove {{" + name + "}} from the assertion"});
  };
  std::vector<Lack> lacks;
  for (const Assertion& assertion : prompt_asserts) {
    for (const std::string& name : assertion.variables) {
      lacks.push_back(Lack{&assertion, &name, {}, 0, 0});
    }
  }
  std::vector<Diagnostic> own_errors;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const DatasetCase& c = cases[i];
    for (Lack& lack : lacks) {
      const bool defined = *lack.name == "expected"
                               ? !c.expected.is_null() || (c.vars.is_object() && c.vars.contains(*lack.name))
                               : c.vars.is_object() && c.vars.contains(*lack.name);
      if (defined) {
        continue;
      }
      if (lack.first_id.empty()) {
        lack.first_id = c.id;
        lack.first_line = c.line;
      } else {
        ++lack.others;
      }
    }
    if (i >= case_asserts.size() || case_asserts[i].empty()) {
      continue;
    }
    const json context = make_template_context(c.vars, c.expected);
    for (const Assertion& assertion : case_asserts[i]) {
      if (const std::string name = missing_variable(assertion, context); !name.empty()) {
        report(own_errors, c.id, c.line, assertion, name, 0);
      }
    }
  }
  std::vector<Diagnostic> out;
  for (const Lack& lack : lacks) {
    if (!lack.first_id.empty()) {
      report(out, lack.first_id, lack.first_line, *lack.assertion, *lack.name, lack.others);
    }
  }
  out.insert(out.end(), std::make_move_iterator(own_errors.begin()),
             std::make_move_iterator(own_errors.end()));
  return out;
}

bool is_exec(const Assertion& assertion) { return !assertion.is_set && assertion.type == AssertionType::exec; }

// A case's own assertion may not name a judge prompt: those are read once, with the prompt's
// [eval] assert. Adds an error to `parsed` for each.
void refuse_case_judge_prompts(ParsedAssertions& parsed) {
  for (const Assertion& assertion : parsed.assertions) {
    if (!assertion.judge_prompt_path.empty()) {
      parsed.diagnostics.push_back(Diagnostic{
          Severity::error, assertion.where, "invalid-assertion",
          std::string(assertion_type_name(assertion.type)) + " assertion of a case cannot set judge_prompt",
          "set it on the assertion in the prompt's [eval] assert, which every case shares"});
    }
  }
}

// Reads the judge prompts that `asserts` name (judge_prompt = "path") from `snapshot`, the
// revision the prompt came from; a missing or refused file is an error at the assertion.
std::vector<Diagnostic> read_judge_prompts(const Snapshot& snapshot, std::vector<Assertion>& asserts) {
  std::vector<Diagnostic> out;
  for (Assertion& assertion : asserts) {
    if (assertion.judge_prompt_path.empty()) {
      continue;
    }
    const std::string& path = assertion.judge_prompt_path;
    const std::optional<std::string> normal = repository_path(path);
    SnapshotFile file;
    if (normal) {
      file = snapshot.fetch(*normal, size_limit(FileRole::prompt));
    }
    if (file.kind == SnapshotFile::Kind::file) {
      assertion.judge_prompt = std::make_shared<const std::string>(std::move(file.content));
      continue;
    }
    const std::string type(assertion_type_name(assertion.type));
    out.push_back(Diagnostic{Severity::error, assertion.where, "invalid-assertion",
                             file.refused() ? type + " assertion judge_prompt: " + file.problem(FileRole::prompt, path)
                                            : type + " assertion judge_prompt '" + path + "' does not exist at " +
                                                  snapshot.label(),
                             file.refused() ? file.hint(FileRole::prompt)
                                            : "create the file, or remove judge_prompt to use the shipped prompt"});
  }
  return out;
}

// The dataset's own assertions and the variables every assertion needs from its cases. The
// dataset's other problems are lint()'s.
void lint_case_assertions(const Snapshot& snapshot, const EvalSpec& eval, const std::vector<Assertion>& prompt_asserts,
                          std::vector<Diagnostic>& out) {
  if (eval.dataset.empty()) {
    return;
  }
  // A missing, refused (link, special file, too large) or escaping dataset is lint()'s to report.
  const SnapshotFile file = snapshot.fetch(eval.dataset, size_limit(FileRole::dataset));
  if (file.kind != SnapshotFile::Kind::file) {
    return;
  }
  ParsedDataset parsed = parse_dataset(file.content, eval.dataset);
  for (DatasetCase& c : parsed.cases) {
    apply_default_vars(eval, c.vars);
  }
  std::vector<std::vector<Assertion>> case_asserts;
  for (const DatasetCase& c : parsed.cases) {
    ParsedAssertions own = parse_assertions(c.asserts, Location{eval.dataset, c.line, 0});
    refuse_case_judge_prompts(own);
    out.insert(out.end(), own.diagnostics.begin(), own.diagnostics.end());
    case_asserts.push_back(std::move(own.assertions));
  }
  const std::vector<Diagnostic> undefined =
      undefined_variables(prompt_asserts, parsed.cases, case_asserts, eval.dataset);
  out.insert(out.end(), undefined.begin(), undefined.end());
}


// [eval] default_assert (appended to the prompt's assertions), default_vars and threshold, each
// checked; their diagnostics at the [eval] line.
std::vector<Diagnostic> read_defaults(Suite& suite, const EvalSpec& eval) {
  std::vector<Diagnostic> out;
  json defaults = json::object();
  if (const auto it = eval.raw.find("default_assert"); it != eval.raw.end()) {
    ParsedAssertions parsed = parse_assertions(*it, eval.where);
    out = std::move(parsed.diagnostics);
    for (Assertion& assertion : parsed.assertions) {
      suite.asserts.push_back(std::move(assertion));
    }
    defaults["default_assert"] = *it;
  }
  if (!eval.default_vars.empty()) {
    suite.default_vars = eval.default_vars;
    defaults["default_vars"] = eval.default_vars;
  }
  if (const auto it = eval.raw.find("threshold"); it != eval.raw.end()) {
    if (const std::string problem = threshold_problem(*it); !problem.empty()) {
      out.push_back(Diagnostic{Severity::error, eval.where, "invalid-threshold", "[eval] threshold " + problem,
                               "0.5 passes a case when half the weight of its assertions passes"});
    } else {
      suite.threshold = it->get<double>();
    }
    defaults["threshold"] = *it;
  }
  if (!defaults.empty()) {
    suite.defaults_json = std::move(defaults);
  }
  return out;
}

void set_defaults(Suite& suite, const EvalSpec& eval) { throw_first_error(read_defaults(suite, eval)); }

// The metric names that `asserts` (and their sets' members) declare, sorted and distinct.
std::vector<std::string> declared_metrics(const std::vector<Assertion>& asserts) {
  std::set<std::string> names;
  for (const Assertion& assertion : asserts) {
    if (!assertion.metric.empty()) {
      names.insert(assertion.metric);
    }
    for (const Assertion& member : assertion.members) {
      if (!member.metric.empty()) {
        names.insert(member.metric);
      }
    }
  }
  return {names.begin(), names.end()};
}

// An "unknown-metric" error when [eval] metric is neither built in nor declared by an assertion.
std::optional<Diagnostic> check_headline_metric(const EvalSpec& eval, const std::vector<std::string>& declared) {
  if (eval.metric.empty() ||
      std::find(k_metric_names.begin(), k_metric_names.end(), eval.metric) != k_metric_names.end() ||
      std::find(declared.begin(), declared.end(), eval.metric) != declared.end()) {
    return std::nullopt;
  }
  std::vector<std::string> known = k_metric_names;
  known.insert(known.end(), declared.begin(), declared.end());
  const std::string close = did_you_mean(eval.metric, known);
  return Diagnostic{Severity::error, eval.where, "unknown-metric", "unknown metric '" + eval.metric + "' in [eval]",
                    close.empty() ? "use one of: " + util::join(known, ", ") : "did you mean '" + close + "'?"};
}

}  // namespace

std::vector<Diagnostic> check_case_variables(const Prompt& prompt, const CaseTable& cases,
                                             const std::string& path, std::size_t begin) {
  constexpr std::size_t k_chunk = 256;
  std::vector<Diagnostic> out;
  std::vector<DatasetCase> chunk;
  for (std::size_t i = begin; i < cases.size(); i += k_chunk) {
    chunk.clear();
    for (std::size_t j = i; j < std::min(i + k_chunk, cases.size()); ++j) {
      chunk.push_back(cases[j]);
    }
    const std::vector<Diagnostic> found =
        check_case_variables(prompt, std::span<const DatasetCase>(chunk), path);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// Finds the suite's labels: the distinct expected values when every case expects a short one-line
// string and there are at most k_max_labels of them.
void find_labels(Suite& suite) {
  suite.labels.clear();
  for (std::size_t i = 0; i < suite.cases.size(); ++i) {
    const json value = suite.cases.expected(i);
    if (!value.is_string()) {
      suite.labels.clear();
      return;
    }
    const std::string& expected = value.get_ref<const std::string&>();
    if (expected.size() > k_max_label_length || expected.find('\n') != std::string::npos) {
      suite.labels.clear();
      return;
    }
    suite.labels.insert(expected);
    if (suite.labels.size() > k_max_labels) {
      suite.labels.clear();
      return;
    }
  }
}

// How many cases that cannot render one error lists before "N more".
constexpr std::size_t k_max_case_errors = 20;

// Throws one ConfigError naming every case in `errors`, one per line (up to k_max_case_errors), so
// that a bad case at line 9,000 stops the run before the first model call; nothing when empty.
void throw_case_errors(const std::vector<Diagnostic>& errors) {
  std::vector<std::string> lines;
  std::set<std::string> seen;  // two models of one prompt and suite give the same errors
  for (const Diagnostic& d : errors) {
    std::string line = d.located_message();
    if (seen.insert(line).second) {
      lines.push_back(std::move(line));
    }
  }
  if (lines.empty()) {
    return;
  }
  const std::size_t total = lines.size();
  if (total > k_max_case_errors) {
    lines.resize(k_max_case_errors);
    lines.push_back(std::to_string(total - k_max_case_errors) +
                    " more cases cannot render ('git promptops lint' lists them all)");
  }
  // One line per case: the command line reports each as an error of its own.
  throw ConfigError(util::join(lines, "\n"), errors.front().hint + "; nothing was sent to the model");
}

// Adds parsed cases and their own assertions to `suite`. Throws ConfigError at file:line. Each
// case goes into the compact table as it is read, its "assert" parsed and dropped: 100,000 cases
// never exist as DatasetCase values at once. The dataset's errors come before the assertions'.
void add_cases(Suite& suite, const std::string& path, std::string_view text) {
  CaseTable cases;
  cases.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1, text.size());
  std::vector<std::vector<Assertion>> case_asserts;
  std::exception_ptr bad_assertion;  // the first case whose own assertions have an error
  EvalSpec defaults;
  defaults.default_vars = suite.default_vars;
  const std::vector<Diagnostic> diagnostics = parse_dataset(text, path, [&](DatasetCase&& c) {
    apply_default_vars(defaults, c.vars);
    if (!suite.override_vars.empty()) {
      if (!c.vars.is_object()) {
        c.vars = json::object();
      }
      c.vars.update(suite.override_vars);
    }
    ParsedAssertions own = parse_assertions(c.asserts, Location{path, c.line, 0});
    refuse_case_judge_prompts(own);
    if (!bad_assertion) {
      try {
        throw_first_error(own.diagnostics);
      } catch (const ConfigError&) {
        bad_assertion = std::current_exception();
      }
    }
    case_asserts.push_back(std::move(own.assertions));
    cases.push_back(c);
  });
  throw_first_error(diagnostics);
  if (cases.empty()) {
    throw ConfigError(path + ": dataset of prompt '" + suite.prompt + "' has no cases",
                      "add one JSON object per line: {\"vars\": {...}, \"expected\": ...}");
  }
  if (bad_assertion) {
    std::rethrow_exception(bad_assertion);
  }
  cases.shrink_to_fit();
  case_asserts.shrink_to_fit();
  if (suite.cases.empty()) {
    suite.cases = std::move(cases);  // no second copy of 100,000 cases
    suite.case_asserts = std::move(case_asserts);
    return;
  }
  suite.cases.append(cases);
  suite.case_asserts.insert(suite.case_asserts.end(), std::make_move_iterator(case_asserts.begin()),
                            std::make_move_iterator(case_asserts.end()));
}

// Parses the dataset of `suite` once, when some case must run. Throws ConfigError at file:line.
void parse_cases(Suite& suite) {
  if (suite.parsed) {
    return;
  }
  add_cases(suite, suite.dataset, suite.text);
  throw_first_error(undefined_variables(suite.asserts, suite.cases, suite.case_asserts, suite.dataset));
  suite.text = {};
  suite.text.shrink_to_fit();
  find_labels(suite);
  suite.parsed = true;
}

// The assertions and headline metric of `prompt`'s [eval]. Throws ConfigError.
void set_assertions(Suite& suite, const Prompt& prompt) {
  const EvalSpec& eval = prompt.eval;
  suite.prompt = prompt.name;
  ParsedAssertions asserts = parse_assertions(eval.asserts, eval.where);
  throw_first_error(asserts.diagnostics);
  suite.asserts = std::move(asserts.assertions);
  suite.asserts_json = eval.asserts;
  set_defaults(suite, eval);
  suite.named_metrics = declared_metrics(suite.asserts);
  suite.metric = eval.metric.empty() ? "pass_rate" : eval.metric;
  if (const std::optional<Diagnostic> unknown = check_headline_metric(eval, suite.named_metrics)) {
    throw ConfigError(eval.where.format() + ": " + unknown->message + " of prompt '" + prompt.name + "'",
                      unknown->hint);
  }
}

// The suite of `prompt`'s [eval] at `snapshot`, its dataset read but not parsed. Throws ConfigError.
std::unique_ptr<Suite> load_suite(const Snapshot& snapshot, const Prompt& prompt) {
  auto suite = std::make_unique<Suite>();
  const EvalSpec& eval = prompt.eval;
  suite->dataset = eval.dataset;
  if (eval.dataset.empty()) {
    throw ConfigError(eval.where.format() + ": [eval] of prompt '" + prompt.name + "' has no dataset",
                      "add dataset = \"evals/" + prompt.name + ".jsonl\" to [eval] in " + prompt.path);
  }
  const std::optional<std::string> path = repository_path(eval.dataset);
  if (!path) {
    throw ConfigError(eval.where.format() + ": dataset '" + eval.dataset + "' of prompt '" + prompt.name +
                          "' is outside the repository",
                      "give a path relative to the repository root in [eval] dataset of " + prompt.path);
  }
  SnapshotFile file = snapshot.fetch(*path, size_limit(FileRole::dataset));
  if (file.refused()) {
    throw ConfigError(eval.where.format() + ": " + file.problem(FileRole::dataset, eval.dataset) + " (" +
                          snapshot.label() + ")",
                      file.hint(FileRole::dataset));
  }
  if (file.kind != SnapshotFile::Kind::file) {
    throw ConfigError(eval.where.format() + ": dataset '" + eval.dataset + "' of prompt '" + prompt.name +
                          "' does not exist at " + snapshot.label(),
                      "create it, or fix [eval] dataset in " + prompt.path);
  }
  suite->dataset_sha = util::sha1_hex(file.content);
  suite->text = std::move(file.content);
  set_assertions(*suite, prompt);
  throw_first_error(read_judge_prompts(snapshot, suite->asserts));
  for (const Assertion& assertion : suite->asserts) {
    if (assertion.judge_prompt) {
      suite->judge_prompts += assertion.judge_prompt_path + '\0' + *assertion.judge_prompt + '\0';
    }
  }
  return suite;
}

// An exec scorer runs a command from a tracked file: refused before any model call unless trusted.
void require_no_exec(const Suite& suite, const Prompt& prompt) {
  const auto refuse = [&](const Assertion& assertion) {
    throw ConfigError(
        prompt.path + ": an exec assertion of prompt '" + prompt.name + "' runs `" +
            (assertion.value.is_string() ? assertion.value.get<std::string>() : assertion.value.dump()) +
            "` but this repository is not trusted to run commands",
        "read the command, then run: git config promptops.trustExec true");
  };
  const auto check = [&](const Assertion& leaf) {
    if (is_exec(leaf)) {
      refuse(leaf);
    }
  };
  for (const Assertion& assertion : suite.asserts) {
    for_each_leaf(assertion, check);
  }
  for (const std::vector<Assertion>& own : suite.case_asserts) {
    for (const Assertion& assertion : own) {
      for_each_leaf(assertion, check);
    }
  }
}

bool model_graded(const Assertion& assertion) {
  return !assertion.is_set && (assertion.type == AssertionType::llm_rubric || assertion.type == AssertionType::similar ||
                                is_model_graded(assertion.type));
}

std::size_t calls_per_sample(const Suite& suite, std::size_t index) {
  std::size_t calls = 1;
  const auto count = [&](const Assertion& leaf) { calls += model_graded(leaf) ? 1 : 0; };
  for (const Assertion& assertion : suite.asserts) {
    for_each_leaf(assertion, count);
  }
  for (const Assertion& assertion : suite.case_asserts.at(index)) {
    for_each_leaf(assertion, count);
  }
  return calls;
}

const std::vector<std::string>& metric_names() { return k_metric_names; }

bool is_pass_metric(const std::string& metric) { return metric == "pass_rate" || metric == "accuracy"; }

std::vector<std::string> named_metrics_of(const Prompt& prompt) {
  Suite suite;
  ParsedAssertions asserts = parse_assertions(prompt.eval.asserts, prompt.eval.where);
  suite.asserts = std::move(asserts.assertions);
  read_defaults(suite, prompt.eval);
  return declared_metrics(suite.asserts);
}

std::vector<Diagnostic> lint_eval(const Snapshot& snapshot, const std::vector<std::string>& names) {
  std::vector<Diagnostic> out;
  const ParsedConfig config = load_config(snapshot);
  for (const PromptFile& file : find_prompts(snapshot, config.config)) {
    if (!names.empty() && std::find(names.begin(), names.end(), file.name) == names.end()) {
      continue;
    }
    std::optional<Prompt> prompt;
    try {
      prompt = load_prompt(snapshot, file);
    } catch (const Error&) {
      continue;
    }
    if (!prompt->eval.present) {
      continue;
    }
    const EvalSpec& eval = prompt->eval;
    ParsedAssertions asserts = parse_assertions(eval.asserts, eval.where);
    out.insert(out.end(), asserts.diagnostics.begin(), asserts.diagnostics.end());
    Suite defaults;
    const std::vector<Diagnostic> bad_defaults = read_defaults(defaults, eval);
    out.insert(out.end(), bad_defaults.begin(), bad_defaults.end());
    asserts.assertions.insert(asserts.assertions.end(), std::make_move_iterator(defaults.asserts.begin()),
                              std::make_move_iterator(defaults.asserts.end()));
    const std::vector<Diagnostic> judges = read_judge_prompts(snapshot, asserts.assertions);
    out.insert(out.end(), judges.begin(), judges.end());
    lint_case_assertions(snapshot, eval, asserts.assertions, out);
    if (std::optional<Diagnostic> unknown = check_headline_metric(eval, declared_metrics(asserts.assertions))) {
      out.push_back(std::move(*unknown));
    }
  }
  return out;
}

}  // namespace promptops::eval
