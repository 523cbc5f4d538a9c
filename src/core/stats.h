// mqcalib/src/core/stats.h: the statistics scans every stage shares, one copy each.
//
//  - scan_f32: min / max / "all finite" of a buffer in one vectorised pass (the minmax observer's kernel,
//    the first pass of every histogram, the report's min/max). min/max are exact whatever the split, so
//    scan_f32_parallel gives the same result at any thread count. scan_f32_ref is its plain twin.
//  - sum_squares_f32: sum of x^2 over fixed chunks of kSumSquaresChunk elements; inside a chunk 16
//    float lanes in a fixed pattern (vectorizes without reassociation: -ffp-contract=off, no fast-math),
//    chunk partials added in double in chunk order: the same bits at any thread count.
//    sum_squares_f32_ref computes the same sum with the same grouping in plain scalar code.
//  - SQNR of a quantized tensor q against its reference x:
//        SQNR_dB = 10 log10( sum x^2 / sum (x - q)^2 )      sums in double, serial, in element order
//    +infinity when the noise is exactly 0. SqnrSums accumulates over several tensors (batches).
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

namespace mqcalib {

struct ScanResult {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  bool finite = true;
  void merge(const ScanResult& o) {
    min = o.min < min ? o.min : min;
    max = o.max > max ? o.max : max;
    finite = finite && o.finite;
  }
};

// Elements per parallel chunk of scan_f32_parallel (fixed: independent of the thread count).
constexpr int64_t kScanChunk = 1 << 16;

// Serial scan of n values (n may be 0).
ScanResult scan_f32(const float* x, int64_t n);
ScanResult scan_f32_ref(const float* x, int64_t n);
// Parallel over kScanChunk chunks; min/max are exact in any merge order.
ScanResult scan_f32_parallel(const float* x, int64_t n);

// Elements per chunk of sum_squares_f32 (fixed: independent of the thread count).
constexpr int64_t kSumSquaresChunk = 1 << 15;
double sum_squares_f32(const float* x, int64_t n);
double sum_squares_f32_ref(const float* x, int64_t n);
// Both in one pass (each kSumSquaresChunk chunk scanned, then its squares summed while in cache):
// exactly scan_f32_parallel(x, n) and sum_squares_f32(x, n).
struct ScanSumSquares {
  ScanResult scan;
  double sum_squares = 0.0;
};
ScanSumSquares scan_sum_squares_f32(const float* x, int64_t n);

struct SqnrSums {
  double signal = 0.0;  // sum x^2
  double noise = 0.0;   // sum (x - q)^2
  void add(const SqnrSums& o) {
    signal += o.signal;
    noise += o.noise;
  }
  double db() const;  // 10 log10(signal / noise); +inf when noise == 0
};

SqnrSums sqnr_sums_f32(const float* x, const float* q, int64_t n);
double sqnr_db(const float* x, const float* q, int64_t n);

}  // namespace mqcalib
