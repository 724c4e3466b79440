// SPDX-License-Identifier: MIT
// The fixes that lower layers name as data (an Error's remedy()), worded here with the flags.
#include "remedies.hpp"

#include <promptops/prompt/prompt.hpp>
#include <promptops/util/strings.hpp>
#include <promptops/workflows/bisect.hpp>

namespace promptops::cli {

namespace {

std::string missing_variables_words(const MissingVariables& remedy) {
  std::string out = "pass";
  for (const std::string& name : remedy.names) {
    out += " --var " + name + "=VALUE";
  }
  return out + " or --vars FILE.json";
}

std::string bisect_words(const BisectRemedy& remedy) {
  using Kind = BisectRemedy::Kind;
  switch (remedy.kind) {
    case Kind::bad_side_with_prompt:
      return "name a bad revision that has it: --bad REV (git promptops log " + remedy.prompt +
             " lists its versions)";
    case Kind::older_good_side:
      return "name an older good revision: --good REV";
    case Kind::good_side_that_evaluates:
      return "name a good revision where it can: --good REV";
    case Kind::widen_range:
      return "a regression there is not in this prompt: check another prompt, or widen the range with --good";
    case Kind::older_good_or_lower_bar:
      return "name an older good revision with --good, or a lower threshold";
    case Kind::later_good_or_own_suites:
      return "name a later good revision, or judge each version by its own dataset: --suite-at each";
    case Kind::own_suites_dataset_changed:
      return "the dataset " + remedy.dataset + " changed in this range (at " + remedy.commit +
             ") and every version is judged by the bad side's: --suite-at each judges each by its own";
    case Kind::own_suites_for_dataset_drops:
      return "every version is judged by the bad side's dataset; a drop that came with a dataset change shows "
             "with --suite-at each";
    case Kind::metric_without_labels:
      return "use --metric " + util::join(remedy.metrics, " or ") +
             ", or give the cases one-line \"expected\" labels";
  }
  return "";
}

std::string remedy_words(const Remedy& remedy) {
  if (const auto* missing = dynamic_cast<const MissingVariables*>(&remedy)) {
    return missing_variables_words(*missing);
  }
  if (const auto* bisect = dynamic_cast<const BisectRemedy*>(&remedy)) {
    return bisect_words(*bisect);
  }
  return "";
}

}  // namespace

std::string hint_line(const Error& error) {
  const std::string words = error.remedy() ? remedy_words(*error.remedy()) : "";
  if (words.empty() || error.hint().empty()) {
    return words + error.hint();
  }
  return words + "; " + error.hint();
}

}  // namespace promptops::cli
