// mqcalib/calibrators/lp_search.cpp: the Lp range search, fast path and _ref twin (lp_search.h).
//
// pow_abs_f64x4: |d|^p = 2^(p log2 |d|), with GCC vector extensions (4 doubles, vectorised whatever
// the -march):
//   log2 |d| = e + ln(m) / ln 2,  |d| = m 2^e, m in [sqrt(1/2), sqrt(2)),
//   ln(m) = 2 atanh(z) = 2 (z + z^3/3 + ... + z^15/15),  z = (m - 1) / (m + 1), |z| <= 0.1716
//           (first term left out: z^17/17 < 6e-15 relative);
//   2^y = 2^n e^t,  n = round(y), t = (y - n) ln 2 in [-0.347, 0.347], e^t by Taylor to t^11
//           (first term left out: t^12/12! < 7e-15), fma where the build has it (__FMA__).
// y's own rounding (|y| ~ p * 30) limits the relative error of the result to ~1e-14; the test checks
// < 1e-12 against std::pow over 2^-140..2^20 and p in {0.5, 1, 2, 2.4, 3, 4}.
#include "calibrators/lp_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#if defined(__FMA__)
#include <immintrin.h>
#endif

#include "calibrators/value_store.h"
#include "core/parallel.h"
#include "core/quantize.h"

namespace mqcalib::calib {
namespace {

typedef double V4d __attribute__((vector_size(32)));
typedef int64_t V4l __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));

constexpr int64_t kBlock = 256;  // values fake-quantized at a time into a stack buffer

inline V4d splat(double c) { return V4d{c, c, c, c}; }
inline V4d load4(const double* p) {
  V4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline V4d load4f(const float* p) {
  V4f v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, V4d);
}

#if defined(__FMA__)
inline V4d fma4(V4d a, V4d b, V4d c) {
  return reinterpret_cast<V4d>(
      _mm256_fmadd_pd(reinterpret_cast<__m256d>(a), reinterpret_cast<__m256d>(b), reinterpret_cast<__m256d>(c)));
}
#else
inline V4d fma4(V4d a, V4d b, V4d c) { return a * b + c; }
#endif
inline V4d as_f64(V4l v) {
  V4d d;
  std::memcpy(&d, &v, sizeof d);
  return d;
}
inline V4l as_i64(V4d v) {
  V4l i;
  std::memcpy(&i, &v, sizeof i);
  return i;
}

// Integer <-> double without AVX-512DQ: 1.5 * 2^52 + k has the bits kRoundBits + k for |k| < 2^51, so
// y + kRound - kRound rounds y to the nearest integer and the bit difference is that integer.
constexpr double kRound = 6755399441055744.0;
constexpr int64_t kRoundBits = 0x4338000000000000;

inline V4d pow_abs_v(V4d d, double p) {
  const V4l bits = as_i64(d) & INT64_MAX;  // |d|
  const V4l zero = bits == 0;
  const V4l mbits = (bits & ((int64_t{1} << 52) - 1)) | (int64_t{1023} << 52);
  V4d m = as_f64(mbits);
  const V4l big = m > M_SQRT2;
  m = big ? m * 0.5 : m;
  const V4l e = (bits >> 52) - 1023 - big;  // big is -1 where true
  const V4d ed = as_f64(e + kRoundBits) - kRound;
  const V4d z = (m - 1.0) / (m + 1.0), z2 = z * z;
  V4d s = splat(1.0 / 15.0);
  for (double c : {1.0 / 13.0, 1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0}) s = fma4(s, z2, splat(c));
  V4d y = p * fma4(splat(2.0 / M_LN2) * z, s, ed);
  const V4l under = y < -1000.0;
  y = under ? splat(-1000.0) : y;
  const V4d yr = y + kRound;
  const V4d t = (y - (yr - kRound)) * M_LN2;
  V4d q = splat(1.0 / 39916800.0);  // 1/11!
  for (double c : {1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
                   1.0 / 6.0, 0.5, 1.0, 1.0})
    q = fma4(q, t, splat(c));
  const V4d scale = as_f64((as_i64(yr) - kRoundBits + 1023) << 52);
  const V4d r = q * scale;
  return (zero | under) ? splat(0.0) : r;
}

// sum_i w_i |fq(x_i) - x_i|^p over [b, e), serial; w null means 1. Stops early, returning a partial
// sum >= `bound`, once the partial sum reaches `bound`: the terms are >= 0 and rounded addition is
// monotone, so the full sum would be >= bound too (the search then rejects it exactly as it would the
// full sum).
double lp_sum_span(const FakeQuantF32& fq, const float* x, const double* w, int64_t b, int64_t e, double p,
                   double bound) {
  alignas(32) float buf[kBlock];
  alignas(32) double d[kBlock];
  const bool square = p == 2.0;
  V4d acc = {0.0, 0.0, 0.0, 0.0};
  double tail = 0.0;
  for (int64_t i0 = b; i0 < e; i0 += kBlock) {
    const int64_t len = std::min(kBlock, e - i0);
    fake_quantize_span_f32(fq, x + i0, buf, len);
    const int64_t len4 = len & ~int64_t{3};
    for (int64_t i = 0; i < len4; i += 4) {
      const V4d di = load4f(buf + i) - load4f(x + i0 + i);
      const V4d t = square ? di * di : pow_abs_v(di, p);
      acc += w ? load4(w + i0 + i) * t : t;
    }
    for (int64_t i = len4; i < len; ++i) d[i - len4] = static_cast<double>(buf[i]) - static_cast<double>(x[i0 + i]);
    if (len4 < len) {
      for (int64_t i = len - len4; i < 4; ++i) d[i] = 0.0;
      alignas(32) double t[4];
      if (square)
        for (int j = 0; j < 4; ++j) t[j] = d[j] * d[j];
      else
        pow_abs_f64x4(d, p, t);
      for (int64_t i = 0; i < len - len4; ++i) tail += (w ? w[i0 + len4 + i] : 1.0) * t[i];
    }
    if ((acc[0] + acc[1]) + (acc[2] + acc[3]) + tail >= bound) break;
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail;
}

// The candidate grid shared by both searches: err(a) for a = k/steps, then the fine points.
// err(a, bound) may return any value >= bound when the loss of a is >= bound.
template <class Err>
double search_grid(Err&& err, int steps) {
  steps = std::max(steps, 2);
  int best_k = steps;
  double best = err(1.0, std::numeric_limits<double>::infinity());
  for (int k = steps - 1; k >= 1; --k) {  // ties: the larger range (first found) is kept
    const double v = err(static_cast<double>(k) / steps, best);
    if (v < best) best = v, best_k = k;
  }
  double best_a = static_cast<double>(best_k) / steps;
  const double lo = static_cast<double>(best_k - 1) / steps,
               hi = std::min(1.0, static_cast<double>(best_k + 1) / steps);
  for (int j = 1; j < steps; ++j) {
    const double a = lo + (hi - lo) * j / steps;
    if (a <= 0.0 || a == best_a) continue;
    const double v = err(a, best);
    if (v < best) best = v, best_a = a;
  }
  return best_a;
}

}  // namespace

void pow_abs_f64x4(const double* d, double p, double* out) {
  const V4d r = pow_abs_v(load4(d), p);
  std::memcpy(out, &r, sizeof r);
}

QScheme per_tensor(const QScheme& s) {
  QScheme t = s;
  t.granularity = Granularity::PerTensor;
  t.axis = 0;
  return t;
}

double lp_error_ref(const float* x, const uint64_t* weights, int64_t n, const QScheme& scheme, float range_min,
                    float range_max, double p) {
  const QParams qp = choose_qparams(scheme, Range{{range_min}, {range_max}}, "lp-search candidate");
  std::vector<double> part(static_cast<size_t>(num_chunks(n, kChunk)), 0.0);
  const bool square = p == 2.0;
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t k) {
    std::vector<float> fq(static_cast<size_t>(e - b));
    fake_quantize_f32(ViewF32{x + b, Shape{e - b}}, qp, fq.data());
    double s = 0.0;
    for (int64_t i = b; i < e; ++i) {
      const double d = static_cast<double>(fq[static_cast<size_t>(i - b)]) - static_cast<double>(x[i]);
      const double t = square ? d * d : std::pow(std::fabs(d), p);
      s += weights ? static_cast<double>(weights[i]) * t : t;
    }
    part[static_cast<size_t>(k)] = s;
  });
  double total = 0.0;
  for (double v : part) total += v;
  return total;
}

double lp_error(const float* x, const double* weights, int64_t n, const QScheme& scheme, float range_min,
                float range_max, double p, double bound) {
  const QParams qp = choose_qparams(scheme, Range{{range_min}, {range_max}}, "lp-search candidate");
  const FakeQuantF32 fq = fake_quant_consts(qp, "lp-search candidate");
  if (n <= kChunk) return lp_sum_span(fq, x, weights, 0, n, p, bound);
  std::vector<double> part(static_cast<size_t>(num_chunks(n, kChunk)), 0.0);
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t k) {
    part[static_cast<size_t>(k)] = lp_sum_span(fq, x, weights, b, e, p, std::numeric_limits<double>::infinity());
  });
  double total = 0.0;
  for (double v : part) total += v;
  return total;
}

double lp_search_shrink_ref(const float* x, const uint64_t* weights, int64_t n, const QScheme& scheme, float min,
                            float max, double p, int steps) {
  if (!(min < 0.0f || max > 0.0f)) return 1.0;  // all zero: nothing to search
  return search_grid(
      [&](double a, double) {
        return lp_error_ref(x, weights, n, scheme, static_cast<float>(a * min), static_cast<float>(a * max), p);
      },
      steps);
}

double lp_search_shrink(const float* x, const uint64_t* weights, int64_t n, const QScheme& scheme, float min, float max,
                        double p, int steps) {
  if (!(min < 0.0f || max > 0.0f)) return 1.0;
  std::vector<double> w;
  if (weights) w.assign(weights, weights + n);
  const double* wp = weights ? w.data() : nullptr;
  return search_grid(
      [&](double a, double bound) {
        return lp_error(x, wp, n, scheme, static_cast<float>(a * min), static_cast<float>(a * max), p, bound);
      },
      steps);
}

std::vector<double> lp_search_shrink_channels(const std::vector<LpChannel>& channels, const QScheme& scheme, double p,
                                              int steps) {
  std::vector<double> a(channels.size(), 1.0);
  parallel_for_chunks(static_cast<int64_t>(channels.size()), 1, [&](int64_t c, int64_t, int64_t) {
    const LpChannel& ch = channels[static_cast<size_t>(c)];
    a[static_cast<size_t>(c)] = lp_search_shrink(ch.x, ch.weights, ch.n, scheme, ch.min, ch.max, p, steps);
  });
  return a;
}

}  // namespace mqcalib::calib
