// The conv/linear GEMM path (exec/gemm_kernel.h, conv_gemm.h): every instruction-set build of the
// micro-kernel against the scalar fma twin, bit for bit; the fused epilogue against the unfused ops
// (reference conv, then fake quantization, the residual add and the activation as separate kernels),
// bit for bit; determinism at 1, 2 and 3 threads on shapes that take the wide and the packed panels;
// and the vectorizable exp against std::exp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "core/parallel.h"
#include "core/quantize.h"
#include "exec/gemm_kernel.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

// The activation formulas of one float (internal header, used by activation.cpp).
#include "exec/activation_scalar.h"

using namespace mqcalib;
using namespace mqcalib::test;
using mqcalib::exec_detail::GemmKernel;

namespace {

constexpr double kExpMaxUlps = 1.0;  // exp_f32 vs std::exp, for normal results

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

// A random problem of the panel formula: a [rows][lda], b [K + 1][4 nr + 8] read through koff;
// with a tap list (taps), the weights of tap k are column ka[k] = 2k + 1 of a [rows][2K + 1].
struct GemmProblem {
  TensorF32 a, b;
  int64_t lda;
  std::vector<int64_t> koff, ka;
};

GemmProblem gemm_problem(int64_t nr, int64_t rows, int64_t K, uint32_t seed, bool taps) {
  const int64_t lda = taps ? 2 * K + 1 : K;
  GemmProblem g{random_tensor({rows, lda}, seed), random_tensor({K + 1, 4 * nr + 8}, seed + 1), lda, {}, {}};
  for (int64_t i = 0; i < K; ++i) g.koff.push_back((i * 7 % (K + 1)) * (4 * nr + 8) + i % 3);
  if (taps)
    for (int64_t i = 0; i < K; ++i) g.ka.push_back(2 * i + 1);
  return g;
}

// Runs kernel k's panel (or row) on the problem, returns its output.
std::vector<float> run_kernel(const GemmKernel& k, int64_t rows, int64_t K, uint32_t seed, bool row, bool taps = false) {
  const int64_t nr = k.nr, len = 3 * nr + 5;
  const GemmProblem g = gemm_problem(nr, rows, K, seed, taps);
  std::vector<float> c(static_cast<size_t>(row ? len : rows * nr), 0.0f);
  if (row)
    k.row(g.a.data(), g.b.data(), g.koff.data(), K, c.data(), len);
  else
    k.panel(g.a.data(), g.lda, rows, g.b.data(), g.koff.data(), taps ? g.ka.data() : nullptr, K, c.data(), false);
  return c;
}

std::vector<float> run_ref(int64_t nr, int64_t rows, int64_t K, uint32_t seed, bool row, bool taps = false) {
  const int64_t len = 3 * nr + 5;
  const GemmProblem g = gemm_problem(nr, rows, K, seed, taps);
  std::vector<float> c(static_cast<size_t>(row ? len : rows * nr), 0.0f);
  const int64_t* ka = taps ? g.ka.data() : nullptr;
  if (row)
    exec_detail::gemm_panel_f32_ref(g.a.data(), K, 1, g.b.data(), g.koff.data(), nullptr, K, len, c.data(), false);
  else
    exec_detail::gemm_panel_f32_ref(g.a.data(), g.lda, rows, g.b.data(), g.koff.data(), ka, K, nr, c.data(), false);
  return c;
}

FakeQuantF32 fq(float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  QParams p;
  p.scale = {scale};
  p.zero_point = {zp};
  p.qmin = qmin;
  p.qmax = qmax;
  return fake_quant_consts(p, "test");
}

double ulps_apart(float a, float b) {
  if (a == b) return 0.0;
  const double step = std::nextafter(b, std::numeric_limits<float>::infinity()) - static_cast<double>(b);
  return std::fabs(static_cast<double>(a) - b) / step;
}

}  // namespace

TEST_CASE("gemm kernel: every ISA build equals the scalar fma chain, bit for bit (dense and with a tap list)") {
  std::vector<const GemmKernel*> kernels = {&exec_detail::gemm_kernel_avx2(), &exec_detail::gemm_kernel_scalar()};
  if (cpu_has_avx512()) kernels.push_back(&exec_detail::gemm_kernel_avx512());
  for (const GemmKernel* k : kernels) {
    CAPTURE(std::string(k->isa));
    for (int64_t rows : {1, 5, 12, 13, 31})
      for (int64_t K : {1, 9, 64, 147}) {
        CAPTURE(rows);
        CAPTURE(K);
        CHECK(run_kernel(*k, rows, K, 7, false) == run_ref(k->nr, rows, K, 7, false));
        CHECK(run_kernel(*k, rows, K, 8, false, true) == run_ref(k->nr, rows, K, 8, false, true));
        CHECK(run_kernel(*k, 1, K, 9, true) == run_ref(k->nr, 1, K, 9, true));
      }
  }
}

TEST_CASE("conv2d: the fused epilogue gives the bits of the unfused ops") {
  struct Case {
    const char* name;
    Shape x, w;
    Conv2dParams p;
  };
  const std::vector<Case> cases = {
      {"3x3 wide", {3, 8, 15, 15}, {16, 8, 3, 3}, conv_params(1, 1)},
      {"3x3 packed (small map)", {4, 8, 3, 3}, {16, 8, 3, 3}, conv_params(1, 1)},
      {"depthwise", {2, 8, 9, 9}, {8, 1, 3, 3}, conv_params(1, 1, 1, 8)},
      {"1x1 s2", {2, 8, 9, 9}, {12, 8, 1, 1}, conv_params(2, 0)},
      {"positions, 8-panel tasks (block transposes)", {32, 8, 8, 8}, {16, 8, 3, 3}, conv_params(1, 1)},
      {"positions, shorter tasks", {32, 8, 5, 5}, {16, 8, 3, 3}, conv_params(1, 1)},
      {"positions, a partial panel per position", {60, 8, 4, 4}, {16, 8, 3, 3}, conv_params(1, 1)},
  };
  const FakeQuantF32 q_pre = fq(0.05f, 3, -128, 127), q_sum = fq(0.07f, 0, -128, 127), q_out = fq(0.04f, 0, 0, 255);
  const Activation act = Activation::Relu6;
  uint32_t seed = 40;
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    const TensorF32 x = random_tensor(c.x, seed++, -2.0f, 2.0f), w = random_tensor(c.w, seed++);
    const TensorF32 b = random_tensor({c.w[0]}, seed++);
    const Shape ys = conv2d_output_shape(x.shape(), w.shape(), c.p);
    const TensorF32 res = random_tensor(ys, seed++, -2.0f, 2.0f);
    // unfused: reference conv with bias, then each op as its own kernel
    TensorF32 want(ys);
    conv2d_nchw_f32_ref(x, w, b.data(), c.p, want.mut_view());
    fake_quantize_span_f32(q_pre, want.data(), want.data(), want.size());
    binary_f32(BinaryOp::Add, want, res, want.mut_view());
    fake_quantize_span_f32(q_sum, want.data(), want.data(), want.size());
    activation_f32(act, want, want.mut_view());
    fake_quantize_span_f32(q_out, want.data(), want.data(), want.size());
    // fused, with the residual in a separate buffer and in the output's own buffer
    ConvEpilogue ep;
    ep.bias = b.data();
    ep.fq_pre = &q_pre;
    ep.residual = res.data();
    ep.fq_sum = &q_sum;
    ep.act = &act;
    ep.fq_out = &q_out;
    TensorF32 got(ys);
    conv2d_nchw_f32(x, w, ep, c.p, got.mut_view());
    CHECK(bit_identical(got, want));
    TensorF32 in_place = res;  // each output's residual is read before the output is written
    ep.residual = in_place.data();
    conv2d_nchw_f32(x, w, ep, c.p, in_place.mut_view());
    CHECK(bit_identical(in_place, want));
    // and the reference epilogue on the reference conv
    TensorF32 ref(ys);
    conv2d_nchw_f32_ref(x, w, b.data(), c.p, ref.mut_view());
    ep.residual = res.data();
    conv_epilogue_nchw_f32_ref(ep, ref.mut_view());
    CHECK(bit_identical(ref, want));
  }
}

TEST_CASE("conv2d: wide and packed panels, depthwise and linear bit-identical at 1, 2 and 3 threads") {
  const TensorF32 x = random_tensor({9, 16, 20, 20}, 71), w = random_tensor({40, 16, 3, 3}, 72);
  const TensorF32 xs = random_tensor({33, 64, 2, 2}, 73), ws = random_tensor({70, 64, 3, 3}, 74);
  const TensorF32 wd = random_tensor({16, 1, 5, 5}, 75), xl = random_tensor({45, 200}, 76),
                  wl = random_tensor({30, 200}, 77);
  auto run_all = [&] {
    std::vector<TensorF32> r;
    for (const auto& [xx, ww, p] : {std::tuple{&x, &w, conv_params(1, 1)}, std::tuple{&xs, &ws, conv_params(1, 1)},
                                    std::tuple{&x, &wd, conv_params(2, 2, 1, 16)}}) {
      TensorF32 y(conv2d_output_shape(xx->shape(), ww->shape(), p));
      conv2d_nchw_f32(*xx, *ww, nullptr, p, y.mut_view());
      r.push_back(std::move(y));
    }
    TensorF32 yl({45, 30});
    linear_f32(xl, wl, nullptr, yl.mut_view());
    r.push_back(std::move(yl));
    return r;
  };
  const int saved = num_threads();
  set_num_threads(1);
  const auto r1 = run_all();
  set_num_threads(2);
  const auto r2 = run_all();
  set_num_threads(3);
  const auto r3 = run_all();
  set_num_threads(saved);
  for (size_t k = 0; k < r1.size(); ++k) {
    CAPTURE(k);
    CHECK(bit_identical(r1[k], r2[k]));
    CHECK(bit_identical(r1[k], r3[k]));
  }
}

TEST_CASE("exp_f32: within 1 ulp of std::exp, and its limits") {
  double worst = 0.0;
  for (float x = -104.0f; x < 89.0f; x += 1.0e-3f + std::fabs(x) * 1.0e-5f) {
    const float want = std::exp(x);
    if (want < std::numeric_limits<float>::min() || std::isinf(want)) continue;  // denormal / overflow
    worst = std::max(worst, ulps_apart(detail::exp_f32(x), want));
  }
  CHECK(worst <= kExpMaxUlps);
  CHECK(detail::exp_f32(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(std::isinf(detail::exp_f32(std::numeric_limits<float>::infinity())));
  CHECK(std::isinf(detail::exp_f32(89.0f)));
  CHECK(std::isnan(detail::exp_f32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(detail::exp_f32(0.0f) == 1.0f);
  CHECK(detail::exp_f32(-200.0f) == 0.0f);
}

TEST_CASE("max pool on the phase planes: NaN windows, ceil_mode and dilation as the reference, bit for bit") {
  TensorF32 x = random_tensor({3, 5, 14, 13}, 90);
  for (int64_t i = 0; i < x.size(); i += 37) x[i] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 5; i < x.size(); i += 53) x[i] = -std::numeric_limits<float>::infinity();
  for (bool ceil : {false, true})
    for (int64_t s : {1, 2}) {
      Pool2dParams p;
      p.kernel_h = p.kernel_w = 3;
      p.stride_h = p.stride_w = s;
      p.pad_h = p.pad_w = 1;
      p.dil_h = s;  // dilated rows on the stride-2 case
      p.ceil_mode = ceil;
      TensorF32 y(pool2d_output_shape(x.shape(), p)), yr(pool2d_output_shape(x.shape(), p));
      max_pool2d_nchw_f32(x, p, y.mut_view());
      max_pool2d_nchw_f32_ref(x, p, yr.mut_view());
      CHECK(bit_identical(y, yr));
    }
}
