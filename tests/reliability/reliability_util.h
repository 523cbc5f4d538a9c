// mqcalib/tests/reliability/reliability_util.h: helpers for the reliability tests (issue 14):
// special files (FIFOs, devices, symlinks) and a gzip stream whose tail is corrupt, which proves a
// reader stopped where its header said: reading it whole fails with a zlib error instead.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "data/data_test_util.h"

namespace reliability_test {

// A FIFO at `path`. A reader that opened it without O_NONBLOCK would block forever (and the test
// would hit its meson timeout instead of passing).
inline void make_fifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path);
}

inline void make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) throw std::runtime_error("symlink " + link);
}

// `good` as one complete gzip member, then the first half of a second member (a stream cut short):
// zlib reports "unexpected end of file" only to a reader that goes past `good`.
inline std::vector<uint8_t> gz_then_cut_member(const std::string& dir, const std::vector<uint8_t>& good) {
  const std::string a = dir + "/.part_a.gz", b = dir + "/.part_b.gz";
  data_test::write_gz(a, good);
  data_test::write_gz(b, std::vector<uint8_t>(100000, 7));
  std::vector<uint8_t> out = data_test::read_bytes(a);
  std::vector<uint8_t> tail = data_test::read_bytes(b);
  tail.resize(tail.size() / 2);
  out.insert(out.end(), tail.begin(), tail.end());
  ::unlink(a.c_str());
  ::unlink(b.c_str());
  return out;
}

}  // namespace reliability_test
