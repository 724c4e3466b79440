// SPDX-License-Identifier: MIT
// Files: whole reads, reads inside a tree that follow no link, and atomic writes (temp file,
// fsync, rename) that never leave a torn file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace promptops::util {

// The whole file, or nullopt when it does not exist or is a directory. Throws Error on other
// I/O errors.
std::optional<std::string> read_file(const std::filesystem::path& path);

// What read_beneath found at a path.
struct TreeFile {
  enum class Kind {
    regular,    // `bytes` holds the content
    missing,    // nothing there, a directory, or a path through a regular file
    link,       // a symbolic link at `link` (the path or a directory above it); `bytes` = its target
    special,    // a fifo, device or socket: never read
    too_large,  // a regular file of more than the limit; `size` is what was found
  };
  Kind kind = Kind::missing;
  std::string bytes;
  std::string link;
  std::uint64_t size = 0;
};

// Reads the regular file at `relative` ('/'-separated, no "." or ".." parts) under the directory
// `root` as git reads a work tree: no symbolic link below `root` is followed (a link is reported
// with its target, read with readlink and never opened), a fifo or device is not opened for
// reading, and at most `max_bytes` are read (a larger file, or one that grows past it while being
// read, is too_large). `root` itself may be reached through links. Throws Error on other I/O
// errors.
TreeFile read_beneath(const std::filesystem::path& root, std::string_view relative, std::uint64_t max_bytes);

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
