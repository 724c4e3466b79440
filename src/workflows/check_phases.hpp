// SPDX-License-Identifier: MIT
// The step of `check` that decides what a change touches, for unit tests.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <promptops/config/config.hpp>
#include <promptops/prompt/registry.hpp>

namespace promptops::inline workflows::check_phases {

// The prompts a change touches: those whose file changed (a prompt under the candidate's or the
// baseline's roots), those whose dataset changed (a changed dataset file that the prompt's [eval]
// names), and every prompt at the candidate when the config file changed.
std::set<std::string> touched_prompts(const std::vector<std::string>& changed, const Snapshot& candidate,
                                      const Config& candidate_config, const std::optional<Config>& baseline_config);

}  // namespace promptops::workflows::check_phases
