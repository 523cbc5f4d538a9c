// mqcalib/src/core/input_file.cpp: see input_file.h.
#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace mqcalib {
namespace {

// Why a stat()ed path is not a regular file, or nullptr when it is one.
const char* not_regular_reason(mode_t m) {
  if (S_ISREG(m)) return nullptr;
  if (S_ISDIR(m)) return "is a directory, expected a file";
  if (S_ISFIFO(m)) return "is a FIFO (named pipe), expected a regular file";
  if (S_ISCHR(m)) return "is a character device, expected a regular file";
  if (S_ISBLK(m)) return "is a block device, expected a regular file";
  if (S_ISSOCK(m)) return "is a socket, expected a regular file";
  return "is not a regular file";
}

std::string size_text(int64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

InputFile::InputFile(const std::string& path, const std::string& what) : path_(path), what_(what) {
  if (path.empty()) throw Error(what + ": the path is empty");
  // stat() first so that opening never touches a device or blocks on a FIFO; fstat() after the
  // open so that the size and type are those of the descriptor read (the path may have changed).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(name() + " does not exist");
    throw Error(name() + ": cannot access: " + std::strerror(errno));
  }
  if (const char* why = not_regular_reason(st.st_mode)) throw Error(name() + " " + why);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_ < 0) throw Error(name() + ": cannot open: " + std::strerror(errno));
  struct stat fst {};
  if (::fstat(fd_, &fst) != 0 || not_regular_reason(fst.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(name() + " " + (not_regular_reason(fst.st_mode) ? not_regular_reason(fst.st_mode) : "cannot be read"));
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = static_cast<int64_t>(fst.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

InputFile::InputFile(InputFile&& o) noexcept
    : path_(std::move(o.path_)), what_(std::move(o.what_)), fd_(o.fd_), size_(o.size_) {
  o.fd_ = -1;
}

int InputFile::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void InputFile::read_exact(void* dst, size_t n, int64_t offset) const {
  if (offset < 0 || static_cast<uint64_t>(offset) > static_cast<uint64_t>(std::numeric_limits<off_t>::max()) - n)
    throw Error(name() + ": read offset " + std::to_string(offset) + " is out of range");
  auto* out = static_cast<uint8_t*>(dst);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(name() + ": read failed: " + std::strerror(errno));
    if (r == 0)
      throw Error(name() + ": unexpected end of file at byte " + std::to_string(offset + static_cast<int64_t>(done)) +
                  " (the file is shorter than " + size_text(offset + static_cast<int64_t>(n)) +
                  "; changed while read?)");
    done += static_cast<size_t>(r);
  }
}

std::vector<uint8_t> InputFile::read_prefix(size_t n) const {
  const size_t want = static_cast<uint64_t>(size_) < n ? static_cast<size_t>(size_) : n;
  std::vector<uint8_t> out(want);
  if (want > 0) read_exact(out.data(), want, 0);
  return out;
}

std::string InputFile::read_all(int64_t max_bytes) const {
  if (size_ > max_bytes)
    throw Error(name() + ": " + size_text(size_) + ", more than the " + size_text(max_bytes) + " such a file may have");
  std::string out(static_cast<size_t>(size_), '\0');
  if (size_ > 0) read_exact(out.data(), out.size(), 0);
  // A file that grew since fstat (a log being written) is refused rather than read in part.
  char extra = 0;
  ssize_t r;
  do {
    r = ::pread(fd_, &extra, 1, static_cast<off_t>(size_));
  } while (r < 0 && errno == EINTR);
  if (r > 0) throw Error(name() + ": the file grew while it was read");
  return out;
}

std::string read_file_bounded(const std::string& path, const std::string& what, int64_t max_bytes) {
  return InputFile(path, what).read_all(max_bytes);
}

int64_t checked_mul(int64_t a, int64_t b, const std::string& context) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) throw Error(context + ": size overflows");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& context) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r)) throw Error(context + ": size overflows");
  return r;
}

}  // namespace mqcalib
