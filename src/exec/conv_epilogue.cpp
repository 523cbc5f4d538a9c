// mqcalib/src/exec/conv_epilogue.cpp: the conv/linear epilogue (kernels.h, ConvEpilogue) on blocks of
// sums. Built like the rest of src/exec with -ffp-contract=off and from the same row functions as
// the unfused ops (fake_quantize_span_f32, activation_span_f32, IEEE add), so fused == unfused.
#include <algorithm>
#include <cstring>

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

namespace {

typedef float V8 __attribute__((vector_size(8 * sizeof(float))));

// out[k][i] = in[i][k] for an 8 x 8 block of floats (8 rows in[i], 8 columns out[k]); GCC vector
// shuffles (unpack, 64-bit pairs, 128-bit halves), whatever the instruction set. Moves only.
void transpose8x8(const float* const in[8], float* const out[8]) {
  V8 r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&r[i], in[i], sizeof(V8));
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)
    for (int h = 0; h < 2; ++h) {
      u[i + 2 * h] = __builtin_shufflevector(t[i + h], t[i + 2 + h], 0, 1, 8, 9, 4, 5, 12, 13);
      u[i + 2 * h + 1] = __builtin_shufflevector(t[i + h], t[i + 2 + h], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int k = 0; k < 4; ++k) {
    const V8 lo = __builtin_shufflevector(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    const V8 hi = __builtin_shufflevector(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(out[k], &lo, sizeof(V8));
    std::memcpy(out[k + 4], &hi, sizeof(V8));
  }
}

// True when the np = 8 panels are 8 consecutive positions of the same samples, every column an
// output: dst[i * nr + j] = dst[j] + i (the block transposes below apply).
bool eight_consecutive(const int64_t* dst, int64_t np, int64_t nr) {
  if (np != 8 || nr % 8 != 0) return false;
  for (int64_t j = 0; j < nr; ++j)
    for (int64_t i = 0; i < np; ++i)
      if (dst[j] < 0 || dst[i * nr + j] != dst[j] + i) return false;
  return true;
}

// Row r's values of the panels (panel i's column j at c[i * block + j]) into the map at
// m + dst[i * nr + j].
void store_positions_row(const float* c, int64_t np, int64_t block, int64_t nr, const int64_t* dst, bool eight,
                         float* m) {
  if (eight) {
    for (int64_t j0 = 0; j0 < nr; j0 += 8) {
      const float* panel_rows[8];
      float* sample_rows[8];
      for (int k = 0; k < 8; ++k) panel_rows[k] = c + k * block + j0, sample_rows[k] = m + dst[j0 + k];
      transpose8x8(panel_rows, sample_rows);
    }
    return;
  }
  for (int64_t j = 0; j < nr; ++j)
    for (int64_t i = 0; i < np; ++i)
      if (dst[i * nr + j] >= 0) m[dst[i * nr + j]] = c[i * block + j];
}

// The reverse: the map's values at m + dst[i * nr + j] into the panels' layout (0 past the batch).
void load_positions_row(const float* m, int64_t np, int64_t block, int64_t nr, const int64_t* dst, bool eight,
                        float* c) {
  if (eight) {
    for (int64_t j0 = 0; j0 < nr; j0 += 8) {
      const float* sample_rows[8];
      float* panel_rows[8];
      for (int k = 0; k < 8; ++k) panel_rows[k] = c + k * block + j0, sample_rows[k] = m + dst[j0 + k];
      transpose8x8(sample_rows, panel_rows);
    }
    return;
  }
  for (int64_t j = 0; j < nr; ++j)
    for (int64_t i = 0; i < np; ++i) c[i * block + j] = dst[i * nr + j] >= 0 ? m[dst[i * nr + j]] : 0.0f;
}

}  // namespace

void conv_epilogue_positions(const ConvEpilogue& ep, float* c, int64_t np, int64_t rows, int64_t o0, int64_t nr,
                             const int64_t* dst, int64_t plane, float* scratch, float* y) {
  const int64_t block = rows * nr;
  const bool eight = eight_consecutive(dst, np, nr);
  if (ep.bias)
    for (int64_t i = 0; i < np; ++i)
      for (int64_t r = 0; r < rows; ++r) {
        const float b = ep.bias[o0 + r];
        float* cr = c + i * block + r * nr;
        for (int64_t j = 0; j < nr; ++j) cr[j] = cr[j] + b;
      }
  // Panel-minor moves: panel i's column j and panel i + 1's are consecutive positions of one sample.
  if (ep.residual)
    for (int64_t r = 0; r < rows; ++r)
      load_positions_row(ep.residual + (o0 + r) * plane, np, block, nr, dst, eight, scratch + r * nr);
  if (has_post_bias_steps(ep)) conv_epilogue_values(ep, c, ep.residual ? scratch : nullptr, np * block);
  for (int64_t r = 0; r < rows; ++r) store_positions_row(c + r * nr, np, block, nr, dst, eight, y + (o0 + r) * plane);
}

}  // namespace mqcalib::exec_detail
