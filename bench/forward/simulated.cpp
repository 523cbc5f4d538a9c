// bench/forward/simulated.cpp: see simulated.h.
#include "simulated.h"

#include <algorithm>
#include <limits>

#include "backends/backend.h"
#include "core/qscheme.h"
#include "core/quantize.h"
#include "pipeline/quant_plan.h"

using namespace mqcalib;

SimulatedModel simulate_w8a8(const Graph& folded, const TensorF32& x, const std::string& backend) {
  const BackendProfile& profile = find_backend(backend);
  const QuantPlan plan = plan_quantization(folded, profile, LayerPolicy{});
  SimulatedModel m{folded, OutputQuant(folded.values().size()), {}, plan.activations.size()};
  for (const WeightQuantPoint& w : plan.weights) {
    TensorF32& wt = m.graph.nodes().at(w.node).params.weight;
    Range r;
    const int64_t channels = w.scheme.granularity == Granularity::PerChannel ? wt.dim(0) : 1;
    const int64_t per = wt.size() / channels;
    for (int64_t c = 0; c < channels; ++c) {
      const auto [lo, hi] = std::minmax_element(wt.data() + c * per, wt.data() + (c + 1) * per);
      r.min.push_back(*lo);
      r.max.push_back(*hi);
    }
    fake_quantize_f32(wt.view(), choose_qparams(w.scheme, r, w.tensor), wt.data());
  }
  // min-max of every planned activation over the batch, from an FP run of the quantized-weight graph
  std::vector<float> lo(plan.activations.size(), std::numeric_limits<float>::infinity());
  std::vector<float> hi(plan.activations.size(), -std::numeric_limits<float>::infinity());
  Executor(m.graph).run({x}, [&](ValueId v, TensorF32& t) {
    const int p = plan.act_index(v);
    if (p < 0 || t.size() == 0) return;
    const auto [a, b] = std::minmax_element(t.data(), t.data() + t.size());
    lo[static_cast<size_t>(p)] = std::min(lo[static_cast<size_t>(p)], *a);
    hi[static_cast<size_t>(p)] = std::max(hi[static_cast<size_t>(p)], *b);
  });
  std::vector<ValueId> values;
  std::vector<QParams> params;
  std::vector<std::string> names;
  for (size_t i = 0; i < plan.activations.size(); ++i) {
    const ActQuantPoint& a = plan.activations[i];
    QParams q = choose_qparams(a.scheme, Range{{lo[i]}, {hi[i]}}, a.tensor);
    m.quant.set(a.value, q, a.tensor);
    values.push_back(a.value);
    params.push_back(std::move(q));
    names.push_back(a.tensor);
  }
  m.hook_quant = ActivationQuantizers(folded.values().size(), values, std::move(params), std::move(names));
  return m;
}
