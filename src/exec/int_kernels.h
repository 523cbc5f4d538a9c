// mqcalib/src/exec/int_kernels.h: integer kernels of the integer-only reference executor.
//
// Tensors are int32 arrays holding 8-bit codes (uint8 or int8 values), NCHW, row-major; per-tensor
// activation parameters (ActQ), per-channel weight zero points. The arithmetic is that of the
// runtimes (docs/deployment.md derives it; REFERENCE.md sections 1 and 9):
//   accumulate  acc = bias + sum (x - zp_x) * (w - zp_w)                 exact int32
//   requantize  FloatMultiplier: q = clamp(zp_y + round(float(acc) * M)), M = (s_x * s_w) / s_y,
//               float32 products in that order, round = the tie rule (MLAS: cvtps2dq, half-even)
//               FixedPointQ31:  q = clamp(zp_y + MBQM(acc, quantize_multiplier(M)))  (gemmlowp)
// Every fast kernel has a plain-loop `_ref` twin with the same result, bit for bit (integers).
#pragma once

#include <cstdint>
#include <vector>

#include "backends/backend.h"
#include "core/qscheme.h"
#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib {

// Per-tensor parameters of an integer activation: real = scale * (q - zp), q in [qmin, qmax] (the
// clamp the runtime applies: its storage type's range, int8 [-128,127] or uint8 [0,255]).
struct ActQ {
  float scale = 1.0f;
  int32_t zp = 0;
  int32_t qmin = -128, qmax = 127;
  bool operator==(const ActQ& o) const { return scale == o.scale && zp == o.zp && qmin == o.qmin && qmax == o.qmax; }
  bool operator!=(const ActQ& o) const { return !(*this == o); }
};

// How an integer runtime rounds and rescales (chosen by the backend profile).
struct RequantMode {
  IntegerRequant kind = IntegerRequant::FloatMultiplier;
  Rounding rounding = Rounding::HalfToEven;  // FloatMultiplier's tie rule
};

// round(v) with the tie rule (half-even: nearbyint in the default FP environment).
float round_float(float v, Rounding r);

// ---------------------------------------------------------------------------------------------
// Accumulation (int_conv.cpp). x: codes [N,C,H,W], w: codes [O,C/groups,kh,kw], zp_w per output
// channel (size O) or one, bias int32 [O] or null; acc [N,O,OH,OW]. Zero padding adds (x - zp_x) = 0.
// Fast: the shifted operands as float32 through the FP conv kernel when every partial sum is an
// integer below 2^24 (exact whatever the summation order), else a float64 im2col GEMM (exact below
// 2^53). Reference: int64 loops.
void conv2d_nchw_i32(const int32_t* x, const Shape& xs, int32_t zp_x, const int32_t* w, const Shape& ws,
                     const std::vector<int32_t>& zp_w, const int32_t* bias, const Conv2dParams& p, int32_t* acc);
void conv2d_nchw_i32_ref(const int32_t* x, const Shape& xs, int32_t zp_x, const int32_t* w, const Shape& ws,
                         const std::vector<int32_t>& zp_w, const int32_t* bias, const Conv2dParams& p, int32_t* acc);
// x: [M, I], w: [O, I]; acc [M, O].
void linear_i32(const int32_t* x, int64_t M, int64_t I, int32_t zp_x, const int32_t* w, int64_t O,
                const std::vector<int32_t>& zp_w, const int32_t* bias, int32_t* acc);
void linear_i32_ref(const int32_t* x, int64_t M, int64_t I, int32_t zp_x, const int32_t* w, int64_t O,
                    const std::vector<int32_t>& zp_w, const int32_t* bias, int32_t* acc);

// ---------------------------------------------------------------------------------------------
// Requantization and integer element-wise ops (int_requant.cpp). Channel c of element i is
// (i / inner) % channels (NCHW: inner = H*W; linear: inner = 1). `m` has one entry or `channels`.
// Multipliers: FloatMultiplier uses float(m[c]); FixedPointQ31 converts each with quantize_multiplier.
void requantize_acc_i32(const int32_t* acc, int64_t n, int64_t channels, int64_t inner, const std::vector<double>& m,
                        const ActQ& out, RequantMode mode, int32_t* q);
void requantize_acc_i32_ref(const int32_t* acc, int64_t n, int64_t channels, int64_t inner,
                            const std::vector<double>& m, const ActQ& out, RequantMode mode, int32_t* q);
// The multipliers of a conv/linear, M[c] = s_x * s_w[c] / s_y: FloatMultiplier computes them as
// ONNX Runtime does, (s_x * s_w[c]) / s_y in float32; FixedPointQ31 in double (TFLite), then Q31.
std::vector<double> output_multipliers(float s_x, const std::vector<float>& s_w, float s_y, RequantMode mode);

// Rescale codes from `in` to `out` (a DequantizeLinear -> QuantizeLinear pair, MLAS order):
// FloatMultiplier: q' = clamp(zp' + round((float(q - zp) * s) / s')); FixedPointQ31: through M = s/s'.
void rescale_i32(const int32_t* q, int64_t n, const ActQ& in, const ActQ& out, RequantMode mode, int32_t* y);
void rescale_i32_ref(const int32_t* q, int64_t n, const ActQ& in, const ActQ& out, RequantMode mode, int32_t* y);

// c = a + b on codes of equal shape.
// FloatMultiplier (ONNX Runtime's QLinearAdd on x86, MlasQLinearAddKernelHelper): with float32
//   ra = sa / sc, rb = sb / sc, k = float(zc) - (ra * za + rb * zb):
//   c = clamp(round(fma(float(a), ra, fma(float(b), rb, k))))   (zc inside the rounding, so ties
//   differ from clamp(zc + round(...)); the multiply-adds fused, as ORT 1.22's x86 build computes them;
//   int8 codes as they are: ORT runs int8 natively with session.qdqisint8allowed, as on ARM)
// FixedPointQ31 (TFLite's quantized add, 8-bit: left_shift 20, inputs scaled by s / (2 max(sa, sb)),
//   output by 2 max(sa, sb) / (2^20 sc), each through a Q31 multiplier).
void add_i32(const int32_t* a, const ActQ& pa, const int32_t* b, const ActQ& pb, int64_t n, const ActQ& pc,
             RequantMode mode, int32_t* c);
void add_i32_ref(const int32_t* a, const ActQ& pa, const int32_t* b, const ActQ& pb, int64_t n, const ActQ& pc,
                 RequantMode mode, int32_t* c);

// Global average pool over `image` elements per (sample, channel) row, rows = N*C:
// FloatMultiplier (MlasQLinearGlobalAveragePoolNchw): acc = sum q - zp_in * image,
//   q' = clamp(zp' + round(float(acc) * (s_in / (s_out * float(image)))));
// FixedPointQ31: the same acc through M = s_in / (s_out * image).
void global_avg_pool_i32(const int32_t* x, int64_t rows, int64_t image, const ActQ& in, const ActQ& out,
                         RequantMode mode, int32_t* y);
void global_avg_pool_i32_ref(const int32_t* x, int64_t rows, int64_t image, const ActQ& in, const ActQ& out,
                             RequantMode mode, int32_t* y);

// y = clamp(x, lo, hi) (ReLU: lo = zp; ReLU6: hi = the code of 6). y may alias x.
void clamp_i32(const int32_t* x, int64_t n, int32_t lo, int32_t hi, int32_t* y);

// The code of real value v: clamp(zp + round(v / s)), true division (MLAS QuantizeLinear).
int32_t quantize_value(float v, const ActQ& p, Rounding r);

}  // namespace mqcalib
