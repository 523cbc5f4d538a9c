// Registry, streaming contract (determinism at 1 vs 2 threads, observe vs merge, NaN/Inf, no data),
// minmax, ema and the exact-growth histogram.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "calibrators/value_store.h"
#include "calibrators/observer.h"
#include "core/error.h"
#include "testdata.h"

using namespace mqcalib;
using test::view;

namespace {
const std::vector<std::string> kAll = {"aciq", "ema", "kl", "minmax", "mse", "percentile"};

Range run(const std::string& name, const ObserverOptions& o, const std::vector<std::vector<float>>& batches,
          const QScheme& s, const Shape& shape = {}) {
  auto obs = ObserverRegistry::instance().create(name, o);
  for (const auto& b : batches) {
    ViewF32 v = view(b);
    if (!shape.empty()) v.shape = shape;
    obs->observe(v);
  }
  return obs->finalize(s);
}

bool same(const Range& a, const Range& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a.min[i], &b.min[i], sizeof(float)) || std::memcmp(&a.max[i], &b.max[i], sizeof(float)))
      return false;
  return true;
}
}  // namespace

TEST_CASE("registry lists the six observers and rejects unknown names and illegal per-channel") {
  CHECK(ObserverRegistry::instance().names() == kAll);
  try {
    ObserverRegistry::instance().create("entropy", ObserverOptions{});
    FAIL("no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("entropy") != std::string::npos);
    for (const auto& n : kAll) CHECK(m.find(n) != std::string::npos);
  }
  ObserverOptions pc;
  pc.granularity = Granularity::PerChannel;
  CHECK_THROWS_AS(ObserverRegistry::instance().create("kl", pc), Error);
  CHECK_THROWS_AS(ObserverRegistry::instance().create("ema", pc), Error);
  CHECK_THROWS_AS(ObserverRegistry::instance().create("aciq", pc), Error);
  for (const char* n : {"minmax", "mse", "percentile"}) CHECK(ObserverRegistry::instance().create(n, pc) != nullptr);
  for (const auto& n : kAll) CHECK(ObserverRegistry::instance().create(n, {})->name() == n);
}

TEST_CASE("NaN / Inf input and finalize without data are errors") {
  const QScheme s = test::int_scheme(8);
  for (const auto& n : kAll) {
    CAPTURE(n);
    auto o = ObserverRegistry::instance().create(n, {});
    CHECK_THROWS_AS(o->finalize(s), Error);
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      std::vector<float> x = test::gaussian(100003, 1);
      x[77777] = bad;
      CHECK_THROWS_AS(o->observe(view(x)), Error);
    }
  }
}

TEST_CASE("every observer is bit-identical at 1 and 2 threads, and observe(a);observe(b) == merge") {
  const std::vector<std::vector<float>> batches = {test::laplace(700001, 3), test::gaussian(900017, 4, 3.0),
                                                   test::laplace(300007, 5, 0.5)};
  const QScheme s = test::int_scheme(8);
  ObserverOptions small;  // histogram paths of percentile / mse
  small.exact_limit = 1000000;
  for (const auto& n : kAll) {
    for (const ObserverOptions& o : {ObserverOptions{}, small}) {
      CAPTURE(n);
      CAPTURE(o.exact_limit);
      omp_set_num_threads(1);
      const Range r1 = run(n, o, batches, s);
      omp_set_num_threads(2);
      const Range r2 = run(n, o, batches, s);
      CHECK(same(r1, r2));
      // merge of observers that saw other batches
      auto a = ObserverRegistry::instance().create(n, o), b = a->clone_empty();
      a->observe(view(batches[0]));
      b->observe(view(batches[1]));
      b->observe(view(batches[2]));
      a->merge(*b);
      const Range rm = a->finalize(s);
      if (n == "aciq") {  // double sums added in another order: equal up to rounding
        CHECK(rm.min[0] == doctest::Approx(r2.min[0]).epsilon(1e-6));
        CHECK(rm.max[0] == doctest::Approx(r2.max[0]).epsilon(1e-6));
      } else {
        CHECK(same(rm, r2));
      }
    }
  }
  // per-channel observers
  ObserverOptions pc;
  pc.granularity = Granularity::PerChannel;
  pc.axis = 1;
  const Shape shape{100, 7, 1000};
  const std::vector<std::vector<float>> wb = {test::gaussian(700000, 6), test::laplace(700000, 7)};
  for (const char* n : {"minmax", "mse", "percentile"}) {
    for (int64_t lim : {int64_t{1} << 20, int64_t{1} << 30}) {
      CAPTURE(n);
      pc.exact_limit = lim;
      omp_set_num_threads(1);
      const Range r1 = run(n, pc, wb, s, shape);
      omp_set_num_threads(2);
      const Range r2 = run(n, pc, wb, s, shape);
      CHECK(r1.size() == 7);
      CHECK(same(r1, r2));
      auto a = ObserverRegistry::instance().create(n, pc), b = a->clone_empty();
      a->observe(ViewF32{wb[0].data(), shape});
      b->observe(ViewF32{wb[1].data(), shape});
      a->merge(*b);
      CHECK(same(a->finalize(s), r2));
    }
  }
}

TEST_CASE("minmax per-tensor and per-channel against hand values") {
  const std::vector<float> x = {1, -2, 3, 4, 5, -6, 0.5f, 8, -9, 10, 11, 12};  // shape [2, 3, 2]
  const QScheme s = test::int_scheme(8);
  const Range t = run("minmax", {}, {x}, s);
  CHECK(t.min[0] == -9.0f);
  CHECK(t.max[0] == 12.0f);
  ObserverOptions pc;
  pc.granularity = Granularity::PerChannel;
  pc.axis = 1;  // channels: {1,-2,0.5,8}, {3,4,-9,10}, {5,-6,11,12}
  const Range c = run("minmax", pc, {x}, s, {2, 3, 2});
  CHECK(c.min == std::vector<float>{-2, -9, -6});
  CHECK(c.max == std::vector<float>{8, 10, 12});
  pc.axis = 0;
  const Range c0 = run("minmax", pc, {x}, s, {2, 3, 2});
  CHECK(c0.min == std::vector<float>{-6, -9});
  CHECK(c0.max == std::vector<float>{5, 12});
  pc.axis = 3;
  CHECK_THROWS_AS(run("minmax", pc, {x}, s, {2, 3, 2}), Error);
}

TEST_CASE("ema: MQBench recurrence, order-dependent merge defined as append") {
  const QScheme s = test::int_scheme(8);
  const std::vector<float> a = {-1, 2}, b = {-3, 4}, c = {0, 10};
  const Range r = run("ema", {}, {a, b, c}, s);
  // min: -1 -> 0.9*-1 + 0.1*-3 = -1.2 -> 0.9*-1.2 + 0.1*0 = -1.08; max: 2 -> 2.2 -> 2.98
  CHECK(r.min[0] == doctest::Approx(-1.08).epsilon(1e-6));
  CHECK(r.max[0] == doctest::Approx(2.98).epsilon(1e-6));
  auto o1 = ObserverRegistry::instance().create("ema", {}), o2 = o1->clone_empty();
  o1->observe(view(c));
  o2->observe(view(a));
  o2->merge(*o1);  // a then c: max 0.9*2 + 0.1*10 = 2.8
  CHECK(o2->finalize(s).max[0] == doctest::Approx(2.8).epsilon(1e-6));
  auto o3 = ObserverRegistry::instance().create("ema", {});
  o3->observe(view(a));
  o1->merge(*o3);  // c then a: max 0.9*10 + 0.1*2 = 9.2
  CHECK(o1->finalize(s).max[0] == doctest::Approx(9.2).epsilon(1e-6));
}

namespace {
// x added to a fresh |x| histogram of 2048 bins: its scan is scan_f32_ref's and its counts are those
// of binning all of x at the final exponent (bin_into_ref).
calib::Pow2Histogram abs_histogram_checked(const std::vector<float>& x, uint64_t* zeros) {
  calib::Pow2Histogram h(calib::HistKind::Abs, 2048);
  const ScanResult s = h.add(x.data(), static_cast<int64_t>(x.size()), zeros);
  CHECK(s.finite);
  const ScanResult expect = scan_f32_ref(x.data(), static_cast<int64_t>(x.size()));
  CHECK(s.max == expect.max);
  CHECK(s.min == expect.min);
  std::vector<uint64_t> ref(2048, 0);
  h.bin_into_ref(x.data(), static_cast<int64_t>(x.size()), h.exponent(), ref.data());
  CHECK(h.counts() == ref);
  return h;
}
}  // namespace

TEST_CASE("Pow2Histogram: |x| growing chunk by chunk, at 1, 2 and 3 threads, equals binning at once; NaN leaves it unchanged") {
  // Magnitudes rising through the array: every thread's later chunks exceed its exponent (its
  // sub-histograms are flushed and the histogram grown before they are binned).
  std::vector<float> x(200003);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (i % 3 == 0 ? 0.0f : 1e-3f * static_cast<float>(i)) * (i % 2 ? -1.0f : 1.0f);
  uint64_t expect_zeros = 0;
  for (float v : x) expect_zeros += v == 0.0f ? 1 : 0;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    uint64_t zeros = 0;
    calib::Pow2Histogram h = abs_histogram_checked(x, &zeros);
    CHECK(zeros == expect_zeros);
    // a NaN in a late chunk: reported, and the histogram keeps what it had
    std::vector<float> bad = x;
    bad[bad.size() - 5] = std::numeric_limits<float>::quiet_NaN();
    const std::vector<uint64_t> before = h.counts();
    CHECK_FALSE(h.add(bad.data(), static_cast<int64_t>(bad.size())).finite);
    CHECK(h.counts() == before);
    // +inf and -inf, in the first block and in a tail (past the last 8-lane group): the same
    for (size_t at : {size_t{3}, bad.size() - 1}) {
      for (float v : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
        bad = x;
        bad[at] = v;
        CHECK_FALSE(h.add(bad.data(), static_cast<int64_t>(bad.size())).finite);
        CHECK(h.counts() == before);
      }
    }
    // nothing of the rejected calls is left behind: x again doubles every count
    CHECK(h.add(x.data(), static_cast<int64_t>(x.size())).finite);
    std::vector<uint64_t> twice = before;
    for (uint64_t& c : twice) c *= 2;
    CHECK(h.counts() == twice);
  }
  omp_set_num_threads(2);
}

TEST_CASE("Pow2Histogram: histograms of different bin counts and kinds added in turn keep their own counts") {
  // Nothing of one histogram's add may reach another's (per-thread scratch reused across calls would):
  // 2048-, 256- and 16384-bin histograms, |x| and signed, added in turn, each equals binning at once.
  std::vector<float> x(100001);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.001f * static_cast<float>(i)) * static_cast<float>(i % 7);
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    std::vector<calib::Pow2Histogram> hs;
    for (int bins : {2048, 256, 1 << 14})
      for (calib::HistKind kind : {calib::HistKind::Abs, calib::HistKind::Signed}) hs.emplace_back(kind, bins);
    const int64_t half = static_cast<int64_t>(x.size()) / 2;
    for (int round = 0; round < 2; ++round)
      for (calib::Pow2Histogram& h : hs) h.add(x.data() + round * half, round == 0 ? half : static_cast<int64_t>(x.size()) - half);
    for (const calib::Pow2Histogram& h : hs) {
      CAPTURE(h.bins());
      std::vector<uint64_t> ref(static_cast<size_t>(h.bins()), 0);
      h.bin_into_ref(x.data(), static_cast<int64_t>(x.size()), h.exponent(), ref.data());
      CHECK(h.counts() == ref);
    }
  }
  omp_set_num_threads(2);
}

TEST_CASE("Pow2Histogram: a chunk whose magnitude jumps (1e30 after small values) is counted at its grown range") {
  // The histogram must grow before a chunk that does not fit its range is counted (at the old range
  // such a value's index would be clamped to the last bin, or overflow int32 as 1e30 does), also for
  // a value in the last, partial chunk (69999: chunk 4 holds 4465 values).
  std::vector<float> x(70001);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 1e-3f * static_cast<float>(i % 977);
  x[40000] = 1e30f;
  x[40001] = -3e29f;
  x[69999] = 2e30f;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    omp_set_num_threads(threads);
    uint64_t zeros = 0;
    const calib::Pow2Histogram h = abs_histogram_checked(x, &zeros);
    CHECK(h.exponent() == calib::Pow2Histogram::exponent_above(2e30f));
    CHECK(zeros == 72);  // i % 977 == 0 for i = 0, 977, ..., 69367: 72 values
  }
  omp_set_num_threads(2);
}

TEST_CASE("Pow2Histogram: one bin holding millions of values (past the 16-bit sub-histogram counters)") {
  // Every value in one bin, so each of a thread's four sub-histogram copies would pass 65535 within a
  // few chunks if they were not flushed in time; odd-sized blocks (one non-zero value in three,
  // compacted) exercise the running lane over block tails.
  for (calib::HistKind kind : {calib::HistKind::Abs, calib::HistKind::Signed}) {
    std::vector<float> x(3 * 1000003);
    for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 ? 0.0f : 0.3f;
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      omp_set_num_threads(threads);
      calib::Pow2Histogram h(kind, 2048);
      h.add(x.data(), static_cast<int64_t>(x.size()));
      h.add(x.data(), static_cast<int64_t>(x.size()));  // and again into the same histogram
      std::vector<uint64_t> ref(2048, 0);
      h.bin_into_ref(x.data(), static_cast<int64_t>(x.size()), h.exponent(), ref.data());
      for (uint64_t& c : ref) c *= 2;
      CHECK(h.counts() == ref);
      CHECK(h.total() == 2 * x.size());
    }
  }
  omp_set_num_threads(2);
}

TEST_CASE("Pow2Histogram: binning matches its reference; growth and merge equal binning at once") {
  for (calib::HistKind kind : {calib::HistKind::Abs, calib::HistKind::Signed}) {
    std::vector<float> small = test::gaussian(10007, 8);
    const std::vector<float> big = test::laplace(20011, 9, 7.0);
    uint64_t expect_zeros = 0;
    for (size_t i = 0; i < small.size(); i += 3, ++expect_zeros) small[i] = i % 2 ? 0.0f : -0.0f;  // ReLU-like zeros
    std::vector<float> all = small;
    all.insert(all.end(), big.begin(), big.end());
    calib::Pow2Histogram once(kind, 2048);
    uint64_t zeros = 0;
    once.add(all.data(), static_cast<int64_t>(all.size()), &zeros);
    CHECK(zeros == expect_zeros);
    // reference binning at the final exponent
    std::vector<uint64_t> ref(2048, 0);
    once.bin_into_ref(all.data(), static_cast<int64_t>(all.size()), once.exponent(), ref.data());
    CHECK(once.counts() == ref);
    calib::Pow2Histogram grown(kind, 2048), a(kind, 2048), b(kind, 2048);
    grown.add(small.data(), static_cast<int64_t>(small.size()));  // grows when `big` arrives
    grown.add(big.data(), static_cast<int64_t>(big.size()));
    CHECK(grown.exponent() == once.exponent());
    CHECK(grown.counts() == once.counts());
    a.add(big.data(), static_cast<int64_t>(big.size()));
    b.add(small.data(), static_cast<int64_t>(small.size()));
    a.merge(b);  // other order
    CHECK(a.counts() == once.counts());
  }
  CHECK(calib::Pow2Histogram::exponent_above(1.0f) == 1);  // strictly above: 2^1 > 1
  CHECK(calib::Pow2Histogram::exponent_above(0.75f) == 0);
  CHECK_THROWS_AS(calib::Pow2Histogram(calib::HistKind::Abs, 1000), Error);
}
