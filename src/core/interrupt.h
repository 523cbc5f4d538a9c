// mqcalib/src/core/interrupt.h: SIGINT / SIGTERM leave no partial output behind (issue 14).
//
// The CLI calls install_interrupt_handlers() (include/mqcalib/interrupt.h) once. While a RemoveOnSignal guard lives, a
// SIGINT or SIGTERM removes the folder it names (the output folder's staging copy: the new set being written, or the
// previous set just swapped out) and the process exits with 128 + the signal (130, 143), the shell convention. Outside
// a guard the handler only exits. The handler uses async-signal-safe system calls only (openat, getdents64, unlinkat,
// _exit). A library user who installs no handler keeps the default behaviour; a process killed with SIGKILL leaves the
// staging folder, which the next write_output_folder removes (its process is gone).
#pragma once

#include <string>

#include "mqcalib/interrupt.h"  // install_interrupt_handlers (public)

namespace mqcalib {

// Registers `dir` for removal on SIGINT/SIGTERM for the guard's lifetime (one at a time; nesting
// replaces the outer one until the inner guard ends).
class RemoveOnSignal {
 public:
  explicit RemoveOnSignal(const std::string& dir);
  ~RemoveOnSignal();
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  std::string previous_;
};

}  // namespace mqcalib
