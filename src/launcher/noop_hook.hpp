// SPDX-License-Identifier: MIT
// The launcher's own answer to a pre-commit hook that has nothing to check, given without loading
// the core (libgit2, libcurl and ~40 shared libraries).
#pragma once

namespace promptops::launcher {

// True when the arguments are exactly `hook pre-commit` and no staged path can touch a prompt:
// none is the config, has a dataset extension or lies under a prompt root, by the record that the
// core's last pre-commit hook left in <git-dir>/promptops/pre-commit-filter for the config entry
// the index still holds. The hook then passes silently, as the core would. False whenever anything
// is unsure (no record, another config, tracing on, git failing): the core decides.
bool noop_pre_commit(int argc, char** argv);

}  // namespace promptops::launcher
