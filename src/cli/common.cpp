// SPDX-License-Identifier: MIT
// Helpers shared by the subcommands: dates, snapshots at a revision, JSON of git objects.
#include "common.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>

#include <promptops/util/error.hpp>

#include "evaluation.hpp"
#include <promptops/util/strings.hpp>

namespace promptops::cli {

namespace {

std::tm local_tm(const git::Person& person) {
  const std::time_t shifted = static_cast<std::time_t>(person.time + person.offset_minutes * 60);
  std::tm out{};
  gmtime_r(&shifted, &out);
  return out;
}

}  // namespace

std::string format_date(const git::Person& person) {
  const std::tm tm = local_tm(person);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", &tm);
  return buffer;
}

std::string format_iso_date(const git::Person& person) {
  const std::tm tm = local_tm(person);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  const int offset = person.offset_minutes;
  const int magnitude = offset < 0 ? -offset : offset;
  char zone[16];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", offset < 0 ? '-' : '+', magnitude / 60, magnitude % 60);
  return std::string(buffer) + zone;
}

std::unique_ptr<Snapshot> snapshot_at(Context& context, const std::string& revision) {
  if (revision.empty()) {
    if (const auto root = git::find_worktree_root(std::filesystem::current_path())) {
      return worktree_snapshot(*root);  // no libgit2 start-up for working-tree reads
    }
  }
  git::Repository& repo = context.repo();
  if (revision.empty() && !repo.is_bare()) {
    return worktree_snapshot(repo);
  }
  return commit_snapshot(repo, resolve_commit(context, revision.empty() ? "HEAD" : revision));
}

bool exec_trusted(const git::Repository& repo) {
  return repo.config_bool("promptops.trustExec").value_or(false);
}

ProviderOptions provider_options_for(const git::Repository& repo) {
  ProviderOptions options;
  options.workdir = repo.workdir();
  options.exec_trusted = exec_trusted(repo);
  options.trusted_secrets = repo.config_strings("promptops.trustSecret");
  return options;
}

bool notes_trusted(const git::Repository& repo) {
  return repo.config_bool("promptops.trustNotes").value_or(true);
}

NotesPolicy notes_policy(const git::Repository& repo, bool verify) {
  if (verify) {
    return NotesPolicy::verify;
  }
  return notes_trusted(repo) ? NotesPolicy::trust : NotesPolicy::ignore;
}

void warn_note_problems(const git::Oid& commit, const std::vector<std::string>& problems) {
  static std::set<git::Oid> warned;
  if (problems.empty() || !warned.insert(commit).second) {
    return;
  }
  const std::size_t shown = std::min<std::size_t>(problems.size(), 3);
  std::string reasons = util::join(std::vector<std::string>(problems.begin(), problems.begin() + static_cast<std::ptrdiff_t>(shown)), "; ");
  if (problems.size() > shown) {
    reasons += "; ...";
  }
  std::fprintf(stderr, "git-promptops: warning: ignoring %s in the promptops note of %s (%s)\n",
               util::plural(problems.size(), "malformed line").c_str(), commit.short_hex().c_str(), reasons.c_str());
}

ExitCode run_exit(const RunEnd& end, ExitCode verdict, const std::function<void()>& own_errors) {
  if (end.interrupted) {
    throw InterruptedError("interrupted: " +
                           (end.answers ? util::plural(*end.answers, "answer") + " received in this run kept in the cache"
                                        : std::string("answers received so far are cached")) +
                           "; run the same command to resume");
  }
  if (own_errors) {
    own_errors();
  }
  if (end.unanswered > 0) {
    throw_unanswered(end.failures, end.unanswered, end.results_files, end.consequence);
  }
  return verdict;
}

void report_note_mismatches(const std::vector<NoteMismatch>& mismatches) {
  for (const NoteMismatch& mismatch : mismatches) {
    std::fprintf(stderr, "git-promptops: error: %s\n", describe_mismatch(mismatch).c_str());
  }
}

const char* source_of(const EvalResult& result) {
  return !result.reused ? "run" : result.from_notes ? "notes" : "cache";
}

git::Oid resolve_commit(Context& context, const std::string& revision) {
  if (revision == "HEAD") {
    return context.head();
  }
  git::Repository& repo = context.repo();
  const auto id = repo.resolve(revision);
  if (!id) {
    const std::string close = did_you_mean(revision, repo.ref_names());
    throw NotFoundError("unknown revision '" + revision + "'",
                        close.empty() ? "" : "did you mean '" + close + "'?");
  }
  return *id;
}

std::string prompt_name_argument(const std::string& text, const char* instead) {
  const Reference ref = Reference::parse(text);
  if (!ref.rev.empty()) {
    throw UsageError("'" + text + "' names a revision where a prompt name is expected", instead);
  }
  return ref.name;
}

int version_at(const git::Repository& repo, const std::vector<PromptVersion>& versions,
               const std::string& path, const git::Oid& commit) {
  for (const PromptVersion& version : versions) {
    if (version.commit == commit) {
      return version.number;
    }
  }
  const auto entry = repo.entry_at(commit, path);
  if (!entry) {
    return 0;
  }
  // The newest version with this content that `commit` descends from: after a revert to an
  // older content, commits before the revert still belong to the older version.
  int fallback = 0;
  for (const PromptVersion& version : versions) {  // newest first
    if (version.deleted || version.blob != entry->id) {
      continue;
    }
    if (repo.merge_base(version.commit, commit) == version.commit) {
      return version.number;
    }
    fallback = fallback == 0 ? version.number : fallback;
  }
  return fallback;
}

nlohmann::json person_json(const git::Person& person) {
  return {{"name", person.name}, {"email", person.email}};
}

Positionals split_positionals(const Context& context, std::initializer_list<const std::string*> slots,
                              const std::vector<std::string>& names) {
  Positionals out;
  for (const std::string* slot : slots) {
    if (!slot->empty()) {
      out.words.push_back(*slot);
    }
  }
  out.words.insert(out.words.end(), names.begin(), names.end());
  std::size_t after_dashes = 0;
  const auto dashes = std::find(context.args.begin(), context.args.end(), "--");
  if (dashes != context.args.end()) {
    after_dashes = std::min(out.words.size(), static_cast<std::size_t>(context.args.end() - dashes - 1));
  }
  out.before = out.words.size() - after_dashes;
  return out;
}

std::string interval_suffix(const std::optional<Interval>& interval) {
  return interval ? " [" + util::fixed(interval->low, 2) + ", " + util::fixed(interval->high, 2) + "]" : "";
}

}  // namespace promptops::cli
