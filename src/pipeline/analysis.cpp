// mqcalib/src/pipeline/analysis.cpp: see analysis.h.
#include "pipeline/analysis.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "pipeline/outliers.h"

namespace mqcalib {

namespace {

std::vector<SqnrSums> activation_sqnr(const Simulation& sim, const SampleStore* store) {
  std::vector<SqnrSums> sums(sim.activations.size());
  if (!store) return sums;
  const SampleStore& calib = *store;
  const Executor ex(sim.graph);
  const ValueHook hook = sim.activations.hook(&sums);
  const BatchSource src = calib.first(kSqnrSamples, calib.batch());
  TensorF32 x;
  for (int64_t i = 0; src(i, x); ++i) ex.run({x}, hook);
  return sums;
}

}  // namespace

Analysis analyse(const Graph& folded, const QuantPlan& plan, const QuantState& state, const Simulation& sim,
                 const SampleStore* calib, const std::vector<WeightStats>& weight_stats,
                 const BackendProfile& backend) {
  if (sim.activations.size() != state.activations.size())
    throw Error("analyse: the simulation has " + std::to_string(sim.activations.size()) +
                " activation points, the state " + std::to_string(state.activations.size()));
  const std::vector<SqnrSums> sums = activation_sqnr(sim, calib);
  Analysis a;
  for (const WeightQuant& w : state.weights) {
    const TensorF32& fw = folded.nodes().at(w.point.node).params.weight;
    const TensorF32& qw = sim.graph.nodes().at(w.point.node).params.weight;
    LayerReport l;
    l.layer = w.point.layer;
    l.w_bits = w.point.scheme.bits;
    l.weight_sqnr_db = sqnr_db(fw.data(), qw.data(), fw.size());
    const int in = plan.act_index(w.point.input);
    l.input_sqnr_db = in < 0  ? std::numeric_limits<double>::infinity()
                      : calib ? sums[static_cast<size_t>(in)].db()
                              : std::numeric_limits<double>::quiet_NaN();
    l.a_bits = in >= 0 ? plan.activations[static_cast<size_t>(in)].scheme.bits : 32;
    a.layers.push_back(l);
  }
  std::vector<ActivationStats> astats;
  for (size_t k = 0; k < state.activations.size(); ++k) {
    const ActQuant& q = state.activations[k];
    const double sqnr = calib ? sums[k].db() : std::numeric_limits<double>::quiet_NaN();
    a.activations.push_back({q.point.tensor, sqnr, q.stats.min, q.stats.max, q.range.min[0], q.range.max[0]});
    astats.push_back({q.point.tensor, q.point.layer, q.stats.min, q.stats.max, q.stats.rms, q.range.min[0],
                      q.range.max[0], q.observer});
  }
  std::vector<WeightStats> planned;  // a layer kept in FP32 has no quantization to find fault with
  for (const WeightStats& s : weight_stats)
    if (std::any_of(plan.weights.begin(), plan.weights.end(),
                    [&](const WeightQuantPoint& w) { return w.layer == s.node; }))
      planned.push_back(s);
  a.findings = find_weight_outliers(planned, backend);
  for (OutlierFinding& f : find_activation_outliers(astats)) a.findings.push_back(std::move(f));
  return a;
}

}  // namespace mqcalib
