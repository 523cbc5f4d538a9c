// mqcalib/src/core/requantize.cpp: gemmlowp-style fixed-point requantization (see requantize.h).
#include "core/requantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/parallel.h"

namespace mqcalib {

namespace {
constexpr int64_t kChunk = int64_t{1} << 16;
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
}  // namespace

// M = m * 2^e with m in [0.5, 1) (frexp); m0_q31 = round(m * 2^31) (std::round: m > 0, no ties
// matter in practice); if it rounds to 2^31, halve it and take e + 1. right_shift = -e.
QuantizedMultiplier quantize_multiplier(double M) {
  if (!std::isfinite(M) || !(M > 0.0))
    throw Error("quantize_multiplier: requantization multiplier M = " + std::to_string(M) + " must be finite and > 0");
  int e = 0;
  const double m = std::frexp(M, &e);
  int64_t q = static_cast<int64_t>(std::round(m * 2147483648.0));
  if (q == (int64_t{1} << 31)) {
    q /= 2;
    ++e;
  }
  QuantizedMultiplier r;
  if (-e > 31) return r;  // underflow: every product rounds to 0
  if (e > 30) throw Error("quantize_multiplier: M = " + std::to_string(M) + " is too large (>= 2^30)");
  r.m0_q31 = static_cast<int32_t>(q);
  r.right_shift = -e;
  return r;
}

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == kI32Min;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));  // truncating division
  return overflow ? kI32Max : high;
}

int32_t saturating_rounding_doubling_high_mul_ref(int32_t a, int32_t b) {
  if (a == kI32Min && b == kI32Min) return kI32Max;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  return static_cast<int32_t>((ab + (int64_t{1} << 30)) >> 31);  // floor(ab / 2^31 + 1/2)
}

int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t rounding_divide_by_pot_ref(int32_t x, int exponent) {
  if (exponent == 0) return x;
  const int64_t ax = std::abs(static_cast<int64_t>(x));
  const int64_t r = (ax + (int64_t{1} << (exponent - 1))) >> exponent;
  return static_cast<int32_t>(x < 0 ? -r : r);
}

int32_t multiply_by_quantized_multiplier(int32_t acc, QuantizedMultiplier m) {
  const int left = std::max(0, -m.right_shift), right = std::max(0, m.right_shift);
  const int64_t shifted = std::clamp<int64_t>(static_cast<int64_t>(acc) * (int64_t{1} << left), kI32Min, kI32Max);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(static_cast<int32_t>(shifted), m.m0_q31), right);
}

void requantize_i32(const int32_t* acc, int64_t n, QuantizedMultiplier m, int32_t zp_out, int32_t qmin, int32_t qmax,
                    int32_t* q) {
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t v = static_cast<int64_t>(zp_out) + multiply_by_quantized_multiplier(acc[i], m);
      q[i] = static_cast<int32_t>(std::clamp<int64_t>(v, qmin, qmax));
    }
  });
}

void requantize_i32_ref(const int32_t* acc, int64_t n, QuantizedMultiplier m, int32_t zp_out, int32_t qmin,
                        int32_t qmax, int32_t* q) {
  const int left = std::max(0, -m.right_shift), right = std::max(0, m.right_shift);
  for (int64_t i = 0; i < n; ++i) {
    int64_t a = static_cast<int64_t>(acc[i]) * (int64_t{1} << left);
    a = std::min<int64_t>(std::max<int64_t>(a, kI32Min), kI32Max);
    const int32_t h = saturating_rounding_doubling_high_mul_ref(static_cast<int32_t>(a), m.m0_q31);
    const int64_t v = static_cast<int64_t>(zp_out) + rounding_divide_by_pot_ref(h, right);
    q[i] = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(v, qmin), qmax));
  }
}

}  // namespace mqcalib
