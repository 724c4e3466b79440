// SPDX-License-Identifier: MIT
// Colour and terminal policy, decided per stream: the mode asked for (auto, always, never), TERM, NO_COLOR.
#include <promptops/output/terminal.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace promptops::output {

bool is_terminal(std::FILE* stream) { return ::isatty(::fileno(stream)) != 0; }

bool use_color(ColorMode mode, std::FILE* stream) {
  if (mode != ColorMode::auto_) {
    return mode == ColorMode::always;
  }
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0) {
    return false;
  }
  return is_terminal(stream);
}

std::size_t terminal_width(std::FILE* stream) {
  if (!is_terminal(stream)) {
    return 0;
  }
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) != 0 || size.ws_col == 0) {
    return 80;
  }
  return size.ws_col;
}

}  // namespace promptops::output
