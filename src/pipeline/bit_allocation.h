// mqcalib/src/pipeline/bit_allocation.h: mixed precision: per-layer bits that minimise the summed
// sensitivity within a budget (issue 16).
//
// Each layer l has options o = (w_bits, a_bits) with a cost c(l, o) (its sensitivity, pipeline/
// sensitivity.h: the logits' noise-to-signal ratio or KL with that layer alone quantized at o) and
// resources  weight bits  W(l, o) = params_l * w_bits  and  activation bits  A(l, o) = a_bits.
// The choice minimises  sum_l c(l, o_l)  subject to  sum_l W(l, o_l) <= budget_w_bits  and
// sum_l A(l, o_l) <= budget_a_bits (the average input-activation bits times the layer count): a
// multiple-choice knapsack, solved exactly by dynamic programming over Pareto frontiers: after layer
// l, every partial choice is kept unless another one costs no more weight bits, no more activation
// bits and no more sensitivity (it can then never be part of a better completion). The frontier
// holds exact integer resources, so the result is the optimum, not a grid's approximation.
// allocate_bits_ref enumerates every combination (the test reference, small cases only).
// Summing per-layer sensitivities assumes their effects add (independent noise adds in power: the
// nsr metric); the result is checked against measured accuracy in docs/results.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mqcalib {

struct AllocOption {
  int w_bits = 8, a_bits = 8;
  double cost = 0;  // sensitivity at these bits
};

struct AllocLayer {
  std::string layer;
  int64_t params = 0;                // weight elements
  std::vector<AllocOption> options;  // at least one (a fixed layer has exactly one)
};

constexpr int64_t kNoBudget = INT64_MAX;

struct Allocation {
  bool feasible = false;
  std::vector<size_t> choice;   // option index per layer
  double objective = 0;         // summed cost
  int64_t w_bits = 0;           // sum params * w_bits
  int64_t a_bits = 0;           // sum a_bits
  size_t largest_frontier = 0;  // states kept after the widest layer (the solver's size)
};

// Exact. Throws Error naming the layer when it has no option or a negative size.
Allocation allocate_bits(const std::vector<AllocLayer>& layers, int64_t budget_w_bits,
                         int64_t budget_a_bits = kNoBudget);
// Every combination (product of the option counts must stay below 2^24: Error otherwise).
Allocation allocate_bits_ref(const std::vector<AllocLayer>& layers, int64_t budget_w_bits,
                             int64_t budget_a_bits = kNoBudget);

// --bits-budget: "3" or "3.5" (average weight bits over the quantized layers' weights), or a model size
// "70000B", "68.4KB" / "68.4KiB", "1.2MB" / "1.2MiB" (1 KB = 1000 B, 1 KiB = 1024 B): the weight-bit
// budget for `weight_elements`. Throws Error naming --bits-budget when unreadable, not positive, or an
// average above 32 bits.
int64_t parse_bits_budget(const std::string& text, int64_t weight_elements);

// "2,4,8" -> {2, 4, 8} (sorted, unique); every value in 2..16. Error naming `option` otherwise.
std::vector<int> parse_bits_set(const std::string& text, const std::string& option);

}  // namespace mqcalib
