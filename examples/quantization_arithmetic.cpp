// mqcalib/examples/quantization_arithmetic.cpp: every worked example of docs/quantization.md, recomputed
// with the engine's own functions (choose_qparams, quantize_f32_i32, fake_quantize_f32, quantize_multiplier,
// saturating_rounding_doubling_high_mul, rounding_divide_by_pot, requantize_i32, the backend table) and
// compared with the number printed in the doc. The expected values below are the doc's hand-computed
// numbers, copied from the doc (floats written with 9 significant digits, which identify a float32
// exactly): if the code or the doc changes, this program fails and says which example drifted.
//
// Built and run as the unit test `example_quantization_arithmetic` (examples/meson.build).
// Section numbers (§n) are the sections of docs/quantization.md.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/error.h"
#include "core/qscheme.h"
#include "core/quantize.h"
#include "core/requantize.h"

using namespace mqcalib;

namespace {

int g_checks = 0;
int g_failures = 0;

void check_int(const std::string& what, int64_t got, int64_t doc) {
  ++g_checks;
  if (got == doc) return;
  ++g_failures;
  std::fprintf(stderr, "MISMATCH %s: the engine gives %lld, docs/quantization.md says %lld\n", what.c_str(),
               static_cast<long long>(got), static_cast<long long>(doc));
}

// Float32 values are compared exactly: the doc prints 9 significant digits, which round-trip a float32.
void check_f32(const std::string& what, float got, float doc) {
  ++g_checks;
  if (got == doc) return;
  ++g_failures;
  std::fprintf(stderr, "MISMATCH %s: the engine gives %.9g, docs/quantization.md says %.9g\n", what.c_str(), got, doc);
}

// Doubles: the doc prints 17 significant digits (round-trip exact).
void check_f64(const std::string& what, double got, double doc) {
  ++g_checks;
  if (got == doc) return;
  ++g_failures;
  std::fprintf(stderr, "MISMATCH %s: the engine gives %.17g, docs/quantization.md says %.17g\n", what.c_str(), got,
               doc);
}

void check_true(const std::string& what, bool ok) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::fprintf(stderr, "MISMATCH %s: does not hold\n", what.c_str());
}

QScheme uint8_asym() {
  QScheme s;
  s.signedness = Signedness::Unsigned;
  s.symmetry = Symmetry::Asymmetric;
  return s;
}
QScheme int8_sym(bool narrow) {
  QScheme s;
  s.narrow_range = narrow;
  return s;
}

QParams per_tensor(const QScheme& s, float mn, float mx) { return choose_qparams(s, Range{{mn}, {mx}}, "example"); }

// Per-tensor params with a given scale (zero point 0), as written by hand in the rounding examples.
QParams fixed(float scale, int32_t qmin, int32_t qmax, Rounding r) {
  QParams p;
  p.scale = {scale};
  p.zero_point = {0};
  p.qmin = qmin;
  p.qmax = qmax;
  p.rounding = r;
  return p;
}

std::vector<int32_t> quantize(const std::vector<float>& x, const Shape& shape, const QParams& p) {
  std::vector<int32_t> q(x.size()), q_ref(x.size());
  quantize_f32_i32(ViewF32{x.data(), shape}, p, q.data());
  quantize_f32_i32_ref(ViewF32{x.data(), shape}, p, q_ref.data());
  check_true("fast and _ref quantize agree", q == q_ref);
  return q;
}
std::vector<float> fake_quantize(const std::vector<float>& x, const Shape& shape, const QParams& p) {
  std::vector<float> y(x.size()), y_ref(x.size());
  fake_quantize_f32(ViewF32{x.data(), shape}, p, y.data());
  fake_quantize_f32_ref(ViewF32{x.data(), shape}, p, y_ref.data());
  check_true("fast and _ref fake_quantize agree", y == y_ref);
  return y;
}
int32_t quantize1(float x, const QParams& p) { return quantize({x}, {1}, p)[0]; }
float fake_quantize1(float x, const QParams& p) { return fake_quantize({x}, {1}, p)[0]; }

// §1 The affine map; §4 nudging (same params).
void affine_map() {
  const QParams p = per_tensor(uint8_asym(), -1.0f, 2.5f);
  check_f32("§1 uint8 [-1, 2.5]: scale 3.5/255", p.scale[0], 0.0137254903f);
  check_int("§1 uint8 [-1, 2.5]: zero point round(72.857...)", p.zero_point[0], 73);
  check_int("§1 quantize(0.0)", quantize1(0.0f, p), 73);
  check_f32("§1 dequantize(quantize(0.0)) is exactly 0", fake_quantize1(0.0f, p), 0.0f);
  check_int("§1 quantize(1.0)", quantize1(1.0f, p), 146);
  check_f32("§1 fake_quantize(1.0)", fake_quantize1(1.0f, p), 1.00196075f);
  // §4: the grid after nudging is s * (q - 73), q in [0, 255].
  check_f32("§4 nudged grid minimum -73 s", p.scale[0] * static_cast<float>(0 - 73), -1.00196075f);
  check_f32("§4 nudged grid maximum 182 s", p.scale[0] * static_cast<float>(255 - 73), 2.49803925f);
  check_int("§4 quantize(2.5): the old max still maps to qmax", quantize1(2.5f, p), 255);
}

// §2 Symmetric, signed/unsigned, narrow range.
void ranges() {
  check_int("§2 int8 qmin", int8_sym(false).qmin(), -128);
  check_int("§2 int8 qmax", int8_sym(false).qmax(), 127);
  check_int("§2 int8 narrow qmin", int8_sym(true).qmin(), -127);
  check_int("§2 uint8 qmin", uint8_asym().qmin(), 0);
  check_int("§2 uint8 qmax", uint8_asym().qmax(), 255);
  const QScheme fbgemm_act = find_backend("fbgemm").activation;
  check_int("§2 fbgemm activation (reduce_range) qmax", fbgemm_act.qmax(), 127);

  const QParams full = per_tensor(int8_sym(false), -0.6f, 1.27f);
  const QParams narrow = per_tensor(int8_sym(true), -0.6f, 1.27f);
  check_f32("§2 int8 sym [-0.6, 1.27]: scale 1.27/127", full.scale[0], 0.00999999978f);
  check_int("§2 int8 sym zero point", full.zero_point[0], 0);
  check_f32("§2 narrow range: same scale", narrow.scale[0], 0.00999999978f);
  check_int("§2 quantize(-1.28), [-128, 127]", quantize1(-1.28f, full), -128);
  check_int("§2 quantize(-1.28), narrow [-127, 127]", quantize1(-1.28f, narrow), -127);
  QScheme ppq = int8_sym(false);
  ppq.symmetric_scale = SymmetricScale::TwoAmaxOverRange;
  check_f32("§2 PPQ convention 2 * 1.27 / 255", per_tensor(ppq, -0.6f, 1.27f).scale[0], 0.00996078458f);

  // Pairwise int16 accumulation: (-128)(-128) + (-128)(-128) overflows, 127*127 + 127*127 does not.
  const int32_t i16max = std::numeric_limits<int16_t>::max();
  check_int("§2 (-128)(-128) * 2", 2 * (-128) * (-128), 32768);
  check_int("§2 127 * 127 * 2", 2 * 127 * 127, 32258);
  check_true("§2 full range overflows int16, narrow does not", 2 * 128 * 128 > i16max && 2 * 127 * 127 <= i16max);
  // uint8 x int8 pairs (reduce_range): 2 * 255 * 128 overflows int16, 2 * 127 * 128 does not.
  check_int("§2 255 * 128 * 2", 2 * 255 * 128, 65280);
  check_int("§2 127 * 128 * 2", 2 * 127 * 128, 32512);
  check_true("§2 7-bit activations fit int16 pairs", 2 * 255 * 128 > i16max && 2 * 127 * 128 <= i16max);
}

// §3 Per-tensor vs per-channel (weights [2, 3], axis 0).
void per_channel() {
  const std::vector<float> w = {0.012f, -0.02f, 0.005f, 1.0f, -2.54f, 0.5f};
  const BackendProfile& ort = find_backend("ort");
  check_int("§3 weights axis 0", ort.weight.axis, 0);

  QScheme pt = ort.weight;
  pt.granularity = Granularity::PerTensor;
  const QParams ppt = per_tensor(pt, -2.54f, 1.0f);
  check_f32("§3 per-tensor scale 2.54/127", ppt.scale[0], 0.0199999996f);
  const std::vector<int32_t> qt = quantize(w, {2, 3}, ppt);
  const int32_t qt_doc[6] = {1, -1, 0, 50, -127, 25};
  for (int i = 0; i < 6; ++i) check_int("§3 per-tensor q[" + std::to_string(i) + "]", qt[i], qt_doc[i]);

  const QParams ppc = choose_qparams(ort.weight, Range{{-0.02f, -2.54f}, {0.012f, 1.0f}}, "example");
  check_int("§3 per-channel params axis", ppc.axis, 0);
  check_f32("§3 channel 0 scale 0.02/127", ppc.scale[0], 0.000157480317f);
  check_f32("§3 channel 1 scale 2.54/127", ppc.scale[1], 0.0199999996f);
  const std::vector<int32_t> qc = quantize(w, {2, 3}, ppc);
  const int32_t qc_doc[6] = {76, -127, 32, 50, -127, 25};
  for (int i = 0; i < 6; ++i) check_int("§3 per-channel q[" + std::to_string(i) + "]", qc[i], qc_doc[i]);
  const std::vector<float> fc = fake_quantize(w, {2, 3}, ppc);
  check_f32("§3 per-channel fake_quantize(0.012)", fc[0], 0.0119685037f);
  check_f32("§3 per-channel fake_quantize(0.005)", fc[2], 0.00503937015f);
  check_f32("§3 per-tensor fake_quantize(0.012)", fake_quantize({0.012f}, {1}, ppt)[0], 0.0199999996f);
}

// §4 choose_qparams: widening, degenerate ranges, errors, power of two.
void choosing() {
  const QParams widened = per_tensor(uint8_asym(), 0.5f, 2.0f);
  check_f32("§4 [0.5, 2] widened to [0, 2]: scale 2/255", widened.scale[0], 0.00784313772f);
  check_int("§4 [0.5, 2] widened: zero point", widened.zero_point[0], 0);
  const QParams c3 = per_tensor(uint8_asym(), 3.0f, 3.0f);
  check_f32("§4 constant 3: scale 3/255", c3.scale[0], 0.0117647061f);
  check_int("§4 constant 3: zero point", c3.zero_point[0], 0);
  check_int("§4 constant 3: quantize(3)", quantize1(3.0f, c3), 255);
  const QParams cm2 = per_tensor(uint8_asym(), -2.0f, -2.0f);
  check_f32("§4 constant -2: scale 2/255", cm2.scale[0], 0.00784313772f);
  check_int("§4 constant -2: zero point", cm2.zero_point[0], 255);

  const QParams z_u8 = per_tensor(uint8_asym(), 0.0f, 0.0f);
  check_f32("§4 all-zero uint8 asym: scale", z_u8.scale[0], 1.0f);
  check_int("§4 all-zero uint8 asym: zero point", z_u8.zero_point[0], 0);
  QScheme i8_asym = int8_sym(false);
  i8_asym.symmetry = Symmetry::Asymmetric;
  const QParams z_i8a = per_tensor(i8_asym, 0.0f, 0.0f);
  check_f32("§4 all-zero int8 asym: scale", z_i8a.scale[0], 1.0f);
  check_int("§4 all-zero int8 asym: zero point", z_i8a.zero_point[0], -128);
  check_int("§4 all-zero int8 sym: zero point", per_tensor(int8_sym(false), 0.0f, 0.0f).zero_point[0], 0);
  check_f32("§4 [0, 1e-30]: minimum scale 1e-8", per_tensor(uint8_asym(), 0.0f, 1e-30f).scale[0], 9.99999994e-09f);

  bool threw = false;
  try {
    choose_qparams(uint8_asym(), Range{{-1.0f}, {std::nanf("")}}, "conv1.out");
  } catch (const Error& e) {
    threw = std::string(e.what()).find("conv1.out") != std::string::npos;
  }
  check_true("§4 NaN range: Error naming the tensor", threw);

  const QScheme tvm = find_backend("tvm").weight;
  const QParams p2 = per_tensor(tvm, -0.9f, 0.5f);
  check_f32("§4 power of two: 0.9/127 rounded up to 2^-7", p2.scale[0], 0.0078125f);
  check_int("§4 power of two: quantize(-0.9)", quantize1(-0.9f, p2), -115);
  const QParams down = fixed(0.00390625f, -127, 127, Rounding::HalfAwayFromZero);  // 2^-8: rounded down
  check_f32("§4 rounding down to 2^-8 would clip -0.9", fake_quantize1(-0.9f, down), -0.49609375f);
  check_f32("§4 power of two: 1/127 rounded up to 2^-6", per_tensor(tvm, -1.0f, 1.0f).scale[0], 0.015625f);
  check_f32("§4 power of two: 127 * 2^-7 stays 2^-7", per_tensor(tvm, 0.0f, 0.9921875f).scale[0], 0.0078125f);
}

// §5 Rounding: true division, tie rules, backends.
void rounding() {
  // x / s is exactly 6.5; x * (1/s) is 6.50000048 because 1/1.75 = 4/7 is not a float32.
  const float s = 1.75f, x = 11.375f;
  const float inv = 1.0f / s;
  check_f32("§5 1/1.75 in float32", inv, 0.571428597f);
  check_f32("§5 11.375 / 1.75", x / s, 6.5f);
  check_f32("§5 11.375 * (1/1.75)", x * inv, 6.50000048f);
  check_int("§5 half-even round(x / s)", quantize1(x, fixed(s, -128, 127, Rounding::HalfToEven)), 6);
  check_int("§5 half-even round(x * (1/s))", static_cast<int64_t>(std::nearbyint(x * inv)), 7);

  const float s2 = 10.25f, x2 = 5.125f;
  const float inv2 = 1.0f / s2;
  check_f32("§5 5.125 / 10.25", x2 / s2, 0.5f);
  check_f32("§5 5.125 * (1/10.25)", x2 * inv2, 0.49999997f);
  check_int("§5 half-away round(x / s)", quantize1(x2, fixed(s2, -127, 127, Rounding::HalfAwayFromZero)), 1);
  check_int("§5 half-away round(x * (1/s))", static_cast<int64_t>(std::round(x2 * inv2)), 0);

  // The two tie rules on +-2.5 (x = +-4.375, s = 1.75).
  const QParams even = fixed(s, -128, 127, Rounding::HalfToEven);
  const QParams away = fixed(s, -128, 127, Rounding::HalfAwayFromZero);
  check_int("§5 half-even 2.5", quantize1(4.375f, even), 2);
  check_int("§5 half-even -2.5", quantize1(-4.375f, even), -2);
  check_int("§5 half-away 2.5", quantize1(4.375f, away), 3);
  check_int("§5 half-away -2.5", quantize1(-4.375f, away), -3);
  check_int("§5 half-even 3.5", quantize1(6.125f, even), 4);
  check_int("§5 half-away 3.5", quantize1(6.125f, away), 4);
  check_int("§5 half-even 0.5", quantize1(x2, fixed(s2, -127, 127, Rounding::HalfToEven)), 0);

  const char* away_backends[] = {"tvm", "acl", "ncnn", "mnn"};
  for (const char* b : away_backends)
    check_true(std::string("§5 ") + b + " rounds half away from zero",
               find_backend(b).activation.rounding == Rounding::HalfAwayFromZero &&
                   find_backend(b).weight.rounding == Rounding::HalfAwayFromZero);
  const char* even_backends[] = {"tensorrt", "snpe", "qnn",      "fbgemm",  "ppl",
                                 "vitis",    "ort",  "openvino", "tengine", "academic"};
  for (const char* b : even_backends)
    check_true(std::string("§5 ") + b + " rounds half to even",
               find_backend(b).activation.rounding == Rounding::HalfToEven &&
                   find_backend(b).weight.rounding == Rounding::HalfToEven);
  check_int("§5 number of backend profiles", static_cast<int64_t>(backend_profiles().size()), 14);
}

// §7 Fake quantization (uint8 [-1, 2.5] of §1).
void fake_quant() {
  const QParams p = per_tensor(uint8_asym(), -1.0f, 2.5f);
  const std::vector<float> y = fake_quantize({-1.2f, 0.0f, 1.0f, 2.6f}, {4}, p);
  check_f32("§7 fake_quantize(-1.2) clips to -73 s", y[0], -1.00196075f);
  check_f32("§7 fake_quantize(0)", y[1], 0.0f);
  check_f32("§7 fake_quantize(1.0)", y[2], 1.00196075f);
  check_f32("§7 fake_quantize(2.6) clips to 182 s", y[3], 2.49803925f);
}

// §8 and §9: bias, integer dot product and requantization.
void integer_layer() {
  const std::vector<float> x = {0.304f, -0.251f, 1.7f, 0.0437f};
  const std::vector<float> w = {0.2f, -0.635f, 0.1234f, 0.5f};
  const float b = 0.1f;
  const QParams px = per_tensor(uint8_asym(), -0.5f, 2.05f);
  const QParams pw = per_tensor(int8_sym(true), -0.635f, 0.5f);
  const QParams po = per_tensor(uint8_asym(), -1.0f, 4.1f);
  check_f32("§9 s_in = 2.55/255", px.scale[0], 0.00999999978f);
  check_int("§9 z_in", px.zero_point[0], 50);
  check_f32("§9 s_w = 0.635/127", pw.scale[0], 0.00499999989f);
  check_f32("§9 s_out = 5.1/255", po.scale[0], 0.0199999996f);
  check_int("§9 z_out", po.zero_point[0], 50);

  const std::vector<int32_t> qx = quantize(x, {4}, px), qw = quantize(w, {4}, pw);
  const int32_t qx_doc[4] = {80, 25, 220, 54}, qw_doc[4] = {40, -127, 25, 100};
  for (int i = 0; i < 4; ++i) {
    check_int("§9 q_x[" + std::to_string(i) + "]", qx[i], qx_doc[i]);
    check_int("§9 q_w[" + std::to_string(i) + "]", qw[i], qw_doc[i]);
  }

  // §8 bias: int32, scale s_in * s_w (the float32 product), zero point 0.
  const float s_b = px.scale[0] * pw.scale[0];
  check_f32("§8 bias scale s_in * s_w", s_b, 4.99999987e-05f);
  const QParams pb =
      fixed(s_b, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), Rounding::HalfToEven);
  const int32_t qb = quantize1(b, pb);
  check_int("§8 q_b = round(0.1 / s_b)", qb, 2000);
  // The pipeline (quantize_biases) rounds in double: same value here.
  check_int("§8 q_b in double", static_cast<int64_t>(std::nearbyint(static_cast<double>(b) / s_b)), 2000);

  // Integer accumulator with the zero-point cross term precomputed offline.
  int64_t sum_xw = 0, sum_w = 0, acc_direct = 0;
  for (int i = 0; i < 4; ++i) {
    sum_xw += int64_t{qx[i]} * qw[i];
    sum_w += qw[i];
    acc_direct += int64_t{qx[i] - px.zero_point[0]} * qw[i];
  }
  check_int("§9 sum q_x q_w", sum_xw, 10925);
  check_int("§9 z_in * sum q_w", px.zero_point[0] * sum_w, 1900);
  const int64_t acc = sum_xw - px.zero_point[0] * sum_w + qb;
  check_int("§9 acc", acc, 11025);
  check_int("§9 acc = sum (q_x - z_in) q_w + q_b", acc_direct + qb, 11025);

  const double M = static_cast<double>(px.scale[0]) * pw.scale[0] / po.scale[0];
  check_f64("§9 M = s_in s_w / s_out", M, 0.0024999999441206455);
  const QuantizedMultiplier qm = quantize_multiplier(M);
  check_int("§9 m0_q31", qm.m0_q31, 1374389504);
  check_int("§9 right_shift", qm.right_shift, 8);
  const int32_t high = saturating_rounding_doubling_high_mul(static_cast<int32_t>(acc), qm.m0_q31);
  check_int("§9 SRDHM(11025, m0)", high, 7056);
  check_int("§9 SRDHM _ref twin", saturating_rounding_doubling_high_mul_ref(static_cast<int32_t>(acc), qm.m0_q31),
            7056);
  check_int("§9 rounding_divide_by_pot(7056, 8)", rounding_divide_by_pot(high, qm.right_shift), 28);
  int32_t q_out = 0, q_out_ref = 0;
  const int32_t acc32 = static_cast<int32_t>(acc);
  requantize_i32(&acc32, 1, qm, po.zero_point[0], po.qmin, po.qmax, &q_out);
  requantize_i32_ref(&acc32, 1, qm, po.zero_point[0], po.qmin, po.qmax, &q_out_ref);
  check_int("§9 integer q_out", q_out, 78);
  check_int("§9 integer q_out (_ref)", q_out_ref, 78);

  // The float computation the integer pipeline replaces: fake-quantized x, w, b; float output quantized.
  const std::vector<float> fx = fake_quantize(x, {4}, px), fw = fake_quantize(w, {4}, pw);
  double y = static_cast<double>(qb) * s_b;
  for (int i = 0; i < 4; ++i) y += static_cast<double>(fx[i]) * fw[i];
  check_true("§9 float y = 0.55125 (to 1e-6)", std::fabs(y - 0.55125) < 1e-6);
  check_int("§9 float path q_out", quantize1(static_cast<float>(y), po), 78);

  // Near a tie the two roundings of the integer path can differ from one rounding of acc * M.
  const int32_t acc_tie = 200;
  check_int("§9 SRDHM(200, m0)", saturating_rounding_doubling_high_mul(acc_tie, qm.m0_q31), 128);
  check_int("§9 integer round(200 M)", multiply_by_quantized_multiplier(acc_tie, qm), 1);
  check_int("§9 integer round(-200 M)", multiply_by_quantized_multiplier(-acc_tie, qm), -1);
  check_true("§9 200 M is just below 0.5", acc_tie * M < 0.5);
  check_int("§9 float round(200 M)", static_cast<int64_t>(std::nearbyint(acc_tie * M)), 0);
}

}  // namespace

int main() {
  try {
    affine_map();
    ranges();
    per_channel();
    choosing();
    rounding();
    fake_quant();
    integer_layer();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (g_failures > 0) {
    std::fprintf(stderr, "%d of %d checks disagree with docs/quantization.md\n", g_failures, g_checks);
    return 1;
  }
  std::printf("docs/quantization.md: all %d worked-example checks match the engine\n", g_checks);
  return 0;
}
