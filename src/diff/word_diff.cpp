// SPDX-License-Identifier: MIT
// The dtl word diff behind `git promptops diff`.
#include <promptops/diff/diff.hpp>

#include <dtl/dtl.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::diff {

namespace {

void append(std::vector<Run>& runs, RunKind kind, const std::string& text) {
  if (text.empty()) {
    return;
  }
  if (!runs.empty() && runs.back().kind == kind) {
    runs.back().text += text;
    return;
  }
  runs.push_back(Run{kind, text});
}

const char* open_marker(RunKind kind, Markers markers) {
  if (markers == Markers::color) {
    return kind == RunKind::remove ? "\x1b[31m" : "\x1b[32m";
  }
  return kind == RunKind::remove ? "[-" : "{+";
}

const char* close_marker(RunKind kind, Markers markers) {
  if (markers == Markers::color) {
    return "\x1b[m";
  }
  return kind == RunKind::remove ? "-]" : "+}";
}

std::string marked(const Run& run, const std::string& text, Markers markers) {
  if (run.kind == RunKind::equal || text.empty()) {
    return text;
  }
  return open_marker(run.kind, markers) + text + close_marker(run.kind, markers);
}

}  // namespace

const char* kind_name(RunKind kind) {
  switch (kind) {
    case RunKind::equal:
      return "equal";
    case RunKind::insert:
      return "insert";
    case RunKind::remove:
      return "delete";
  }
  return "equal";
}

std::vector<std::string> word_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start < text.size()) {
    const bool space = util::is_ascii_space(text[start]);
    std::size_t end = start + 1;
    while (end < text.size() && util::is_ascii_space(text[end]) == space) {
      ++end;
    }
    tokens.emplace_back(text.substr(start, end - start));
    start = end;
  }
  return tokens;
}

std::vector<Run> word_diff(std::string_view old_text, std::string_view new_text) {
  const std::vector<std::string> old_tokens = word_tokens(old_text);
  const std::vector<std::string> new_tokens = word_tokens(new_text);
  dtl::Diff<std::string, std::vector<std::string>> engine(old_tokens, new_tokens);
  engine.compose();
  std::vector<Run> runs;
  std::string removed;
  std::string inserted;
  const auto flush = [&] {
    append(runs, RunKind::remove, removed);
    append(runs, RunKind::insert, inserted);
    removed.clear();
    inserted.clear();
  };
  for (const auto& [token, info] : engine.getSes().getSequence()) {
    if (info.type == dtl::SES_DELETE) {
      removed += token;
    } else if (info.type == dtl::SES_ADD) {
      inserted += token;
    } else {
      flush();
      append(runs, RunKind::equal, token);
    }
  }
  flush();
  return runs;
}

std::string render(const std::vector<Run>& runs, Markers markers) {
  std::string out;
  for (const Run& run : runs) {
    out += marked(run, run.text, markers);
  }
  return out;
}

std::vector<std::string> changed_lines(const std::vector<Run>& runs, Markers markers) {
  std::vector<std::string> lines;
  std::string line;
  bool changed = false;
  bool pending = false;  // the current line has content or a change
  const auto end_line = [&] {
    if (changed) {
      lines.push_back(line);
    }
    line.clear();
    changed = false;
    pending = false;
  };
  for (const Run& run : runs) {
    std::size_t start = 0;
    while (true) {
      const std::size_t newline = run.text.find('\n', start);
      const std::string piece = run.text.substr(start, newline == std::string::npos ? std::string::npos : newline - start);
      if (!piece.empty()) {
        line += marked(run, piece, markers);
        pending = true;
      }
      if (run.kind != RunKind::equal && (!piece.empty() || newline != std::string::npos)) {
        changed = true;  // a changed newline changes the line it ends
      }
      if (newline == std::string::npos) {
        break;
      }
      end_line();
      start = newline + 1;
    }
  }
  if (pending || changed) {
    end_line();
  }
  return lines;
}

}  // namespace promptops::diff
