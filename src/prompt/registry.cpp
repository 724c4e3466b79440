// SPDX-License-Identifier: MIT
// The registry: prompt discovery at a snapshot, references NAME[@REV], and versions.
#include <algorithm>
#include <charconv>
#include <map>

#include <promptops/util/error.hpp>
#include <promptops/git/history.hpp>
#include <promptops/prompt/registry.hpp>

#include <promptops/util/strings.hpp>

namespace promptops::inline prompt {

Diagnostic refused_file(const SnapshotFile& file, FileRole role, const std::string& path, Location at) {
  Diagnostic out;
  out.where = std::move(at);
  out.code = file.kind == SnapshotFile::Kind::link      ? "symlink-not-followed"
             : file.kind == SnapshotFile::Kind::special ? "not-a-regular-file"
                                                        : "file-too-large";
  out.message = file.problem(role, path);
  out.hint = file.hint(role);
  return out;
}

ParsedConfig load_config(const Snapshot& snapshot) {
  const Config defaults;
  SnapshotFile file = snapshot.fetch(defaults.path, size_limit(FileRole::config));
  if (file.refused()) {
    ParsedConfig parsed;
    parsed.config.found = true;
    parsed.diagnostics.push_back(refused_file(file, FileRole::config, defaults.path, Location{defaults.path, 0, 0}));
    return parsed;
  }
  if (file.kind != SnapshotFile::Kind::file) {
    return ParsedConfig{};
  }
  ParsedConfig parsed = parse_config(file.content, defaults.path);
  parsed.config.found = true;
  return parsed;
}

namespace {

std::string strip_root(const std::string& root) {
  std::string out = root;
  while (!out.empty() && out.back() == '/') {
    out.pop_back();
  }
  if (out == ".") {
    out.clear();
  }
  return out;
}

// The file's name under its root without the last extension ("support/classify").
std::string prompt_name(const std::string& root, const std::string& path) {
  std::string relative = root.empty() ? path : path.substr(root.size() + 1);
  const std::size_t slash = relative.rfind('/');
  const std::size_t dot = relative.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash + 1)) {
    relative.erase(dot);
  }
  return relative;
}

std::vector<std::string> names_of(const std::vector<PromptFile>& files) {
  std::vector<std::string> names;
  names.reserve(files.size());
  for (const PromptFile& file : files) {
    names.push_back(file.name);
  }
  return names;
}

std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string close = did_you_mean(word, candidates);
  return close.empty() ? std::string() : "did you mean '" + close + "'?";
}

std::optional<PromptFile> find_by_name(const std::vector<PromptFile>& files, std::string_view name) {
  const auto it = std::lower_bound(files.begin(), files.end(), name,
                                   [](const PromptFile& f, std::string_view n) { return f.name < n; });
  if (it != files.end() && it->name == name) {
    return *it;
  }
  return std::nullopt;
}

// When `name` was not found because its file is a symlink under a root (never followed), the
// error that says so; otherwise nothing.
void refuse_linked_prompt(const Snapshot& snapshot, const Config& config, const std::vector<SnapshotLink>& links,
                          std::string_view name) {
  const auto under_linked_dir = [&](const SnapshotLink& link) {
    for (const std::string& raw_root : config.prompt_roots) {
      const std::string root = strip_root(raw_root);
      const std::string prefix = root.empty() ? std::string() : root + "/";
      if ((link.path.starts_with(prefix) && name.starts_with(link.path.substr(prefix.size()) + "/")) ||
          link.path == root) {
        return true;
      }
    }
    return false;
  };
  for (const SnapshotLink& link : links) {
    SnapshotFile file;
    file.kind = SnapshotFile::Kind::link;
    file.link = link.path;
    file.content = link.target;
    if (prompt_name_of(config, link.path) == name) {
      throw ConfigError(file.problem(FileRole::prompt, link.path) + " (" + snapshot.label() + ")",
                        file.hint(FileRole::prompt));
    }
    if (under_linked_dir(link)) {
      throw ConfigError("prompt '" + std::string(name) + "' would be under '" + link.path +
                            "', a symbolic link to '" + link.target + "', which is not followed (" +
                            snapshot.label() + ")",
                        file.hint(FileRole::prompt));
    }
  }
}

std::optional<int> version_number(std::string_view rev) {
  if (rev.size() < 2 || rev[0] != 'v') {
    return std::nullopt;
  }
  int number = 0;
  const auto [end, ec] = std::from_chars(rev.data() + 1, rev.data() + rev.size(), number);
  if (ec != std::errc() || end != rev.data() + rev.size() || number < 1) {
    return std::nullopt;
  }
  return number;
}

}  // namespace

std::vector<PromptFile> find_prompts(const Snapshot& snapshot, const Config& config,
                                     std::vector<SnapshotLink>* links) {
  std::map<std::string, std::pair<std::size_t, PromptFile>> by_name;  // name -> (rank, file)
  std::size_t root_index = 0;
  for (const std::string& raw_root : config.prompt_roots) {
    const std::string root = strip_root(raw_root);
    for (const std::string& path : snapshot.list(root, links)) {
      const std::size_t slash = path.rfind('/');
      const std::string_view file_name =
          slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
      for (std::size_t p = 0; p < config.patterns.size(); ++p) {
        if (!glob_match(config.patterns[p], file_name)) {
          continue;
        }
        const std::size_t rank = root_index * 1000 + p;
        const std::string name = prompt_name(root, path);
        auto [it, inserted] = by_name.try_emplace(name, rank, PromptFile{name, path});
        if (!inserted && rank < it->second.first) {
          it->second = {rank, PromptFile{name, path}};
        }
        break;
      }
    }
    ++root_index;
  }
  std::vector<PromptFile> out;
  out.reserve(by_name.size());
  for (auto& [name, entry] : by_name) {
    out.push_back(std::move(entry.second));
  }
  return out;
}

std::optional<std::string> prompt_name_of(const Config& config, const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string_view file_name =
      slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
  if (path.starts_with(".") || path.find("/.") != std::string::npos ||
      std::none_of(config.patterns.begin(), config.patterns.end(),
                   [&](const std::string& pattern) { return glob_match(pattern, file_name); })) {
    return std::nullopt;
  }
  for (const std::string& raw_root : config.prompt_roots) {
    const std::string root = strip_root(raw_root);
    if (root.empty() ||
        (path.size() > root.size() + 1 && path.starts_with(root) && path[root.size()] == '/')) {
      return prompt_name(root, path);
    }
  }
  return std::nullopt;
}

std::vector<std::string> root_dirs(const Config& config) {
  std::vector<std::string> dirs;
  for (const std::string& root : config.prompt_roots) {
    dirs.push_back(strip_root(root));
  }
  return dirs;
}

Prompt load_prompt(const Snapshot& snapshot, const PromptFile& file) {
  const auto text = snapshot.read(file.path);
  if (!text) {
    throw NotFoundError("prompt file '" + file.path + "' does not exist at " + snapshot.label());
  }
  ParsedPrompt parsed = parse_prompt(*text, file.path, file.name);
  for (const Diagnostic& diagnostic : parsed.diagnostics) {
    if (diagnostic.severity == Severity::error) {
      throw ConfigError(diagnostic.located_message(),
                        diagnostic.hint.empty()
                            ? "run 'git promptops lint " + file.name + "' for every problem"
                            : diagnostic.hint);
    }
  }
  if (!parsed.prompt) {
    throw ConfigError(file.path + ": cannot read prompt");
  }
  return std::move(*parsed.prompt);
}

Reference Reference::parse(std::string_view text) {
  const std::size_t at = text.find('@');
  Reference ref;
  ref.name = std::string(text.substr(0, at));
  if (at != std::string_view::npos) {
    ref.rev = std::string(text.substr(at + 1));
  }
  while (!ref.name.empty() && ref.name.back() == '/') {
    ref.name.pop_back();
  }
  if (ref.name.empty()) {
    throw UsageError("invalid reference '" + std::string(text) + "': no prompt name",
                     "write NAME, NAME@vN, NAME@ALIAS or NAME@REVISION");
  }
  if (at != std::string_view::npos && ref.rev.empty()) {
    throw UsageError("invalid reference '" + std::string(text) + "': nothing after '@'",
                     "write NAME, NAME@vN, NAME@ALIAS or NAME@REVISION");
  }
  return ref;
}

std::string Reference::format() const { return rev.empty() ? name : name + "@" + rev; }

std::vector<PromptVersion> prompt_versions(const git::Repository& repo, const git::Oid& tip,
                                           std::string_view name, std::string* path_out) {
  const auto snapshot = commit_snapshot(repo, tip);
  const Config config = load_config(*snapshot).config;
  const auto files = find_prompts(*snapshot, config);
  std::string path;
  std::vector<git::PathChange> changes;
  if (const auto file = find_by_name(files, name)) {
    path = file->path;
    changes = git::path_history(repo, tip, path);
  } else {
    // Deleted (or renamed away) before `tip`: try every path the config would map to this name
    // and keep the one changed most recently.
    std::size_t best_age = SIZE_MAX;
    const std::vector<git::Oid> chain = git::first_parent_chain(repo, tip);
    for (const std::string& raw_root : config.prompt_roots) {
      const std::string root = strip_root(raw_root);
      for (const std::string& pattern : config.patterns) {
        if (!pattern.starts_with("*.") || pattern.find_first_of("*?[", 1) != std::string::npos) {
          continue;
        }
        const std::string candidate =
            (root.empty() ? "" : root + "/") + std::string(name) + pattern.substr(1);
        auto candidate_changes = git::path_history(repo, tip, candidate);
        if (candidate_changes.empty()) {
          continue;
        }
        const auto pos = std::find(chain.begin(), chain.end(), candidate_changes.front().commit);
        const auto age = static_cast<std::size_t>(pos - chain.begin());
        if (age < best_age) {
          best_age = age;
          path = candidate;
          changes = std::move(candidate_changes);
        }
      }
    }
    if (changes.empty()) {
      throw NotFoundError(
          "no prompt named '" + std::string(name) + "' at " + tip.short_hex() + " or in its history",
          suggestion(name, names_of(files)));
    }
  }
  std::vector<PromptVersion> versions;
  versions.reserve(changes.size());
  int count = static_cast<int>(
      std::count_if(changes.begin(), changes.end(), [](const git::PathChange& c) { return !c.deleted(); }));
  for (const git::PathChange& change : changes) {
    PromptVersion version{0, change.commit, change.blob, change.deleted()};
    if (!version.deleted) {
      version.number = count--;
    }
    versions.push_back(version);
  }
  if (path_out != nullptr) {
    *path_out = path;
  }
  return versions;
}

ResolvedReference resolve_reference(const git::Repository& repo, const Reference& ref) {
  ResolvedReference out;
  out.name = ref.name;
  if (ref.rev.empty() && !repo.is_bare()) {
    const auto snapshot = worktree_snapshot(repo);
    const Config config = load_config(*snapshot).config;
    std::vector<SnapshotLink> links;
    const auto files = find_prompts(*snapshot, config, &links);
    const auto file = find_by_name(files, ref.name);
    if (!file) {
      refuse_linked_prompt(*snapshot, config, links, ref.name);
      throw NotFoundError("no prompt named '" + ref.name + "' in the working tree",
                          suggestion(ref.name, names_of(files)));
    }
    out.path = file->path;
    out.how = "working tree";
    return out;
  }
  const auto head = repo.head();
  if (const auto number = version_number(ref.rev)) {
    if (!head) {
      throw NotFoundError("prompt '" + ref.name + "' has no versions: the repository has no commits yet");
    }
    const auto versions = prompt_versions(repo, *head, ref.name);
    const auto it = std::find_if(versions.begin(), versions.end(),
                                 [&](const PromptVersion& v) { return v.number == *number; });
    if (it == versions.end()) {
      const int newest =
          versions.empty()
              ? 0
              : std::max_element(versions.begin(), versions.end(), [](const auto& a, const auto& b) {
                  return a.number < b.number;
                })->number;
      throw NotFoundError("prompt '" + ref.name + "' has no version " + ref.rev,
                          newest > 0 ? "its versions are v1..v" + std::to_string(newest) +
                                           " (see 'git promptops log " + ref.name + "')"
                                     : std::string());
    }
    out.commit = it->commit;
    out.version = it->number;
    out.how = ref.rev;
  } else if (const auto alias = repo.find_alias(ref.name, ref.rev)) {
    out.commit = alias->commit;
    out.how = "alias " + ref.rev;
  } else if (const auto id = repo.resolve(ref.rev.empty() ? "HEAD" : ref.rev)) {
    out.commit = *id;
    out.how = ref.rev.empty() ? "HEAD" : ref.rev;
  } else {
    std::vector<std::string> candidates = repo.ref_names();
    for (const git::Alias& known : repo.aliases(ref.name)) {
      candidates.push_back(known.name);
    }
    candidates.push_back("HEAD");
    throw NotFoundError("unknown revision or alias '" + ref.rev + "' for prompt '" + ref.name + "'",
                        suggestion(ref.rev, candidates));
  }
  const auto snapshot = commit_snapshot(repo, *out.commit);
  const Config config = load_config(*snapshot).config;
  std::vector<SnapshotLink> links;
  const auto files = find_prompts(*snapshot, config, &links);
  const auto file = find_by_name(files, ref.name);
  if (!file) {
    refuse_linked_prompt(*snapshot, config, links, ref.name);
    const std::string close = suggestion(ref.name, names_of(files));
    throw NotFoundError(
        "prompt '" + ref.name + "' does not exist at " + out.commit->short_hex() + " (" + out.how + ")",
        close.empty() ? "see 'git promptops log " + ref.name + "' for its versions" : close);
  }
  out.path = file->path;
  return out;
}

}  // namespace promptops::prompt
