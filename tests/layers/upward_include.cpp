// SPDX-License-Identifier: MIT
// Built only by the test "an upward include fails the build": a file of the util layer (it links
// promptops_util alone) that includes a header of the eval layer above it. It must not compile.
#include "promptops/eval/eval.hpp"

int layer_probe_upward() { return 0; }
