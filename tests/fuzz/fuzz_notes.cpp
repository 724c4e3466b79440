// SPDX-License-Identifier: MIT
// Fuzzes the lines of an evaluation note (refs/notes/promptops, fetched from anyone): each line
// is read as a JSON object as git::read_note does, and the objects go through latest_eval_note
// (what `log` and `diff` show) and EvalResult::from_json (what `eval` takes from notes instead of
// calling the model).
#include <promptops/eval/eval.hpp>

#include "fuzz_support.hpp"

using namespace promptops;

namespace {

// One JSON object per non-empty line ('\r\n' allowed); other lines are another tool's and skipped.
// The same reading as read_note in src/git/notes.cpp, which needs a repository to call.
std::vector<nlohmann::json> note_entries(std::string_view text) {
  std::vector<nlohmann::json> entries;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (!value.is_discarded() && value.is_object()) {
      entries.push_back(std::move(value));
    }
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<nlohmann::json> entries = note_entries(fuzz::as_text(data, size));
  for (const char* prompt : {"p", "support/classify"}) {
    if (const std::optional<EvalResult> result = latest_eval_note(entries, prompt)) {
      result->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  for (const nlohmann::json& entry : entries) {
    fuzz::allow_error([&] { EvalResult::from_json(entry); });
  }
  return 0;
}
