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

enum class Sync {
  full,  // fsync before the rename: the new content survives a power loss
  none,  // no fsync (~5 ms saved per file on ext4): a killed process still never leaves a torn
         // file, but after a power loss the entry may be empty, which readers must treat as absent
};

// Writes `content` to a temp file beside `path`, fsyncs it (unless `sync` is none) and renames it
// over `path`, creating parent directories. Readers see the old or the new file, never a mix.
// Throws Error.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write |
                                                     std::filesystem::perms::group_read |
                                                     std::filesystem::perms::others_read,
                       Sync sync = Sync::full);

}  // namespace promptops::util
