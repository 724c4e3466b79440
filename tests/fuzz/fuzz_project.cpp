// SPDX-License-Identifier: MIT
// Fuzzes a whole project as `lint` and `eval` read it from a clone: .promptops.toml, the prompt
// files it selects, their templates, datasets and [eval] assertions (lint + lint_eval).
//
// Input: files separated by lines "=== PATH"; the text before the first such line is
// .promptops.toml. Paths are used as written, so "../x" and "/etc/passwd" get tried too.
#include <map>

#include <promptops/eval/eval.hpp>
#include <promptops/prompt/registry.hpp>

#include "fuzz_support.hpp"

using namespace promptops;

namespace {

// A project held in memory; list() is what a commit's tree gives (recursive, sorted, no hidden).
class MemorySnapshot final : public Snapshot {
 public:
  explicit MemorySnapshot(std::string_view input) {
    std::string path = ".promptops.toml";
    std::string content;
    while (!input.empty()) {
      const std::size_t end = input.find('\n');
      const std::string_view line = input.substr(0, end == std::string_view::npos ? input.size() : end + 1);
      input.remove_prefix(line.size());
      if (line.starts_with("=== ")) {
        m_files[path] = std::move(content);
        content.clear();
        path = std::string(line.substr(4, line.size() - 4 - (line.back() == '\n' ? 1 : 0)));
      } else {
        content += line;
      }
    }
    m_files[path] = std::move(content);
  }

  // A file held in memory is a regular file; one over `max_bytes` is refused as too large.
  SnapshotFile fetch(const std::string& path, std::uint64_t max_bytes) const override {
    SnapshotFile out;
    const auto it = m_files.find(path);
    if (it == m_files.end()) {
      return out;
    }
    out.size = it->second.size();
    out.kind = out.size > max_bytes ? SnapshotFile::Kind::too_large : SnapshotFile::Kind::file;
    if (out.kind == SnapshotFile::Kind::file) {
      out.content = it->second;
    }
    return out;
  }
  bool exists(const std::string& path) const override { return m_files.count(path) != 0; }
  std::vector<std::string> list(const std::string& dir, std::vector<SnapshotLink>* /*links*/) const override {
    const std::string prefix = dir.empty() || dir == "." ? "" : (dir.ends_with('/') ? dir : dir + "/");
    std::vector<std::string> out;
    for (const auto& [path, content] : m_files) {
      if (path.starts_with(prefix) && path.find("/.") == std::string::npos && !path.starts_with(".")) {
        out.push_back(path);
      }
    }
    return out;
  }
  std::optional<git::Oid> commit() const override { return std::nullopt; }

 private:
  std::map<std::string, std::string> m_files;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const MemorySnapshot snapshot(fuzz::as_text(data, size));
  // lint and lint_eval report bad files as diagnostics; they throw only for I/O failures.
  for (const Diagnostic& diagnostic : lint(snapshot)) {
    diagnostic.format();
  }
  lint_eval(snapshot, {});
  const Config config = load_config(snapshot).config;
  for (const PromptFile& file : find_prompts(snapshot, config)) {
    fuzz::allow_error([&] { load_prompt(snapshot, file); });
  }
  return 0;
}
