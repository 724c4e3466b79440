// SPDX-License-Identifier: MIT
// What a Repository holds; visible to src/git only (the history engine reads the ODB directly).
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include <promptops/git/git.hpp>

#include "handles.hpp"

namespace promptops::git {

struct Repository::Impl {
  RepositoryHandle repo;
  OdbHandle odb;  // owned here, borrowed by readers
  std::filesystem::path workdir;
  std::filesystem::path git_dir;
  std::filesystem::path common_dir;
  bool bare = false;
  std::vector<Oid> shallow;  // sorted, for binary search
  std::optional<MailmapHandle> mailmap;  // loaded on first use; a null handle means none

  bool is_shallow_root(const Oid& id) const;
};

inline const git_oid* to_git(const Oid& id) { return reinterpret_cast<const git_oid*>(id.bytes.data()); }
// A libgit2 signature (borrowed, may be null) as a Person; an empty Person for null.
Person person_from(const git_signature* signature);

inline Oid from_git(const git_oid& id) {
  Oid out;
  std::copy(id.id, id.id + 20, out.bytes.begin());
  return out;
}

}  // namespace promptops::git
