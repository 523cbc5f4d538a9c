// mqcalib/src/core/stats.cpp: see stats.h.
#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/parallel.h"

namespace mqcalib {

// scan: GCC vector extensions (lowered to SSE/AVX per -march): 4 x 8 lanes of min and max, and the
// maximum of the magnitude bits as integers: >= 0x7f800000 exactly when some x is Inf or NaN. The
// min/max selects drop NaN; the magnitude test catches it.
ScanResult scan_f32(const float* x, int64_t n) {
  typedef float V8 __attribute__((vector_size(32)));
  typedef int32_t I8 __attribute__((vector_size(32)));
  constexpr int kLanes = 32;
  const float inf = std::numeric_limits<float>::infinity();
  const V8 pinf = {inf, inf, inf, inf, inf, inf, inf, inf};
  V8 mn[4] = {pinf, pinf, pinf, pinf}, mx[4] = {-pinf, -pinf, -pinf, -pinf};
  I8 bits = {};
  const I8 mag = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int u = 0; u < 4; ++u) {
      V8 a;
      std::memcpy(&a, x + i + 8 * u, sizeof a);
      mn[u] = a < mn[u] ? a : mn[u];
      mx[u] = a > mx[u] ? a : mx[u];
      I8 ai;
      std::memcpy(&ai, &a, sizeof ai);
      ai &= mag;
      bits = ai > bits ? ai : bits;
    }
  }
  ScanResult r;
  for (int j = 0; j < 8; ++j) {
    for (int u = 0; u < 4; ++u) {
      r.min = mn[u][j] < r.min ? mn[u][j] : r.min;
      r.max = mx[u][j] > r.max ? mx[u][j] : r.max;
    }
    if (bits[j] >= 0x7f800000) r.finite = false;
  }
  for (; i < n; ++i) {
    const float v = x[i];
    r.min = v < r.min ? v : r.min;
    r.max = v > r.max ? v : r.max;
    if (!std::isfinite(v)) r.finite = false;
  }
  return r;
}

ScanResult scan_f32_ref(const float* x, int64_t n) {
  ScanResult r;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      r.finite = false;
    } else {
      r.min = std::min(r.min, x[i]);
      r.max = std::max(r.max, x[i]);
    }
  }
  return r;
}

ScanResult scan_f32_parallel(const float* x, int64_t n) {
  std::vector<ScanResult> part(static_cast<size_t>(num_chunks(n, kScanChunk)));
  parallel_for_chunks(n, kScanChunk,
                      [&](int64_t b, int64_t e, int64_t k) { part[static_cast<size_t>(k)] = scan_f32(x + b, e - b); });
  ScanResult r;
  for (const ScanResult& p : part) r.merge(p);
  return r;
}

namespace {

constexpr int kSumLanes = 16;

// One chunk: lane q sums x[j + q] for j = 0, 16, 32, ... (float), then the lanes in order, then the tail.
float chunk_sum_squares(const float* d, int64_t n) {
  float sv[kSumLanes] = {};
  int64_t j = 0;
  for (; j + kSumLanes <= n; j += kSumLanes)
    for (int q = 0; q < kSumLanes; ++q) sv[q] += d[j + q] * d[j + q];
  float s = 0.0f;
  for (int q = 0; q < kSumLanes; ++q) s += sv[q];
  for (; j < n; ++j) s += d[j] * d[j];
  return s;
}

}  // namespace

double sum_squares_f32(const float* x, int64_t n) {
  std::vector<float> part(static_cast<size_t>(num_chunks(n, kSumSquaresChunk)));
  parallel_for_chunks(n, kSumSquaresChunk, [&](int64_t b, int64_t e, int64_t k) {
    part[static_cast<size_t>(k)] = chunk_sum_squares(x + b, e - b);
  });
  double s = 0.0;
  for (float p : part) s += p;
  return s;
}

ScanSumSquares scan_sum_squares_f32(const float* x, int64_t n) {
  const size_t nc = static_cast<size_t>(num_chunks(n, kSumSquaresChunk));
  std::vector<float> part(nc);
  std::vector<ScanResult> scans(nc);
  parallel_for_chunks(n, kSumSquaresChunk, [&](int64_t b, int64_t e, int64_t k) {
    scans[static_cast<size_t>(k)] = scan_f32(x + b, e - b);
    part[static_cast<size_t>(k)] = chunk_sum_squares(x + b, e - b);
  });
  ScanSumSquares r;
  for (const ScanResult& s : scans) r.scan.merge(s);
  for (float p : part) r.sum_squares += p;
  return r;
}

double sum_squares_f32_ref(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t b = 0; b < n; b += kSumSquaresChunk) {
    const int64_t e = std::min(n, b + kSumSquaresChunk);
    float lane[kSumLanes] = {};
    int64_t j = b;
    for (; j + kSumLanes <= e; j += kSumLanes)
      for (int q = 0; q < kSumLanes; ++q) lane[q] += x[j + q] * x[j + q];
    float c = 0.0f;
    for (float l : lane) c += l;
    for (; j < e; ++j) c += x[j] * x[j];
    s += c;
  }
  return s;
}

double SqnrSums::db() const {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

SqnrSums sqnr_sums_f32(const float* x, const float* q, int64_t n) {
  SqnrSums s;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = static_cast<double>(x[i]);
    const double d = xi - static_cast<double>(q[i]);
    s.signal += xi * xi;
    s.noise += d * d;
  }
  return s;
}

double sqnr_db(const float* x, const float* q, int64_t n) { return sqnr_sums_f32(x, q, n).db(); }

}  // namespace mqcalib
