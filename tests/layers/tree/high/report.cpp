// SPDX-License-Identifier: MIT
#include "promptops/high/report.hpp"
#include "promptops/low/reader.hpp"
#include "private.hpp"
#include <git2.h>
