// SPDX-License-Identifier: MIT
// The checker's own test tree: a low layer that reaches up into the high one.
#include "promptops/high/report.hpp"
#include "high/private.hpp"
#include "helper.hpp"
// A comment may name --offline: only strings reach the user.
const char* k_ours = "name an older good revision: --good REV";
const char* k_gits = "run: git config --global --add safe.directory DIR";
const char* k_our_command = "see git promptops log --all";
const char* k_raw = R"(use --vars FILE.json)";
const char k_dash = '-';
const char* k_decrement = "--";
/* nor a block comment: --color */
