// SPDX-License-Identifier: MIT
// The fixes that lower layers name as data (an Error's remedy()), worded here with the flags.
#pragma once

#include <string>

#include <promptops/util/error.hpp>

namespace promptops::cli {

// The hint line of `error`: its remedy in words, then its hint(), joined by "; ". Empty when it
// has neither.
std::string hint_line(const Error& error);

}  // namespace promptops::cli
