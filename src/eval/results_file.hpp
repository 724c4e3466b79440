// SPDX-License-Identifier: MIT
// The per-case results of one evaluation: <dir>/<key>.jsonl, written as <key>.jsonl.partial while
// the evaluation runs and renamed when its last case is in.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <promptops/util/handle.hpp>

namespace promptops::inline eval {

// Owns the open .partial file. Whatever ends the run early (an interrupt, an auth error, an
// exception from scoring), the destructor closes the file with every line written so far, and the
// .partial stays for inspection; only finish() makes the .jsonl. Nothing is created before the
// first line.
class ResultsFile {
 public:
  ResultsFile() = default;
  ResultsFile(ResultsFile&&) noexcept = default;
  ResultsFile& operator=(ResultsFile&&) noexcept = default;

  // Appends `line` (with its newline) to <dir>/<key>.jsonl.partial, creating `dir` and the file on
  // the first call. Throws Error when the file cannot be created.
  void append(const std::filesystem::path& dir, const std::string& key, std::string_view line);

  // Closes the file and renames it to <key>.jsonl: that path, or "" when nothing was written or
  // the rename failed (the .partial then stays).
  std::string finish();

  // Closes an unfinished file; its .partial stays.
  void close() noexcept { m_file.reset(); }

  bool is_open() const noexcept { return m_file != nullptr; }

 private:
  util::Handle<std::FILE, std::fclose> m_file;
  std::filesystem::path m_path;  // the final name, <key>.jsonl
};

}  // namespace promptops::eval
