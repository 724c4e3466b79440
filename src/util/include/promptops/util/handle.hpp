// SPDX-License-Identifier: MIT
// Owning handles for C library objects: a unique_ptr whose deleter is the library's free function.
#pragma once

#include <memory>

namespace promptops::util {

// Calls `Free` on a non-null pointer (unique_ptr never calls a deleter with null).
template <class T, auto Free>
struct FreeWith {
  void operator()(T* p) const noexcept { Free(p); }
};

// A `T*` owned and released with `Free`: Handle<git_commit, git_commit_free>,
// Handle<pcre2_code, pcre2_code_free>, Handle<std::FILE, std::fclose>. Nothing is freed by hand.
template <class T, auto Free>
using Handle = std::unique_ptr<T, FreeWith<T, Free>>;

}  // namespace promptops::util
