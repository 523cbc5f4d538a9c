// mqcalib/reconstruction/recon_caches.cpp: cached values and Fisher weights (recon_caches.h).
#include "reconstruction/recon_caches.h"

#include <algorithm>
#include <cmath>

#include "reconstruction/recon_loss.h"
#include "reconstruction/unit_runner.h"

namespace mqcalib {

namespace {

// The value of `values` produced last (graph inputs count as produced first).
ValueId last_produced(const Graph& g, const std::vector<ValueId>& values) {
  ValueId last = kNoValue;
  int64_t at = -2;
  for (ValueId v : values) {
    const int64_t p = g.producer(v);
    if (p > at) {
      at = p;
      last = v;
    }
  }
  return last;
}

}  // namespace

ActivationCache cache_values(const Graph& g, const CalibBatchFn& calib, const std::vector<ValueId>& values,
                             const CacheOptions& opt, const ValueHook& hook) {
  ActivationCache cache(values, opt);
  const Executor ex(g);
  const ValueId stop = last_produced(g, values);
  TensorF32 x;
  int64_t i = 0;
  for (; calib(i, x); ++i)
    ex.run(
        {x},
        [&](ValueId v, TensorF32& t) {
          if (hook) hook(v, t);
          if (cache.has(v)) cache.append(v, t);
        },
        stop);
  if (i == 0) throw Error("reconstruction: the calibration source produced no batch");
  return cache;
}

ActivationCache fisher_weights(const Graph& q, const Unit& u, ValueId logits, const ActivationCache& fp_logits,
                               const CalibBatchFn& calib, const ValueHook& hook, float damping,
                               const CacheOptions& opt) {
  ActivationCache out(u.outputs, opt);
  const Unit rest = rest_of_graph_unit(q, u);
  const Executor ex(q);
  std::unique_ptr<UnitRunner> runner = rest.nodes.empty() ? nullptr : std::make_unique<UnitRunner>(q, rest);
  TensorF32 x;
  int64_t first = 0;
  for (int64_t i = 0; calib(i, x); ++i) {
    std::vector<TensorF32> rest_in(rest.inputs.size());
    TensorF32 q_logits;
    ex.run(
        {x},
        [&](ValueId v, TensorF32& t) {
          if (hook) hook(v, t);
          for (size_t k = 0; k < rest.inputs.size(); ++k)
            if (rest.inputs[k] == v) rest_in[k] = t;
          if (v == logits && rest.nodes.empty()) q_logits = t;
        },
        rest.nodes.empty() ? logits : last_produced(q, rest.inputs));
    const int64_t B = x.dim(0);
    const TensorF32 fpl = fp_logits.read(logits, first, B);
    first += B;
    std::vector<ViewF32> in(rest_in.begin(), rest_in.end());
    if (runner) {
      runner->forward(in, UnitRunOptions{});
      q_logits = TensorF32(runner->value(logits).shape);
      const ViewF32 z = runner->value(logits);
      std::copy(z.data, z.data + z.size(), q_logits.data());
    }
    TensorF32 g(q_logits.shape());
    kl_softmax_f32(fpl, q_logits, g.data());
    // per-sample KL gradients on BRECQ's scale: its batchmean over batches of kFisherBatch samples
    const float rescale = static_cast<float>(B) / static_cast<float>(kFisherBatch);
    for (float& e : g.vec()) e *= rescale;
    if (runner) runner->backward({{logits, g.view()}}, true);
    for (ValueId v : u.outputs) {
      TensorF32 w;
      if (!runner) {
        w = g;
      } else {
        const size_t k =
            static_cast<size_t>(std::find(rest.inputs.begin(), rest.inputs.end(), v) - rest.inputs.begin());
        if (k >= rest.inputs.size()) throw Error("fisher: unit output '" + q.value(v).name + "' is not read later");
        const ViewF32 gi = runner->input_grad(k);
        w = TensorF32(gi.shape, std::vector<float>(gi.data, gi.data + gi.size()));
      }
      for (float& e : w.vec()) e = (std::fabs(e) + damping) * (std::fabs(e) + damping);
      out.append(v, w);
    }
  }
  return out;
}

}  // namespace mqcalib
