// SPDX-License-Identifier: MIT
// The control for upward_include.cpp: the same include from a target that links promptops_eval
// compiles, so the failure there comes from the layering and nothing else.
#include "promptops/eval/eval.hpp"

int layer_probe_downward() { return 0; }
