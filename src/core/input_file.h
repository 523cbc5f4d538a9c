// mqcalib/src/core/input_file.h: the one way outside files are opened for reading (issue 14,
// "a reader allocates what its input claims").
//
// Every reader of outside bytes (data sources, labels, params.json and its weight codes, --config)
// goes through InputFile: it opens with O_NONBLOCK (so a FIFO never blocks the open) and fstat()s
// the descriptor it will read, so a directory, a FIFO, a character or block device or a socket is
// refused with a message naming the file, and the size the reader bounds its reads by is the size
// of the very file it reads (no stat-then-open race). Readers size the file first and never read
// more than their header (or their hard limit) needs. Size arithmetic goes through checked_mul /
// checked_add, which throw instead of wrapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mqcalib/input_file.h"  // read_file_bounded (public)

namespace mqcalib {

// Hard limits for inputs that carry no header bounding them (text files, JSON; --config's is in
// src/cli/config_file.h).
inline constexpr int64_t kMaxParamsJsonBytes = int64_t{1} << 30;  // params.json: 1 GiB (tensor lists, not weights)
inline constexpr int64_t kMaxLabelsTextBytes = int64_t{1} << 30;  // a text labels file, after gunzip

class InputFile {
 public:
  // `what` names the file's role in messages ("--config", "params file", "labels file").
  // Throws Error "<what> '<path>': <reason>" when the path is empty, missing, unreadable, or not a
  // regular file (directory, FIFO, device, socket: each named).
  InputFile(const std::string& path, const std::string& what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  InputFile(InputFile&& o) noexcept;
  InputFile& operator=(InputFile&&) = delete;

  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // "<what> '<path>'", the prefix of every message about this file.
  std::string name() const { return what_ + " '" + path_ + "'"; }
  int fd() const { return fd_; }
  // Gives up ownership of the descriptor (e.g. to gzdopen); the caller closes it.
  int release();

  // Exactly `n` bytes at `offset`; Error naming the file on a read error or a short file.
  void read_exact(void* dst, size_t n, int64_t offset) const;
  // min(n, size()) bytes from the start.
  std::vector<uint8_t> read_prefix(size_t n) const;
  // The whole file, refused before reading when size() > max_bytes (the message gives both).
  std::string read_all(int64_t max_bytes) const;

 private:
  std::string path_, what_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// read_file_bounded(path, what, max_bytes) (include/mqcalib/input_file.h) is
// InputFile(path, what).read_all(max_bytes).

// a * b and a + b for non-negative sizes; throw Error "<context>: size overflows" instead of wrapping.
int64_t checked_mul(int64_t a, int64_t b, const std::string& context);
int64_t checked_add(int64_t a, int64_t b, const std::string& context);

}  // namespace mqcalib
