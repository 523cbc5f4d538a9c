// mqcalib/src/pipeline/transform_stage.cpp: see transform_stage.h.
#include "pipeline/transform_stage.h"

#include <algorithm>

#include "core/error.h"
#include "exec/executor.h"
#include "pipeline/simulation.h"

namespace mqcalib {

std::string_view to_string(BiasCorrectionMode m) {
  switch (m) {
    case BiasCorrectionMode::None:
      return "none";
    case BiasCorrectionMode::Analytic:
      return "analytic";
    case BiasCorrectionMode::Empirical:
      return "empirical";
  }
  return "?";
}

FoldedModel equalize_model(const FoldedModel& folded, const TransformOptions& o, TransformReport& report) {
  FoldedModel m = folded;
  if (!o.equalize) return m;
  report.equalization = equalize_cross_layer(m.graph, o.equalization);
  if (o.high_bias_sigmas > 0.0) report.absorbed = absorb_high_biases(m.graph, o.high_bias_sigmas);
  m.weight_stats = weight_stats(m.graph);
  return m;
}

std::vector<BiasCorrection> correct_biases_analytic(Graph& g, const QuantState& state,
                                                    const std::vector<InputRange>& inputs, double sigmas) {
  const Graph quantized = with_quantized_weights(g, state);
  std::vector<const TensorF32*> q(g.nodes().size(), nullptr);
  for (const WeightQuant& w : state.weights) q.at(w.point.node) = &quantized.nodes()[w.point.node].params.weight;
  BnRangeOptions o;
  o.sigmas = sigmas;
  return correct_bias_analytic(g, q, bn_value_dists(g, inputs, o));
}

namespace {

// Per-channel (dim 1) sums of x added to `sums` (sized on first use), and the element count per channel.
void add_channel_sums(const TensorF32& x, std::vector<double>& sums, double& per_channel) {
  if (x.rank() < 2) throw Error("bias correction: a layer output of rank " + std::to_string(x.rank()));
  const int64_t n = x.dim(0), c = x.dim(1), inner = x.size() / (n * c);
  if (sums.empty()) sums.assign(static_cast<size_t>(c), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t k = 0; k < c; ++k) {
      const float* p = x.data() + (s * c + k) * inner;
      double acc = 0.0;
      for (int64_t i = 0; i < inner; ++i) acc += p[i];
      sums[static_cast<size_t>(k)] += acc;
    }
  per_channel += static_cast<double>(n * inner);
}

struct ChannelMeans {
  std::vector<double> sum;
  double count = 0.0;
  double mean(size_t c) const { return sum[c] / count; }
};

}  // namespace

std::vector<BiasCorrection> correct_biases_empirical(Graph& g, const QuantState& state, const SampleStore& calib,
                                                     const ProgressFn& progress) {
  std::vector<const WeightQuant*> layers;
  for (const WeightQuant& w : state.weights) layers.push_back(&w);
  std::sort(layers.begin(), layers.end(),
            [](const WeightQuant* a, const WeightQuant* b) { return a->point.node < b->point.node; });
  // FP means of every layer output, in one pass over the samples.
  std::vector<ChannelMeans> fp(g.values().size());
  std::vector<bool> wanted(g.values().size(), false);
  for (const WeightQuant* w : layers) wanted.at(static_cast<size_t>(g.nodes()[w->point.node].outputs.at(0))) = true;
  const BatchSource batches = calib.batches(calib.batch());
  {
    const Executor ex(g);
    TensorF32 x;
    const ValueHook hook = [&](ValueId v, TensorF32& t) {
      if (wanted[static_cast<size_t>(v)])
        add_channel_sums(t, fp[static_cast<size_t>(v)].sum, fp[static_cast<size_t>(v)].count);
    };
    for (int64_t i = 0; batches(i, x); ++i) ex.run({x}, hook);
  }
  Graph quantized = with_quantized_weights(g, state);
  const Executor ex(quantized);
  std::vector<BiasCorrection> out;
  for (size_t k = 0; k < layers.size(); ++k) {
    const size_t node = layers[k]->point.node;
    const ValueId y = quantized.nodes()[node].outputs.at(0);
    ChannelMeans q;
    TensorF32 x;
    const ValueHook hook = [&](ValueId v, TensorF32& t) {
      if (v == y) add_channel_sums(t, q.sum, q.count);
    };
    for (int64_t i = 0; batches(i, x); ++i) ex.run({x}, hook, y);
    const ChannelMeans& f = fp[static_cast<size_t>(y)];
    BiasCorrection bc;
    bc.layer = g.nodes()[node].name;
    for (Graph* gr : {&g, &quantized}) {
      TensorF32& b = gr->nodes()[node].params.bias;
      if (b.empty()) b = TensorF32(Shape{static_cast<int64_t>(q.sum.size())}, 0.0f);
    }
    for (size_t c = 0; c < q.sum.size(); ++c) {
      const double shift = q.mean(c) - f.mean(c);
      bc.shift.push_back(shift);
      for (Graph* gr : {&g, &quantized}) {
        float& b = gr->nodes()[node].params.bias[static_cast<int64_t>(c)];
        b = static_cast<float>(static_cast<double>(b) - shift);
      }
    }
    out.push_back(std::move(bc));
    if (progress) progress("bias correction", static_cast<int64_t>(k + 1), static_cast<int64_t>(layers.size()));
  }
  return out;
}

}  // namespace mqcalib
