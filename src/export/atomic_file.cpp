// mqcalib/src/export/atomic_file.cpp: write to <path>.tmp, fsync, rename (POSIX).
#include "export/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace mqcalib {

namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  if (path.empty()) throw Error("write_file_atomic: empty output path");
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& step, int err) {
    throw Error("cannot write '" + path + "': " + step + ": " + std::strerror(err));
  };
  // O_EXCL is not used: a stale <path>.tmp left by a killed run is replaced. O_NOFOLLOW: never write
  // through a symlink planted at the temporary name. O_NONBLOCK: a FIFO at the temporary name fails
  // (ENXIO) instead of blocking forever; the fstat below rejects any other non-regular file. (errno
  // is saved before building a message: the string operations may change it.)
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) {
    const int err = errno;
    fail("cannot create '" + tmp + "'", err);
  }
  struct stat st;
  const bool stat_failed = ::fstat(fd, &st) != 0;
  if (stat_failed || !S_ISREG(st.st_mode)) {
    const int err = stat_failed ? errno : 0;
    ::close(fd);
    throw Error("cannot write '" + path + "': '" + tmp + "' exists and is not a regular file" +
                (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("fcntl on '" + tmp + "' failed", err);
  }
  auto fail_and_remove = [&](const std::string& step, int err) {
    ::unlink(tmp.c_str());
    fail(step, err);
  };
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail_and_remove("write to '" + tmp + "' failed", err);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail_and_remove("fsync of '" + tmp + "' failed", err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    fail_and_remove("close of '" + tmp + "' failed", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    fail_and_remove("rename of '" + tmp + "' failed", err);
  }
  // Make the rename itself durable. A directory that cannot be opened for fsync (unusual file
  // systems) does not make the write fail: the file is complete and in place.
  const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace mqcalib
