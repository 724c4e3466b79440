// SPDX-License-Identifier: MIT
// The notes store under refs/notes/promptops: reads the notes tree, merges by eval key, CAS writes.
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <promptops/util/error.hpp>
#include <promptops/git/notes.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

using NoteHandle = Handle<git_note, git_note_free>;
using TreeBuilderHandle = Handle<git_treebuilder, git_treebuilder_free>;

constexpr int k_max_attempts = 50;
constexpr std::size_t k_hex_size = 40;

// Where one note of a commit lives in the notes tree.
struct NotePath {
  std::string path;  // "<40 hex>", "<2>/<38>", ...
  git_oid blob{};
};

// The notes of a notes tree, by annotated commit; a commit may have more than one path when flat
// and fan-out entries coexist (git concatenates them).
struct NotesIndex {
  std::map<Oid, std::vector<NotePath>> notes;
  std::size_t fanout_depth = 0;  // the deepest fan-out in use; new notes go at this depth
};

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

TreeHandle lookup_tree(git_repository& repo, const git_oid& id) {
  git_tree* raw = nullptr;
  check(git_tree_lookup(&raw, &repo, &id), "reading notes tree " + from_git(id).hex());
  return TreeHandle(raw);
}

// Walks `tree` like git's notes code: 2-hex subtrees are fan-out levels, and a blob whose name
// completes 40 hex digits is a note. Other entries are not notes and are left alone.
void index_tree(git_repository& repo, const git_tree& tree, const std::string& prefix, std::size_t depth,
                NotesIndex& index) {
  const std::size_t count = git_tree_entrycount(&tree);
  for (std::size_t i = 0; i < count; ++i) {
    // Borrowed from `tree`.
    const git_tree_entry* entry = git_tree_entry_byindex(&tree, i);
    const std::string name = git_tree_entry_name(entry);
    const git_object_t type = git_tree_entry_type(entry);
    if (type == GIT_OBJECT_TREE && name.size() == 2 && is_hex(name) && prefix.size() + 2 < k_hex_size) {
      const TreeHandle subtree = lookup_tree(repo, *git_tree_entry_id(entry));
      index_tree(repo, *subtree, prefix + name + "/", depth + 1, index);
    } else if (type == GIT_OBJECT_BLOB) {
      std::string hex = prefix + name;
      hex.erase(std::remove(hex.begin(), hex.end(), '/'), hex.end());
      if (hex.size() != k_hex_size || !is_hex(name)) {
        continue;
      }
      std::transform(hex.begin(), hex.end(), hex.begin(),
                     [](char c) { return static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c); });
      const std::optional<Oid> commit = Oid::parse(hex);
      if (!commit) {
        continue;
      }
      index.notes[*commit].push_back(NotePath{prefix + name, *git_tree_entry_id(entry)});
      index.fanout_depth = std::max(index.fanout_depth, depth);
    }
  }
}

std::string read_blob_text(git_repository& repo, const git_oid& id) {
  git_blob* raw = nullptr;
  check(git_blob_lookup(&raw, &repo, &id), "reading note " + from_git(id).hex());
  const BlobHandle blob(raw);
  // Borrowed from `blob`.
  const auto* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  return std::string(data, static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!line.empty()) {
      out.emplace_back(line);
    }
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return out;
}

// Thrown out of the parser's callback to stop at the depth bound.
struct TooDeep {};

// One note line parsed within the bounds of notes.hpp: the value, or why it is not one.
struct ParsedLine {
  std::optional<nlohmann::json> value;
  std::string problem;
};

ParsedLine parse_bounded(const std::string& line) {
  if (line.size() > k_max_note_line_bytes) {
    return {std::nullopt, "longer than " + std::to_string(k_max_note_line_bytes >> 20) + " MiB"};
  }
  const nlohmann::json::parser_callback_t bound = [](int depth, nlohmann::json::parse_event_t event,
                                                     nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth >= k_max_note_depth) {
      throw TooDeep{};
    }
    return true;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(line, bound, false);
    if (value.is_discarded()) {
      return {std::nullopt, "not JSON"};
    }
    return {std::move(value), {}};
  } catch (const TooDeep&) {
    return {std::nullopt, "nested deeper than " + std::to_string(k_max_note_depth) + " levels"};
  }
}

// The line as a JSON object, or nullopt for anything else (another tool's text).
std::optional<nlohmann::json> parse_object(const std::string& line) {
  ParsedLine parsed = parse_bounded(line);
  if (!parsed.value || !parsed.value->is_object()) {
    return std::nullopt;
  }
  return std::move(parsed.value);
}

void append_objects(std::string_view text, std::vector<nlohmann::json>& out) {
  for (const std::string& line : split_lines(text)) {
    if (auto value = parse_object(line)) {
      out.push_back(std::move(*value));
    }
  }
}

// Why a parsed line is not a note entry; empty when it is one.
std::string entry_problem(const nlohmann::json& value) {
  if (!value.is_object()) {
    return "not a JSON object";
  }
  const auto key = value.find("key");
  if (key == value.end() || !key->is_string()) {
    return "no string \"key\"";
  }
  const auto type = value.find("type");
  if (type != value.end() && !type->is_string()) {
    return "\"type\" is not a string";
  }
  return {};
}

// Adds the lines of `text` to `out`, numbering them from `line_number`; returns the next number.
std::size_t append_checked(std::string_view text, std::size_t line_number, NoteLines& out) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!line.empty()) {
      ParsedLine parsed = parse_bounded(std::string(line));
      std::string problem = parsed.value ? entry_problem(*parsed.value) : parsed.problem;
      if (problem.empty()) {
        out.entries.push_back(std::move(*parsed.value));
        out.entry_lines.push_back(line_number);
      } else {
        out.problems.push_back("line " + std::to_string(line_number) + ": " + problem);
      }
    }
    ++line_number;
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return line_number;
}

std::optional<std::string> key_of(const nlohmann::json& entry) {
  const auto it = entry.find("key");
  if (it == entry.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::string to_line(const nlohmann::json& entry) {
  // Compact and with sorted keys (nlohmann's default object), so equal entries give equal lines.
  return entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The merged note text: sorted unique lines, each ending in '\n'.
std::string merge_text(const std::string& old_text, const std::vector<nlohmann::json>& additions) {
  std::map<std::string, std::string> replacing;  // key -> line; a later entry wins
  for (const nlohmann::json& entry : additions) {
    const std::optional<std::string> key = entry.is_object() ? key_of(entry) : std::nullopt;
    if (!key) {
      throw Error("a note entry must be a JSON object with a string \"key\": " + to_line(entry));
    }
    replacing[*key] = to_line(entry);
  }
  std::vector<std::string> lines;
  for (std::string& line : split_lines(old_text)) {
    if (const auto value = parse_object(line)) {
      if (const auto key = key_of(*value); key && replacing.count(*key) != 0) {
        continue;
      }
    }
    lines.push_back(std::move(line));
  }
  for (auto& [key, line] : replacing) {
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  std::string out;
  for (const std::string& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

std::string path_for(const Oid& commit, std::size_t fanout_depth) {
  const std::string hex = commit.hex();
  std::string out;
  std::size_t at = 0;
  for (std::size_t level = 0; level < fanout_depth && at + 2 < hex.size(); ++level, at += 2) {
    out += hex.substr(at, 2);
    out += '/';
  }
  return out + hex.substr(at);
}

// The direct target of `ref`, or nullopt when it does not exist.
std::optional<git_oid> ref_tip(git_repository& repo, const std::string& ref) {
  git_reference* raw = nullptr;
  const int rc = git_reference_lookup(&raw, &repo, ref.c_str());
  if (rc == GIT_ENOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading " + ref);
  const ReferenceHandle reference(raw);
  // Borrowed from `reference`.
  const git_oid* target = git_reference_target(reference.get());
  if (target == nullptr) {
    throw GitError(ref + " is a symbolic ref", "notes refs must point at a notes commit");
  }
  return *target;
}

TreeHandle tree_of_commit(git_repository& repo, const git_oid& commit_id, const std::string& ref) {
  git_commit* raw = nullptr;
  check(git_commit_lookup(&raw, &repo, &commit_id), "reading the tip of " + ref);
  const CommitHandle commit(raw);
  git_tree* raw_tree = nullptr;
  check(git_commit_tree(&raw_tree, commit.get()), "reading the tree of " + ref);
  return TreeHandle(raw_tree);
}

TreeHandle empty_tree(git_repository& repo) {
  git_treebuilder* raw = nullptr;
  check(git_treebuilder_new(&raw, &repo, nullptr), "making an empty notes tree");
  const TreeBuilderHandle builder(raw);
  git_oid id{};
  check(git_treebuilder_write(&id, builder.get()), "writing an empty notes tree");
  return lookup_tree(repo, id);
}

SignatureHandle to_signature(const Person& person) {
  git_signature* raw = nullptr;
  check(git_signature_new(&raw, person.name.c_str(), person.email.c_str(),
                          static_cast<git_time_t>(person.time), person.offset_minutes),
        "making the notes commit signature");
  return SignatureHandle(raw);
}

bool is_race(int rc) { return rc == GIT_EMODIFIED || rc == GIT_ELOCKED || rc == GIT_EEXISTS; }

enum class Attempt { written, unchanged, raced };

// One read-merge-write of the notes; `raced` when another writer moved or locked `ref` meanwhile.
Attempt try_merge(git_repository& repo, const std::map<Oid, std::vector<nlohmann::json>>& additions,
                  const std::string& message, const std::string& ref, const git_signature& signature) {
  const std::optional<git_oid> tip = ref_tip(repo, ref);
  const TreeHandle base = tip ? tree_of_commit(repo, *tip, ref) : empty_tree(repo);
  NotesIndex index;
  index_tree(repo, *base, "", 0, index);

  std::vector<std::string> paths;  // git_tree_update borrows its path
  std::vector<git_oid> blobs;
  std::vector<git_tree_update_t> actions;
  for (const auto& [commit, entries] : additions) {
    if (entries.empty()) {
      continue;
    }
    const auto found = index.notes.find(commit);
    std::string old_text;
    if (found != index.notes.end()) {
      for (const NotePath& note : found->second) {
        old_text += read_blob_text(repo, note.blob);
        old_text += '\n';
      }
    }
    const std::string new_text = merge_text(old_text, entries);
    if (found != index.notes.end() && found->second.size() == 1 &&
        read_blob_text(repo, found->second.front().blob) == new_text) {
      continue;
    }
    git_oid blob{};
    check(git_blob_create_from_buffer(&blob, &repo, new_text.data(), new_text.size()),
          "writing the note of " + commit.hex());
    // Rewrite the note where it is; a second copy (flat next to fan-out) is folded into it.
    const std::string target =
        found != index.notes.end() ? found->second.front().path : path_for(commit, index.fanout_depth);
    paths.push_back(target);
    blobs.push_back(blob);
    actions.push_back(GIT_TREE_UPDATE_UPSERT);
    if (found != index.notes.end()) {
      for (std::size_t i = 1; i < found->second.size(); ++i) {
        paths.push_back(found->second[i].path);
        blobs.push_back(git_oid{});
        actions.push_back(GIT_TREE_UPDATE_REMOVE);
      }
    }
  }
  if (paths.empty()) {
    return Attempt::unchanged;
  }

  std::vector<git_tree_update> updates(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    updates[i].action = actions[i];
    updates[i].id = blobs[i];
    updates[i].filemode = GIT_FILEMODE_BLOB;
    updates[i].path = paths[i].c_str();
  }
  git_oid tree_id{};
  check(git_tree_create_updated(&tree_id, &repo, base.get(), updates.size(), updates.data()),
        "updating the notes tree");
  const TreeHandle tree = lookup_tree(repo, tree_id);

  CommitHandle parent;
  if (tip) {
    git_commit* raw = nullptr;
    check(git_commit_lookup(&raw, &repo, &*tip), "reading the tip of " + ref);
    parent.reset(raw);
  }
  const git_commit* parents[] = {parent.get()};
  git_oid commit_id{};
  check(git_commit_create(&commit_id, &repo, nullptr, &signature, &signature, nullptr, message.c_str(),
                          tree.get(), tip ? 1 : 0, parents),
        "writing the notes commit");

  git_reference* raw_ref = nullptr;
  const std::string log_message = "notes: " + message;
  int rc = 0;
  if (tip) {
    rc = git_reference_create_matching(&raw_ref, &repo, ref.c_str(), &commit_id, 1, &*tip,
                                       log_message.c_str());
    // GIT_ENOTFOUND: the ref was deleted since it was read.
    if (rc == GIT_ENOTFOUND) {
      return Attempt::raced;
    }
  } else {
    // Creating is a compare-and-swap too: a zero expected id means "must not exist yet", checked
    // under the ref's lock. git_reference_create(force=0) checks existence before locking, so
    // two first writers could both "create" it and one would lose its entries.
    const git_oid absent{};
    rc = git_reference_create_matching(&raw_ref, &repo, ref.c_str(), &commit_id, 1, &absent,
                                       log_message.c_str());
  }
  if (is_race(rc)) {
    return Attempt::raced;
  }
  check(rc, "updating " + ref);
  const ReferenceHandle updated(raw_ref);
  return Attempt::written;
}

}  // namespace

std::map<Oid, std::vector<nlohmann::json>> read_notes(const Repository& repo, const std::string& ref) {
  git_repository& raw_repo = *repo.impl().repo;
  std::map<Oid, std::vector<nlohmann::json>> out;
  const std::optional<git_oid> tip = ref_tip(raw_repo, ref);
  if (!tip) {
    return out;
  }
  const TreeHandle tree = tree_of_commit(raw_repo, *tip, ref);
  NotesIndex index;
  index_tree(raw_repo, *tree, "", 0, index);
  for (const auto& [commit, notes] : index.notes) {
    std::vector<nlohmann::json>& entries = out[commit];
    for (const NotePath& note : notes) {
      append_objects(read_blob_text(raw_repo, note.blob), entries);
    }
  }
  return out;
}

std::vector<nlohmann::json> read_note(const Repository& repo, const Oid& commit, const std::string& ref) {
  git_note* raw = nullptr;
  const int rc = git_note_read(&raw, repo.impl().repo.get(), ref.c_str(), to_git(commit));
  std::vector<nlohmann::json> out;
  if (rc == GIT_ENOTFOUND) {
    return out;
  }
  check(rc, "reading the note of " + commit.hex() + " in " + ref);
  const NoteHandle note(raw);
  // Borrowed from `note`.
  const char* text = git_note_message(note.get());
  append_objects(text != nullptr ? std::string_view(text) : std::string_view(), out);
  return out;
}

std::map<Oid, NoteLines> read_all_note_lines(const Repository& repo, const std::string& ref) {
  git_repository& raw_repo = *repo.impl().repo;
  std::map<Oid, NoteLines> out;
  const std::optional<git_oid> tip = ref_tip(raw_repo, ref);
  if (!tip) {
    return out;
  }
  const TreeHandle tree = tree_of_commit(raw_repo, *tip, ref);
  NotesIndex index;
  index_tree(raw_repo, *tree, "", 0, index);
  for (const auto& [commit, notes] : index.notes) {
    NoteLines& lines = out[commit];
    std::size_t line_number = 1;
    for (const NotePath& note : notes) {
      line_number = append_checked(read_blob_text(raw_repo, note.blob), line_number, lines);
    }
  }
  return out;
}

NoteLines read_note_lines(const Repository& repo, const Oid& commit, const std::string& ref) {
  git_note* raw = nullptr;
  const int rc = git_note_read(&raw, repo.impl().repo.get(), ref.c_str(), to_git(commit));
  NoteLines out;
  if (rc == GIT_ENOTFOUND) {
    return out;
  }
  check(rc, "reading the note of " + commit.hex() + " in " + ref);
  const NoteHandle note(raw);
  // Borrowed from `note`.
  const char* text = git_note_message(note.get());
  append_checked(text != nullptr ? std::string_view(text) : std::string_view(), 1, out);
  return out;
}

void merge_notes(Repository& repo, const std::map<Oid, std::vector<nlohmann::json>>& additions,
                 const std::string& message, const std::string& ref) {
  git_repository& raw_repo = *repo.impl().repo;
  const SignatureHandle signature = to_signature(repo.signature(true));
  std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    if (try_merge(raw_repo, additions, message, ref, *signature) != Attempt::raced) {
      return;
    }
    // Jittered exponential backoff, capped at 64 ms, so two writers stop colliding in step.
    const int cap_ms = 1 << std::min(attempt + 1, 6);
    std::uniform_int_distribution<int> pause_ms(1, cap_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
  }
  throw GitError(ref + " kept changing while writing notes (" + std::to_string(k_max_attempts) + " attempts)",
                 "another process is writing notes; run the command again");
}

}  // namespace promptops::git
