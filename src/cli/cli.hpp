// SPDX-License-Identifier: MIT
// The command line: parse, dispatch to src/cli/<command>.cpp, map errors to exit statuses.
#pragma once

namespace promptops::cli {

// Runs `git promptops ARGS...` and returns the exit status. Every promptops::Error is caught
// here and printed as one "git-promptops: error: ..." line (plus its hint).
int main(int argc, char** argv);

}  // namespace promptops::cli
