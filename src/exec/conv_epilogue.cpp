// mqcalib/src/exec/conv_epilogue.cpp: the conv/linear epilogue (kernels.h, ConvEpilogue) on blocks of
// sums. Built like the rest of src/exec with -ffp-contract=off and from the same row functions as
// the unfused ops (fake_quantize_span_f32, activation_span_f32, IEEE add), so fused == unfused.
#include <algorithm>

#include "exec/conv_gemm.h"

namespace mqcalib::exec_detail {

void conv_epilogue_values(const ConvEpilogue& ep, float* v, const float* res, int64_t n) {
  if (ep.fq_pre) fake_quantize_span_f32(*ep.fq_pre, v, v, n);
  if (res)
    for (int64_t i = 0; i < n; ++i) v[i] = v[i] + res[i];
  if (ep.fq_sum) fake_quantize_span_f32(*ep.fq_sum, v, v, n);
  if (ep.act) activation_span_f32(*ep.act, v, v, n, ep.act_params ? *ep.act_params : ActivationParams{});
  if (ep.fq_out) fake_quantize_span_f32(*ep.fq_out, v, v, n);
}

bool has_post_bias_steps(const ConvEpilogue& ep) {
  return ep.fq_pre || ep.residual || ep.fq_sum || ep.act || ep.fq_out;
}

void conv_epilogue_panel(const ConvEpilogue& ep, float* c, int64_t rows, int64_t o0, int64_t nr, const int64_t* dst,
                         int64_t plane, float* scratch, float* y) {
  if (ep.bias)
    for (int64_t r = 0; r < rows; ++r) {
      const float b = ep.bias[o0 + r];
      float* cr = c + r * nr;
      for (int64_t j = 0; j < nr; ++j) cr[j] = cr[j] + b;
    }
  if (ep.residual)
    for (int64_t r = 0; r < rows; ++r) {
      const float* res = ep.residual + (o0 + r) * plane;
      for (int64_t j = 0; j < nr; ++j) scratch[r * nr + j] = dst[j] >= 0 ? res[dst[j]] : 0.0f;
    }
  if (has_post_bias_steps(ep)) conv_epilogue_values(ep, c, ep.residual ? scratch : nullptr, rows * nr);
  // Columns that are consecutive in y (one sample's consecutive positions) are stored as runs, by
  // plain loops (runs are short on small maps).
  int64_t j = 0;
  while (j < nr) {
    if (dst[j] < 0) {
      ++j;
      continue;
    }
    int64_t e = j + 1;
    while (e < nr && dst[e] == dst[e - 1] + 1) ++e;
    const int64_t len = e - j;
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = c + r * nr + j;
      float* out = y + (o0 + r) * plane + dst[j];
      for (int64_t t = 0; t < len; ++t) out[t] = src[t];
    }
    j = e;
  }
}

}  // namespace mqcalib::exec_detail
