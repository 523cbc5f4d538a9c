// mqcalib/src/core/requantize.h: integer requantization (gemmlowp / TFLite semantics).
//
// Real integer inference (../shared/REFERENCE.md section 1, docs/quantization.md section 9):
// int8 x int8 products accumulate in int32 at scale s_in * s_w; the output is
//   q_out = clamp(zp_out + round(acc * M), qmin, qmax),   M = s_in * s_w / s_out
// with M written as M0 * 2^-right_shift, M0 in [0.5, 1) stored in Q31 as m0_q31 = round(M0 * 2^31)
// (if that rounds to 2^31: halve it and decrease the shift). round(acc * M) is computed as
//   rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc, m0_q31), right_shift)
// (two roundings: the first ties toward +inf, the second ties away from zero, exactly as gemmlowp).
#pragma once

#include <cstdint>

namespace mqcalib {

struct QuantizedMultiplier {
  int32_t m0_q31 = 0;   // round(M0 * 2^31), M0 in [0.5, 1); 0 when M underflows
  int right_shift = 0;  // M = M0 * 2^-right_shift; negative for M >= 1 (a left shift)
};

// M > 0 and finite (Error otherwise). M < 2^-32 (a shift beyond 31, as TFLite) returns m0_q31 = 0, shift 0:
// every product rounds to 0, as TFLite's QuantizeMultiplier does.
QuantizedMultiplier quantize_multiplier(double M);

// gemmlowp SaturatingRoundingDoublingHighMul: high 32 bits of 2*a*b, rounded to nearest with ties
// toward +inf ((a*b + 2^30) >> 31 for a*b >= 0, symmetric nudge 1 - 2^30 and truncating division for
// a*b < 0); the one overflow a == b == INT32_MIN saturates to INT32_MAX.
int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
// Reference twin: floor((a*b + 2^30) / 2^31) in int64 arithmetic (arithmetic shift = floor).
int32_t saturating_rounding_doubling_high_mul_ref(int32_t a, int32_t b);

// gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31.
int32_t rounding_divide_by_pot(int32_t x, int exponent);
// Reference twin: sign(x) * floor((|x| + 2^(exponent-1)) / 2^exponent) in int64.
int32_t rounding_divide_by_pot_ref(int32_t x, int exponent);

// round(acc * M) as above; a left shift (right_shift < 0) saturates to int32 first (TFLite's
// MultiplyByQuantizedMultiplier).
int32_t multiply_by_quantized_multiplier(int32_t acc, QuantizedMultiplier m);

// q = clamp(zp_out + multiply_by_quantized_multiplier(acc, m), qmin, qmax) over n accumulators.
void requantize_i32(const int32_t* acc, int64_t n, QuantizedMultiplier m, int32_t zp_out, int32_t qmin, int32_t qmax,
                    int32_t* q);
// Reference twin built on the _ref scalar functions, plain loop.
void requantize_i32_ref(const int32_t* acc, int64_t n, QuantizedMultiplier m, int32_t zp_out, int32_t qmin,
                        int32_t qmax, int32_t* q);

}  // namespace mqcalib
