// mqcalib/src/pipeline/adaround_method.cpp: see adaround_method.h.
#include "pipeline/adaround_method.h"

#include <chrono>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "exec/activation_cache.h"
#include "exec/executor.h"
#include "exec/node_activation.h"
#include "pipeline/simulation.h"
#include "reconstruction/adaround.h"

namespace mqcalib {

namespace {

// The activation AdaRound's loss is taken after: the single consumer of the layer's output, when it
// is one of the activations the reconstruction fuses (it has their backward,
// reconstruction/activation_backward.h). Which activation a node is: exec/node_activation.h.
std::optional<Activation> fused_activation(const Graph& g, const Node& layer, size_t* act_node) {
  const std::vector<size_t> cons = g.consumers(layer.outputs.at(0));
  if (cons.size() != 1) return std::nullopt;
  const std::optional<Activation> a = node_activation(g.nodes().at(cons[0]));
  if (!a || (*a != Activation::Relu && *a != Activation::Relu6 && *a != Activation::Hardtanh &&
             *a != Activation::Silu && *a != Activation::Hardswish))
    return std::nullopt;
  *act_node = cons[0];
  return a;
}

struct LayerTarget {
  std::optional<Activation> activation;
  size_t act_node = 0;
  ValueId value = kNoValue;  // FP value the layer is reconstructed against
};

LayerTarget target_of(const Graph& folded, const WeightQuantPoint& w) {
  LayerTarget t;
  const Node& fp = folded.nodes().at(w.node);
  t.activation = fused_activation(folded, fp, &t.act_node);
  t.value = t.activation ? folded.nodes().at(t.act_node).outputs.at(0) : fp.outputs.at(0);
  return t;
}

std::function<bool(std::vector<TensorF32>&)> store_inputs(const SampleStore& calib) {
  auto i = std::make_shared<int64_t>(0);
  const BatchSource b = calib.batches(calib.batch());
  return [b, i](std::vector<TensorF32>& in) {
    in.resize(1);
    return b((*i)++, in[0]);
  };
}

// Runs `g` over the store and returns value `v` of every sample as one [N, ...] tensor.
TensorF32 cache_value(const Graph& g, ValueId v, const SampleStore& calib) {
  const Executor ex(g);
  std::vector<TensorF32> parts;
  int64_t n = 0;
  const BatchSource b = calib.batches(calib.batch());
  TensorF32 x;
  for (int64_t i = 0; b(i, x); ++i)
    ex.run(
        {x},
        [&](ValueId id, TensorF32& t) {
          if (id != v) return;
          parts.push_back(t);
          n += t.dim(0);
        },
        v);  // nothing after the cached value is needed
  if (parts.empty()) throw Error("adaround: no calibration batch reached value '" + g.value(v).name + "'");
  Shape s = parts[0].shape();
  s[0] = n;
  TensorF32 all(s);
  float* dst = all.data();
  for (const TensorF32& p : parts) {
    std::memcpy(dst, p.data(), sizeof(float) * static_cast<size_t>(p.size()));
    dst += p.size();
  }
  return all;
}

LayerSpec layer_spec(const Graph& folded, const WeightQuantPoint& w, const LayerTarget& t) {
  const Node& fp = folded.nodes().at(w.node);
  LayerSpec spec;
  spec.name = w.layer;
  spec.weight = fp.params.weight.view();
  spec.bias = fp.params.bias.empty() ? nullptr : fp.params.bias.data();
  spec.activation = t.activation;
  if (t.activation) {
    spec.activation_params = node_activation_params(folded.nodes().at(t.act_node));
  }
  if (fp.kind == OpKind::Conv2d) {
    spec.kind = LayerKind::Conv2d;
    spec.conv = conv2d_params(fp.attrs);
  } else if (fp.kind == OpKind::Linear) {
    spec.kind = LayerKind::Linear;
  } else {
    throw Error("adaround: layer '" + w.layer + "' is not a conv2d or linear");
  }
  return spec;
}

}  // namespace

std::vector<UnitReport> AdaRoundMethod::run(const ReconstructInputs& in, QuantState& state) const {
  const Graph& folded = in.folded;
  const size_t count = state.weights.size();
  MQCALIB_ASSERT(count == in.plan.weights.size(), "adaround: the state's weights are not the plan's");
  std::vector<LayerTarget> targets;
  std::vector<ValueId> target_values;
  for (const WeightQuant& w : state.weights) {
    targets.push_back(target_of(folded, w.point));
    target_values.push_back(targets.back().value);
  }
  CacheOptions co;
  co.ram_budget_bytes = method_cache_budget(in.options, in.calib);
  co.spill_dir = in.options.spill_dir;
  // FP targets of every layer, once per run.
  const ActivationCache fp = collect_activations(Executor(folded), store_inputs(in.calib), target_values, co);
  Graph quantized = with_quantized_weights(folded, state);
  std::vector<UnitReport> reports;
  for (size_t k = 0; k < count; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    WeightQuant& wq = state.weights[k];
    const WeightQuantPoint& w = wq.point;
    const TensorF32 inputs = cache_value(quantized, w.input, in.calib);
    const TensorF32 tgt = fp.read(targets[k].value, 0, fp.num_samples(targets[k].value));
    const LayerSpec spec = layer_spec(folded, w, targets[k]);
    // A linear layer may read [N, ..., I]: reconstruct on rows of I features.
    ViewF32 in_view = inputs.view(), tg_view = tgt.view();
    if (spec.kind == LayerKind::Linear) {
      const int64_t I = spec.weight.dim(1), O = spec.weight.dim(0);
      in_view = ViewF32{inputs.data(), {inputs.size() / I, I}};
      tg_view = ViewF32{tgt.data(), {tgt.size() / O, O}};
    }
    AdaRoundOptions o;
    o.iters = in.options.iters;
    o.lambda = in.options.lambda;
    o.lr = in.options.round_lr;
    o.batch = in.options.batch;
    o.seed = in.options.seed + k;
    o.progress_every = std::max(1, in.options.iters / 20);
    const AdaRoundResult r = adaround_layer(spec, in_view, tg_view, wq.params, o, [&](int it, float loss, float soft) {
      if (in.progress) in.progress(w.layer, k, count, it, loss, soft);
    });
    quantized.nodes().at(w.node).params.weight = r.weight;
    wq.codes = r.codes;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    reports.push_back(
        {w.layer, {w.layer}, w.scheme.bits, r.loss_nearest, r.loss_adaround, r.soft_fraction, r.iterations, seconds});
  }
  return reports;
}

}  // namespace mqcalib
