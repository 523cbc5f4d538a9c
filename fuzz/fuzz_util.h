// mqcalib/fuzz/fuzz_util.h: shared by the libFuzzer targets (meson -Dfuzz=true, see fuzz/README.md).
//
// Each target writes its input to a file in a per-process scratch folder and calls the real
// file-level reader on it, so the bounded reads, the special-file checks and the format code are
// all exercised. The only exception a reader may throw is mqcalib::Error (its message names the
// file); any other exception escapes to libFuzzer, which reports it as a crash.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace fuzz {

// Created on first use, removed at exit. In $MQCALIB_FUZZ_TMP, else /dev/shm (tmpfs: rewriting a
// file per execution on ext4 forces a disk write-back each time, 10x slower), else /tmp.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("MQCALIB_FUZZ_TMP");
    const std::string base = env ? env : (::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    std::string t = base + "/mqcalib_fuzz_XXXXXX";
    if (!::mkdtemp(t.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    return t;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return true;
  }();
  (void)cleanup_registered;
  return dir;
}

// Writes `size` bytes to scratch_dir()/name (truncating) and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  return path;
}

// Runs f; an mqcalib::Error is the expected way to refuse bad bytes.
template <class F>
void refuse_only_with_error(F&& f) {
  try {
    f();
  } catch (const mqcalib::Error&) {
  }
}

}  // namespace fuzz
