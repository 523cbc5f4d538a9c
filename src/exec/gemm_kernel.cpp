// mqcalib/src/exec/gemm_kernel.cpp: the run-time choice of the GEMM micro-kernel (gemm_kernel.h) and
// its scalar twin.
#include "exec/gemm_kernel.h"

#include <cmath>

namespace mqcalib::exec_detail {

void gemm_panel_f32_ref(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff,
                        const int64_t* ka, int64_t K, int64_t nr, float* c, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < nr; ++j) {
      float s = accumulate ? c[r * nr + j] : 0.0f;
      for (int64_t k = 0; k < K; ++k) s = std::fma(a[r * lda + (ka ? ka[k] : k)], b[koff[k] + j], s);
      c[r * nr + j] = s;
    }
}

namespace {

constexpr int64_t kScalarNr = 8;

void scalar_panel(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff, const int64_t* ka,
                  int64_t K, float* c, bool accumulate) {
  gemm_panel_f32_ref(a, lda, rows, b, koff, ka, K, kScalarNr, c, accumulate);
}

void scalar_row(const float* a, const float* b, const int64_t* koff, int64_t K, float* c, int64_t len) {
  gemm_panel_f32_ref(a, K, 1, b, koff, nullptr, K, len, c, false);
}

}  // namespace

const GemmKernel& gemm_kernel_scalar() {
  static const GemmKernel k{"scalar", kScalarNr, scalar_panel, scalar_row};
  return k;
}

const GemmKernel& gemm_kernel() {
  static const GemmKernel& k = [&]() -> const GemmKernel& {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
      return gemm_kernel_avx512();  // the x86-64-v4 set the AVX-512 build is compiled for
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return gemm_kernel_avx2();
    return gemm_kernel_scalar();
  }();
  return k;
}

}  // namespace mqcalib::exec_detail
