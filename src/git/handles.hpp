// SPDX-License-Identifier: MIT
// RAII handles for libgit2 objects and check(), the one place libgit2 codes become GitError.
#pragma once

#include <memory>
#include <string>

#include <git2.h>

#include <promptops/util/handle.hpp>

namespace promptops::git {

using util::Handle;

using RepositoryHandle = Handle<git_repository, git_repository_free>;
using OdbHandle = Handle<git_odb, git_odb_free>;
using OdbObjectHandle = Handle<git_odb_object, git_odb_object_free>;
using CommitHandle = Handle<git_commit, git_commit_free>;
using TreeHandle = Handle<git_tree, git_tree_free>;
using TreeEntryHandle = Handle<git_tree_entry, git_tree_entry_free>;
using BlobHandle = Handle<git_blob, git_blob_free>;
using ObjectHandle = Handle<git_object, git_object_free>;
using ReferenceHandle = Handle<git_reference, git_reference_free>;
using TagHandle = Handle<git_tag, git_tag_free>;
using ConfigHandle = Handle<git_config, git_config_free>;
using SignatureHandle = Handle<git_signature, git_signature_free>;
using RevwalkHandle = Handle<git_revwalk, git_revwalk_free>;
using MailmapHandle = Handle<git_mailmap, git_mailmap_free>;
using ReferenceIteratorHandle = Handle<git_reference_iterator, git_reference_iterator_free>;

// git_buf that disposes itself.
struct Buf {
  git_buf buf = GIT_BUF_INIT;
  Buf() = default;
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { git_buf_dispose(&buf); }
  std::string str() const { return buf.ptr != nullptr ? std::string(buf.ptr, buf.size) : std::string(); }
};

// The message of the last libgit2 error on this thread (it can be NULL in 1.5.1).
std::string last_error_message();

// Throws GitError("<what>: <libgit2 message>") when rc < 0.
void check(int rc, const std::string& what);

}  // namespace promptops::git
