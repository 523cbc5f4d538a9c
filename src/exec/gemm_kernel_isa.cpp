// mqcalib/src/exec/gemm_kernel_isa.cpp: the GEMM micro-kernel of gemm_kernel.h for one instruction
// set, compiled once per ISA (src/exec/meson.build): MQCALIB_GEMM_AVX512 with -march=x86-64-v4, else
// the AVX2 build with -march=x86-64-v3. GCC/Clang vector extensions; every multiply-add is an
// explicit fused multiply-add (the one intrinsic, and std::fma in the scalar tail): the documented
// chain c = fma(a, b, c) over k ascending, whatever the optimization level and contraction flags.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "exec/gemm_kernel.h"

namespace mqcalib::exec_detail {

namespace {

#ifdef MQCALIB_GEMM_AVX512
constexpr int kLanes = 16;  // one zmm register
constexpr int kRows = 12;   // tile: 12 rows x 2 vectors = 24 accumulators of 32 registers
#define MQCALIB_GEMM_NAME gemm_kernel_avx512
#define MQCALIB_GEMM_ISA "avx512"
#else
constexpr int kLanes = 8;  // one ymm register
constexpr int kRows = 6;   // tile: 6 rows x 2 vectors = 12 accumulators of 16 registers
#define MQCALIB_GEMM_NAME gemm_kernel_avx2
#define MQCALIB_GEMM_ISA "avx2"
#endif
constexpr int kVecs = 2;  // vectors per row: nr = 2 * kLanes
constexpr int64_t kNr = kVecs * kLanes;

typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));

inline Vec load(const float* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec v) { std::memcpy(p, &v, sizeof v); }
inline Vec splat(float w) { return Vec{} + w; }
// a * b + c rounded once.
#ifdef MQCALIB_GEMM_AVX512
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
#else
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
#endif

// kTaps: the weight of tap k is column ka[k] of a (a tap list), else column k.
template <int R, bool kTaps>
void tile(const float* a, int64_t lda, const float* b, const int64_t* koff, const int64_t* ka, int64_t K, float* c,
          bool accumulate) {
  Vec s[R][kVecs];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kVecs; ++v) s[r][v] = accumulate ? load(c + r * kNr + v * kLanes) : Vec{};
  for (int64_t k = 0; k < K; ++k) {
    const float* bk = b + koff[k];
    const float* ak = a + (kTaps ? ka[k] : k);
    Vec x[kVecs];
    for (int v = 0; v < kVecs; ++v) x[v] = load(bk + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const Vec w = splat(ak[r * lda]);
      for (int v = 0; v < kVecs; ++v) s[r][v] = fma(w, x[v], s[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < kVecs; ++v) store(c + r * kNr + v * kLanes, s[r][v]);
}

template <int R, bool kTaps>
void tail(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff, const int64_t* ka, int64_t K,
          float* c, bool accumulate) {
  if constexpr (R > 0) {
    if (rows == R) return tile<R, kTaps>(a, lda, b, koff, ka, K, c, accumulate);
    tail<R - 1, kTaps>(a, lda, rows, b, koff, ka, K, c, accumulate);
  }
}

template <bool kTaps>
void panel_tiles(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff, const int64_t* ka,
                 int64_t K, float* c, bool accumulate) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    tile<kRows, kTaps>(a + r * lda, lda, b, koff, ka, K, c + r * kNr, accumulate);
  tail<kRows - 1, kTaps>(a + r * lda, lda, rows - r, b, koff, ka, K, c + r * kNr, accumulate);
}

void panel(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff, const int64_t* ka, int64_t K,
           float* c, bool accumulate) {
  if (ka)
    panel_tiles<true>(a, lda, rows, b, koff, ka, K, c, accumulate);
  else
    panel_tiles<false>(a, lda, rows, b, koff, ka, K, c, accumulate);
}

// One row, blocks of kRowVecs vectors held in registers across all k (loads of b only).
constexpr int kRowVecs = 8;

template <int V>
void row_block(const float* a, const float* b, const int64_t* koff, int64_t K, float* c) {
  Vec s[V];
  for (int v = 0; v < V; ++v) s[v] = Vec{};
  for (int64_t k = 0; k < K; ++k) {
    const Vec w = splat(a[k]);
    const float* bk = b + koff[k];
    for (int v = 0; v < V; ++v) s[v] = fma(w, load(bk + v * kLanes), s[v]);
  }
  for (int v = 0; v < V; ++v) store(c + v * kLanes, s[v]);
}

void row(const float* a, const float* b, const int64_t* koff, int64_t K, float* c, int64_t len) {
  int64_t j = 0;
  for (; j + kRowVecs * kLanes <= len; j += kRowVecs * kLanes) row_block<kRowVecs>(a, b + j, koff, K, c + j);
  for (; j + kLanes <= len; j += kLanes) row_block<1>(a, b + j, koff, K, c + j);
  for (; j < len; ++j) {
    float s = 0.0f;
    for (int64_t k = 0; k < K; ++k) s = std::fma(a[k], b[koff[k] + j], s);
    c[j] = s;
  }
}

}  // namespace

const GemmKernel& MQCALIB_GEMM_NAME() {
  static const GemmKernel k{MQCALIB_GEMM_ISA, kNr, panel, row};
  return k;
}

}  // namespace mqcalib::exec_detail
