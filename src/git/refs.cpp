// SPDX-License-Identifier: MIT
// References: HEAD, revision parsing peeled to commits, and short ref names for suggestions.
#include <algorithm>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"

namespace promptops::git {

namespace {

constexpr std::string_view k_alias_prefix = "refs/tags/promptops/";

}  // namespace

std::optional<Oid> Repository::head() const {
  git_reference* raw = nullptr;
  const int rc = git_repository_head(&raw, m_impl->repo.get());
  if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
    return std::nullopt;
  }
  check(rc, "reading HEAD");
  const ReferenceHandle ref(raw);
  git_object* peeled = nullptr;
  check(git_reference_peel(&peeled, ref.get(), GIT_OBJECT_COMMIT), "reading the commit at HEAD");
  const ObjectHandle commit(peeled);
  return from_git(*git_object_id(commit.get()));
}

std::string Repository::head_ref() const {
  git_reference* raw = nullptr;
  check(git_reference_lookup(&raw, m_impl->repo.get(), "HEAD"), "reading HEAD");
  const ReferenceHandle ref(raw);
  if (git_reference_type(ref.get()) == GIT_REFERENCE_SYMBOLIC) {
    // Borrowed from `ref`.
    const char* target = git_reference_symbolic_target(ref.get());
    if (target != nullptr) {
      return target;
    }
  }
  return "HEAD";
}

std::optional<Oid> Repository::merge_base(const Oid& a, const Oid& b) const {
  git_oid out;
  const int rc = git_merge_base(&out, m_impl->repo.get(), to_git(a), to_git(b));
  if (rc == GIT_ENOTFOUND) {
    return std::nullopt;
  }
  check(rc, "finding the merge base of " + a.short_hex() + " and " + b.short_hex());
  return from_git(out);
}

std::optional<Oid> Repository::resolve(std::string_view revision) const {
  if (revision.empty()) {
    return std::nullopt;
  }
  const std::string spec(revision);
  git_object* raw = nullptr;
  const int rc = git_revparse_single(&raw, m_impl->repo.get(), spec.c_str());
  // Unknown names, malformed specs, an unborn HEAD and HEAD~N past a shallow boundary (whose
  // parents are absent) are all what git calls "unknown revision".
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EUNBORNBRANCH || rc == GIT_EPEEL) {
    return std::nullopt;
  }
  if (rc == GIT_EAMBIGUOUS) {
    throw GitError("ambiguous revision '" + spec + "': " + last_error_message(),
                   "use more hex digits or a full ref name such as refs/heads/" + spec);
  }
  check(rc, "resolving revision '" + spec + "'");
  const ObjectHandle object(raw);
  const git_object_t type = git_object_type(object.get());
  if (type == GIT_OBJECT_COMMIT) {
    return from_git(*git_object_id(object.get()));
  }
  if (type != GIT_OBJECT_TAG) {
    return std::nullopt;  // a blob or a tree ("HEAD:file") is not a commit
  }
  git_object* peeled = nullptr;
  const int peel_rc = git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT);
  if (peel_rc == GIT_ENOTFOUND || peel_rc == GIT_EINVALIDSPEC || peel_rc == GIT_EPEEL) {
    return std::nullopt;  // a tag of a blob or a tree
  }
  check(peel_rc, "peeling '" + spec + "' to a commit");
  const ObjectHandle commit(peeled);
  return from_git(*git_object_id(commit.get()));
}

std::vector<std::string> Repository::ref_names() const {
  git_reference_iterator* raw = nullptr;
  check(git_reference_iterator_new(&raw, m_impl->repo.get()), "listing references");
  const ReferenceIteratorHandle iterator(raw);
  std::vector<std::string> out;
  const char* name = nullptr;  // borrowed from the iterator
  int rc = 0;
  while ((rc = git_reference_next_name(&name, iterator.get())) == 0) {
    const std::string_view full = name;
    if (full.starts_with(k_alias_prefix)) {
      continue;
    }
    for (const std::string_view prefix : {"refs/heads/", "refs/tags/", "refs/remotes/"}) {
      if (full.starts_with(prefix)) {
        out.emplace_back(full.substr(prefix.size()));
        break;
      }
    }
  }
  if (rc != GIT_ITEROVER) {
    check(rc, "listing references");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace promptops::git
