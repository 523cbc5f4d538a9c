// mqcalib/src/import/omp_threads_guard.h: internal to src/import. LibTorch's ATen sets the calling
// thread's OpenMP thread count (omp_set_num_threads) to its own default the first time it runs a
// parallel op (at::init_num_threads), and that default is 1 on some machines (seen on the project's
// 2-core VM). The thread count is the engine's: every entry point of this module that may run ATen
// code holds this guard, which restores the count on the way out (exceptions included).
#pragma once

#include <omp.h>

namespace mqcalib::import_detail {

class OmpThreadsGuard {
 public:
  OmpThreadsGuard() : saved_(omp_get_max_threads()) {}
  ~OmpThreadsGuard() { omp_set_num_threads(saved_); }
  OmpThreadsGuard(const OmpThreadsGuard&) = delete;
  OmpThreadsGuard& operator=(const OmpThreadsGuard&) = delete;

 private:
  int saved_;
};

}  // namespace mqcalib::import_detail
