// mqcalib/src/cli/progress.h: progress on stderr: a bar redrawn in place when stderr is a terminal,
// plain lines every ~10% (or phase change) otherwise, so logs stay readable.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

namespace mqcalib::cli {

class Progress {
 public:
  explicit Progress(bool quiet = false) : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}
  ~Progress() { finish(); }

  void operator()(const std::string& phase, int64_t done, int64_t total) {
    if (quiet_) return;
    if (phase != phase_) {
      finish();
      if (!detail_fresh_) detail_.clear();  // a detail belongs to the phase it was set for
      phase_ = phase;
      start_ = std::chrono::steady_clock::now();
      last_pct_ = -10;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int pct = total > 0 ? static_cast<int>(100 * done / total) : 0;
    if (tty_) {
      const int w = 30, filled = total > 0 ? static_cast<int>(w * done / total) : 0;
      std::fprintf(stderr, "\r%-10s [%s%s] %3d%% %lld/%lld  %.1fs %s", phase.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(w - filled), '.').c_str(), pct, static_cast<long long>(done),
                   static_cast<long long>(total), secs, detail_.c_str());
      open_ = true;
    } else if (pct >= last_pct_ + 10 || (total > 0 && done == total && last_pct_ < 100)) {
      std::fprintf(stderr, "%s: %lld/%lld (%d%%) %.1fs %s\n", phase.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total), pct, secs, detail_.c_str());
      last_pct_ = pct;
    }
    detail_fresh_ = false;
  }

  // Extra text shown after the counts (e.g. AdaRound's loss and soft fraction), set just before the
  // progress call it describes; kept within its phase, dropped when another phase starts without one.
  void set_detail(std::string d) {
    detail_ = std::move(d);
    detail_fresh_ = true;
  }

  void finish() {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
  }

 private:
  bool quiet_, tty_;
  bool open_ = false;
  bool detail_fresh_ = false;
  std::string phase_, detail_;
  int last_pct_ = -10;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mqcalib::cli
