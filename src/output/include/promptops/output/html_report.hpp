// SPDX-License-Identifier: MIT
// The HTML report: one self-contained page (inline CSS, inline SVG, a small inline script the
// page reads without) from a neutral model that the commands fill from evaluations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace promptops::output {

struct HtmlInterval {
  double low = 0.0;
  double high = 0.0;
};

// One version of a prompt on the trend chart.
struct HtmlPoint {
  std::string label;                 // "v3"
  std::string title;                 // shown on hover: commit and subject
  std::vector<std::string> aliases;  // marked under the point
  std::optional<double> value;       // nullopt: not evaluated
  std::optional<HtmlInterval> interval;
};

// One evaluation shown as a column: a version, a model, or both.
struct HtmlColumn {
  std::string label;  // "v3 · local/echo-1"
  std::string metric;
  std::optional<double> value;  // nullopt: not evaluated (then `missing` says how to get it)
  std::optional<HtmlInterval> interval;
  std::size_t cases = 0;
  std::size_t passed = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost = 0.0;
  std::optional<double> p50_ms;
  std::optional<double> p95_ms;
  std::optional<double> delta;    // value minus the baseline's (the first column); none for it
  std::optional<double> p_value;  // the paired test against the baseline
  bool baseline = false;  // the first column with a value: the others are tested against it
  bool best = false;
  std::string key;      // the eval key
  std::string command;  // the command that reproduces the column
  std::string missing;  // why there is no value; empty with one
};

// One case in one column.
struct HtmlCell {
  char outcome = 0;  // 'p' pass, 'f' fail, 'x' flaky, 'e' no answer, 0 not run
  std::string output;
  std::vector<std::string> reasons;
  std::string error;
};

struct HtmlCase {
  std::string id;
  std::string description;
  std::vector<HtmlCell> cells;  // one per column of its section's case table
};

struct HtmlDiffRun {
  char kind = '=';  // '=' equal, '+' inserted, '-' deleted
  std::string text;
};

// The cases that changed between two columns and the prompt's word diff between them.
struct HtmlFlips {
  std::string from;
  std::string to;
  std::vector<std::string> pass_to_fail;
  std::vector<std::string> fail_to_pass;
  std::vector<HtmlDiffRun> prompt_diff;  // empty when the prompt text is the same
};

struct HtmlSection {
  std::string prompt;
  std::string metric;
  std::vector<HtmlPoint> history;            // oldest first
  std::vector<HtmlColumn> columns;           // the first is the baseline
  std::vector<std::string> case_columns;     // the labels of the case table's columns
  std::vector<HtmlCase> cases;
  std::optional<HtmlFlips> flips;
};

struct HtmlReport {
  std::string title;
  std::string command;  // the command that made the page
  std::vector<std::string> notes;  // lines under the title (review: the gate's verdicts), as text
  std::vector<HtmlSection> sections;
};

// The longest output a cell shows; the rest is counted, and kept in the results file.
constexpr std::size_t k_html_output_bytes = 4000;

// `text` safe in HTML and XML text and double-quoted attributes (the page, JUnit): & < > " '
// escaped, control characters other than tab, newline and carriage return as spaces (XML 1.0 has
// no way to write them), and bytes that are not valid UTF-8 replaced by U+FFFD.
std::string html_escape(std::string_view text);

// "pass", "fail", "flaky" or "error" for an outcome ('p', 'f', 'x', 'e'); "none" for anything else.
const char* outcome_word(char outcome);

// The page.
std::string render_html(const HtmlReport& report);

}  // namespace promptops::output
