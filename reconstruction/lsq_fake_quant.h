// mqcalib/reconstruction/lsq_fake_quant.h: per-tensor activation fake quantization with a learnable
// step size (LSQ, Esser et al. 2020, as QDrop's LSQFakeQuantize implements it; ../shared/REFERENCE.md
// section 9) and QDrop's random drop. Zero point z integer and fixed; x / s a true division, round()
// the scheme's tie rule, lo = qmin - z, hi = qmax - z:
//   r = round(x / s),   x_hat = s * clamp(r, lo, hi)               (= fake_quantize_f32 of src/core)
//   d x_hat / d x = 1 if lo <= r <= hi else 0                       (straight-through)
//   d x_hat / d s = r - x / s if lo <= r <= hi;  lo if r < lo;  hi if r > hi
// QDrop (qdrop/quantization/fake_quant.py): with a mask m (m_i = 1: element i takes its quantized
// value, else its FP value, drawn with probability p each),
//   y_i = m_i ? x_hat_i : x_i,   gx_i = m_i ? gy_i * d x_hat/dx : gy_i,   gs = sum_i m_i gy_i d x_hat_i/ds
// A null mask means every m_i = 1. gs is returned unscaled; LSQ's gradient scale 1 / sqrt(N qmax)
// (N elements per scale) is the caller's. NaN input: r compares false everywhere, treated as inside.
// Elementwise parts run over fixed parallel chunks (bit-identical to the _ref twins); gs is summed in
// double per fixed chunk and the chunks merged in order (the _ref twin sums serially: a tolerance).
#pragma once

#include <cstdint>
#include <string>

#include "core/qscheme.h"
#include "core/tensor.h"

namespace mqcalib {

struct StepQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = -128, qmax = 127;
  Rounding rounding = Rounding::HalfToEven;
};

// The per-tensor QParams p as a StepQuant with step `scale` (throws naming `name` when p is per-channel).
StepQuant step_quant_of(const QParams& p, float scale, const std::string& name);

void lsq_fake_quant_f32(ViewF32 x, const StepQuant& q, const uint8_t* mask, MutViewF32 y);
void lsq_fake_quant_f32_ref(ViewF32 x, const StepQuant& q, const uint8_t* mask, MutViewF32 y);

// gx may alias gy. Returns gs.
double lsq_fake_quant_backward_f32(ViewF32 x, ViewF32 gy, const StepQuant& q, const uint8_t* mask, MutViewF32 gx);
double lsq_fake_quant_backward_f32_ref(ViewF32 x, ViewF32 gy, const StepQuant& q, const uint8_t* mask, MutViewF32 gx);

// mask[i] = 1 with probability p, independently per i, from a counter-based hash of (seed, i)
// (splitmix64's finalizer; the top 24 bits as u in [0, 1), m = u < p): the same bits at any thread count.
void drop_mask_u8(int64_t n, uint64_t seed, float p, uint8_t* mask);

}  // namespace mqcalib
