// mqcalib/src/api/thread_scope.h: the thread count of one API call, on the calling thread only.
//
// OpenMP's thread count (nthreads-var) belongs to the calling thread; every public entry point sets the
// count its options ask for on entry and restores the caller's on exit, so a call changes no state
// beyond its own duration and two handles on two threads do not see each other's setting.
#pragma once

#include <omp.h>

#include "core/parallel.h"

namespace mqcalib {

class ThreadScope {
 public:
  // n == 0: OpenMP's default (the caller's count); bounded by check_num_threads (core/parallel.h).
  explicit ThreadScope(int n) : previous_(omp_get_max_threads()), set_(n > 0) {
    check_num_threads(n);
    if (set_) omp_set_num_threads(n);
  }
  ~ThreadScope() {
    if (set_) omp_set_num_threads(previous_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
  bool set_;
};

}  // namespace mqcalib
