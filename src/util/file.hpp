// SPDX-License-Identifier: MIT
// Files: whole reads, and atomic writes (temp file, fsync, rename) that never leave a torn file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace promptops::util {

// The whole file, or nullopt when it does not exist or is a directory. Throws Error on other
// I/O errors.
std::optional<std::string> read_file(const std::filesystem::path& path);

// Writes `content` to a temp file beside `path`, fsyncs it and renames it over `path`, creating
// parent directories. Readers see the old or the new file, never a mix. Throws Error.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write |
                                                     std::filesystem::perms::group_read |
                                                     std::filesystem::perms::others_read);

}  // namespace promptops::util
