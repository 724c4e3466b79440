// SPDX-License-Identifier: MIT
// Colour and terminal policy, decided per stream: the mode asked for (auto, always, never), TERM, NO_COLOR.
#pragma once

#include <cstdio>

namespace promptops::output {

enum class ColorMode { auto_, always, never };

bool is_terminal(std::FILE* stream);
// auto: a terminal, TERM set and not "dumb", and NO_COLOR empty or unset.
bool use_color(ColorMode mode, std::FILE* stream);
// The terminal's width in columns, or 0 when not a terminal.
std::size_t terminal_width(std::FILE* stream);

}  // namespace promptops::output
