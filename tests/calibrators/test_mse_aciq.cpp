// MSE search against a brute-force optimum the test computes itself (fine grid over the clipping
// threshold, the same quantizer: core's choose_qparams + fake_quantize_f32), and ACIQ's constants.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "calibrators/observer.h"
#include "core/quantize.h"
#include "testdata.h"

using namespace mqcalib;
using test::view;

namespace {
constexpr double kMseTolerance = 0.01;  // search MSE within 1% of the brute-force optimum (issue 2)
constexpr double kOrientationTol = 0.06;  // brute-force optimum vs the published orientation values

double mse_at(const std::vector<float>& x, const QScheme& s, float lo, float hi) {
  const QParams p = choose_qparams(s, Range{{lo}, {hi}}, "test");
  std::vector<float> fq(x.size());
  fake_quantize_f32(view(x), p, fq.data());
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(fq[i]) - x[i];
    e += d * d;
  }
  return e / static_cast<double>(x.size());
}

// Brute force over T: grid 0.02 on [0.1, min(absmax, 12)], then 0.001 around the best.
std::pair<double, double> brute_force(const std::vector<float>& x, const QScheme& s) {
  float absmax = 0;
  for (float v : x) absmax = std::max(absmax, std::fabs(v));
  double best_t = absmax, best = mse_at(x, s, -absmax, absmax);
  for (double t = 0.1; t < std::min<double>(absmax, 12.0); t += 0.02) {
    const double e = mse_at(x, s, static_cast<float>(-t), static_cast<float>(t));
    if (e < best) best = e, best_t = t;
  }
  const double c = best_t;
  for (double t = c - 0.02; t <= c + 0.02; t += 0.001) {
    const double e = mse_at(x, s, static_cast<float>(-t), static_cast<float>(t));
    if (e < best) best = e, best_t = t;
  }
  return {best_t, best};
}
}  // namespace

TEST_CASE("mse: within 1% of the brute-force optimum on 1M Laplace / Gaussian samples, 2/3/4/8 bits") {
  const std::vector<float> lap = test::laplace(1000000, 21), gau = test::gaussian(1000000, 22);
  struct Case {
    const std::vector<float>* x;
    const char* name;
    int bits;
    double orientation;  // 0: none published
  };
  const Case cases[] = {{&lap, "laplace", 2, 2.00}, {&lap, "laplace", 3, 3.49}, {&lap, "laplace", 4, 4.82},
                        {&lap, "laplace", 8, 0},    {&gau, "gaussian", 2, 1.23}, {&gau, "gaussian", 3, 1.96},
                        {&gau, "gaussian", 4, 2.47}, {&gau, "gaussian", 8, 0}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.bits);
    const QScheme s = test::int_scheme(c.bits, true);
    const auto [bt, be] = brute_force(*c.x, s);
    if (c.orientation > 0) CHECK(bt == doctest::Approx(c.orientation).epsilon(kOrientationTol));
    for (int64_t limit : {int64_t{1} << 20, int64_t{1} << 16}) {  // exact data, then fine histogram
      ObserverOptions o;
      o.exact_limit = limit;
      auto obs = ObserverRegistry::instance().create("mse", o);
      obs->observe(view(*c.x));
      const Range r = obs->finalize(s);
      const double e = mse_at(*c.x, s, r.min[0], r.max[0]);
      std::printf("mse %-8s %d-bit limit %7lld: brute T %.3f mse %.6g | search T %.3f mse %.6g (%+.3f%%)\n", c.name, c.bits,
                  static_cast<long long>(limit), bt, be, std::max(-r.min[0], r.max[0]), e, 100 * (e / be - 1));
      CHECK(e <= be * (1 + kMseTolerance));
    }
  }
}

TEST_CASE("mse: per-channel searches each channel alone") {
  std::vector<float> w = test::laplace(20000, 23);
  for (size_t i = 10000; i < w.size(); ++i) w[i] *= 4.0f;  // channel 1 four times wider
  ObserverOptions pc;
  pc.granularity = Granularity::PerChannel;
  auto o = ObserverRegistry::instance().create("mse", pc);
  o->observe(ViewF32{w.data(), Shape{2, 100, 100}});
  const Range r = o->finalize(test::int_scheme(4));
  for (int c = 0; c < 2; ++c) {
    auto t = ObserverRegistry::instance().create("mse", {});
    std::vector<float> ch(w.begin() + c * 10000, w.begin() + (c + 1) * 10000);
    t->observe(view(ch));
    const Range rt = t->finalize(test::int_scheme(4));
    CHECK(r.max[static_cast<size_t>(c)] == rt.max[0]);
    CHECK(r.min[static_cast<size_t>(c)] == rt.min[0]);
  }
}

TEST_CASE("aciq: alpha = c(bits) * b (laplace) or sigma (gaussian)") {
  const std::vector<float> lap = test::laplace(1000000, 24, 1.0), gau = test::gaussian(1000000, 25, 2.0);
  const double lap_c[] = {2.83, 3.89, 5.03}, gau_c[] = {1.71, 2.15, 2.55};
  for (int bits = 2; bits <= 4; ++bits) {
    auto o = ObserverRegistry::instance().create("aciq", {});
    o->observe(view(lap));
    const Range r = o->finalize(test::int_scheme(bits, false));
    CHECK(r.max[0] == doctest::Approx(lap_c[bits - 2]).epsilon(0.01));  // b = 1 up to sampling
    ObserverOptions g;
    g.aciq_prior = "gaussian";
    auto og = ObserverRegistry::instance().create("aciq", g);
    og->observe(view(gau));
    CHECK(og->finalize(test::int_scheme(bits, false)).max[0] == doctest::Approx(2.0 * gau_c[bits - 2]).epsilon(0.01));
  }
  ObserverOptions bad;
  bad.aciq_prior = "cauchy";
  CHECK_THROWS_AS(ObserverRegistry::instance().create("aciq", bad), Error);
}
