// The Lp range search's fast path against its exhaustive _ref twin (calibrators/lp_search.h): the
// vectorised |d|^p against std::pow, the chosen ranges on Laplace / Gaussian data at 2/3/4/8 bits and
// p = 2 and 2.4 (exact values and histogram-weighted values), the mse observer's per-channel result
// against the _ref search of each channel on the full (uncompacted) histogram, and the thread count.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>

#include "calibrators/value_store.h"
#include "calibrators/lp_search.h"
#include "testdata.h"

using namespace mqcalib;
using namespace mqcalib::calib;

namespace {
constexpr double kPowRelTol = 1e-12;  // pow_abs_f64x4 vs std::pow, relative

// The exact (_ref) loss of shrink factor a; fast and _ref choices are compared by it.
double ref_loss(const std::vector<float>& x, const uint64_t* w, const QScheme& s, float mn, float mx, double a,
                double p) {
  return lp_error_ref(x.data(), w, static_cast<int64_t>(x.size()), s, static_cast<float>(a * mn),
                      static_cast<float>(a * mx), p);
}

// Checks the fast search against _ref on x (weights optional); returns whether the choices are equal.
bool same_choice(const std::vector<float>& x, const uint64_t* w, const QScheme& s, double p) {
  float mn = 0, mx = 0;
  for (float v : x) mn = std::min(mn, v), mx = std::max(mx, v);
  const int64_t n = static_cast<int64_t>(x.size());
  const double af = lp_search_shrink(x.data(), w, n, s, mn, mx, p, 100);
  const double ar = lp_search_shrink_ref(x.data(), w, n, s, mn, mx, p, 100);
  const double lf = ref_loss(x, w, s, mn, mx, af, p), lr = ref_loss(x, w, s, mn, mx, ar, p);
  CHECK(lf <= lr * (1 + kLpSearchLossTol));
  return af == ar;
}
}  // namespace

TEST_CASE("pow_abs_f64x4: |d|^p within 1e-12 of std::pow, 0 for 0") {
  for (double p : {0.5, 1.0, 2.0, 2.4, 3.0, 4.0}) {
    double worst = 0;
    for (double e = -140; e <= 20; e += 0.0137) {
      double d[4] = {std::exp2(e), -std::exp2(e + 0.003), std::exp2(e + 0.007) * 1.1, -std::exp2(e) * 0.7};
      double out[4];
      pow_abs_f64x4(d, p, out);
      for (int j = 0; j < 4; ++j) {
        const double r = std::pow(std::fabs(d[j]), p);
        if (r < 1e-300) continue;  // the documented flush below 2^-1000
        worst = std::max(worst, std::fabs(out[j] / r - 1));
      }
    }
    CAPTURE(p);
    CHECK(worst < kPowRelTol);
    const double z[4] = {0.0, -0.0, 1.0, 0.25};
    double out[4];
    pow_abs_f64x4(z, p, out);
    CHECK(out[0] == 0.0);
    CHECK(out[1] == 0.0);
    CHECK(out[2] == doctest::Approx(1.0).epsilon(kPowRelTol));
    CHECK(out[3] == doctest::Approx(std::pow(0.25, p)).epsilon(kPowRelTol));
  }
}

TEST_CASE("lp_search_shrink: the exhaustive _ref search's range within the named loss tolerance") {
  int same = 0, total = 0;
  for (int bits : {2, 3, 4, 8}) {
    for (double p : {2.0, 2.4}) {
      for (uint64_t seed = 1; seed <= 2; ++seed) {
        CAPTURE(bits);
        CAPTURE(p);
        const QScheme s = test::int_scheme(bits, bits != 2);
        const std::vector<float> lap = test::laplace(4608, seed);
        same += same_choice(lap, nullptr, s, p);
        if (seed == 1) same += same_choice(test::gaussian(70001, seed + 10), nullptr, s, p);  // > kChunk: chunked
        std::vector<uint64_t> w(lap.size());
        for (size_t i = 0; i < w.size(); ++i) w[i] = 1 + (i * 2654435761u) % 97;  // histogram-like counts
        same += same_choice(lap, w.data(), s, p);
        total += seed == 1 ? 3 : 2;
      }
    }
  }
  std::printf("lp_search_shrink: %d of %d searches chose exactly the _ref range\n", same, total);
}

TEST_CASE("mse per-channel: each channel's _ref search on its full histogram; 1/2/3 threads identical") {
  // 12 channels x 4608 values (a 3x3x512 conv row), 2 bits, p = 2.4; exact_limit below the total
  // forces the 16384-bin histograms (as on resnet18's large layers).
  constexpr int64_t kC = 12, kPer = 4608;
  std::vector<float> w = test::laplace(kC * kPer, 31);
  for (int64_t c = 0; c < kC; ++c)
    for (int64_t i = 0; i < kPer; ++i) w[static_cast<size_t>(c * kPer + i)] *= 0.01f * static_cast<float>(1 + c % 5);
  ObserverOptions o;
  o.granularity = Granularity::PerChannel;
  o.lp_norm = 2.4;
  o.exact_limit = kC * kPer / 2;
  const QScheme s = test::int_scheme(2, false);
  std::vector<Range> by_threads;
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    auto obs = ObserverRegistry::instance().create("mse", o);
    obs->observe(ViewF32{w.data(), Shape{kC, 512, 3, 3}});
    by_threads.push_back(obs->finalize(s));
  }
  omp_set_num_threads(2);
  for (size_t t = 1; t < by_threads.size(); ++t) {
    CHECK(by_threads[t].min == by_threads[0].min);
    CHECK(by_threads[t].max == by_threads[0].max);
  }
  int same = 0;
  for (int64_t c = 0; c < kC; ++c) {
    Pow2Histogram h(HistKind::Signed, 1 << 14);
    const ScanResult sc = h.add(w.data() + c * kPer, kPer);
    const std::vector<float> centers = h.centers();
    const double ar = lp_search_shrink_ref(centers.data(), h.counts().data(), h.bins(), s, sc.min, sc.max, 2.4, 100);
    const double af = static_cast<double>(by_threads[0].max[static_cast<size_t>(c)]) / sc.max;
    const double lr = ref_loss(centers, h.counts().data(), s, sc.min, sc.max, ar, 2.4);
    const double lf =
        lp_error_ref(centers.data(), h.counts().data(), h.bins(), s, by_threads[0].min[static_cast<size_t>(c)],
                     by_threads[0].max[static_cast<size_t>(c)], 2.4);
    CAPTURE(c);
    CHECK(lf <= lr * (1 + kLpSearchLossTol));
    same += static_cast<float>(ar * sc.max) == by_threads[0].max[static_cast<size_t>(c)];
    (void)af;
  }
  std::printf("mse per-channel: %d of %lld channels chose exactly the _ref range\n", same, static_cast<long long>(kC));
}
