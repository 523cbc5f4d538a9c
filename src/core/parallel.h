// mqcalib/src/core/parallel.h: thread count and deterministic parallel loops.
//
// Rule (docs/STYLE.md): results must be bit-identical at any thread count. So work is split into
// chunks whose boundaries depend only on the problem size (never on the thread count), each chunk
// is computed by one thread, and any reduction over chunks is done afterwards, serially, in chunk
// order.
#pragma once

#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace mqcalib {

// Number of threads the engine uses (OpenMP). set_num_threads(0) keeps OpenMP's default.
inline void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
inline int num_threads() { return omp_get_max_threads(); }

// Calls fn(begin, end, chunk_index) for fixed chunks [k*chunk, min(n, (k+1)*chunk)) in parallel.
template <class Fn>
void parallel_for_chunks(int64_t n, int64_t chunk, Fn&& fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  const int64_t nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (nchunks > 1)
  for (int64_t k = 0; k < nchunks; ++k) {
    const int64_t b = k * chunk;
    fn(b, std::min(n, b + chunk), k);
  }
}

inline int64_t num_chunks(int64_t n, int64_t chunk) { return n <= 0 ? 0 : (n + std::max<int64_t>(1, chunk) - 1) / std::max<int64_t>(1, chunk); }

}  // namespace mqcalib
