// mqcalib/reconstruction/simd_f32.h: internal, 8-float vectors for the reconstruction kernels,
// written with the GCC/Clang vector extension (one AVX register with -march=x86-64-v3, two SSE
// registers without AVX), so the same source builds for every -march; the one intrinsic is the fused
// multiply-add, where the instruction set has it.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__FMA__)
#include <immintrin.h>
#endif

namespace mqcalib::recon_detail {

typedef float V8F32 __attribute__((vector_size(32)));
typedef int V8I32 __attribute__((vector_size(32)));

inline V8F32 load8_f32(const float* p) {
  V8F32 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8_f32(float* p, V8F32 v) { std::memcpy(p, &v, sizeof v); }
inline V8F32 splat8_f32(float s) { return V8F32{} + s; }
// a * b + c rounded once, lane by lane (std::fma's result), whatever the compiler's contraction
// settings and optimization level: written out, not left to -ffp-contract (gcc at -O1 does not contract
// `c += a * b`, -O3 does, and the kernels' reference twins use std::fma).
inline V8F32 fma8_f32(V8F32 a, V8F32 b, V8F32 c) {
#if defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  V8F32 r;
  for (int l = 0; l < 8; ++l) r[l] = std::fma(a[l], b[l], c[l]);
  return r;
#endif
}
// Lane-wise a ? b : c for a comparison mask a (all-ones / all-zero lanes).
inline V8F32 select8_f32(V8I32 mask, V8F32 b, V8F32 c) {
  V8I32 bi, ci;
  std::memcpy(&bi, &b, sizeof b);
  std::memcpy(&ci, &c, sizeof c);
  const V8I32 r = (bi & mask) | (ci & ~mask);
  V8F32 out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}
inline V8F32 abs8_f32(V8F32 v) {
  V8I32 i;
  std::memcpy(&i, &v, sizeof v);
  i &= 0x7fffffff;
  std::memcpy(&v, &i, sizeof v);
  return v;
}

// exp(x), relative error below 2e-7 for x in [-87, 88] (clamped outside). x = n ln2 + r with
// n = round(x / ln2), |r| <= ln2 / 2, exp(r) by its Taylor series to r^7 (truncation below 6e-9),
// 2^n put into the exponent bits. Branch-free, so loops over it vectorize.
inline V8F32 exp8_f32(V8F32 x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // ln 2 split so n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  x = select8_f32(x > splat8_f32(88.0f), splat8_f32(88.0f), x);
  x = select8_f32(x < splat8_f32(-87.0f), splat8_f32(-87.0f), x);
  const V8F32 n = (x * kLog2e + kRound) - kRound;
  const V8F32 r = (x - n * kLn2Hi) - n * kLn2Lo;
  V8F32 p = splat8_f32(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const V8I32 e = (__builtin_convertvector(n, V8I32) + 127) << 23;
  V8F32 scale;
  std::memcpy(&scale, &e, sizeof e);
  return p * scale;
}

// log(a) for normal a > 0, error below 1.1e-7 relative where |log a| > 1 and 8e-8 absolute elsewhere
// (measured over [1e-30, 1]): a = m 2^e with m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(u), u = (m - 1) / (m + 1), |u| < 0.1716, series to u^9 (truncation below 4e-9).
inline V8F32 log8_f32(V8F32 a) {
  V8I32 bits;
  std::memcpy(&bits, &a, sizeof a);
  V8I32 e = ((bits >> 23) & 0xff) - 127;
  V8I32 mb = (bits & 0x007fffff) | 0x3f800000;  // m in [1, 2)
  V8F32 m;
  std::memcpy(&m, &mb, sizeof m);
  const V8I32 big = m > splat8_f32(1.41421356f);
  m = select8_f32(big, m * 0.5f, m);
  e = e + (big & 1);
  const V8F32 u = (m - 1.0f) / (m + 1.0f), u2 = u * u;
  V8F32 q = splat8_f32(1.0f / 9.0f);
  q = q * u2 + 1.0f / 7.0f;
  q = q * u2 + 1.0f / 5.0f;
  q = q * u2 + 1.0f / 3.0f;
  q = q * u2 + 1.0f;
  return __builtin_convertvector(e, V8F32) * 0.693147180559945309f + 2.0f * u * q;
}

// The first n (0 < n <= 8) floats at p, the other lanes zero; and the store of the first n lanes.
inline V8F32 load_partial8_f32(const float* p, int64_t n) {
  if (n == 8) return load8_f32(p);
  V8F32 v{};
  for (int64_t l = 0; l < n; ++l) v[l] = p[l];
  return v;
}
inline void store_partial8_f32(float* p, V8F32 v, int64_t n) {
  if (n == 8) return store8_f32(p, v);
  for (int64_t l = 0; l < n; ++l) p[l] = v[l];
}
// Lanes [0, n) set.
inline V8I32 first_lanes8(int64_t n) {
  const V8I32 idx = {0, 1, 2, 3, 4, 5, 6, 7};
  return idx < static_cast<int>(n);
}

// Horizontal sum in a fixed order (deterministic).
inline float hsum8_f32(V8F32 v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

}  // namespace mqcalib::recon_detail
