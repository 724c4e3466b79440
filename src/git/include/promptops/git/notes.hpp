// SPDX-License-Identifier: MIT
// Evaluation summaries stored as git notes under refs/notes/promptops: sorted JSON lines per commit.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <promptops/git/git.hpp>

namespace promptops::git {

// The notes ref the tool writes; `git notes --ref=promptops` reads the same notes.
inline constexpr const char* k_notes_ref = "refs/notes/promptops";

// Note format: one JSON object per line, lines sorted byte-wise and unique, each with a string
// "key" (the eval key), so that `git notes merge -s cat_sort_uniq` is a valid fallback merge.

// Note lines are untrusted input (anyone who can push to a remote's notes writes them): each is
// parsed with these bounds, and a line beyond them is not JSON to this code.
inline constexpr std::size_t k_max_note_line_bytes = std::size_t{64} << 20;  // ~1M cases' ids and scores
inline constexpr int k_max_note_depth = 32;                                 // eval entries nest 4 deep

// A note's lines, checked: `entries` are the JSON objects with a string "key" (and a string
// "type" when they have one), in note order; every other non-empty line gives one problem,
// "line N: why" (N counts the lines of the note's text, several blobs joined as git joins them).
struct NoteLines {
  std::vector<nlohmann::json> entries;
  std::vector<std::size_t> entry_lines;  // the line number of each entry
  std::vector<std::string> problems;
};

// Every note under `ref`, read at once from the notes tree (flat or with git's 2/38 fan-out),
// keyed by annotated commit. Only lines that are JSON objects are returned, in note order; other
// lines are skipped here (merge_notes keeps them). Empty when the ref does not exist.
// Throws GitError when the ref or its objects cannot be read.
std::map<Oid, std::vector<nlohmann::json>> read_notes(const Repository& repo,
                                                      const std::string& ref = k_notes_ref);

// The JSON-object lines of the note on `commit`; empty when there is none or the ref does not
// exist. Throws GitError as read_notes does.
std::vector<nlohmann::json> read_note(const Repository& repo, const Oid& commit,
                                      const std::string& ref = k_notes_ref);

// read_notes and read_note, checked as NoteLines describes. Throws GitError as they do.
std::map<Oid, NoteLines> read_all_note_lines(const Repository& repo, const std::string& ref = k_notes_ref);
NoteLines read_note_lines(const Repository& repo, const Oid& commit, const std::string& ref = k_notes_ref);

// Merges `additions` into the notes of their commits: an entry replaces the lines of the existing
// note with the same "key"; the other lines, including lines that are not JSON objects, are kept.
// Writes ONE notes commit (author and committer: repo.signature(true), message `message`) whose
// parent is the current tip, and moves `ref` compare-and-swap; when another writer moved it first,
// the whole read-merge-write is redone after a jittered backoff, so concurrent writers never lose
// each other's entries. Writes nothing when no note changes.
// Throws Error when an entry is not an object with a string "key", and GitError on libgit2
// failures, on an identity git does not know, or when `ref` kept moving for ~50 attempts.
void merge_notes(Repository& repo, const std::map<Oid, std::vector<nlohmann::json>>& additions,
                 const std::string& message, const std::string& ref = k_notes_ref);

}  // namespace promptops::git
