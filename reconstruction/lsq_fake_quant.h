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
// The mask is a function of (seed, i): m_i = 1 iff the top 24 bits of fmix32(seed32 ^ (i * 0x9E3779B9))
// (murmur3's finalizer; seed32 from the 64-bit seed by splitmix64) are below p * 2^24. The kernels
// compute it on the fly, so the backward needs only the seed. A null Drop means every m_i = 1.
// gs is returned unscaled; LSQ's gradient scale 1 / sqrt(N qmax) is the caller's. NaN input: the clamp
// gives lo (as fake_quantize_f32) and the gradients treat it as inside. The fast kernels run 8 lanes
// at a time (rounding by adding and subtracting 1.5 * 2^23 after clamping v to [lo - 1, hi + 1], which
// equals nearbyint there; ties away from zero as src/core's fast rounding), over fixed parallel chunks:
// y and gx are bit-identical to the scalar _ref twins; gs sums float lanes per chunk, merged in double in
// chunk order (the _ref twin sums serially in double: a tolerance).
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

// QDrop's mask: element i takes its quantized value with probability p, from (seed, i).
struct Drop {
  uint64_t seed = 0;
  float p = 0.5f;
};

// The per-tensor QParams p as a StepQuant with step `scale` (throws naming `name` when p is per-channel).
StepQuant step_quant_of(const QParams& p, float scale, const std::string& name);

void lsq_fake_quant_f32(ViewF32 x, const StepQuant& q, const Drop* drop, MutViewF32 y);
void lsq_fake_quant_f32_ref(ViewF32 x, const StepQuant& q, const Drop* drop, MutViewF32 y);

// gx may alias gy. Returns gs.
double lsq_fake_quant_backward_f32(ViewF32 x, ViewF32 gy, const StepQuant& q, const Drop* drop, MutViewF32 gx);
double lsq_fake_quant_backward_f32_ref(ViewF32 x, ViewF32 gy, const StepQuant& q, const Drop* drop, MutViewF32 gx);

// mask[i] = m_i of the Drop (1: quantized), for tests and callers that need the mask itself.
void drop_mask_u8(int64_t n, const Drop& drop, uint8_t* mask);
// QDrop's input mix: x[i] = m_i ? x[i] : alt[i] (x the quantized model's value, alt the FP model's).
void drop_mix_f32(MutViewF32 x, ViewF32 alt, const Drop& drop);

}  // namespace mqcalib
