// mqcalib/calibrators/lp_search.h: the Lp-norm clipping-range search of the mse observer, a fast
// path and its reference twin (suffix _ref).
//
// Loss of a candidate range: sum_i w_i |fq(x_i) - x_i|^p, fq the EXACT quantizer of the scheme (core's
// choose_qparams on the candidate range, then core's fake-quantize row loop; no second copy of the
// arithmetic). Search: a = k / steps for k = 1..steps (MQBench's "shrink the range"), then `steps`
// points between the coarse neighbours of the best; the first minimum wins on ties (the larger range).
//
//  - _ref: the exhaustive search as first written: one lp_error_ref per candidate, |d|^p by std::pow
//    in double, summed serially per fixed chunk of kChunk values, chunks added in order.
//  - fast: the same candidates and the same quantizer; the error term in double through a vectorised
//    exp2(p log2 |d|) (pow_abs_f64x4, relative error < 1e-12 against std::pow, tested), the weights
//    converted to double once per search, 4-lane double sums per chunk (chunks added in order); a
//    candidate's sum stops once it reaches the best loss so far (exact: it could not be chosen).
//    Losses therefore differ from _ref by rounding only (~1e-12 relative), so the two searches choose
//    the same candidate except on a near-tie; the test (tests/calibrators/test_lp_search.cpp) bounds
//    the difference: the fast choice's exact loss within kLpSearchLossTol of the _ref choice's.
//  - lp_search_shrink_channels: one search per channel, channels in parallel (each channel's search is
//    serial, its result independent of the thread that runs it), for per-channel weights.
// All are bit-identical at any thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "core/qscheme.h"

namespace mqcalib::calib {

// The fast search's chosen range has an exact (_ref) loss within this relative margin of the loss of
// the _ref search's choice (equal choices except on near-ties; tested).
constexpr double kLpSearchLossTol = 1e-9;

// Lp error of the params core's choose_qparams gives for [range_min, range_max] under the per-tensor
// scheme; weights may be null (all 1).
double lp_error_ref(const float* x, const uint64_t* weights, int64_t n, const QScheme& per_tensor_scheme,
                    float range_min, float range_max, double p);
// The fast lp_error may stop early and return a partial sum >= bound once the error reaches `bound`
// (only when n <= kChunk: one serial span); pass infinity for the full error.
double lp_error(const float* x, const double* weights, int64_t n, const QScheme& per_tensor_scheme, float range_min,
                float range_max, double p, double bound);

// Best shrink factor a in (0, 1] of [min, max] (returns 1 for an all-zero range).
double lp_search_shrink_ref(const float* x, const uint64_t* weights, int64_t n, const QScheme& per_tensor_scheme,
                            float min, float max, double p, int steps);
double lp_search_shrink(const float* x, const uint64_t* weights, int64_t n, const QScheme& per_tensor_scheme, float min,
                        float max, double p, int steps);

// One channel's data for lp_search_shrink_channels: n values (weights null, or n counts), its range.
struct LpChannel {
  const float* x = nullptr;
  const uint64_t* weights = nullptr;
  int64_t n = 0;
  float min = 0.0f, max = 0.0f;
};
// lp_search_shrink per channel, channels in parallel; returns the shrink factor of each channel.
std::vector<double> lp_search_shrink_channels(const std::vector<LpChannel>& channels, const QScheme& per_tensor_scheme,
                                              double p, int steps);

// |d|^p for 4 doubles (0 where d == 0; |d|^p below 2^-1000 flushes to 0). Exposed for its test.
void pow_abs_f64x4(const double* d, double p, double* out);

// The per-tensor copy of a scheme (per-channel observers quantize each channel alone).
QScheme per_tensor(const QScheme& s);

}  // namespace mqcalib::calib
