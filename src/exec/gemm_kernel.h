// mqcalib/src/exec/gemm_kernel.h: internal to src/exec. The register-tiled GEMM micro-kernel behind
// conv2d and linear (conv_gemm.cpp), one build per instruction set, chosen once at run time.
//
//   c[r][j] = (accumulate ? c[r][j] : 0) + sum over k in [0, K) of a[r * lda + ka(k)] * b[koff[k] + j]
//   for r < rows, j < nr, with ka(k) = ka[k] when a tap list ka is given, else k
//
// Summation order: every c[r][j] is ONE chain of fused multiply-adds over k ascending
// (c = fma(a, b, c)), whatever the tile sizes, the instruction set or the thread that runs it. The
// result is therefore the same on AVX2 and AVX-512 machines and equal, bit for bit, to a scalar loop
// of std::fma in k order (gemm_panel_f32_ref below; conv2d_nchw_f32_ref follows the same order).
//
// `b` is a "virtual panel": row k of the panel is the nr floats at b + koff[k] (a packed panel has
// koff[k] = k * nr; a conv reading its input's phase planes directly has koff[k] = the tap's offset).
// `c` is [rows][nr], contiguous. a is the weight matrix, row-major with leading dimension lda. A tap
// list ka (ascending) runs the chain over the weight columns ka[0..K) only: a conv whose panel has
// taps on padding for all its columns skips them (conv_tap_classes.h). The taps skipped would add
// fma(w, 0, s) = s exactly (finite weights), so the chain over the others is the same sum.
#pragma once

#include <cstdint>

namespace mqcalib::exec_detail {

using GemmPanelFn = void (*)(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff,
                             const int64_t* ka, int64_t K, float* c, bool accumulate);

// One row of the same formula over any number of columns (depthwise convs: a row per channel):
//   c[j] = sum over k in [0, K) of a[k] * b[koff[k] + j]   for j < len, the same fma chain.
using GemmRowFn = void (*)(const float* a, const float* b, const int64_t* koff, int64_t K, float* c, int64_t len);

struct GemmKernel {
  const char* isa;    // "avx512", "avx2" or "scalar"
  int64_t nr;         // panel width: columns per call
  GemmPanelFn panel;  // the formula above, any rows >= 0, ka null (dense) or a tap list
  GemmRowFn row;
};

// The fastest kernel this CPU runs (AVX-512F > AVX2+FMA > the scalar twin), chosen on first use.
const GemmKernel& gemm_kernel();

// The ISA builds (gemm_kernel_isa.cpp compiled once per instruction set) and the scalar twin.
const GemmKernel& gemm_kernel_avx512();
const GemmKernel& gemm_kernel_avx2();
const GemmKernel& gemm_kernel_scalar();

// The scalar reference of the panel formula (std::fma in k order), any nr, ka null or a tap list.
void gemm_panel_f32_ref(const float* a, int64_t lda, int64_t rows, const float* b, const int64_t* koff,
                        const int64_t* ka, int64_t K, int64_t nr, float* c, bool accumulate);

}  // namespace mqcalib::exec_detail
