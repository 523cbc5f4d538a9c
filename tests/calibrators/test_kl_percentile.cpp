// KL on hand-built histograms (the variant documented in calibrators/kl.cpp) and property tests;
// percentile against a sorted-array oracle, exact and histogram modes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "calibrators/value_store.h"
#include "calibrators/kl.h"
#include "calibrators/observer.h"
#include "testdata.h"

using namespace mqcalib;
using test::view;

namespace {
constexpr double kHandTol = 1e-5;      // hand values are given to 5-6 digits
constexpr double kFastVsRef = 1e-10;   // prefix-sum KL vs explicit P/Q
}  // namespace

TEST_CASE("kl: hand-built histogram with a tie (first argmin wins)") {
  // levels 2, h = [3, 1, 0, 1], N = 5:
  //  i=2: P=[3,2]  Q=[3,1]/4            KL = .6 ln(.6/.75) + .4 ln(.4/.25)        = 0.054115
  //  i=3: P=[3,1,1] Q groups [0],[1,2]: [3, .5, .5]/4  KL = .6 ln .8 + 2 * .2 ln 1.6 = 0.054115
  //  i=4: P=Q-src=[3,1,0,1], m=2: Q=[2,2,0,1]/5        KL = .6 ln 1.5 + .2 ln .5  = 0.104650
  const std::vector<uint64_t> h = {3, 1, 0, 1};
  const double expect[] = {0.054115, 0.054115, 0.104650};
  const auto fast = calib::kl_divergences(h, 2);
  for (int i = 2; i <= 4; ++i) {
    CHECK(calib::kl_divergence_ref(h, i, 2) == doctest::Approx(expect[i - 2]).epsilon(kHandTol));
    CHECK(fast[static_cast<size_t>(i - 2)] == doctest::Approx(calib::kl_divergence_ref(h, i, 2)).epsilon(kFastVsRef));
  }
  CHECK(calib::kl_best_bins(h, 2) == 2);
  CHECK(calib::kl_best_bins_ref(h, 2) == 2);
}

TEST_CASE("kl: hand-built histogram, outlier tail, infinite candidates") {
  // levels 2, h = [8,8,8,8,0,0,0,1], N = 33:
  //  i=2: P=[8,25], Q=[8,8]/16: .24242 ln .48485 + .75758 ln 1.51515 = 0.139320
  //  i=3: P=[8,8,17], Q=[8,8,8]/24                                        = 0.069862
  //  i=4: P=[8,8,8,9], Q=[8,8,8,8]/32                                     = 0.001351
  //  i=5: P=[8,8,8,8,1], Q=[8,8,16/3,16/3,16/3]/32                         = 0.115090
  //  i=6: m=3, Q=[8,8,8,4,0,4]/32, P=[8,8,8,8,0,1]/33                     = 0.095256
  //  i=7: m=3, Q=[8,8,8,4,0,0,4]/32 (same non-empty values)                 = 0.095256
  //  i=8: no clipping, groups of 4: Q = P                                 = 0
  // (smoothing eps 1e-4 on counts changes these by < 1e-4)
  const std::vector<uint64_t> h = {8, 8, 8, 8, 0, 0, 0, 1};
  const double expect[] = {0.139320, 0.069862, 0.001351, 0.115090, 0.095256, 0.095256};
  const auto fast = calib::kl_divergences(h, 2);
  for (int i = 2; i <= 7; ++i) {
    CAPTURE(i);
    CHECK(calib::kl_divergence_ref(h, i, 2) == doctest::Approx(expect[i - 2]).epsilon(2e-3));
    CHECK(fast[static_cast<size_t>(i - 2)] == doctest::Approx(calib::kl_divergence_ref(h, i, 2)).epsilon(kFastVsRef));
  }
  CHECK(std::fabs(fast[6]) < 1e-12);
  // Q vanishes where P does not (bin i-1 holds only outside mass): finite through smoothing.
  // h = [8,8,0,0,0,0,0,1], i=5: P=[8,8,0,0,1]/17, Q=[8,8,e,e,e]/16 (e = 1e-4):
  //   2 (8/17) ln(16/17) + (1/17) ln((1/17) / (1e-4/16))                  = 0.48116
  const std::vector<uint64_t> h3 = {8, 8, 0, 0, 0, 0, 0, 1};
  CHECK(calib::kl_divergence_ref(h3, 5, 2) == doctest::Approx(0.48116).epsilon(1e-3));
  CHECK(calib::kl_divergences(h3, 2)[3] == doctest::Approx(calib::kl_divergence_ref(h3, 5, 2)).epsilon(kFastVsRef));
  CHECK(calib::kl_best_bins(h, 2) == 8);
  // without the exact representation at i = 8 (a second outlier bin), i = 4 wins
  const std::vector<uint64_t> h2 = {8, 8, 8, 8, 0, 0, 1, 1};
  CHECK(calib::kl_best_bins_ref(h2, 2) == calib::kl_best_bins(h2, 2));
}

TEST_CASE("kl: fast search equals the reference on random histograms") {
  const std::vector<float> x = test::laplace(200000, 11);
  calib::Pow2Histogram hist(calib::HistKind::Abs, 2048);
  hist.add(x.data(), static_cast<int64_t>(x.size()));
  const auto fast = calib::kl_divergences(hist.counts(), 128);
  for (int i : {128, 129, 300, 777, 1500, 2048}) {
    const double r = calib::kl_divergence_ref(hist.counts(), i, 128);
    CHECK(fast[static_cast<size_t>(i - 128)] == doctest::Approx(r).epsilon(kFastVsRef));
  }
  CHECK(calib::kl_best_bins(hist.counts(), 128) == calib::kl_best_bins_ref(hist.counts(), 128));
}

// Every candidate of the search (its O(1) series and, on sparse histograms, its O(i) pass) against
// the explicit P / Q reference, on histograms declared by what they exercise.
struct KlSearchCase {
  const char* name;
  int64_t values;    // samples drawn
  uint64_t seed;
  double laplace_b;  // scale of the Laplace bulk
  int outliers;      // values at 40 + k (a far tail, clipped by most candidates)
  int keep_every;    // keep one bin in this many (> 1: a sparse histogram, the O(i) pass)
  int levels;
};
constexpr KlSearchCase kKlSearchCases[] = {
    {"dense, int8 signed levels", 300000, 31, 1.0, 0, 1, 128},
    {"dense with a far tail, int8 unsigned levels", 300000, 32, 0.7, 25, 1, 256},
    {"dense, few values, int4 levels", 4000, 33, 1.0, 3, 1, 8},
    {"sparse (1 bin in 16 kept) with a tail", 300000, 34, 1.0, 5, 16, 128},
    {"sparse (1 bin in 64 kept)", 300000, 35, 2.0, 0, 64, 16},
};

TEST_CASE("kl: every candidate of the search equals the reference (series and per-bin paths)") {
  for (const KlSearchCase& c : kKlSearchCases) {
    CAPTURE(c.name);
    std::vector<float> x = test::laplace(c.values, c.seed, c.laplace_b);
    for (int k = 0; k < c.outliers; ++k) x.push_back(40.0f + static_cast<float>(k));
    calib::Pow2Histogram hist(calib::HistKind::Abs, 2048);
    hist.add(x.data(), static_cast<int64_t>(x.size()));
    std::vector<uint64_t> h = hist.counts();
    for (size_t k = 0; k < h.size(); ++k)
      if (k % static_cast<size_t>(c.keep_every) != 0) h[k] = 0;
    const auto fast = calib::kl_divergences(h, c.levels);
    for (int i = c.levels; i <= static_cast<int>(h.size()); ++i) {
      const double r = calib::kl_divergence_ref(h, i, c.levels);
      CAPTURE(i);
      if (std::isinf(r)) CHECK(std::isinf(fast[static_cast<size_t>(i - c.levels)]));
      else CHECK(fast[static_cast<size_t>(i - c.levels)] == doctest::Approx(r).epsilon(kFastVsRef));
    }
    CHECK(calib::kl_best_bins(h, c.levels) == calib::kl_best_bins_ref(h, c.levels));
  }
}

TEST_CASE("kl: exact zeros are left out by default (ncnn variant), counted on request (TensorRT)") {
  // ReLU-like data: |N(0,1)| plus as many exact zeros. Skipping zeros must give exactly the
  // threshold of the same data without its zeros; counting them clips harder.
  const std::vector<float> g = test::gaussian(200000, 21);
  std::vector<float> pos, relu;
  for (float v : g) pos.push_back(std::fabs(v));
  relu = pos;
  relu.resize(pos.size() * 2, 0.0f);
  const QScheme s8 = test::int_scheme(8, false);
  auto no_zeros = ObserverRegistry::instance().create("kl", {});
  no_zeros->observe(view(pos));
  auto skipping = ObserverRegistry::instance().create("kl", {});
  skipping->observe(view(relu));
  CHECK(skipping->finalize(s8).max[0] == no_zeros->finalize(s8).max[0]);
  ObserverOptions counting_opts;
  counting_opts.kl_skip_zeros = false;
  auto counting = ObserverRegistry::instance().create("kl", counting_opts);
  counting->observe(view(relu));
  CHECK(counting->finalize(s8).max[0] < no_zeros->finalize(s8).max[0]);
  // all-zero data: a defined answer, [0, 0]
  const std::vector<float> zeros(1000, 0.0f);
  auto z = ObserverRegistry::instance().create("kl", {});
  z->observe(view(zeros));
  CHECK(z->finalize(s8).max[0] == 0.0f);
}

TEST_CASE("kl properties: uniform data -> ~a; Gaussian with huge outliers -> far below absmax") {
  const QScheme s8 = test::int_scheme(8, false);
  for (double a : {1.0, 3.0, 5.5}) {
    const std::vector<float> u = test::uniform(1000000, 12, a);
    auto o = ObserverRegistry::instance().create("kl", {});
    o->observe(view(u));
    const Range r = o->finalize(s8);
    CAPTURE(a);
    CHECK(r.max[0] == doctest::Approx(a).epsilon(0.02));
    CHECK(r.min[0] == -r.max[0]);
  }
  std::vector<float> g = test::gaussian(1000000, 13);
  g[10] = 200.0f;
  g[20] = -150.0f;
  g[30] = 120.0f;
  auto o = ObserverRegistry::instance().create("kl", {});
  o->observe(view(g));
  const float t = o->finalize(s8).max[0];
  // absmax 200 (histogram range 256, bins of 0.125): the threshold stays far below it and above the
  // Gaussian bulk (|x| < 4.9 for 1M samples)
  constexpr float kFarBelow = 0.35f * 200.0f;
  CHECK(t < kFarBelow);
  CHECK(t > 4.0f);
  // non-negative data on an unsigned scheme: [0, T]
  for (float& v : g) v = std::fabs(v);
  QScheme u8 = s8;
  u8.signedness = Signedness::Unsigned;
  u8.symmetry = Symmetry::Asymmetric;
  auto o2 = ObserverRegistry::instance().create("kl", {});
  o2->observe(view(g));
  const Range r2 = o2->finalize(u8);
  CHECK(r2.min[0] == 0.0f);
  CHECK(r2.max[0] < kFarBelow);
  CHECK(r2.max[0] > 4.0f);
}

TEST_CASE("percentile: exact mode equals a sorted-array oracle, histogram mode within one bin") {
  auto oracle = [](std::vector<float> v, double q) {
    std::sort(v.begin(), v.end());
    const double h = (static_cast<double>(v.size()) - 1) * q;
    const size_t lo = static_cast<size_t>(std::floor(h));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (h - static_cast<double>(lo)) * (static_cast<double>(v[hi]) - v[lo]);
  };
  const QScheme s = test::int_scheme(8);
  const std::vector<float> a = test::laplace(300001, 14), b = test::gaussian(500003, 15, 2.0);
  std::vector<float> all = a;
  all.insert(all.end(), b.begin(), b.end());
  for (double p : {99.99, 99.0, 90.0}) {
    CAPTURE(p);
    ObserverOptions o;
    o.percentile = p;
    auto exact = ObserverRegistry::instance().create("percentile", o);
    exact->observe(view(a));
    exact->observe(view(b));
    const Range re = exact->finalize(s);
    CHECK(re.max[0] == static_cast<float>(oracle(all, p / 100)));
    CHECK(re.min[0] == static_cast<float>(oracle(all, 1 - p / 100)));
    o.exact_limit = 400000;  // forces the histogram
    auto hist = ObserverRegistry::instance().create("percentile", o);
    hist->observe(view(a));
    hist->observe(view(b));
    const Range rh = hist->finalize(s);
    float absmax = 0;
    for (float v : all) absmax = std::max(absmax, std::fabs(v));
    const double bin = std::ldexp(2.0, calib::Pow2Histogram::exponent_above(absmax)) / 2048;  // 2 * 2^e / bins
    CHECK(std::fabs(rh.max[0] - oracle(all, p / 100)) <= bin);
    CHECK(std::fabs(rh.min[0] - oracle(all, 1 - p / 100)) <= bin);
  }
  // per-channel exact along axis 0
  ObserverOptions pc;
  pc.granularity = Granularity::PerChannel;
  pc.percentile = 99.0;
  auto obs = ObserverRegistry::instance().create("percentile", pc);
  obs->observe(ViewF32{all.data(), Shape{2, 400002}});
  const Range r = obs->finalize(s);
  const std::vector<float> c1(all.begin() + 400002, all.end());
  CHECK(r.max[1] == static_cast<float>(oracle(c1, 0.99)));
}

TEST_CASE("kl: isolated spikes (a constant background) are left out and never clipped") {
  // |N(0,1)| plus 16 repeated values (one per 'channel') holding ~35% of the data, as a uniform
  // background gives after a conv: the threshold must be that of the data without the spikes, to
  // within the spike rule's tolerance of one bin, and counting the spikes must clip harder.
  const std::vector<float> g = test::gaussian(200000, 31);
  std::vector<float> bulk, spiky;
  for (float v : g) bulk.push_back(std::fabs(v));
  spiky = bulk;
  for (int c = 0; c < 16; ++c)
    for (int k = 0; k < 6700; ++k) spiky.push_back(0.1f + 0.02f * static_cast<float>(c));
  const QScheme s8 = test::int_scheme(8, false);
  auto clean = ObserverRegistry::instance().create("kl", {});
  clean->observe(view(bulk));
  auto skipping = ObserverRegistry::instance().create("kl", {});
  skipping->observe(view(spiky));
  ObserverOptions counting_opts;
  counting_opts.kl_skip_spikes = false;
  auto counting = ObserverRegistry::instance().create("kl", counting_opts);
  counting->observe(view(spiky));
  const float t_clean = clean->finalize(s8).max[0], t_skip = skipping->finalize(s8).max[0];
  const float bin = 8.0f / 2048;  // histogram range [0, 8) for absmax ~4.5
  CHECK(std::fabs(t_skip - t_clean) <= 2 * bin);
  CHECK(counting->finalize(s8).max[0] < t_clean - 10 * bin);
  // hand-built histogram: one spike among smooth counts
  std::vector<uint64_t> h(64, 100);
  h[20] = 5000;
  h[21] = 700;  // a bump of 7x its neighbourhood's median is not a spike (factor 8)
  CHECK(calib::find_histogram_spikes(h) == std::vector<int>{20});
}

namespace {
// The spike rule of kl.h taken literally (a median for every non-empty bin): the twin of
// find_histogram_spikes, which skips the median where the window's minimum already decides.
std::vector<int> spikes_by_definition(const std::vector<uint64_t>& h) {
  const int n = static_cast<int>(h.size()), r = calib::kKlSpikeWindow / 2;
  std::vector<int> out;
  for (int k = 0; k < n; ++k) {
    if (h[static_cast<size_t>(k)] == 0) continue;
    std::vector<uint64_t> win;
    for (int j = -r; j <= r; ++j) win.push_back(h[static_cast<size_t>(std::clamp(k + j, 0, n - 1))]);
    std::sort(win.begin(), win.end());
    if (static_cast<double>(h[static_cast<size_t>(k)]) > calib::kKlSpikeFactor * std::max(1.0, static_cast<double>(win[static_cast<size_t>(r)])))
      out.push_back(k);
  }
  return out;
}
}  // namespace

TEST_CASE("kl: spike detection equals its definition (smooth, sparse and spiky histograms)") {
  std::vector<float> x = test::laplace(200000, 41);
  for (int k = 0; k < 3000; ++k) x.push_back(1.25f);  // a constant background
  for (int k = 0; k < 40; ++k) x.push_back(9.0f + static_cast<float>(k % 3));
  calib::Pow2Histogram hist(calib::HistKind::Abs, 2048);
  hist.add(x.data(), static_cast<int64_t>(x.size()));
  std::vector<uint64_t> sparse = hist.counts();
  for (size_t k = 0; k < sparse.size(); ++k)
    if (k % 7 != 0) sparse[k] = 0;
  for (const std::vector<uint64_t>& h : {hist.counts(), sparse}) {
    const std::vector<int> expect = spikes_by_definition(h);
    CHECK(calib::find_histogram_spikes(h) == expect);
  }
  CHECK_FALSE(spikes_by_definition(hist.counts()).empty());  // the background is found
}
