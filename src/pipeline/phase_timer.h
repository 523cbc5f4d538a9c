// mqcalib/src/pipeline/phase_timer.h: adds a scope's wall time to report.seconds[phase] (the pipeline's
// per-stage timings in report.json).
#pragma once

#include <chrono>

#include "export/run_report.h"

namespace mqcalib {

class PhaseTimer {
 public:
  PhaseTimer(RunReport& r, const char* phase) : r_(r), phase_(phase), t0_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() { r_.seconds[phase_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  RunReport& r_;
  const char* phase_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace mqcalib
