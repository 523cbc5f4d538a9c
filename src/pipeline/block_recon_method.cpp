// mqcalib/src/pipeline/block_recon_method.cpp: see block_recon_method.h.
#include "pipeline/block_recon_method.h"

#include <algorithm>

#include "core/error.h"
#include "reconstruction/model_reconstruct.h"

namespace mqcalib {

namespace {

ReconProblem problem_of(const Graph& folded, const QuantState& state) {
  ReconProblem p;
  p.fp = &folded;
  for (const WeightQuant& w : state.weights) p.weights.push_back({w.point.node, w.params});
  for (const ActQuant& a : state.activations)
    p.activations.push_back(
        {a.point.value, a.params, a.point.scheme.scale_kind == ScaleKind::PowerOfTwo, a.point.group});
  return p;
}

ReconOptions options_of(const ReconstructOptions& ro, ReconMethod m, const SampleStore& calib) {
  ReconOptions o;
  o.method = m;
  o.granularity = ro.granularity.empty() ? UnitGranularity::Block : parse_unit_granularity(ro.granularity);
  o.loss = parse_recon_loss(ro.loss);
  o.iters = ro.iters;
  o.act_iters = ro.act_iters;
  o.batch = ro.batch;
  o.rounding.lambda = ro.lambda;
  o.rounding.lr = ro.round_lr;
  o.drop_prob = ro.drop_prob;
  if (ro.step_lr > 0.0f) o.step_lr = ro.step_lr;
  o.seed = ro.seed;
  o.cache.ram_budget_bytes = method_cache_budget(ro, calib);  // what the sample store leaves
  o.cache.spill_dir = ro.spill_dir;
  o.progress_every = std::max(1, std::max(ro.iters, ro.act_iters) / 20);
  return o;
}

// The weighted layers of a unit and their widest weight bits.
void layers_of(const Graph& g, const QuantState& st, const Unit& u, UnitReport& r) {
  for (size_t i : u.nodes) {
    const Node& n = g.nodes()[i];
    if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear) continue;
    r.layers.push_back(n.name);
    for (const WeightQuant& w : st.weights)
      if (w.point.node == i) r.bits = std::max(r.bits, w.point.scheme.bits);
  }
}

}  // namespace

std::vector<UnitReport> BlockReconMethod::run(const ReconstructInputs& in, QuantState& state) const {
  const ReconOptions o = options_of(in.options, method_, in.calib);
  const ReconProblem problem = problem_of(in.folded, state);
  // The pipeline's observation on the weights reconstruction hands it; the last one is kept.
  std::vector<ActQuant> observed = state.activations;
  const ActCalibrateFn calibrate = [&](const Graph&, const std::vector<std::vector<int32_t>>& codes) {
    QuantState s = state;
    for (size_t k = 0; k < s.weights.size(); ++k) s.weights[k].codes = codes[k];
    observed = in.observe(s);
    std::vector<QParams> params;
    for (const ActQuant& a : observed) params.push_back(a.params);
    return params;
  };
  const ReconProgressFn progress = [&](const ReconProgress& p) {
    if (in.progress && p.phase != "cache")
      in.progress(p.phase + " " + p.unit_name, p.unit, p.units, p.iteration, static_cast<float>(p.loss),
                  p.soft_fraction);
  };
  const BatchSource batches = in.calib.batches(in.calib.batch());
  // The reconstruction starts from round-to-nearest and returns every code, and nothing reads the
  // state's codes meanwhile (calibrate's copy takes the run's): freed for the run (resnet50: 100 MB).
  for (WeightQuant& w : state.weights) std::vector<int32_t>().swap(w.codes);
  ReconResult r = reconstruct_model(problem, batches, o, calibrate, progress);
  if (in.record_setting) {
    in.record_setting("cache_bytes_spilled", static_cast<double>(r.cache_bytes_spilled));
    in.record_setting("cache_peak_ram_bytes", static_cast<double>(r.cache_peak_ram_bytes));
  }
  for (size_t k = 0; k < state.weights.size(); ++k) state.weights[k].codes = std::move(r.codes[k]);
  state.activations = observed;
  for (size_t k = 0; k < state.activations.size(); ++k) {
    state.activations[k].params = r.act_params[k];
    state.activations[k].learned = r.act_learned[k];
  }
  // reports: one per unit and phase, in the order the units ran
  const std::vector<Unit> units = partition_units(in.folded, o.granularity);
  std::vector<UnitReport> reports;
  for (size_t k = 0; k < r.units.size(); ++k) {
    const UnitTrainReport& t = r.units[k];
    UnitReport u;
    u.unit = t.unit + " (" + t.phase + ")";
    layers_of(in.folded, state, units[k % units.size()], u);
    u.loss_before = t.loss_before;
    u.loss_after = t.loss_after;
    u.soft_fraction = t.soft_fraction;
    u.iterations = t.iterations;
    u.seconds = t.seconds;
    reports.push_back(std::move(u));
  }
  return reports;
}

}  // namespace mqcalib
