// SPDX-License-Identifier: MIT
// Files: whole reads, reads inside a tree that follow no link, and atomic writes (temp file,
// fsync, rename) that never leave a torn file.
#include <promptops/util/file.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <promptops/util/error.hpp>

namespace promptops::util {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(what + " '" + path.string() + "': " + std::strerror(errno));
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  void reset(int fd) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

 private:
  int m_fd;
};

// The target of the link `name` in `dir`, as stored (never resolved).
std::string link_target(int dir, const std::string& name) {
  std::string target(4096, '\0');
  const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return target;
}

// Up to `max_bytes` + 1 bytes of `fd`, so that a file that grew past the limit is seen.
std::string read_bounded(int fd, std::uint64_t max_bytes, std::uint64_t size_hint, const std::filesystem::path& path) {
  std::string out;
  out.reserve(static_cast<std::size_t>(std::min(size_hint, max_bytes)));
  char buffer[65536];
  while (out.size() <= max_bytes) {
    const std::uint64_t room = max_bytes + 1 - out.size();
    const ssize_t n = ::read(fd, buffer, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer, room)));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("cannot read", path);
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// The last component of a read_beneath path: classified with lstat before anything is opened, so
// a device or fifo is never opened and a link never followed.
TreeFile read_last(int dir, const std::string& name, const std::string& relative, std::uint64_t max_bytes,
                   const std::filesystem::path& shown) {
  TreeFile out;
  struct stat info {};
  if (::fstatat(dir, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return out;
    }
    fail("cannot read", shown);
  }
  if (S_ISLNK(info.st_mode)) {
    out.kind = TreeFile::Kind::link;
    out.link = relative;
    out.bytes = link_target(dir, name);
    return out;
  }
  if (S_ISDIR(info.st_mode)) {
    return out;
  }
  if (!S_ISREG(info.st_mode)) {
    out.kind = TreeFile::Kind::special;
    return out;
  }
  const Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return out;
    }
    fail("cannot open", shown);
  }
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    out.kind = TreeFile::Kind::special;  // replaced between the lstat and the open
    return out;
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes) {
    out.kind = TreeFile::Kind::too_large;
    out.size = size;
    return out;
  }
  out.bytes = read_bounded(fd.get(), max_bytes, size, shown);
  if (out.bytes.size() > max_bytes) {
    out.kind = TreeFile::Kind::too_large;
    out.size = out.bytes.size();
    out.bytes.clear();
    return out;
  }
  out.kind = TreeFile::Kind::regular;
  return out;
}

}  // namespace

TreeFile read_beneath(const std::filesystem::path& root, std::string_view relative, std::uint64_t max_bytes) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return {};
    }
    fail("cannot open", root);
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', start);
    const std::string name(relative.substr(start, slash == std::string_view::npos ? slash : slash - start));
    const std::string so_far(relative.substr(0, slash));
    if (name.empty() || name == "." || name == "..") {
      return {};  // callers give normalized paths; anything else is not a file of the tree
    }
    if (slash == std::string_view::npos) {
      return read_last(dir.get(), name, so_far, max_bytes, root / relative);
    }
    const int next = ::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
        fail("cannot open", root / so_far);
      }
      struct stat info {};
      TreeFile out;
      if (::fstatat(dir.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(info.st_mode)) {
        out.kind = TreeFile::Kind::link;  // a directory link: never descended
        out.link = so_far;
        out.bytes = link_target(dir.get(), name);
      }
      return out;
    }
    dir.reset(next);
    start = slash + 1;
  }
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    fail("cannot open", path);
  }
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string out;
  out.reserve(info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 0);
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int saved = errno;
      ::close(fd);
      errno = saved;
      fail("cannot read", path);
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       std::filesystem::perms mode, Sync sync) {
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  std::string temp = path.string() + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    fail("cannot create a temporary file beside", path);
  }
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      errno = saved;
      fail("cannot write", temp);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fchmod(fd, static_cast<mode_t>(mode));
  if ((sync == Sync::full && ::fsync(fd) != 0) || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    fail("cannot write", temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    fail("cannot rename a temporary file to", path);
  }
}

}  // namespace promptops::util
