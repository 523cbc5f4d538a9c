// mqcalib/src/pipeline/adaround_weights.cpp: see adaround_weights.h.
#include "pipeline/adaround_weights.h"

#include <chrono>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "exec/executor.h"

namespace mqcalib {

namespace {

// The activation AdaRound's loss is taken after: the single consumer of the layer's output, when it
// is one the reconstruction has a backward for (reconstruction/activation_backward.h).
std::optional<Activation> fused_activation(const Graph& g, const Node& layer, size_t* act_node) {
  const std::vector<size_t> cons = g.consumers(layer.outputs.at(0));
  if (cons.size() != 1) return std::nullopt;
  const Node& c = g.nodes().at(cons[0]);
  std::optional<Activation> a;
  switch (c.kind) {
    case OpKind::Relu: a = Activation::Relu; break;
    case OpKind::Relu6: a = Activation::Relu6; break;
    case OpKind::Hardtanh: a = Activation::Hardtanh; break;
    case OpKind::Silu: a = Activation::Silu; break;
    case OpKind::Hardswish: a = Activation::Hardswish; break;
    default: return std::nullopt;
  }
  *act_node = cons[0];
  return a;
}

// Runs `g` over every calibration batch and concatenates the tensor of value `v` along dim 0.
TensorF32 cache_value(const Graph& g, ValueId v, const BatchSource& calib) {
  Executor ex(g);
  std::vector<TensorF32> parts;
  int64_t n = 0;
  TensorF32 x;
  for (int64_t i = 0; calib(i, x); ++i) {
    ex.run(
        {x},
        [&](ValueId id, TensorF32& t) {
          if (id != v) return;
          parts.push_back(t);
          n += t.dim(0);
        },
        v);  // nothing after the cached value is needed
  }
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

}  // namespace

std::vector<AdaRoundLayerReport> adaround_weights(QuantizedModel& m, const Graph& folded, const BatchSource& calib,
                                                  const AdaRoundOptions& options, const AdaRoundPassProgress& progress) {
  if (m.weight_params.size() != m.plan.weights.size())
    throw Error("adaround: quantize_weights() must run first (no weight parameters)");
  std::vector<AdaRoundLayerReport> reports;
  const size_t count = m.plan.weights.size();
  for (size_t k = 0; k < count; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const WeightQuantPoint& w = m.plan.weights[k];
    const Node& fp = folded.nodes().at(w.node);
    size_t act_node = 0;
    const std::optional<Activation> act = fused_activation(folded, fp, &act_node);
    const ValueId target_value = act ? folded.nodes().at(act_node).outputs.at(0) : fp.outputs.at(0);

    const TensorF32 inputs = cache_value(m.graph, w.input, calib);
    const TensorF32 targets = cache_value(folded, target_value, calib);

    LayerSpec spec;
    spec.name = w.layer;
    spec.weight = fp.params.weight.view();
    spec.bias = fp.params.bias.empty() ? nullptr : fp.params.bias.data();
    spec.activation = act;
    if (act) {
      spec.activation_params.min_val = folded.nodes().at(act_node).attrs.min_val;
      spec.activation_params.max_val = folded.nodes().at(act_node).attrs.max_val;
    }
    if (fp.kind == OpKind::Conv2d) {
      spec.kind = LayerKind::Conv2d;
      spec.conv = conv2d_params(fp.attrs);
    } else if (fp.kind == OpKind::Linear) {
      spec.kind = LayerKind::Linear;
    } else {
      throw Error("adaround: layer '" + w.layer + "' is not a conv2d or linear");
    }
    // A linear layer may read [N, ..., I]: reconstruct on rows of I features.
    ViewF32 in_view = inputs.view(), tg_view = targets.view();
    if (spec.kind == LayerKind::Linear) {
      const int64_t I = fp.params.weight.dim(1), O = fp.params.weight.dim(0);
      in_view = ViewF32{inputs.data(), {inputs.size() / I, I}};
      tg_view = ViewF32{targets.data(), {targets.size() / O, O}};
    }
    AdaRoundOptions o = options;
    o.seed = options.seed + k;
    const AdaRoundResult r =
        adaround_layer(spec, in_view, tg_view, m.weight_params[k], o, [&](int it, float loss, float soft) {
          if (progress) progress(w.layer, k, count, it, loss, soft);
        });
    m.graph.nodes().at(w.node).params.weight = r.weight;
    m.weight_codes.resize(count);
    m.weight_codes[k] = r.codes;
    AdaRoundLayerReport rep;
    rep.layer = w.layer;
    rep.bits = w.scheme.bits;
    rep.loss_nearest = r.loss_nearest;
    rep.loss_adaround = r.loss_adaround;
    rep.soft_fraction = r.soft_fraction;
    rep.iterations = r.iterations;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    reports.push_back(rep);
  }
  return reports;
}

}  // namespace mqcalib
