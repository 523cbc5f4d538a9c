// mqcalib/data/io_util.cpp: file helpers shared by the data sources (bounded gzip-or-plain reads).
#include "data/io_util.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace mqcalib {
namespace data_detail {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (suffix.size() > s.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    const unsigned char a = static_cast<unsigned char>(s[s.size() - suffix.size() + i]);
    const unsigned char b = static_cast<unsigned char>(suffix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

MaybeGzReader::MaybeGzReader(const std::string& path, const std::string& what)
    : file_(path, what), name_(file_.name()) {
  const std::vector<uint8_t> magic = file_.read_prefix(2);
  gzip_ = magic.size() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!gzip_) return;
  const int fd = ::dup(file_.fd());  // gzclose closes its own descriptor
  if (fd < 0) throw Error(name_ + ": cannot open: " + std::strerror(errno));
  gz_ = gzdopen(fd, "rb");
  if (!gz_) {
    ::close(fd);
    throw Error(name_ + ": cannot open (out of memory in zlib)");
  }
  gzbuffer(gz_, 1 << 16);
}

MaybeGzReader::~MaybeGzReader() {
  if (gz_) gzclose(gz_);
}

size_t MaybeGzReader::read(uint8_t* dst, size_t n) {
  if (!gzip_) {
    const int64_t left = std::max<int64_t>(file_.size() - pos_, 0);
    const size_t got =
        static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(std::min<size_t>(n, INT64_MAX))));
    if (got > 0) file_.read_exact(dst, got, pos_);
    pos_ += static_cast<int64_t>(got);
    return got;
  }
  const size_t kChunk = size_t{1} << 20;
  size_t done = 0;
  while (done < n) {
    const size_t want = std::min(kChunk, n - done);
    const int got = gzread(gz_, dst + done, static_cast<unsigned>(want));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(gz_, &errnum);
      throw Error(name_ + ": corrupt gzip stream (" + (msg ? msg : "unknown zlib error") + ")");
    }
    done += static_cast<size_t>(got);
    if (static_cast<size_t>(got) < want) break;
  }
  if (done < n) {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    // zlib reports a stream cut short as Z_BUF_ERROR "unexpected end of file" without failing gzread.
    if (errnum != Z_OK)
      throw Error(name_ + ": truncated or corrupt gzip stream (" + (msg ? msg : "unknown zlib error") + ")");
  }
  return done;
}

void MaybeGzReader::append(std::vector<uint8_t>& out, size_t n) {
  if (!gzip_) {  // plain: the file says how much is there
    const size_t old = out.size();
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(n, static_cast<uint64_t>(std::max<int64_t>(file_.size() - pos_, 0))));
    out.resize(old + want);
    out.resize(old + read(out.data() + old, want));
    return;
  }
  // gzip: grow by chunks that double from 64 KiB to 16 MiB, so a short stream costs little and a
  // long one is not copied too often; never more than n in all.
  size_t chunk = size_t{1} << 16;
  size_t left = n;
  while (left > 0) {
    const size_t want = std::min(chunk, left);
    const size_t old = out.size();
    out.resize(old + want);
    const size_t got = read(out.data() + old, want);
    out.resize(old + got);
    if (got < want) return;
    left -= got;
    chunk = std::min(chunk * 2, size_t{1} << 24);
  }
}

bool MaybeGzReader::at_end() {
  uint8_t b = 0;
  return read(&b, 1) == 0;
}

std::vector<uint8_t> read_prefix_maybe_gz(const std::string& path, const std::string& what, size_t n) {
  MaybeGzReader r(path, what);
  std::vector<uint8_t> out;
  r.append(out, n);
  return out;
}

std::vector<uint8_t> read_maybe_gz_bounded(const std::string& path, const std::string& what, int64_t max_bytes) {
  MaybeGzReader r(path, what);
  std::vector<uint8_t> out;
  r.append(out, static_cast<size_t>(max_bytes));
  if (static_cast<int64_t>(out.size()) == max_bytes && !r.at_end())
    throw Error(r.name() + ": more than " + std::to_string(max_bytes) + " bytes (" +
                (r.is_gzip() ? "after decompression, " : "") + "the most such a file may have)");
  return out;
}

}  // namespace data_detail
}  // namespace mqcalib
