// mqcalib/src/pipeline/observe.cpp: see observe.h.
#include "pipeline/observe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "core/bias_i32.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/stats.h"
#include "exec/executor.h"

namespace mqcalib {

std::vector<WeightQuant> observe_weights(const Graph& folded, const QuantPlan& plan, const ObserverChoice& observer) {
  std::vector<WeightQuant> out;
  out.reserve(plan.weights.size());
  for (const WeightQuantPoint& w : plan.weights) {
    const Node& n = folded.nodes().at(w.node);
    ObserverOptions o = observer.options;
    o.granularity = w.scheme.granularity;
    o.axis = w.scheme.axis;
    std::unique_ptr<Observer> obs = ObserverRegistry::instance().create(observer.name, o);
    WeightQuant q;
    q.point = w;
    q.observer = observer.name;
    try {
      obs->observe(n.params.weight.view());
      q.range = obs->finalize(w.scheme);
    } catch (const Error& e) {
      throw Error("weight '" + w.tensor + "': " + e.what());
    }
    q.params = choose_qparams(w.scheme, q.range, w.tensor);
    out.push_back(std::move(q));
  }
  return out;
}

namespace {

// Per point: its observer and the report statistics of the first kActStatsBatches batches.
struct PointObservation {
  std::unique_ptr<Observer> observer;
  ScanResult scan;
  double sumsq = 0.0, count = 0.0;
};

bool is_graph_input(const Graph& g, ValueId v) {
  return std::find(g.inputs().begin(), g.inputs().end(), v) != g.inputs().end();
}

}  // namespace

RunOptions point_hook_run(const QuantPlan& plan, ValueHook hook) {
  RunOptions run;
  if (plan.activations.empty()) return run;  // no hook: an empty `hooked` would mean every value
  run.hook = std::move(hook);
  for (const ActQuantPoint& p : plan.activations) run.hooked.push_back(p.value);
  return run;
}

std::vector<ActQuant> observe_activations(const Graph& weight_quantized, const QuantPlan& plan,
                                          const SampleStore& calib, const ObserverChoice& observer,
                                          const ProgressFn& progress) {
  const size_t np = plan.activations.size();
  std::vector<ActQuant> acts(np);
  std::vector<PointObservation> obs(np);
  for (size_t i = 0; i < np; ++i) {
    ObserverOptions o = observer.options;
    o.granularity = Granularity::PerTensor;  // activations are per-tensor on every backend
    acts[i].point = plan.activations[i];
    acts[i].observer = is_graph_input(weight_quantized, acts[i].point.value) ? "minmax" : observer.name;
    obs[i].observer = ObserverRegistry::instance().create(acts[i].observer, o);
  }
  int64_t batch_index = 0;
  const ValueHook hook = [&](ValueId v, TensorF32& t) {
    const int p = plan.act_index(v);
    if (p < 0) return;
    PointObservation& po = obs[static_cast<size_t>(p)];
    try {
      po.observer->observe(t.view());
    } catch (const Error& e) {
      throw Error("activation '" + acts[static_cast<size_t>(p)].point.tensor + "': " + e.what());
    }
    if (batch_index >= kActStatsBatches) return;
    const ScanSumSquares st = scan_sum_squares_f32(t.data(), t.size());
    po.scan.merge(st.scan);
    po.sumsq += st.sum_squares;
    po.count += static_cast<double>(t.size());
  };
  const Executor ex(weight_quantized);
  const RunOptions run = point_hook_run(plan, hook);
  const BatchSource batches = calib.batches(calib.batch());
  TensorF32 x;
  for (batch_index = 0; batches(batch_index, x); ++batch_index) {
    ex.run({x}, run);
    if (progress) progress("calibrate", std::min(calib.size(), (batch_index + 1) * calib.batch()), calib.size());
  }
  // The points' finalizes run side by side, one thread each (an observer's own parallel loops run
  // serially inside, with the same fixed chunks, so the ranges do not change); the first failing
  // point in plan order is the one reported, at any thread count.
  parallel_for_chunks(static_cast<int64_t>(np), 1, [&](int64_t b, int64_t, int64_t) {
    const size_t k = static_cast<size_t>(b);
    acts[k].stats.min = obs[k].scan.min;
    acts[k].stats.max = obs[k].scan.max;
    acts[k].stats.rms = obs[k].count > 0 ? std::sqrt(obs[k].sumsq / obs[k].count) : 0.0;
    try {
      acts[k].range = obs[k].observer->finalize(acts[k].point.scheme);
    } catch (const Error& e) {
      throw Error("activation '" + acts[k].point.tensor + "': " + e.what());
    }
  });
  choose_activation_params(acts);
  return acts;
}

void choose_activation_params(std::vector<ActQuant>& acts) {
  for (ActQuant& a : acts) {
    if (a.learned) continue;
    Range used = a.range;
    if (a.point.group >= 0)
      for (const ActQuant& m : acts)
        if (m.point.group == a.point.group) {
          used.min[0] = std::min(used.min[0], m.range.min[0]);
          used.max[0] = std::max(used.max[0], m.range.max[0]);
        }
    a.params = choose_qparams(a.point.scheme, used, a.point.tensor);
  }
}

void quantize_biases(QuantState& state, const Graph& folded, const QuantPlan& plan, Rounding rounding) {
  MQCALIB_ASSERT(state.activations.size() == plan.activations.size(), "biases need the activation params first");
  for (WeightQuant& w : state.weights) {
    w.bias = QParams{};  // empty scale: no int32 bias
    const Node& n = folded.nodes().at(w.point.node);
    if (n.params.bias.empty() || n.params.bias.size() == 0) continue;
    const int a = plan.act_index(w.point.input);
    if (a < 0) continue;  // the input stays fp32 (skip): the runtime keeps a float bias too
    const QParams& in = state.activations.at(static_cast<size_t>(a)).params;
    w.bias = bias_qparams_i32(in.scale.at(0), w.params, n.params.bias.size(), rounding);
  }
}

}  // namespace mqcalib
