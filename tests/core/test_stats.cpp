// core/stats.h: the shared scans against their reference twins and hand-computed values.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/stats.h"

using namespace mqcalib;

namespace {

std::vector<float> gaussian(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

TEST_CASE("scan_f32 equals its reference on awkward sizes, and catches NaN and Inf") {
  const std::vector<float> x = gaussian(1000, 2);
  for (int64_t n : {0, 1, 15, 16, 17, 31, 33, 999, 1000}) {
    const ScanResult a = scan_f32(x.data(), n), b = scan_f32_ref(x.data(), n), c = scan_f32_parallel(x.data(), n);
    CHECK(a.min == b.min);
    CHECK(a.max == b.max);
    CHECK(a.finite == b.finite);
    CHECK(c.min == b.min);
    CHECK(c.max == b.max);
  }
  std::vector<float> y(x.begin(), x.begin() + 37);
  y[36] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(scan_f32(y.data(), 37).finite);
  y[36] = -std::numeric_limits<float>::infinity();
  CHECK_FALSE(scan_f32(y.data(), 37).finite);
  const std::vector<float> hand = {3.0f, -2.5f, 0.0f, 7.25f};
  const ScanResult h = scan_f32(hand.data(), 4);
  CHECK(h.min == -2.5f);
  CHECK(h.max == 7.25f);
}

TEST_CASE("sum_squares_f32 equals its reference bit for bit at any thread count and size") {
  const std::vector<float> x = gaussian(3 * kSumSquaresChunk + 123, 7);
  for (int64_t n :
       {int64_t{0}, int64_t{5}, int64_t{16}, kSumSquaresChunk, kSumSquaresChunk + 1, static_cast<int64_t>(x.size())}) {
    CAPTURE(n);
    const double ref = sum_squares_f32_ref(x.data(), n);
    omp_set_num_threads(1);
    const double one = sum_squares_f32(x.data(), n);
    omp_set_num_threads(2);
    const double two = sum_squares_f32(x.data(), n);
    CHECK(one == ref);
    CHECK(two == ref);
    const ScanSumSquares both = scan_sum_squares_f32(x.data(), n), ref_scan{scan_f32_ref(x.data(), n), ref};
    CHECK(both.sum_squares == ref_scan.sum_squares);
    CHECK(both.scan.min == ref_scan.scan.min);
    CHECK(both.scan.max == ref_scan.scan.max);
  }
  const std::vector<float> hand = {1.0f, 2.0f, -3.0f};
  CHECK(sum_squares_f32(hand.data(), 3) == 14.0);
}

TEST_CASE("sqnr: hand-computed values, exact reconstruction is +inf, sums accumulate over batches") {
  const std::vector<float> x = {3.0f, 4.0f}, q = {3.0f, 3.0f};  // signal 25, noise 1
  CHECK(sqnr_db(x.data(), q.data(), 2) == doctest::Approx(10.0 * std::log10(25.0)));
  CHECK(std::isinf(sqnr_db(x.data(), x.data(), 2)));
  SqnrSums s;
  s.add(sqnr_sums_f32(x.data(), q.data(), 1));          // 9, 0
  s.add(sqnr_sums_f32(x.data() + 1, q.data() + 1, 1));  // 16, 1
  CHECK(s.signal == 25.0);
  CHECK(s.noise == 1.0);
  CHECK(s.db() == sqnr_db(x.data(), q.data(), 2));
}
