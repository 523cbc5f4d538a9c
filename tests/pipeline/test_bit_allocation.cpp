// The mixed-precision solver (pipeline/bit_allocation.h) against exhaustive search on random small
// cases, a hand-solved case, infeasible budgets, and the budget / bit-set parsers.
#include <doctest/doctest.h>

#include <random>

#include "pipeline/bit_allocation.h"

using namespace mqcalib;

namespace {

constexpr double kObjectiveTol = 1e-12;  // relative: the two solvers add the same costs in other orders

std::vector<AllocLayer> random_layers(std::mt19937& rng, int n, const std::vector<int>& ws,
                                      const std::vector<int>& as) {
  std::uniform_int_distribution<int64_t> size(1, 5000);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<AllocLayer> layers;
  for (int l = 0; l < n; ++l) {
    AllocLayer L{"l" + std::to_string(l), size(rng), {}};
    for (int w : ws)
      for (int a : as)  // fewer bits, more sensitivity (as measured), with noise
        L.options.push_back({w, a, u(rng) * std::pow(4.0, -w) + u(rng) * std::pow(4.0, -a)});
    layers.push_back(std::move(L));
  }
  return layers;
}

int64_t total_params(const std::vector<AllocLayer>& ls) {
  int64_t t = 0;
  for (const AllocLayer& l : ls) t += l.params;
  return t;
}

}  // namespace

TEST_CASE("allocate_bits: a hand-solved case") {
  // Two layers of 10 and 100 weights, options W2 / W8. Budget 280 bits: small at 8 and big at 2 (80 + 200
  // bits, cost 0.1 + 1.0) fits; big at 8 (800 bits) does not; both at 2 (220 bits) costs 6.0.
  const std::vector<AllocLayer> ls = {{"small", 10, {{2, 8, 5.0}, {8, 8, 0.1}}},
                                      {"big", 100, {{2, 8, 1.0}, {8, 8, 0.2}}}};
  const Allocation a = allocate_bits(ls, 280);
  REQUIRE(a.feasible);
  CHECK(a.choice == std::vector<size_t>{1, 0});
  CHECK(a.objective == doctest::Approx(1.1));
  CHECK(a.w_bits == 280);
  CHECK(allocate_bits(ls, 279).choice == std::vector<size_t>{0, 0});  // only both at 2 bits fit (220)
  CHECK_FALSE(allocate_bits(ls, 219).feasible);
  CHECK(allocate_bits(ls, kNoBudget).choice == std::vector<size_t>{1, 1});
}

TEST_CASE("allocate_bits equals exhaustive search on random small cases, with and without an activation budget") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const bool two = trial % 2 == 1;
    const std::vector<int> as = two ? std::vector<int>{4, 8} : std::vector<int>{8};
    const int n = 3 + trial % (two ? 4 : 6);  // at most 8^6 / 4^8 combinations for the reference
    const std::vector<AllocLayer> ls = random_layers(rng, n, {2, 3, 4, 8}, as);
    const int64_t p = total_params(ls);
    std::uniform_real_distribution<double> avg(2.0, 6.0);
    const int64_t budget = static_cast<int64_t>(avg(rng) * static_cast<double>(p));
    const int64_t a_budget = two ? static_cast<int64_t>(6.0 * n) : kNoBudget;
    CAPTURE(trial);
    const Allocation fast = allocate_bits(ls, budget, a_budget);
    const Allocation ref = allocate_bits_ref(ls, budget, a_budget);
    REQUIRE(fast.feasible == ref.feasible);
    if (!ref.feasible) continue;
    CHECK(fast.objective == doctest::Approx(ref.objective).epsilon(kObjectiveTol));
    CHECK(fast.w_bits <= budget);
    CHECK(fast.a_bits <= a_budget);
    double cost = 0;
    int64_t w = 0;
    for (size_t l = 0; l < ls.size(); ++l) {
      cost += ls[l].options[fast.choice[l]].cost;
      w += ls[l].params * ls[l].options[fast.choice[l]].w_bits;
    }
    CHECK(cost == doctest::Approx(fast.objective).epsilon(kObjectiveTol));
    CHECK(w == fast.w_bits);
  }
}

TEST_CASE("allocate_bits: a zoo-sized problem stays small (53 layers x 4 options)") {
  std::mt19937 rng(11);
  const std::vector<AllocLayer> ls = random_layers(rng, 53, {2, 3, 4, 8}, {8});
  const Allocation a = allocate_bits(ls, 3 * total_params(ls));
  REQUIRE(a.feasible);
  CHECK(a.w_bits <= 3 * total_params(ls));
  CHECK(a.largest_frontier < 200000);
  // Greedy lower bound check: the optimum is no worse than all-3-bit (a feasible choice).
  double all3 = 0;
  for (const AllocLayer& l : ls) all3 += l.options[1].cost;
  CHECK(a.objective <= all3);
}

TEST_CASE("allocate_bits: errors name the layer") {
  CHECK_THROWS_WITH(allocate_bits({{"conv1", 10, {}}}, 100), doctest::Contains("'conv1' has no bit option"));
}

TEST_CASE("parse_bits_budget: average bits and sizes") {
  CHECK(parse_bits_budget("3", 1000) == 3000);
  CHECK(parse_bits_budget("3.5", 1000) == 3500);
  CHECK(parse_bits_budget("1000B", 1) == 8000);
  CHECK(parse_bits_budget("2KB", 1) == 16000);
  CHECK(parse_bits_budget("2KiB", 1) == 2 * 1024 * 8);
  CHECK(parse_bits_budget("1.5MiB", 1) == static_cast<int64_t>(1.5 * 1048576 * 8));
  CHECK_THROWS_WITH(parse_bits_budget("70000", 1), doctest::Contains("needs a unit"));
  CHECK_THROWS_WITH(parse_bits_budget("3 bits", 1), doctest::Contains("unknown unit"));
  CHECK_THROWS_WITH(parse_bits_budget("-1", 1), doctest::Contains("--bits-budget '-1'"));
  CHECK_THROWS_WITH(parse_bits_budget("abc", 1), doctest::Contains("positive number"));
}

TEST_CASE("parse_bits_set: sorted, unique, in range") {
  CHECK(parse_bits_set("8,2,4,4", "--bits-set") == std::vector<int>{2, 4, 8});
  CHECK_THROWS_WITH(parse_bits_set("2,1", "--bits-set"), doctest::Contains("--bits-set '2,1'"));
  CHECK_THROWS_WITH(parse_bits_set("2,,4", "--bits-set"), doctest::Contains("2..16"));
}
