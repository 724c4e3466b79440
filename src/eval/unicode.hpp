// SPDX-License-Identifier: MIT
// Unicode text for comparisons (utf8proc): full case folding and NFC, robust to invalid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace promptops::inline eval {

// How two texts are made comparable.
struct TextForm {
  bool fold_case = false;  // Unicode full case folding: É/é, K (Kelvin)/k, ς/σ/Σ, Д/д
  bool nfc = false;        // Unicode normalization form C: é (U+00E9) and e + U+0301 are equal

  bool leaves_text() const { return !fold_case && !nfc; }  // whether every text is in this form
};

// `text` in `form`. Valid UTF-8 runs are folded and normalized; a byte that is not part of
// valid UTF-8 is kept as it is, so invalid text compares byte for byte around the valid parts.
std::string comparable_text(std::string_view text, TextForm form);
// The same as a view: of `text` itself when the form leaves it as it is, else of `storage`.
std::string_view comparable_view(std::string_view text, TextForm form, std::string& storage);

}  // namespace promptops::eval
