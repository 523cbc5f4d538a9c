// mqcalib/reconstruction/model_reconstruct.cpp: BRECQ / QDrop over the units of a model
// (model_reconstruct.h).
#include "reconstruction/model_reconstruct.h"

#include <algorithm>
#include <map>

#include "core/quantize.h"

namespace mqcalib {

namespace {

constexpr uint64_t kStepsSeedOffset = 1000003;  // stage 2 seeds differ from stage 1's

struct Plan {
  std::vector<Unit> units;
  std::vector<int> weight_of_node;  // node -> index into problem.weights, or -1
  std::vector<size_t> owner;        // per activation: the unit applying and learning it
  std::vector<bool> learnable;      // per activation: its group (if any) lies inside its owner
};

void check_problem(const ReconProblem& p) {
  if (!p.fp) throw Error("reconstruction: no FP graph");
  for (const ReconWeight& w : p.weights) {
    if (w.node >= p.fp->nodes().size())
      throw Error("reconstruction: weight of node " + std::to_string(w.node) + " out of range");
    const Node& n = p.fp->nodes()[w.node];
    if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear)
      throw Error("reconstruction: node '" + n.name + "' is not a conv2d / linear");
  }
  for (const ReconActivation& a : p.activations)
    if (a.value < 0 || static_cast<size_t>(a.value) >= p.fp->values().size())
      throw Error("reconstruction: activation quantizer on value " + std::to_string(a.value) + " out of range");
}

Plan make_plan(const ReconProblem& p, UnitGranularity gran) {
  const Graph& g = *p.fp;
  Plan plan;
  plan.units = partition_units(g, gran);
  plan.weight_of_node.assign(g.nodes().size(), -1);
  for (size_t k = 0; k < p.weights.size(); ++k) plan.weight_of_node[p.weights[k].node] = static_cast<int>(k);
  std::vector<int> unit_of_node(g.nodes().size(), -1), unit_of_value(g.values().size(), -1);
  for (size_t u = 0; u < plan.units.size(); ++u)
    for (size_t i : plan.units[u].nodes) {
      unit_of_node[i] = static_cast<int>(u);
      for (ValueId v : g.nodes()[i].outputs) unit_of_value[static_cast<size_t>(v)] = static_cast<int>(u);
    }
  for (size_t u = plan.units.size(); u-- > 0;)  // a graph input: the first unit reading it
    for (ValueId v : plan.units[u].inputs)
      if (g.producer(v) < 0) unit_of_value[static_cast<size_t>(v)] = static_cast<int>(u);
  for (const ReconActivation& a : p.activations) {
    const int u = unit_of_value[static_cast<size_t>(a.value)];
    if (u < 0) throw Error("reconstruction: no unit produces or reads '" + g.value(a.value).name + "'");
    plan.owner.push_back(static_cast<size_t>(u));
  }
  std::map<int, std::vector<size_t>> group_owners;
  for (size_t i = 0; i < p.activations.size(); ++i)
    if (p.activations[i].group >= 0) group_owners[p.activations[i].group].push_back(plan.owner[i]);
  for (size_t i = 0; i < p.activations.size(); ++i) {
    bool ok = true;
    if (p.activations[i].group >= 0)
      for (size_t u : group_owners[p.activations[i].group]) ok = ok && u == plan.owner[i];
    plan.learnable.push_back(ok);
  }
  return plan;
}

UnitQuant unit_quant(const Plan& plan, const ReconProblem& p, size_t u, const std::vector<QParams>& act) {
  UnitQuant q;
  for (size_t i : plan.units[u].nodes) {
    const int w = plan.weight_of_node[i];
    if (w >= 0) q.soft.push_back({i, p.weights[static_cast<size_t>(w)].qparams});
  }
  std::map<int, int> group_step;
  int next = 0;
  for (size_t i = 0; i < p.activations.size(); ++i) {
    if (plan.owner[i] != u) continue;
    const ReconActivation& a = p.activations[i];
    int step = -1;
    if (plan.learnable[i]) {
      if (a.group < 0) {
        step = next++;
      } else {
        const auto it = group_step.find(a.group);
        step = it != group_step.end() ? it->second : (group_step[a.group] = next++);
      }
    }
    q.acts.push_back({a.value, act[i], a.power_of_two, step});
  }
  return q;
}

// Fake-quantizes the activations owned by units before `before` as the executor produces them.
ValueHook owned_before(const Plan& plan, const ReconProblem& p, const std::vector<QParams>& act, size_t before) {
  std::map<ValueId, size_t> which;
  for (size_t i = 0; i < p.activations.size(); ++i)
    if (plan.owner[i] < before) which[p.activations[i].value] = i;
  if (which.empty()) return {};
  return [which, &act](ValueId v, TensorF32& t) {
    const auto it = which.find(v);
    if (it != which.end()) fake_quantize_f32(t.view(), act[it->second], t.data());
  };
}

CacheOptions remaining(const CacheOptions& o, int64_t used) {
  CacheOptions c = o;
  if (o.ram_budget_bytes >= 0) c.ram_budget_bytes = std::max<int64_t>(0, o.ram_budget_bytes - used);
  return c;
}

struct Run {
  const ReconProblem& p;
  const CalibBatchFn& calib;
  const ReconOptions& o;
  const ReconProgressFn& progress;
  Plan plan;
  Graph q;  // the model as quantized so far
  ReconResult res;
  ActivationCache* fp = nullptr;
  ValueId logits = kNoValue;
};

// Weight k as its codes dequantized (bit for bit the hard-rounded weight the unit produced, tested):
// the run keeps the codes only, not a second float copy of every weight.
TensorF32 dequantized(const Run& r, size_t k) {
  const TensorF32& fw = r.p.fp->nodes()[r.p.weights[k].node].params.weight;
  TensorF32 w = TensorF32::uninitialized(fw.shape());
  dequantize_i32_f32(r.res.codes[k].data(), fw.shape(), r.p.weights[k].qparams, w.data());
  return w;
}

void set_weight(Run& r, size_t k, TensorF32 w) { r.q.nodes()[r.p.weights[k].node].params.weight = std::move(w); }

enum class Phase { Rounding, Steps, Joint };

void run_unit(Run& r, size_t u, Phase phase) {
  const Unit& unit = r.plan.units[u];
  const bool acts_on = phase != Phase::Rounding;
  const UnitQuant uq = unit_quant(r.plan, r.p, u, r.res.act_params);
  const int64_t fp_ram = r.fp->bytes_in_ram();
  if (r.progress) r.progress({"cache", u, r.plan.units.size(), unit.name, 0, 0, 0.0, 0.0f});
  ActivationCache in = cache_values(r.q, r.calib, unit.inputs, remaining(r.o.cache, fp_ram),
                                    acts_on ? owned_before(r.plan, r.p, r.res.act_params, u) : ValueHook{});
  std::unique_ptr<ActivationCache> fisher;
  if (r.o.loss == ReconLoss::Fisher) {
    Graph qn = r.q;  // the unit itself at round-to-nearest (stage 2: its hard rounding is already in q)
    for (const SoftWeightSpec& s : uq.soft)
      if (phase != Phase::Steps)
        qn.nodes()[s.node].params.weight = dequantized(r, static_cast<size_t>(r.plan.weight_of_node[s.node]));
    fisher = std::make_unique<ActivationCache>(fisher_weights(
        qn, unit, r.logits, *r.fp, r.calib, acts_on ? owned_before(r.plan, r.p, r.res.act_params, u + 1) : ValueHook{},
        r.o.fisher_damping, remaining(r.o.cache, fp_ram + in.bytes_in_ram())));
  }
  UnitSamples s{&in, r.fp, fisher.get(), r.fp->num_samples(r.p.fp->inputs().at(0))};
  const char* name = phase == Phase::Rounding ? "rounding" : (phase == Phase::Steps ? "steps" : "joint");
  const int iters = phase == Phase::Steps ? r.o.act_iters : r.o.iters;
  const UnitProgressFn pf = [&](int it, double loss, float soft) {
    if (r.progress) r.progress({name, u, r.plan.units.size(), unit.name, it, iters, loss, soft});
  };
  const uint64_t seed = r.o.seed + u + (phase == Phase::Steps ? kStepsSeedOffset : 0);
  UnitOutcome out = phase == Phase::Rounding ? brecq_rounding_unit(r.q, unit, uq, s, r.o, seed, pf)
                    : phase == Phase::Steps  ? brecq_steps_unit(r.q, unit, uq, s, r.o, seed, pf)
                                             : qdrop_unit(r.q, unit, uq, s, r.o, seed, pf);
  for (size_t k = 0; k < out.weights.size(); ++k) {
    const size_t w = static_cast<size_t>(r.plan.weight_of_node[uq.soft[k].node]);
    set_weight(r, w, std::move(out.weights[k]));
    r.res.codes[w] = std::move(out.codes[k]);
  }
  size_t spec = 0;
  for (size_t i = 0; i < r.p.activations.size(); ++i) {
    if (r.plan.owner[i] != u) continue;
    if (uq.acts[spec].step >= 0 && acts_on && out.report.iterations > 0) {
      r.res.act_params[i].scale[0] = out.steps[spec];
      r.res.act_learned[i] = true;
    }
    ++spec;
  }
  r.res.cache_bytes_spilled += in.bytes_spilled() + (fisher ? fisher->bytes_spilled() : 0);
  r.res.cache_peak_ram_bytes =
      std::max(r.res.cache_peak_ram_bytes, fp_ram + in.peak_ram_bytes() + (fisher ? fisher->peak_ram_bytes() : 0));
  r.res.units.push_back(out.report);
}

std::vector<QParams> calibrated(const ActCalibrateFn& calibrate, const Graph& g,
                                const std::vector<std::vector<int32_t>>& codes, size_t n) {
  std::vector<QParams> a = calibrate(g, codes);
  if (a.size() != n)
    throw Error("reconstruction: calibration returned " + std::to_string(a.size()) + " activation parameters for " +
                std::to_string(n) + " quantizers");
  return a;
}

}  // namespace

ReconResult reconstruct_model(const ReconProblem& p, const CalibBatchFn& calib, const ReconOptions& o,
                              const ActCalibrateFn& calibrate, const ReconProgressFn& progress) {
  check_problem(p);
  Run r{p, calib, o, progress, make_plan(p, o.granularity), *p.fp, {}, nullptr, kNoValue};
  r.logits = p.fp->outputs().at(0);
  for (const ReconWeight& w : p.weights) {  // round to nearest until a unit learns its rounding
    const TensorF32& fw = p.fp->nodes()[w.node].params.weight;
    r.res.codes.emplace_back(static_cast<size_t>(fw.size()));
    quantize_f32_i32(fw.view(), w.qparams, r.res.codes.back().data());
  }
  for (const ReconActivation& a : p.activations) r.res.act_params.push_back(a.qparams);
  r.res.act_learned.assign(p.activations.size(), false);
  std::vector<ValueId> fp_values;
  auto add = [&](ValueId v) {
    if (std::find(fp_values.begin(), fp_values.end(), v) == fp_values.end()) fp_values.push_back(v);
  };
  for (const Unit& u : r.plan.units) {
    for (ValueId v : u.inputs) add(v);
    for (ValueId v : u.outputs) add(v);
  }
  add(r.logits);
  if (progress) progress({"cache", 0, r.plan.units.size(), "fp targets", 0, 0, 0.0, 0.0f});
  ActivationCache fp = cache_values(*p.fp, calib, fp_values, o.cache);
  r.fp = &fp;
  const bool has_acts = !p.activations.empty();
  if (o.method == ReconMethod::Brecq) {
    for (size_t u = 0; u < r.plan.units.size(); ++u) run_unit(r, u, Phase::Rounding);
    if (has_acts) {
      r.res.act_params = calibrated(calibrate, r.q, r.res.codes, p.activations.size());
      if (o.act_iters > 0)
        for (size_t u = 0; u < r.plan.units.size(); ++u) run_unit(r, u, Phase::Steps);
    }
  } else {
    if (has_acts) {
      Graph nearest = *p.fp;
      for (size_t k = 0; k < p.weights.size(); ++k) nearest.nodes()[p.weights[k].node].params.weight = dequantized(r, k);
      r.res.act_params = calibrated(calibrate, nearest, r.res.codes, p.activations.size());
    }
    for (size_t u = 0; u < r.plan.units.size(); ++u) run_unit(r, u, Phase::Joint);
  }
  r.res.cache_bytes_spilled += fp.bytes_spilled();
  for (size_t k = 0; k < p.weights.size(); ++k) r.res.weights.push_back(dequantized(r, k));
  return std::move(r.res);
}

}  // namespace mqcalib
