// SPDX-License-Identifier: MIT
// Flipped cases in text, Markdown and JSON.
#include "flip_cases.hpp"

#include <promptops/output/markdown.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

using json = nlohmann::json;

std::string vars_excerpt(const json& vars) {
  if (vars.is_object() && vars.size() == 1) {
    const json& only = vars.begin().value();
    return one_line_excerpt(only.is_string() ? only.get<std::string>() : only.dump(), 60);
  }
  return one_line_excerpt(vars.dump(), 60);
}

// The case as a listing shows it: its description when the dataset gives one, else its vars.
std::string input_excerpt(const CaseRecord& record) {
  return record.description.empty() ? vars_excerpt(record.vars) : one_line_excerpt(record.description, 60);
}

std::string expected_excerpt(const json& expected) {
  if (expected.is_null()) {
    return "";
  }
  return one_line_excerpt(expected.is_string() ? expected.get<std::string>() : expected.dump(), 40);
}

std::string output_excerpt(const std::optional<CaseRecord>& record) {
  if (!record) {
    return "(not recorded here)";
  }
  return record->error.empty() ? one_line_excerpt(record->output, 60) : "(no answer: " + record->error + ")";
}

const CaseRecord* any_record(const FlipCase& flip) {
  return flip.after ? &*flip.after : flip.before ? &*flip.before : nullptr;
}

json record_json(const std::optional<CaseRecord>& record) {
  if (!record) {
    return nullptr;
  }
  json out = {{"vars", record->vars}, {"expected", record->expected}, {"output", record->output},
              {"pass", record->pass}, {"score", record->score},       {"reasons", record->reasons},
              {"error", record->error}};
  if (!record->description.empty()) {
    out["description"] = record->description;
  }
  if (!record->metadata.is_null()) {
    out["metadata"] = record->metadata;
  }
  return out;
}

}  // namespace

std::string flip_text(const FlipCase& flip, const std::string& indent) {
  const CaseRecord* any = any_record(flip);
  std::string out = indent + (flip.now_passing ? "fail → pass " : "pass → fail ") + flip.id;
  if (any != nullptr) {
    out += ": " + input_excerpt(*any);
    const std::string expected = expected_excerpt(any->expected);
    if (!expected.empty()) {
      out += " (expected " + expected + ")";
    }
  }
  return out + "\n" + indent + "  before: " + output_excerpt(flip.before) + "\n" + indent +
         "  after:  " + output_excerpt(flip.after) + "\n";
}

std::string flips_markdown(const FlippedCases& flips) {
  if (flips.cases.empty()) {
    return "";
  }
  std::string out = "Flipped cases: " + std::to_string(flips.pass_to_fail) + " pass → fail, " +
                    std::to_string(flips.fail_to_pass) + " fail → pass\n\n";
  out += "| case | flip | input | expected | before | after |\n|---|---|---|---|---|---|\n";
  for (const FlipCase& flip : flips.cases) {
    const CaseRecord* any = any_record(flip);
    out += "| `" + output::md_cell(flip.id) + "` | " + (flip.now_passing ? "fail → pass" : "pass → fail") + " | " +
           output::md_cell(any ? input_excerpt(*any) : "") + " | " +
           output::md_cell(any ? expected_excerpt(any->expected) : "") + " | " +
           output::md_cell(output_excerpt(flip.before)) + " | " + output::md_cell(output_excerpt(flip.after)) + " |\n";
  }
  if (flips.total() > flips.cases.size()) {
    out += "\n(" + std::to_string(flips.total() - flips.cases.size()) +
           " more not shown; `--format json` lists all)\n";
  }
  return out;
}

json flip_json(const FlipCase& flip) {
  return {{"id", flip.id},
          {"flip", flip.now_passing ? "fail_to_pass" : "pass_to_fail"},
          {"before", record_json(flip.before)},
          {"after", record_json(flip.after)}};
}

}  // namespace promptops::cli
