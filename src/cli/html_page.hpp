// SPDX-License-Identifier: MIT
// An evaluation report as the HTML page (output/html_report.hpp): eval --format html, eval -o
// FILE.html and report.
#pragma once

#include <string>
#include <vector>

#include <promptops/eval/eval.hpp>
#include <promptops/git/git.hpp>

namespace promptops::cli {

// The cases of at most this many evaluations of a prompt are shown side by side (the newest).
constexpr std::size_t k_html_case_columns = 4;

// The page of `report`: per prompt, the headline metric of each row over history (with aliases),
// every row as a column (against the first with a result, by the exact McNemar test on the shared
// cases), the cases of the newest k_html_case_columns distinct evaluations side by side from their
// results files, and the cases that flipped between the last two with the prompt's word diff.
// `command` is shown as what made the page, and `notes` as lines under the title.
std::string html_page(git::Repository& repo, const EvalReport& report, const std::string& title,
                      const std::string& command, const std::vector<std::string>& notes = {});

}  // namespace promptops::cli
