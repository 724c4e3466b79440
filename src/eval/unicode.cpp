// SPDX-License-Identifier: MIT
// Case folding and NFC through utf8proc, one valid UTF-8 run at a time.
#include "unicode.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include <promptops/util/handle.hpp>

namespace promptops::inline eval {

namespace {

// The length of the valid UTF-8 code point at the start of `text`, or 0 when it is not one.
std::size_t code_point_length(std::string_view text) {
  utf8proc_int32_t code_point = 0;
  const utf8proc_ssize_t length =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                       static_cast<utf8proc_ssize_t>(text.size()), &code_point);
  return length > 0 ? static_cast<std::size_t>(length) : 0;
}

// Appends `run` (valid UTF-8) mapped by utf8proc; unchanged if utf8proc refuses it.
void append_mapped(std::string& out, std::string_view run, utf8proc_option_t options) {
  utf8proc_uint8_t* raw = nullptr;
  const utf8proc_ssize_t length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                                               static_cast<utf8proc_ssize_t>(run.size()), &raw, options);
  const util::Handle<utf8proc_uint8_t, std::free> mapped(raw);
  if (length < 0 || !mapped) {
    out += run;
    return;
  }
  out.append(reinterpret_cast<const char*>(mapped.get()), static_cast<std::size_t>(length));
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

}  // namespace

std::string_view comparable_view(std::string_view text, TextForm form, std::string& storage) {
  if (form.leaves_text()) {
    return text;
  }
  storage = comparable_text(text, form);
  return storage;
}

std::string comparable_text(std::string_view text, TextForm form) {
  if (form.leaves_text()) {
    return std::string(text);
  }
  if (is_ascii(text)) {  // NFC leaves ASCII as it is, and folding it is lower-casing A-Z
    std::string out(text);
    if (form.fold_case) {
      for (char& c : out) {
        c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
    }
    return out;
  }
  int options = 0;
  if (form.fold_case) {
    options |= UTF8PROC_CASEFOLD;
  }
  if (form.nfc) {
    options |= UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  }
  std::string out;
  out.reserve(text.size());
  std::size_t run_start = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = code_point_length(text.substr(pos));
    if (length > 0) {
      pos += length;
      continue;
    }
    append_mapped(out, text.substr(run_start, pos - run_start), static_cast<utf8proc_option_t>(options));
    out += text[pos];  // not UTF-8: kept as the byte it is
    run_start = ++pos;
  }
  append_mapped(out, text.substr(run_start), static_cast<utf8proc_option_t>(options));
  return out;
}

}  // namespace promptops::eval
