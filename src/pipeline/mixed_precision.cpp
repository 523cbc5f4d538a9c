// mqcalib/src/pipeline/mixed_precision.cpp: see mixed_precision.h.
#include "pipeline/mixed_precision.h"

#include <cmath>

#include "core/error.h"
#include "pipeline/bit_allocation.h"

namespace mqcalib {

namespace {

bool is_fixed(const LayerPolicy& policy, const std::vector<size_t>& layers, const WeightQuantPoint& w) {
  if (policy.layer_bits.count(w.layer) || policy.layer_a_bits.count(w.layer)) return true;
  return policy.first_last_8bit && !layers.empty() && (w.node == layers.front() || w.node == layers.back());
}

// The bits a planned layer's input has in the plan (the backend's when it is not quantized).
int input_bits(const QuantPlan& plan, const WeightQuantPoint& w, int fallback) {
  const int a = plan.act_index(w.input);
  return a >= 0 ? plan.activations[static_cast<size_t>(a)].scheme.bits : fallback;
}

std::string solver_text(const Allocation& a, size_t layers) {
  return "exact: dynamic programming over Pareto frontiers (weight bits, activation bits, sensitivity), " +
         std::to_string(layers) + " layers, at most " + std::to_string(a.largest_frontier) + " partial choices kept";
}

}  // namespace

MixedPrecisionChoice choose_mixed_precision(const Graph& folded, const BackendProfile& backend,
                                            const LayerPolicy& policy, const SampleStore& calib,
                                            const ObserverChoice& w_observer, const ObserverChoice& a_observer,
                                            const MixedPrecisionConfig& config, const ProgressFn& progress) {
  if (config.w_bits_set.empty()) throw Error("--bits-set is empty");
  const std::vector<int> a_set =
      config.a_bits_set.empty() ? std::vector<int>{backend.activation.bits} : config.a_bits_set;
  const QuantPlan plan = plan_quantization(folded, backend, policy);
  const std::vector<size_t> layers = weighted_layers(folded);
  std::vector<BitOption> options;
  for (int w : config.w_bits_set)
    for (int a : a_set) options.push_back({w, a});
  SensitivityRequest req;
  req.samples = config.samples;
  req.options = options;
  int64_t elements = 0;
  std::vector<bool> fixed(plan.weights.size());
  for (size_t i = 0; i < plan.weights.size(); ++i) {
    const WeightQuantPoint& w = plan.weights[i];
    elements += folded.nodes().at(w.node).params.weight.size();
    fixed[i] = is_fixed(policy, layers, w);
    SensitivityUnitDef u{w.layer, {i}, {}};
    if (fixed[i]) u.options = {{w.scheme.bits, input_bits(plan, w, backend.activation.bits)}};
    req.units.push_back(std::move(u));
  }
  const SensitivityInputs in{folded, plan, calib, w_observer, a_observer};
  SensitivityResult measured = measure_sensitivity(in, req, progress);

  std::vector<AllocLayer> alloc;
  size_t row = 0;
  for (size_t i = 0; i < plan.weights.size(); ++i) {
    AllocLayer l{plan.weights[i].layer, folded.nodes().at(plan.weights[i].node).params.weight.size(), {}};
    const size_t n = fixed[i] ? 1 : options.size();
    for (size_t k = 0; k < n; ++k, ++row) {
      const SensitivityRow& s = measured.rows.at(row);
      l.options.push_back({s.w_bits, s.a_bits, metric_of(s, config.metric)});
    }
    alloc.push_back(std::move(l));
  }
  const int64_t budget = parse_bits_budget(config.budget, elements);
  const int64_t a_budget =
      config.a_bits_average > 0
          ? static_cast<int64_t>(std::floor(config.a_bits_average * static_cast<double>(alloc.size())))
          : kNoBudget;
  const Allocation a = allocate_bits(alloc, budget, a_budget);
  if (!a.feasible) {
    int64_t smallest = 0;
    for (const AllocLayer& l : alloc) {
      int64_t m = INT64_MAX;
      for (const AllocOption& o : l.options) m = std::min(m, l.params * o.w_bits);
      smallest += m;
    }
    throw Error("--bits-budget '" + config.budget + "' (" + std::to_string(budget) +
                " weight bits) is below the smallest choice: " + std::to_string(smallest) + " bits (" +
                std::to_string(static_cast<double>(smallest) / static_cast<double>(elements)) +
                " per weight), or the activation budget cannot be met");
  }
  MixedPrecisionChoice out;
  out.policy = policy;
  BitAllocationReport& r = out.allocation;
  r.budget = config.budget;
  r.budget_bits = budget;
  r.used_bits = a.w_bits;
  r.average_w_bits = elements ? static_cast<double>(a.w_bits) / static_cast<double>(elements) : 0.0;
  r.w_bits_set = config.w_bits_set;
  r.a_bits_set = a_set;
  r.objective = a.objective;
  r.solver = solver_text(a, alloc.size());
  for (size_t i = 0; i < alloc.size(); ++i) {
    const AllocOption& o = alloc[i].options[a.choice[i]];
    r.layers.push_back({alloc[i].layer, alloc[i].params, o.w_bits, o.a_bits, static_cast<bool>(fixed[i]), o.cost});
    if (fixed[i]) continue;
    out.policy.layer_bits[alloc[i].layer] = o.w_bits;
    out.policy.layer_a_bits[alloc[i].layer] = o.a_bits;
  }
  out.sensitivity = sensitivity_report(std::move(measured), SensitivityUnit::Layer, config.metric);
  return out;
}

}  // namespace mqcalib
