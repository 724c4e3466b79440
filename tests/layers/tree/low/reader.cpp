// SPDX-License-Identifier: MIT
// The checker's own test tree: a low layer that reaches up into the high one.
#include "promptops/high/report.hpp"
#include "high/private.hpp"
#include "helper.hpp"
