// mqcalib/reconstruction/simd_f32.h: internal, 8-float vectors for the reconstruction kernels,
// written with the GCC/Clang vector extension (one AVX register with -march=x86-64-v3, two SSE
// registers without AVX): no intrinsics, so the same source builds for every -march.
#pragma once

#include <cstring>

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
// Horizontal sum in a fixed order (deterministic).
inline float hsum8_f32(V8F32 v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

}  // namespace mqcalib::recon_detail
