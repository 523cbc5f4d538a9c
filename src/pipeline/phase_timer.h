// mqcalib/src/pipeline/phase_timer.h: the time per phase of report.json / report.html.
#pragma once

#include <chrono>
#include <string>

#include "export/run_report.h"

namespace mqcalib {

// Adds the seconds since construction to report.seconds[phase] when it goes out of scope.
class PhaseTimer {
 public:
  using Clock = std::chrono::steady_clock;
  PhaseTimer(RunReport& r, const char* phase) : r_(r), phase_(phase), t0_(Clock::now()) {}
  ~PhaseTimer() { r_.seconds[phase_] += std::chrono::duration<double>(Clock::now() - t0_).count(); }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  RunReport& r_;
  const char* phase_;
  Clock::time_point t0_;
};

}  // namespace mqcalib
