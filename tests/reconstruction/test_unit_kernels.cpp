// The backward kernels the unit runner added: broadcasting add / mul (reduce_to_shape), mean, batch
// norm, LSQ fake quantization with QDrop's mask, the Lp / weighted output loss and the softmax KL:
// each vs double finite differences (or its written formula), fast vs _ref, 1 vs 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/quantize.h"
#include "exec/kernels.h"
#include "exec/test_util.h"
#include "reconstruction/batch_norm_backward.h"
#include "reconstruction/broadcast_backward.h"
#include "reconstruction/grad_check.h"
#include "reconstruction/lsq_fake_quant.h"
#include "reconstruction/recon_loss.h"
#include "reconstruction/recon_test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr double kGradRelTol = 1e-5;  // float32 gradients vs double finite differences
// Sums that may cancel are compared relative to max(|reference|, 1) (the inputs are O(1)).
constexpr double kCancelFloor = 1.0;
constexpr double kTwinRelTol = 1e-5;  // fast vs _ref where the summation order differs
constexpr double kLossRelTol = 1e-6;  // loss values, fast vs _ref / vs double

// Y element i of broadcast shape y read from operand shape s (right-aligned).
size_t bcast_index(size_t i, const Shape& y, const Shape& s) {
  size_t off = 0, mul = 1;
  for (size_t k = 0; k < y.size(); ++k) {
    const size_t d = y.size() - 1 - k;
    const size_t c = i % static_cast<size_t>(y[d]);
    i /= static_cast<size_t>(y[d]);
    if (k < s.size() && s[s.size() - 1 - k] != 1) off += c * mul;
    if (k < s.size()) mul *= static_cast<size_t>(s[s.size() - 1 - k]);
  }
  return off;
}

}  // namespace

TEST_CASE("mul / add broadcasting backward vs finite differences, fast == _ref, threads") {
  struct Case {
    Shape a, b;
  };
  for (const Case& c :
       {Case{{2, 3, 4, 5}, {2, 3, 1, 1}}, Case{{2, 3, 1, 1}, {2, 3, 4, 5}}, Case{{1, 3, 1, 5}, {2, 3, 4, 5}},
        Case{{5}, {2, 3, 4, 5}}, Case{{}, {2, 3}}, Case{{2, 3}, {2, 3}}}) {
    CAPTURE(shape_to_string(c.a));
    CAPTURE(shape_to_string(c.b));
    const Shape ys = broadcast_shape(c.a, c.b);
    const TensorF32 a = random_tensor(c.a, 1), b = random_tensor(c.b, 2), gy = random_tensor(ys, 3);
    const VecD ad = to_double(a), bd = to_double(b), gyd = to_double(gy);
    auto f = [&](const VecD& av, const VecD& bv) {
      double s = 0.0;
      for (size_t i = 0; i < gyd.size(); ++i) s += gyd[i] * av[bcast_index(i, ys, c.a)] * bv[bcast_index(i, ys, c.b)];
      return s;
    };
    const VecD fa = finite_diff([&](const VecD& v) { return f(v, bd); }, ad);
    const VecD fb = finite_diff([&](const VecD& v) { return f(ad, v); }, bd);
    TensorF32 ga(c.a), gb(c.b), ra(c.a), rb(c.b), ga1(c.a), gb1(c.b);
    MutViewF32 va = ga.mut_view(), vb = gb.mut_view(), wa = ra.mut_view(), wb = rb.mut_view(), xa = ga1.mut_view(),
               xb = gb1.mut_view();
    mul_backward_f32(a, b, gy, &va, &vb);
    mul_backward_f32_ref(a, b, gy, &wa, &wb);
    at_threads(1, [&] { mul_backward_f32(a, b, gy, &xa, &xb); });
    CHECK(rel_err(ga, fa, kCancelFloor) <= kGradRelTol);
    CHECK(rel_err(gb, fb, kCancelFloor) <= kGradRelTol);
    CHECK(bit_identical(ga, ra));
    CHECK(bit_identical(gb, rb));
    CHECK(bit_identical(ga, ga1));
    CHECK(bit_identical(gb, gb1));
    // add: the gradient of each input is gy summed over its broadcast dims.
    const VecD sa = finite_diff(
        [&](const VecD& v) {
          double s = 0.0;
          for (size_t i = 0; i < gyd.size(); ++i)
            s += gyd[i] * (v[bcast_index(i, ys, c.a)] + bd[bcast_index(i, ys, c.b)]);
          return s;
        },
        ad);
    TensorF32 r(c.a), rr(c.a);
    reduce_to_shape_f32(gy, r.mut_view());
    reduce_to_shape_f32_ref(gy, rr.mut_view());
    CHECK(rel_err(r, sa, kCancelFloor) <= kGradRelTol);
    CHECK(bit_identical(r, rr));
  }
  TensorF32 bad({3, 1}), g({2, 3});
  CHECK_THROWS_AS(reduce_to_shape_f32(g, bad.mut_view()), Error);
}

TEST_CASE("mean backward vs finite differences, fast == _ref, threads") {
  struct Case {
    std::vector<int64_t> dims;
    bool keepdim;
  };
  const Shape xs{2, 3, 4, 5};
  for (const Case& c :
       {Case{{2, 3}, false}, Case{{2, 3}, true}, Case{{1}, false}, Case{{-1, 0}, true}, Case{{}, false}}) {
    CAPTURE(c.keepdim);
    const Shape ys = mean_output_shape(xs, c.dims, c.keepdim);
    const TensorF32 x = random_tensor(xs, 4), gy = random_tensor(ys, 5);
    const VecD gyd = to_double(gy);
    // d(gy . mean(x))/dx in double: each x accumulated into its output, divided by the count
    const Shape keep = mean_output_shape(xs, c.dims, true);
    const double count = static_cast<double>(numel(xs) / numel(keep));
    const VecD fx = finite_diff(
        [&](const VecD& v) {
          std::vector<double> acc(gyd.size(), 0.0);
          for (size_t i = 0; i < v.size(); ++i) acc[bcast_index(i, xs, keep)] += v[i];
          double s = 0.0;
          for (size_t o = 0; o < acc.size(); ++o) s += gyd[o] * acc[o] / count;
          return s;
        },
        to_double(x));
    TensorF32 gx(xs), rx(xs), gx1(xs);
    mean_backward_f32(gy, c.dims, c.keepdim, gx.mut_view());
    mean_backward_f32_ref(gy, c.dims, c.keepdim, rx.mut_view());
    at_threads(1, [&] { mean_backward_f32(gy, c.dims, c.keepdim, gx1.mut_view()); });
    CHECK(rel_err(gx, fx) <= kGradRelTol);
    CHECK(bit_identical(gx, rx));
    CHECK(bit_identical(gx, gx1));
  }
}

TEST_CASE("batch norm backward vs finite differences, fast == _ref") {
  const Shape xs{3, 4, 5, 2};
  const TensorF32 x = random_tensor(xs, 6), gy = random_tensor(xs, 7);
  const TensorF32 var = random_tensor({4}, 8, 0.2f, 2.0f), gamma = random_tensor({4}, 9, 0.5f, 1.5f);
  const float eps = 1e-5f;
  const VecD gyd = to_double(gy);
  const VecD fx = finite_diff(
      [&](const VecD& v) {
        double s = 0.0;
        for (size_t i = 0; i < v.size(); ++i) {
          const size_t c = (i / 10) % 4;
          s += gyd[i] * v[i] / std::sqrt(static_cast<double>(var[static_cast<int64_t>(c)]) + eps) *
               gamma[static_cast<int64_t>(c)];
        }
        return s;
      },
      to_double(x));
  TensorF32 gx(xs), rx(xs);
  batch_norm_backward_f32(gy, var.data(), gamma.data(), eps, gx.mut_view());
  batch_norm_backward_f32_ref(gy, var.data(), gamma.data(), eps, rx.mut_view());
  CHECK(rel_err(gx, fx) <= kGradRelTol);
  CHECK(bit_identical(gx, rx));
}

TEST_CASE(
    "LSQ fake quant: forward == fake_quantize_f32, drop keeps FP values, gradients vs the frozen-rounding surrogate") {
  for (const Rounding rnd : {Rounding::HalfToEven, Rounding::HalfAwayFromZero}) {
    QParams p = qparams({0.05f}, {3}, -8, 7, -1);
    p.rounding = rnd;
    const StepQuant q = step_quant_of(p, 0.05f, "x");
    TensorF32 x = random_tensor({4, 3, 17}, 10, -0.7f, 0.7f);
    // keep every element off the clamp bounds (the surrogate's kinks): r != lo, hi
    const float lo = static_cast<float>(q.qmin - q.zero_point), hi = static_cast<float>(q.qmax - q.zero_point);
    for (int64_t i = 0; i < x.size(); ++i) {
      const float r = std::nearbyint(x[i] / q.scale);
      if (r == lo || r == hi || std::fabs(x[i] / q.scale - r) > 0.49f) x[i] = 0.3f * q.scale;
    }
    TensorF32 y(x.shape()), ref(x.shape()), fq(x.shape());
    lsq_fake_quant_f32(x, q, nullptr, y.mut_view());
    fake_quantize_f32(x, p, fq.data());
    CHECK(bit_identical(y, fq));
    std::vector<uint8_t> mask(static_cast<size_t>(x.size()));
    const Drop drop{42, 0.5f};
    drop_mask_u8(x.size(), drop, mask.data());
    lsq_fake_quant_f32(x, q, &drop, y.mut_view());
    lsq_fake_quant_f32_ref(x, q, &drop, ref.mut_view());
    CHECK(bit_identical(y, ref));
    for (int64_t i = 0; i < x.size(); ++i) CHECK(y[i] == (mask[static_cast<size_t>(i)] ? fq[i] : x[i]));
    // Surrogate with the rounding residual d frozen at s0: exact derivative == the LSQ / STE formula.
    const TensorF32 gy = random_tensor(x.shape(), 11);
    const double s0 = q.scale;
    std::vector<double> d(static_cast<size_t>(x.size()));
    for (int64_t i = 0; i < x.size(); ++i) {
      const double v = static_cast<double>(x[i]) / s0;
      d[static_cast<size_t>(i)] = (rnd == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v)) - v;
    }
    auto sur = [&](const VecD& xv, double s) {
      double acc = 0.0;
      for (size_t i = 0; i < xv.size(); ++i) {
        const double u = std::min(std::max(xv[i] / s + d[i], static_cast<double>(lo)), static_cast<double>(hi));
        acc += gy[static_cast<int64_t>(i)] * (mask[i] ? s * u : xv[i]);
      }
      return acc;
    };
    const VecD xd = to_double(x);
    const VecD fx = finite_diff([&](const VecD& v) { return sur(v, s0); }, xd);
    const double fs = finite_diff([&](const VecD& v) { return sur(xd, v[0]); }, VecD{s0})[0];
    TensorF32 gx(x.shape()), rx(x.shape());
    const double gs = lsq_fake_quant_backward_f32(x, gy, q, &drop, gx.mut_view());
    const double rs = lsq_fake_quant_backward_f32_ref(x, gy, q, &drop, rx.mut_view());
    CHECK(rel_err(gx, fx) <= kGradRelTol);
    CHECK(bit_identical(gx, rx));
    CHECK(std::fabs(gs - fs) <= kGradRelTol * std::fabs(fs) + 1e-9);
    CHECK(std::fabs(gs - rs) <= kTwinRelTol * std::fabs(rs));
  }
}

TEST_CASE("LSQ fast == _ref at ties, far outside the grid and NaN; forward == fake_quantize_f32") {
  for (const Rounding rnd : {Rounding::HalfToEven, Rounding::HalfAwayFromZero}) {
    QParams p = qparams({0.25f}, {-2}, -8, 7, -1);
    p.rounding = rnd;
    const StepQuant q = step_quant_of(p, 0.25f, "x");
    TensorF32 x({40});
    for (int64_t i = 0; i < 36; ++i) x[i] = 0.125f * static_cast<float>(i - 18);  // every tie
    x[36] = 1e30f, x[37] = -1e30f, x[38] = -0.01f, x[39] = NAN;
    const TensorF32 gy = random_tensor(x.shape(), 3);
    TensorF32 y(x.shape()), yr(x.shape()), fq(x.shape()), gx(x.shape()), gr(x.shape());
    lsq_fake_quant_f32(x, q, nullptr, y.mut_view());
    lsq_fake_quant_f32_ref(x, q, nullptr, yr.mut_view());
    fake_quantize_f32(x, p, fq.data());
    CHECK(bit_identical(y, yr));
    CHECK(bit_identical(y, fq));
    lsq_fake_quant_backward_f32(x, gy, q, nullptr, gx.mut_view());
    lsq_fake_quant_backward_f32_ref(x, gy, q, nullptr, gr.mut_view());
    CHECK(bit_identical(gx, gr));
  }
}

TEST_CASE("LSQ step gradient at the clamp: qmin - z below, qmax - z above (written formula)") {
  const QParams p = qparams({1.0f}, {2}, 0, 7, -1);  // lo = -2, hi = 5
  const StepQuant q = step_quant_of(p, 1.0f, "x");
  const TensorF32 x({4}, std::vector<float>{-5.0f, 9.0f, 1.25f, -1.5f});
  const TensorF32 gy({4}, std::vector<float>{1.0f, 10.0f, 100.0f, 1000.0f});
  TensorF32 gx({4});
  const double gs = lsq_fake_quant_backward_f32(x, gy, q, nullptr, gx.mut_view());
  // -5 -> clipped below: -2; 9 -> above: 5 * 10; 1.25 -> round 1 - 1.25 = -0.25 * 100; -1.5 -> round -2 (even) + 1.5 =
  // -0.5 * 1000
  CHECK(gs == doctest::Approx(-2.0 + 50.0 - 25.0 - 500.0));
  CHECK(std::vector<float>(gx.vec().begin(), gx.vec().end()) == std::vector<float>{0.0f, 0.0f, 100.0f, 1000.0f});
  CHECK_THROWS_AS(step_quant_of(qparams({1.0f, 2.0f}, {0, 0}, -8, 7, 0), 1.0f, "pc"), Error);
}

TEST_CASE("QDrop mask: probability, determinism at any thread count, seed dependence") {
  const int64_t n = 200000;
  std::vector<uint8_t> m2(static_cast<size_t>(n)), m1(static_cast<size_t>(n)), other(static_cast<size_t>(n));
  drop_mask_u8(n, Drop{7, 0.5f}, m2.data());
  at_threads(1, [&] { drop_mask_u8(n, Drop{7, 0.5f}, m1.data()); });
  drop_mask_u8(n, Drop{8, 0.5f}, other.data());
  CHECK(m1 == m2);
  CHECK(m1 != other);
  double ones = 0;
  for (uint8_t v : m2) ones += v;
  CHECK(std::fabs(ones / static_cast<double>(n) - 0.5) < 0.005);  // 4.5 sigma at n = 2e5
  drop_mask_u8(n, Drop{7, 0.2f}, m2.data());
  ones = 0;
  for (uint8_t v : m2) ones += v;
  CHECK(std::fabs(ones / static_cast<double>(n) - 0.2) < 0.005);
}

TEST_CASE("Lp loss: value and gradient vs double, fast vs _ref, weights, threads") {
  const Shape s{3, 5, 4, 6};
  const TensorF32 y = random_tensor(s, 12), t = random_tensor(s, 13), w = random_tensor(s, 14, 0.0f, 2.0f);
  const double m = 3.0 * 4 * 6;  // elements per channel
  for (const float p : {2.0f, 2.4f}) {
    for (const bool weighted : {false, true}) {
      CAPTURE(p);
      CAPTURE(weighted);
      const float* wp = weighted ? w.data() : nullptr;
      auto f = [&](const VecD& v) {
        double acc = 0.0;
        for (size_t i = 0; i < v.size(); ++i)
          acc +=
              (weighted ? w[static_cast<int64_t>(i)] : 1.0) * std::pow(std::fabs(v[i] - t[static_cast<int64_t>(i)]), p);
        return acc / m;
      };
      const VecD yd = to_double(y);
      const VecD fy = finite_diff(f, yd);
      TensorF32 g(s), r(s), g1(s);
      const double L = lp_loss_f32(y, t, p, wp, g.data());
      const double R = lp_loss_f32_ref(y, t, p, wp, r.data());
      double L1 = 0;
      at_threads(1, [&] { L1 = lp_loss_f32(y, t, p, wp, g1.data()); });
      CHECK(std::fabs(L - f(yd)) <= kLossRelTol * f(yd));
      CHECK(std::fabs(L - R) <= kLossRelTol * R);
      CHECK(L1 == L);
      CHECK(bit_identical(g, g1));
      CHECK(rel_err(g, fy) <= kGradRelTol);
      CHECK(max_rel_diff(g, r) <= kTwinRelTol);
    }
  }
  CHECK_THROWS_AS(lp_loss_f32(y, random_tensor({3, 5}, 1), 2.0f, nullptr, nullptr), Error);
}

TEST_CASE("softmax KL: value and gradient vs double finite differences") {
  const TensorF32 fp = random_tensor({4, 7}, 15, -3.0f, 3.0f), q = random_tensor({4, 7}, 16, -3.0f, 3.0f);
  auto kl = [&](const VecD& z) {
    double total = 0.0;
    for (int b = 0; b < 4; ++b) {
      double mf = -1e30, mq = -1e30, sf = 0, sq = 0;
      for (int k = 0; k < 7; ++k) {
        mf = std::max(mf, static_cast<double>(fp[b * 7 + k]));
        mq = std::max(mq, z[static_cast<size_t>(b * 7 + k)]);
      }
      for (int k = 0; k < 7; ++k) {
        sf += std::exp(fp[b * 7 + k] - mf);
        sq += std::exp(z[static_cast<size_t>(b * 7 + k)] - mq);
      }
      for (int k = 0; k < 7; ++k) {
        const double lpf = fp[b * 7 + k] - mf - std::log(sf),
                     lpq = z[static_cast<size_t>(b * 7 + k)] - mq - std::log(sq);
        total += std::exp(lpf) * (lpf - lpq);
      }
    }
    return total / 4.0;
  };
  TensorF32 g({4, 7});
  const double v = kl_softmax_f32(fp, q, g.data());
  CHECK(v == doctest::Approx(kl(to_double(q))).epsilon(1e-9));
  CHECK(rel_err(g, finite_diff(kl, to_double(q))) <= kGradRelTol);
  CHECK(kl_softmax_f32(fp, fp, nullptr) == doctest::Approx(0.0).epsilon(1e-12));
}
