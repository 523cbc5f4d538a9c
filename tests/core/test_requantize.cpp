// Requantization (gemmlowp semantics): hand-computed values, fast == reference twins, and the
// fixed-point result within one step of round(acc * M) computed in double.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/requantize.h"

using namespace mqcalib;

namespace {
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
}  // namespace

TEST_CASE("requantize: quantize_multiplier") {
  // 0.75 = 0.75 * 2^0 -> M0 = 0.75 * 2^31, shift 0
  QuantizedMultiplier m = quantize_multiplier(0.75);
  CHECK(m.m0_q31 == 1610612736);
  CHECK(m.right_shift == 0);
  // 0.1 = 0.8 * 2^-3 -> round(0.8 * 2^31) = 1717986918
  m = quantize_multiplier(0.1);
  CHECK(m.m0_q31 == 1717986918);
  CHECK(m.right_shift == 3);
  // M0 rounding to 2^31: halve and shift - 1
  m = quantize_multiplier(0.5 - std::ldexp(1.0, -40));  // m = 1 - 2^-39, e = -1
  CHECK(m.m0_q31 == (1 << 30));
  CHECK(m.right_shift == 0);
  // M >= 1: left shift
  m = quantize_multiplier(3.0);
  CHECK(m.m0_q31 == 1610612736);
  CHECK(m.right_shift == -2);
  // underflow -> zero multiplier
  m = quantize_multiplier(1e-12);
  CHECK(m.m0_q31 == 0);
  CHECK_THROWS_AS(quantize_multiplier(0.0), Error);
  CHECK_THROWS_AS(quantize_multiplier(std::nan("")), Error);
}

TEST_CASE("requantize: gemmlowp primitives, hand-computed") {
  CHECK(saturating_rounding_doubling_high_mul(kMin, kMin) == kMax);
  CHECK(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29);  // 2 * 2^60 / 2^32
  CHECK(saturating_rounding_doubling_high_mul(1, 1 << 30) == 1);              // 0.5 -> 1 (ties up)
  CHECK(saturating_rounding_doubling_high_mul(-1, 1 << 30) == 0);             // -0.5 -> 0 (ties up)
  CHECK(saturating_rounding_doubling_high_mul(3, 1 << 30) == 2);              // 1.5 -> 2
  CHECK(saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1);            // -1.5 -> -1
  CHECK(rounding_divide_by_pot(5, 1) == 3);                                   // 2.5 -> 3
  CHECK(rounding_divide_by_pot(-5, 1) == -3);                                 // -2.5 -> -3 (away from zero)
  CHECK(rounding_divide_by_pot(3, 1) == 2);
  CHECK(rounding_divide_by_pot(-3, 1) == -2);
  CHECK(rounding_divide_by_pot(1, 1) == 1);
  CHECK(rounding_divide_by_pot(-1, 1) == -1);
  CHECK(rounding_divide_by_pot(-4, 3) == -1);  // -0.5 -> -1
  CHECK(rounding_divide_by_pot(-3, 3) == 0);
  CHECK(rounding_divide_by_pot(kMin, 31) == -1);
  CHECK(rounding_divide_by_pot(kMax, 31) == 1);
  CHECK(rounding_divide_by_pot(7, 0) == 7);
}

TEST_CASE("requantize: fast primitives == reference twins") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> u(kMin, kMax);
  std::vector<int32_t> special = {0, 1, -1, 2, -2, kMin, kMax, kMin + 1, kMax - 1, 1 << 30, -(1 << 30), (1 << 30) + 1};
  for (int i = 0; i < 200000; ++i) {
    const int32_t a = i < 144 ? special[static_cast<size_t>(i % 12)] : u(rng);
    const int32_t b = i < 144 ? special[static_cast<size_t>(i / 12)] : u(rng);
    REQUIRE(saturating_rounding_doubling_high_mul(a, b) == saturating_rounding_doubling_high_mul_ref(a, b));
    const int e = i % 32;
    REQUIRE(rounding_divide_by_pot(a, e) == rounding_divide_by_pot_ref(a, e));
  }
}

TEST_CASE("requantize: arrays, fast == ref and within one step of round(acc * M)") {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> u(-(1 << 22), 1 << 22);
  const int64_t n = 100003;
  std::vector<int32_t> acc(static_cast<size_t>(n)), q(acc.size()), qr(acc.size());
  for (auto& a : acc) a = u(rng);
  for (double M : {0.75, 0.1, 3.7e-4, 1.23e-6, 0.49999, 2.5}) {
    CAPTURE(M);
    const QuantizedMultiplier m = quantize_multiplier(M);
    requantize_i32(acc.data(), n, m, 3, -128, 127, q.data());
    requantize_i32_ref(acc.data(), n, m, 3, -128, 127, qr.data());
    REQUIRE(q == qr);
    for (size_t i = 0; i < acc.size(); i += 97) {
      const double exact = std::clamp(3.0 + std::round(acc[i] * M), -128.0, 127.0);
      REQUIRE(std::fabs(q[i] - exact) <= 1.0);
    }
  }
}
