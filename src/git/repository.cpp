// SPDX-License-Identifier: MIT
// Opening a repository (discovery, worktrees, shallow roots, friendly failures) and object ids.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include <promptops/util/error.hpp>
#include <promptops/git/git.hpp>

#include "repository_impl.hpp"
#include <promptops/util/file.hpp>
#include <promptops/util/strings.hpp>

namespace promptops::git {

std::string last_error_message() {
  const git_error* error = git_error_last();
  if (error == nullptr || error->message == nullptr) {
    return "unknown libgit2 error";
  }
  return error->message;
}

void check(int rc, const std::string& what) {
  if (rc < 0) {
    throw GitError(what + ": " + last_error_message());
  }
}

LibraryScope::LibraryScope() {
  git_libgit2_init();
  // Reads only, like git: no hash verification, no object cache (libgit2-facts.md section 1.6).
  git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
  git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
  // Partial clones with sparse checkout set extensions.worktreeConfig (section 5); the tool
  // never reads config.worktree, which is harmless for reading history.
  const char* extensions[] = {"worktreeconfig"};
  git_libgit2_opts(GIT_OPT_SET_EXTENSIONS, extensions, static_cast<size_t>(1));
}

LibraryScope::~LibraryScope() { git_libgit2_shutdown(); }

std::optional<Oid> Oid::parse(std::string_view hex) {
  if (hex.size() != 40) {
    return std::nullopt;
  }
  Oid out;
  for (std::size_t i = 0; i < 20; ++i) {
    unsigned value = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      unsigned digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      value = value * 16 + digit;
    }
    out.bytes[i] = static_cast<unsigned char>(value);
  }
  return out;
}

std::string Oid::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string out(40, '0');
  for (std::size_t i = 0; i < 20; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

std::string Oid::short_hex(std::size_t n) const { return hex().substr(0, n); }

bool Oid::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; });
}

std::size_t OidHash::operator()(const Oid& id) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return h;
}

Person person_from(const git_signature* signature) {
  Person out;
  if (signature == nullptr) {
    return out;
  }
  out.name = signature->name != nullptr ? signature->name : "";
  out.email = signature->email != nullptr ? signature->email : "";
  out.time = static_cast<std::int64_t>(signature->when.time);
  out.offset_minutes = signature->when.offset;
  return out;
}

bool Repository::Impl::is_shallow_root(const Oid& id) const {
  return std::binary_search(shallow.begin(), shallow.end(), id);
}

namespace {

std::filesystem::path trimmed_path(const char* path) {
  std::string text = path != nullptr ? path : "";
  while (text.size() > 1 && text.back() == '/') {
    text.pop_back();
  }
  return text;
}

[[noreturn]] void throw_open_error(int rc, const std::filesystem::path& start) {
  const std::string message = last_error_message();
  if (rc == GIT_ENOTFOUND && message.find("safe.directory") == std::string::npos) {
    throw GitError("not a git repository (or any of the parent directories): " + start.string(),
                   "run the command inside a git repository, or create one with 'git init'");
  }
  if (rc == GIT_EOWNER || message.find("safe.directory") != std::string::npos ||
      message.find("not owned by current user") != std::string::npos) {
    throw GitError("detected dubious ownership in repository at '" + start.string() + "'",
                   "to trust it, run: git config --global --add safe.directory '" +
                       start.string() + "'");
  }
  if (message.find("objectformat") != std::string::npos) {
    throw GitError("SHA-256 repositories are not supported: " + start.string(),
                   "git-promptops reads SHA-1 repositories only (libgit2 1.5 has no SHA-256)");
  }
  if (message.find("unsupported extension") != std::string::npos) {
    throw GitError("cannot open repository at '" + start.string() + "': " + message,
                   "the repository uses a git extension that git-promptops cannot read");
  }
  throw GitError("cannot open repository at '" + start.string() + "': " + message);
}

std::vector<Oid> read_shallow(const std::filesystem::path& common_dir) {
  std::vector<Oid> out;
  const auto text = util::read_file(common_dir / "shallow");
  if (!text) {
    return out;
  }
  for (const std::string& line : util::split(*text, '\n')) {
    if (auto id = Oid::parse(util::trim(line))) {
      out.push_back(*id);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Repository::Repository(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;
Repository::~Repository() = default;

Repository Repository::discover(const std::filesystem::path& start) {
  git_repository* raw = nullptr;
  const std::string start_text = start.string();
  // FROM_ENV honours GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES... as git does; git sets
  // GIT_DIR itself for `git --git-dir=X promptops`.
  const int rc = git_repository_open_ext(&raw, start_text.c_str(), GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
  if (rc < 0) {
    throw_open_error(rc, start);
  }
  auto impl = std::make_unique<Impl>();
  impl->repo.reset(raw);
  git_odb* odb = nullptr;
  check(git_repository_odb(&odb, raw), "opening the object database");
  impl->odb.reset(odb);
  impl->bare = git_repository_is_bare(raw) != 0;
  impl->workdir = impl->bare ? std::filesystem::path() : trimmed_path(git_repository_workdir(raw));
  impl->git_dir = trimmed_path(git_repository_path(raw));
  impl->common_dir = trimmed_path(git_repository_commondir(raw));
  impl->shallow = read_shallow(impl->common_dir);
  return Repository(std::move(impl));
}

Person Repository::mailmap(const Person& person) const {
  if (!m_impl->mailmap) {
    git_mailmap* raw = nullptr;
    // A broken .mailmap must not stop a read-only listing: treat it as absent.
    m_impl->mailmap.emplace(git_mailmap_from_repository(&raw, m_impl->repo.get()) == 0 ? raw : nullptr);
  }
  if (!*m_impl->mailmap) {
    return person;
  }
  const char* name = nullptr;   // borrowed from the mailmap or from the arguments
  const char* email = nullptr;
  if (git_mailmap_resolve(&name, &email, m_impl->mailmap->get(), person.name.c_str(), person.email.c_str()) != 0) {
    return person;
  }
  Person out = person;
  out.name = name;
  out.email = email;
  return out;
}

const std::filesystem::path& Repository::workdir() const { return m_impl->workdir; }
const std::filesystem::path& Repository::git_dir() const { return m_impl->git_dir; }
const std::filesystem::path& Repository::common_dir() const { return m_impl->common_dir; }
bool Repository::is_bare() const { return m_impl->bare; }
const std::vector<Oid>& Repository::shallow_roots() const { return m_impl->shallow; }

}  // namespace promptops::git
