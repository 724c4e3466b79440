// SPDX-License-Identifier: MIT
// The per-case results file of one evaluation: appended while it runs, renamed when it ends.
#include "results_file.hpp"

#include <system_error>

#include <promptops/util/error.hpp>

namespace promptops::inline eval {

namespace {

std::filesystem::path partial_of(const std::filesystem::path& path) { return path.string() + ".partial"; }

}  // namespace

void ResultsFile::append(const std::filesystem::path& dir, const std::string& key, std::string_view line) {
  if (m_file == nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    m_path = dir / (key + ".jsonl");
    m_file.reset(std::fopen(partial_of(m_path).c_str(), "w"));
    if (m_file == nullptr) {
      throw Error("cannot write " + partial_of(m_path).string());
    }
  }
  std::fwrite(line.data(), 1, line.size(), m_file.get());
  std::fputc('\n', m_file.get());
}

std::string ResultsFile::finish() {
  if (m_file == nullptr) {
    return {};
  }
  m_file.reset();
  std::error_code ec;
  std::filesystem::rename(partial_of(m_path), m_path, ec);
  return ec ? std::string() : m_path.string();
}

}  // namespace promptops::eval
