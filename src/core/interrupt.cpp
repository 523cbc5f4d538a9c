// mqcalib/src/core/interrupt.cpp: see interrupt.h.
#include "core/interrupt.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace mqcalib {
namespace {

constexpr size_t kMaxPath = 4096;
char g_dir[kMaxPath];              // the folder to remove, NUL-terminated
std::atomic<int> g_armed{0};       // 1 while g_dir is valid
std::atomic<int> g_in_handler{0};  // a second signal during cleanup just waits for the first

// Linux getdents64 record (linux_dirent64).
struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

// Removes everything inside the directory open as `fd` (depth-limited: the output folder has one
// level of sub-folders). Only system calls: safe in a signal handler.
void remove_contents(int fd, int depth) {
  alignas(8) char buf[4096];
  for (;;) {
    const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) return;
    bool removed_any = false;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
      off += d->d_reclen;
      const char* name = d->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      if (::unlinkat(fd, name, 0) == 0) {
        removed_any = true;
        continue;
      }
      if (depth <= 0) continue;
      const int sub = ::openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      remove_contents(sub, depth - 1);
      ::close(sub);
      if (::unlinkat(fd, name, AT_REMOVEDIR) == 0) removed_any = true;
    }
    if (removed_any) ::lseek(fd, 0, SEEK_SET);  // entries shift as they go: list again from the start
  }
}

void on_signal(int sig) {
  if (g_in_handler.exchange(1) == 0 && g_armed.load() == 1) {
    const int fd = ::open(g_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      remove_contents(fd, 4);
      ::close(fd);
      ::rmdir(g_dir);
    }
  }
  ::_exit(128 + sig);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigfillset(&sa.sa_mask);  // no second handler runs on top of a cleanup
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

RemoveOnSignal::RemoveOnSignal(const std::string& dir) {
  if (g_armed.load() == 1) previous_ = g_dir;
  g_armed.store(0);
  if (dir.size() >= kMaxPath) return;  // not registered: the next run removes it as stale
  std::memcpy(g_dir, dir.c_str(), dir.size() + 1);
  g_armed.store(1);
}

RemoveOnSignal::~RemoveOnSignal() {
  g_armed.store(0);
  if (!previous_.empty()) {
    std::memcpy(g_dir, previous_.c_str(), previous_.size() + 1);
    g_armed.store(1);
  }
}

}  // namespace mqcalib
