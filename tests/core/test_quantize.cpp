// Tests of the quantize / dequantize / fake-quantize kernels: hand-computed values, exact ties in both
// rounding modes, fast == reference bit for bit on awkward sizes and layouts, and identical results
// at 1 and 2 threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/quantize.h"

using namespace mqcalib;

namespace {

QParams per_tensor(float s, int32_t zp, int32_t qmin, int32_t qmax, Rounding r) {
  QParams p;
  p.scale = {s};
  p.zero_point = {zp};
  p.qmin = qmin;
  p.qmax = qmax;
  p.rounding = r;
  return p;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Random data spread over [-1.3, 1.3] * span (beyond the observed range, so clamping is exercised),
// with exact grid ties (k + 0.5) * s, zeros and one NaN sprinkled in.
std::vector<float> make_data(int64_t n, float span, float tie_scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.3f * span, 1.3f * span);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = u(rng);
  for (int64_t i = 0; i < n; i += 5)
    x[static_cast<size_t>(i)] = (static_cast<float>(i % 40) - 20.0f + 0.5f) * tie_scale;
  for (int64_t i = 3; i < n; i += 11) x[static_cast<size_t>(i)] = 0.0f;
  if (n > 6) x[6] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

// Runs fast and ref twins and compares: q, dequantized, fake-quantized (also in place), and
// fake == dequantize(quantize) bit for bit.
void check_twins(const std::vector<float>& x, const Shape& shape, const QParams& p) {
  const size_t n = x.size();
  ViewF32 v{x.data(), shape};
  std::vector<int32_t> q(n), qr(n);
  quantize_f32_i32(v, p, q.data());
  quantize_f32_i32_ref(v, p, qr.data());
  REQUIRE(q == qr);
  for (int32_t qi : q) {
    REQUIRE(qi >= p.qmin);
    REQUIRE(qi <= p.qmax);
  }
  std::vector<float> d(n), dr(n), f(n), fr(n);
  dequantize_i32_f32(q.data(), shape, p, d.data());
  dequantize_i32_f32_ref(q.data(), shape, p, dr.data());
  REQUIRE(same_bits(d, dr));
  fake_quantize_f32(v, p, f.data());
  fake_quantize_f32_ref(v, p, fr.data());
  REQUIRE(same_bits(f, fr));
  REQUIRE(same_bits(f, d));
  std::vector<float> inplace = x;
  fake_quantize_f32(ViewF32{inplace.data(), shape}, p, inplace.data());
  REQUIRE(same_bits(inplace, f));
}

constexpr float kSpan = 3.0f;

}  // namespace

TEST_CASE("quantize: hand-computed per-tensor values, ties in both rounding modes") {
  // uint8, scale 0.5, zp 10. x/s: 0, 0.5, 1.5, 2.5, -0.5, -1.5, 2, -40, 400
  const std::vector<float> x = {0.0f, 0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 1.0f, -20.0f, 200.0f};
  const std::vector<int32_t> even = {10, 10, 12, 12, 10, 8, 12, 0, 255};
  const std::vector<int32_t> away = {10, 11, 12, 13, 9, 8, 12, 0, 255};
  const Shape shape{static_cast<int64_t>(x.size())};
  for (Rounding r : {Rounding::HalfToEven, Rounding::HalfAwayFromZero}) {
    const QParams p = per_tensor(0.5f, 10, 0, 255, r);
    std::vector<int32_t> q(x.size()), qr(x.size());
    quantize_f32_i32(ViewF32{x.data(), shape}, p, q.data());
    quantize_f32_i32_ref(ViewF32{x.data(), shape}, p, qr.data());
    CHECK(q == (r == Rounding::HalfToEven ? even : away));
    CHECK(qr == q);
    std::vector<float> f(x.size());
    fake_quantize_f32(ViewF32{x.data(), shape}, p, f.data());
    for (size_t i = 0; i < x.size(); ++i) CHECK(f[i] == 0.5f * static_cast<float>(q[i] - 10));
  }
}

TEST_CASE("quantize: true division, not multiplication by the reciprocal") {
  // Find inputs where round(x / s) != round(x * (1/s)) and check that the kernels divide.
  const float s = 0.1f;
  const float inv = 1.0f / s;
  std::vector<float> picked;
  for (int k = -2000; k <= 2000 && picked.size() < 8; ++k) {
    // candidates within a few ulps of the ties (k + 0.5) * s
    float x = (static_cast<float>(k) + 0.5f) * s;
    for (int u = 0; u < 4; ++u, x = std::nextafter(x, 0.0f))
      if (std::nearbyint(x / s) != std::nearbyint(x * inv)) picked.push_back(x);
  }
  REQUIRE(!picked.empty());
  const Shape shape{static_cast<int64_t>(picked.size())};
  const QParams p = per_tensor(s, 0, -32768, 32767, Rounding::HalfToEven);
  std::vector<int32_t> q(picked.size());
  quantize_f32_i32(ViewF32{picked.data(), shape}, p, q.data());
  for (size_t i = 0; i < picked.size(); ++i) CHECK(q[i] == static_cast<int32_t>(std::nearbyint(picked[i] / s)));
}

TEST_CASE("fake-quantize: bit for bit the true division around every rounding boundary, every lane") {
  // Values placed at and a few ulps around boundaries k + 0.5 (where x * (1/s) would round to the
  // other integer), one per 16 among ordinary values, so that every vector lane meets one.
  for (float s : {0.1f, 1.0f / 3.0f, 0.0123f, 7.77f, 0.037f, 1e-3f})
    for (Rounding r : {Rounding::HalfToEven, Rounding::HalfAwayFromZero}) {
      CAPTURE(s);
      std::vector<float> x;
      int lane = 0;
      for (int k = -300; k <= 300; ++k)
        for (int u = -3; u <= 3; ++u) {
          float t = (static_cast<float>(k) + 0.5f) * s;
          for (int m = 0; m < std::abs(u); ++m) t = std::nextafter(t, u > 0 ? INFINITY : -INFINITY);
          for (int j = 0; j < 16; ++j) x.push_back(j == lane ? t : static_cast<float>(k) * s * 0.75f);
          lane = (lane + 1) % 16;
        }
      const Shape shape{static_cast<int64_t>(x.size())};
      const QParams p = per_tensor(s, 0, -128, 127, r);
      check_twins(x, shape, p);
      std::vector<float> span(x.size()), ref(x.size());
      fake_quantize_span_f32(fake_quant_consts(p, "x"), x.data(), span.data(), static_cast<int64_t>(x.size()));
      fake_quantize_f32_ref(ViewF32{x.data(), shape}, p, ref.data());
      CHECK(same_bits(span, ref));
    }
}

TEST_CASE("quantize: per-channel hand-computed values on axis 0 and axis 1") {
  // shape [2, 3]; axis 0: row c uses scale s[c]; axis 1: column c uses s[c].
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, -1.0f, -2.0f, -3.0f};
  QParams p0 = per_tensor(1.0f, 0, -128, 127, Rounding::HalfToEven);
  p0.scale = {0.5f, 2.0f};
  p0.zero_point = {0, 1};
  p0.axis = 0;
  std::vector<int32_t> q(6);
  quantize_f32_i32(ViewF32{x.data(), {2, 3}}, p0, q.data());
  CHECK(q == std::vector<int32_t>{2, 4, 6, 1, 0, -1});  // -1/2 = -0.5 -> -0 (+1); -3/2 = -1.5 -> -2 (+1)
  QParams p1 = p0;
  p1.scale = {1.0f, 0.5f, 4.0f};
  p1.zero_point = {0, 0, 0};
  p1.axis = 1;
  quantize_f32_i32(ViewF32{x.data(), {2, 3}}, p1, q.data());
  CHECK(q == std::vector<int32_t>{1, 4, 1, -1, -4, -1});  // 3/4 = 0.75 -> 1
  // mismatched channel count is an error naming the shape
  CHECK_THROWS_WITH_AS(quantize_f32_i32(ViewF32{x.data(), {3, 2}}, p1, q.data()), doctest::Contains("[3, 2]"), Error);
}

TEST_CASE("quantize: fast == reference on awkward sizes, all schemes (bits 2..16)") {
  const std::vector<int64_t> sizes = {1, 7, 1023, 4097};
  int configs = 0;
  for (int bits = 2; bits <= 16; ++bits)
    for (Signedness sg : {Signedness::Signed, Signedness::Unsigned})
      for (bool narrow : {false, true})
        for (bool rr : {false, true})
          for (Symmetry sy : {Symmetry::Symmetric, Symmetry::Asymmetric})
            for (Rounding rd : {Rounding::HalfToEven, Rounding::HalfAwayFromZero}) {
              if (narrow && sg == Signedness::Unsigned) continue;
              if (rr && bits < 3) continue;
              QScheme s;
              s.bits = bits;
              s.signedness = sg;
              s.symmetry = sy;
              s.narrow_range = narrow;
              s.reduce_range = rr;
              s.rounding = rd;
              CAPTURE(s.describe());
              // per-tensor
              const QParams pt = choose_qparams(s, Range{{-kSpan * 0.7f}, {kSpan}}, "pt");
              for (int64_t n : sizes) {
                CAPTURE(n);
                check_twins(make_data(n, kSpan, pt.scale[0], static_cast<uint32_t>(n + bits)), {n}, pt);
              }
              // power-of-two scale (exact ties on the grid)
              QScheme s2 = s;
              s2.scale_kind = ScaleKind::PowerOfTwo;
              const QParams pp = choose_qparams(s2, Range{{-kSpan}, {kSpan * 0.4f}}, "pp");
              check_twins(make_data(1023, kSpan, pp.scale[0], 5u), {1023}, pp);
              // per-channel on axis 0 and 1 of [3, 5, 7] and on the last axis of [5, 7] and [1, 4097]
              struct Case {
                Shape shape;
                int axis;
              };
              const Case cases[] = {{{3, 5, 7}, 0}, {{3, 5, 7}, 1}, {{3, 5, 7}, 2},
                                    {{5, 7}, 1},    {{4097, 2}, 0}, {{1, 4097}, 1}};
              for (const Case& c : cases) {
                QScheme sc = s;
                sc.granularity = Granularity::PerChannel;
                sc.axis = c.axis;
                const int64_t C = c.shape[static_cast<size_t>(c.axis)];
                Range r;
                for (int64_t i = 0; i < C; ++i) {
                  r.min.push_back(-kSpan * static_cast<float>(i % 5 + 1) / 5.0f);
                  r.max.push_back(kSpan * static_cast<float>(i % 3 + 1) / 3.0f);
                }
                const QParams pc = choose_qparams(sc, r, "pc");
                CAPTURE(shape_to_string(c.shape));
                CAPTURE(c.axis);
                check_twins(make_data(numel(c.shape), kSpan, pc.scale[0], 11u), c.shape, pc);
              }
              ++configs;
            }
  CHECK(configs == 15 * 2 * 2 * (4 + 2) - 2 * 2 * (2 + 1) * 1);  // minus the rr && bits == 2 combinations
}

TEST_CASE("quantize: identical results at 1 and 2 threads") {
  const int saved = omp_get_max_threads();
  const int64_t n = 3 * (int64_t{1} << 15) + 12345;
  struct Case {
    Shape shape;
    int axis;  // -1: per-tensor
  };
  const Case cases[] = {{{n}, -1}, {{16, n / 16}, 0}, {{n / 8, 8}, 1}, {{4, 6, n / 24}, 1}};
  for (const Case& c : cases) {
    const int64_t sz = numel(c.shape);
    QParams p = per_tensor(0.0123f, 3, -128, 127, Rounding::HalfAwayFromZero);
    if (c.axis >= 0) {
      const int64_t C = c.shape[static_cast<size_t>(c.axis)];
      p.axis = c.axis;
      p.scale.clear();
      p.zero_point.clear();
      for (int64_t i = 0; i < C; ++i) {
        p.scale.push_back(0.01f + 0.001f * static_cast<float>(i));
        p.zero_point.push_back(static_cast<int32_t>(i % 7) - 3);
      }
    }
    const std::vector<float> x = make_data(sz, 2.0f, 0.0123f, 42u);
    std::vector<int32_t> q1(static_cast<size_t>(sz)), q2(static_cast<size_t>(sz));
    std::vector<float> f1(static_cast<size_t>(sz)), f2(static_cast<size_t>(sz));
    omp_set_num_threads(1);
    quantize_f32_i32(ViewF32{x.data(), c.shape}, p, q1.data());
    fake_quantize_f32(ViewF32{x.data(), c.shape}, p, f1.data());
    omp_set_num_threads(2);
    quantize_f32_i32(ViewF32{x.data(), c.shape}, p, q2.data());
    fake_quantize_f32(ViewF32{x.data(), c.shape}, p, f2.data());
    CHECK(q1 == q2);
    CHECK(same_bits(f1, f2));
    check_twins(x, c.shape, p);
  }
  omp_set_num_threads(saved);
}

TEST_CASE("quantize: special values (near-ties, +-0, +-inf, NaN, beyond 2^23) fast == ref") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> base = {0.0f,         -0.0f,       0.5f,
                             -0.5f,        1.5f,        -1.5f,
                             2.5f,         -2.5f,       0.49999997f,
                             -0.49999997f, 0.50000006f, -0.50000006f,
                             8388607.5f,   -8388607.5f, 8388609.0f,
                             16777216.0f,  1e-45f,      -1e-45f,
                             inf,          -inf,        std::numeric_limits<float>::quiet_NaN(),
                             32767.5f,     -32768.5f,   12345.5f,
                             -12344.5f};
  for (float v = 0.25f; v < 40.0f; v += 0.25f) {
    base.push_back(v);
    base.push_back(-v);
    base.push_back(std::nextafter(v, 0.0f));
    base.push_back(std::nextafter(-v, 0.0f));
  }
  for (Rounding r : {Rounding::HalfToEven, Rounding::HalfAwayFromZero})
    for (float s : {1.0f, 0.25f, 1.0f / 1048576.0f, 3.0f})
      for (int32_t zp : {0, 5, -7}) {
        CAPTURE(s);
        CAPTURE(zp);
        check_twins(base, {static_cast<int64_t>(base.size())}, per_tensor(s, zp, -32768, 32767, r));
        // the reference rounding itself: ties
        std::vector<int32_t> q(base.size());
        quantize_f32_i32(ViewF32{base.data(), {static_cast<int64_t>(base.size())}},
                         per_tensor(1.0f, 0, -32768, 32767, r), q.data());
        CHECK(q[4] == (r == Rounding::HalfToEven ? 2 : 2));   // 1.5
        CHECK(q[6] == (r == Rounding::HalfToEven ? 2 : 3));   // 2.5
        CHECK(q[3] == (r == Rounding::HalfToEven ? 0 : -1));  // -0.5
        CHECK(q[8] == 0);                                     // 0.49999997
        CHECK(q[10] == 1);                                    // 0.50000006
      }
}

TEST_CASE("quantize: int32 grid saturates at INT32_MAX / INT32_MIN (float(2^31 - 1) rounds up to 2^31)") {
  const QParams p = per_tensor(1e-4f, 0, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
                               Rounding::HalfToEven);
  const std::vector<float> x = {1e6f, -1e6f, 1.0f};
  std::vector<int32_t> fast(3), ref(3);
  quantize_f32_i32(ViewF32{x.data(), {3}}, p, fast.data());
  quantize_f32_i32_ref(ViewF32{x.data(), {3}}, p, ref.data());
  // largest float below 2^31 is 2^31 - 128; smallest is -2^31 exactly
  CHECK(fast[0] == 2147483520);
  CHECK(fast[1] == std::numeric_limits<int32_t>::min());
  CHECK(fast[2] == 10000);
  CHECK(fast == ref);
}
