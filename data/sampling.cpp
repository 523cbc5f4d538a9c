// mqcalib/data/sampling.cpp: deterministic choice of calibration samples.
//
// Portable by construction: splitmix64 and the bounded draw are written out here (std::
// distributions differ between standard libraries), so a seed picks the same samples everywhere.
#include <algorithm>
#include <numeric>

#include "data/dataset.h"

namespace mqcalib {

uint64_t SplitMix64::next() {
  // splitmix64, constants from Steele, Lea & Flood, "Fast splittable pseudorandom number
  // generators" (OOPSLA 2014), as in Vigna's reference splitmix64.c.
  state += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::uniform(uint64_t bound) {
  // Rejection sampling: discard the lowest (2^64 mod bound) values so every residue is equally likely.
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = next();
    if (r >= threshold) return r % bound;
  }
}

std::vector<int64_t> sample_indices(int64_t total, int64_t n, uint64_t seed) {
  if (total <= 0 || n <= 0) return {};
  std::vector<int64_t> idx(static_cast<size_t>(total));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  if (n >= total) return idx;
  // Partial Fisher-Yates: position i gets a uniform pick among the not yet chosen [i, total).
  SplitMix64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(total - i)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  idx.resize(static_cast<size_t>(n));
  std::sort(idx.begin(), idx.end());  // ascending: sequential reads, order-independent result
  return idx;
}

}  // namespace mqcalib
