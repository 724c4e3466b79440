// SPDX-License-Identifier: MIT
// Suite loading: a prompt's [eval] dataset and assertions, read, parsed and checked before the
// first model call; and lint_eval(), which reports the same problems without stopping.
#include "suite.hpp"

#include <algorithm>

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

std::string first_error(const std::vector<Diagnostic>& diagnostics, std::string* hint) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::error) {
      *hint = d.hint;
      return d.located_message();
    }
  }
  return {};
}


// An error for each variable that an assertion uses and a case does not define (which would
// render as nothing, so that `contains "{{missing}}"` passed every output). The prompt's
// assertions are reported at the first case that lacks the variable, with a count of the others.
std::vector<Diagnostic> undefined_variables(const std::vector<Assertion>& prompt_asserts,
                                            const std::vector<DatasetCase>& cases,
                                            const std::vector<std::vector<Assertion>>& case_asserts,
                                            const std::string& dataset) {
  std::vector<Diagnostic> out;
  const auto report = [&](const DatasetCase& c, const Assertion& assertion, const std::string& name,
                          std::size_t others) {
    const bool own = assertion.where.file == dataset && assertion.where.line == c.line;
    std::string message = "case '" + c.id + "' does not define variable '" + name + "' used by " +
                          (own ? "its own assertion" : "the assertion at " + assertion.where.format());
    if (others > 0) {
      message += " (nor do " + std::to_string(others) + " other cases)";
    }
    out.push_back(Diagnostic{Severity::error, Location{dataset, c.line, 0}, "undefined-variable", message,
                             "add \"" + name + "\" to the case's vars, or remove {{" + name + "}} from the assertion"});
  };
  for (const Assertion& assertion : prompt_asserts) {
    for (const std::string& name : assertion.variables) {
      const DatasetCase* first = nullptr;
      std::size_t others = 0;
      for (const DatasetCase& c : cases) {
        const bool defined = name == "expected" ? !c.expected.is_null() || (c.vars.is_object() && c.vars.contains(name))
                                                : c.vars.is_object() && c.vars.contains(name);
        if (defined) {
          continue;
        }
        if (first == nullptr) {
          first = &c;
        } else {
          ++others;
        }
      }
      if (first != nullptr) {
        report(*first, assertion, name, others);
      }
    }
  }
  for (std::size_t i = 0; i < cases.size() && i < case_asserts.size(); ++i) {
    const json context = make_template_context(cases[i].vars, cases[i].expected);
    for (const Assertion& assertion : case_asserts[i]) {
      if (const std::string name = missing_variable(assertion, context); !name.empty()) {
        report(cases[i], assertion, name, 0);
      }
    }
  }
  return out;
}

bool is_exec(const Assertion& assertion) { return assertion.type == AssertionType::exec; }

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
  const ParsedDataset parsed = parse_dataset(file.content, eval.dataset);
  std::vector<std::vector<Assertion>> case_asserts;
  for (const DatasetCase& c : parsed.cases) {
    ParsedAssertions own = parse_assertions(c.asserts, Location{eval.dataset, c.line, 0});
    out.insert(out.end(), own.diagnostics.begin(), own.diagnostics.end());
    case_asserts.push_back(std::move(own.assertions));
  }
  const std::vector<Diagnostic> undefined =
      undefined_variables(prompt_asserts, parsed.cases, case_asserts, eval.dataset);
  out.insert(out.end(), undefined.begin(), undefined.end());
}

}  // namespace

void throw_first_error(const std::vector<Diagnostic>& diagnostics) {
  std::string hint;
  const std::string message = first_error(diagnostics, &hint);
  if (!message.empty()) {
    throw ConfigError(message, hint);
  }
}

// Finds the suite's labels: the distinct expected values when every case expects a short one-line
// string and there are at most k_max_labels of them.
void find_labels(Suite& suite) {
  suite.labels.clear();
  for (const DatasetCase& c : suite.cases) {
    if (!c.expected.is_string()) {
      suite.labels.clear();
      return;
    }
    const std::string& expected = c.expected.get_ref<const std::string&>();
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

// Adds parsed cases and their own assertions to `suite`. Throws ConfigError at file:line. A
// case's "assert" JSON is dropped once parsed: 100,000 cases keep only what scoring reads.
void add_cases(Suite& suite, const std::string& path, std::string_view text) {
  ParsedDataset parsed = parse_dataset(text, path);
  throw_first_error(parsed.diagnostics);
  if (parsed.cases.empty()) {
    throw ConfigError(path + ": dataset of prompt '" + suite.prompt + "' has no cases",
                      "add one JSON object per line: {\"vars\": {...}, \"expected\": ...}");
  }
  suite.case_asserts.reserve(suite.case_asserts.size() + parsed.cases.size());
  for (DatasetCase& c : parsed.cases) {
    ParsedAssertions own = parse_assertions(c.asserts, Location{path, c.line, 0});
    throw_first_error(own.diagnostics);
    suite.case_asserts.push_back(std::move(own.assertions));
    c.asserts = json();
  }
  if (suite.cases.empty()) {
    suite.cases = std::move(parsed.cases);  // no second copy of 100,000 cases while it grows
    return;
  }
  suite.cases.insert(suite.cases.end(), std::make_move_iterator(parsed.cases.begin()),
                     std::make_move_iterator(parsed.cases.end()));
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
  suite.metric = eval.metric.empty() ? "pass_rate" : eval.metric;
  if (std::find(k_metric_names.begin(), k_metric_names.end(), suite.metric) == k_metric_names.end()) {
    const std::string close = did_you_mean(suite.metric, k_metric_names);
    throw ConfigError(
        eval.where.format() + ": unknown metric '" + suite.metric + "' in [eval] of prompt '" + prompt.name +
            "'",
        close.empty() ? "use one of: " + util::join(k_metric_names, ", ") : "did you mean '" + close + "'?");
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
  for (const Assertion& assertion : suite.asserts) {
    if (is_exec(assertion)) {
      refuse(assertion);
    }
  }
  for (const std::vector<Assertion>& own : suite.case_asserts) {
    for (const Assertion& assertion : own) {
      if (is_exec(assertion)) {
        refuse(assertion);
      }
    }
  }
}

bool model_graded(const Assertion& assertion) {
  return assertion.type == AssertionType::llm_rubric || assertion.type == AssertionType::similar;
}

std::size_t calls_per_sample(const Suite& suite, std::size_t index) {
  std::size_t calls = 1;
  for (const Assertion& assertion : suite.asserts) {
    calls += model_graded(assertion) ? 1 : 0;
  }
  for (const Assertion& assertion : suite.case_asserts.at(index)) {
    calls += model_graded(assertion) ? 1 : 0;
  }
  return calls;
}

const std::vector<std::string>& metric_names() { return k_metric_names; }

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
    lint_case_assertions(snapshot, eval, asserts.assertions, out);
    if (!eval.metric.empty() &&
        std::find(k_metric_names.begin(), k_metric_names.end(), eval.metric) == k_metric_names.end()) {
      const std::string close = did_you_mean(eval.metric, k_metric_names);
      Diagnostic d;
      d.severity = Severity::error;
      d.where = eval.where;
      d.code = "unknown-metric";
      d.message = "unknown metric '" + eval.metric + "' in [eval]";
      d.hint =
          close.empty() ? "use one of: " + util::join(k_metric_names, ", ") : "did you mean '" + close + "'?";
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace promptops::eval
