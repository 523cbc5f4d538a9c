// mqcalib/src/core/parallel.h: thread count and deterministic parallel loops.
//
// Rule (docs/STYLE.md): results must be bit-identical at any thread count. So work is split into
// chunks whose boundaries depend only on the problem size (never on the thread count), each chunk
// is computed by one thread, and any reduction over chunks is done afterwards, serially, in chunk
// order.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "core/error.h"

namespace mqcalib {

// Number of threads the engine uses (OpenMP). set_num_threads(0) keeps OpenMP's default.
inline void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

// --threads: 0 (all cores) up to kMaxThreadsPerCore x the cores (at least 8). More threads than cores
// change no result (the chunking is fixed) and only add per-thread memory and scheduling time: 10000
// threads took 805 MB and ran 16x slower (issue 14). Throws Error naming `option`; then sets the count.
inline constexpr int kMaxThreadsPerCore = 4;
inline void check_num_threads(int n, const std::string& option = "--threads") {
  const int cores = std::max(1, omp_get_num_procs());
  const int most = std::max(8, kMaxThreadsPerCore * cores);
  if (n < 0 || n > most)
    throw Error(ErrorKind::Invalid, option + " " + std::to_string(n) + ": must be 0 (all " + std::to_string(cores) +
                                        " cores) to " + std::to_string(most) + " (" +
                                        std::to_string(kMaxThreadsPerCore) + " per core)");
}
inline void set_num_threads_checked(int n, const std::string& option = "--threads") {
  check_num_threads(n, option);
  set_num_threads(n);
}
inline int num_threads() { return omp_get_max_threads(); }

// Calls fn(begin, end, chunk_index) for fixed chunks [k*chunk, min(n, (k+1)*chunk)) in parallel.
// An exception never leaves the OpenMP region (that would terminate the process): each chunk's is
// caught, and after the region the one of the lowest failing chunk index is rethrown, so the error
// reported does not depend on the thread count either.
template <class Fn>
void parallel_for_chunks(int64_t n, int64_t chunk, Fn&& fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  const int64_t nchunks = (n + chunk - 1) / chunk;
  std::exception_ptr error;
  int64_t error_chunk = nchunks;
#pragma omp parallel for schedule(static) if (nchunks > 1)
  for (int64_t k = 0; k < nchunks; ++k) {
    const int64_t b = k * chunk;
    try {
      fn(b, std::min(n, b + chunk), k);
    } catch (...) {
#pragma omp critical(mqcalib_parallel_for_chunks_error)
      if (k < error_chunk) {
        error_chunk = k;
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

inline int64_t num_chunks(int64_t n, int64_t chunk) {
  return n <= 0 ? 0 : (n + std::max<int64_t>(1, chunk) - 1) / std::max<int64_t>(1, chunk);
}

}  // namespace mqcalib
