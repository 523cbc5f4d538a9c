#include "pipeline/quantized_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

#include "core/error.h"
#include "core/parallel.h"
#include "core/quantize.h"

namespace mqcalib {

double sqnr_db(const float* x, const float* q, int64_t n) {
  double s = 0, e = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(q[i]);
    s += static_cast<double>(x[i]) * x[i];
    e += d * d;
  }
  if (e == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(s / e);
}

double SqnrAccumulator::db(size_t i) const {
  if (noise.at(i) == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal.at(i) / noise.at(i));
}

void quantize_weights(QuantizedModel& m, const std::string& observer, const ObserverOptions& base) {
  m.w_observer = observer;
  m.weight_params.clear();
  m.weight_ranges.clear();
  for (const WeightQuantPoint& w : m.plan.weights) {
    Node& n = m.graph.nodes().at(w.node);
    ObserverOptions o = base;
    o.granularity = w.scheme.granularity;
    o.axis = w.scheme.axis;
    std::unique_ptr<Observer> obs = ObserverRegistry::instance().create(observer, o);
    try {
      obs->observe(n.params.weight.view());
    } catch (const Error& e) {
      throw Error("weight '" + w.tensor + "': " + e.what());
    }
    const Range r = obs->finalize(w.scheme);
    QParams p = choose_qparams(w.scheme, r, w.tensor);
    fake_quantize_f32(n.params.weight.view(), p, n.params.weight.data());
    m.weight_ranges.push_back(r);
    m.weight_params.push_back(std::move(p));
  }
}

void calibrate_activations(QuantizedModel& m, const std::string& observer, const ObserverOptions& base,
                           const BatchSource& next_batch, const ProgressFn& progress) {
  m.a_observer = observer;
  const size_t np = m.plan.activations.size();
  std::vector<std::unique_ptr<Observer>> obs(np);
  std::vector<int> point_of(m.graph.values().size(), -1);
  m.act_observers.assign(np, observer);
  const std::vector<ValueId>& graph_inputs = m.graph.inputs();
  for (size_t i = 0; i < np; ++i) {
    ObserverOptions o = base;
    o.granularity = Granularity::PerTensor;  // activations are per-tensor on every backend
    const ValueId v = m.plan.activations[i].value;
    if (std::find(graph_inputs.begin(), graph_inputs.end(), v) != graph_inputs.end()) m.act_observers[i] = "minmax";
    obs[i] = ObserverRegistry::instance().create(m.act_observers[i], o);
    point_of[static_cast<size_t>(m.plan.activations[i].value)] = static_cast<int>(i);
  }
  Executor ex(m.graph);
  std::vector<float> lo(np, std::numeric_limits<float>::infinity()), hi(np, -std::numeric_limits<float>::infinity());
  std::vector<double> sumsq(np, 0.0), count(np, 0.0);
  int64_t batch_index = 0;
  constexpr int64_t kStatsBatches = 4;
  const ValueHook hook = [&](ValueId v, TensorF32& t) {
    const int p = point_of[static_cast<size_t>(v)];
    if (p < 0) return;
    const size_t k = static_cast<size_t>(p);
    try {
      obs[k]->observe(t.view());
    } catch (const Error& e) {
      throw Error("activation '" + m.plan.activations[k].tensor + "': " + e.what());
    }
    // Report statistics (min, max, RMS) over the first kStatsBatches batches only: they feed the
    // outlier findings and report.json, not the parameters, and a full extra pass over every
    // activation cost ~10% of the forward (bench/quantize). Fixed chunks, partials merged in chunk
    // order: the same bits at any thread count (src/core/parallel.h).
    if (batch_index >= kStatsBatches) return;
    const float* d = t.data();
    constexpr int64_t kChunk = 1 << 15;
    const int64_t nc = num_chunks(t.size(), kChunk);
    std::vector<float> cl(static_cast<size_t>(nc)), ch(static_cast<size_t>(nc));
    std::vector<double> cs(static_cast<size_t>(nc));
    parallel_for_chunks(t.size(), kChunk, [&](int64_t b, int64_t e, int64_t c) {
      // kLanes independent accumulators in a fixed pattern, so the loop vectorizes without
      // reassociation (-ffp-contract=off, no fast-math) and the result is the same on every run.
      constexpr int kLanes = 16;
      float lv[kLanes], hv[kLanes], sv[kLanes];
      for (int q = 0; q < kLanes; ++q) {
        lv[q] = std::numeric_limits<float>::infinity();
        hv[q] = -lv[q];
        sv[q] = 0.0f;
      }
      int64_t j = b;
      for (; j + kLanes <= e; j += kLanes)
        for (int q = 0; q < kLanes; ++q) {
          const float v = d[j + q];
          lv[q] = v < lv[q] ? v : lv[q];
          hv[q] = v > hv[q] ? v : hv[q];
          sv[q] += v * v;
        }
      float l = lv[0], h = hv[0], s = 0.0f;
      for (int q = 0; q < kLanes; ++q) {
        l = std::min(l, lv[q]);
        h = std::max(h, hv[q]);
        s += sv[q];
      }
      for (; j < e; ++j) {
        l = std::min(l, d[j]);
        h = std::max(h, d[j]);
        s += d[j] * d[j];
      }
      cl[static_cast<size_t>(c)] = l;
      ch[static_cast<size_t>(c)] = h;
      cs[static_cast<size_t>(c)] = s;
    });
    for (int64_t c = 0; c < nc; ++c) {
      lo[k] = std::min(lo[k], cl[static_cast<size_t>(c)]);
      hi[k] = std::max(hi[k], ch[static_cast<size_t>(c)]);
      sumsq[k] += cs[static_cast<size_t>(c)];
    }
    count[k] += static_cast<double>(t.size());
  };
  TensorF32 x;
  int64_t i = 0;
  while (next_batch(i, x)) {
    batch_index = i;
    ex.run({x}, hook);
    ++i;
    if (progress) progress("calibrate", i, -1);
  }
  if (i == 0) throw Error("calibration: the calibration source produced no batch");

  m.act_minmax.assign(np, Range{});
  m.act_rms.assign(np, 0.0);
  for (size_t k = 0; k < np; ++k) {
    m.act_minmax[k] = Range{{lo[k]}, {hi[k]}};
    m.act_rms[k] = count[k] > 0 ? std::sqrt(sumsq[k] / count[k]) : 0.0;
  }
  m.act_ranges.assign(np, Range{});
  for (size_t k = 0; k < np; ++k) m.act_ranges[k] = obs[k]->finalize(m.plan.activations[k].scheme);
  // Shared-scale groups (concat): the union of the members' ranges.
  std::vector<Range> used = m.act_ranges;
  for (size_t k = 0; k < np; ++k) {
    const int g = m.plan.activations[k].group;
    if (g < 0) continue;
    for (size_t j = 0; j < np; ++j)
      if (m.plan.activations[j].group == g) {
        used[k].min[0] = std::min(used[k].min[0], m.act_ranges[j].min[0]);
        used[k].max[0] = std::max(used[k].max[0], m.act_ranges[j].max[0]);
      }
  }
  m.act_params.clear();
  for (size_t k = 0; k < np; ++k)
    m.act_params.push_back(choose_qparams(m.plan.activations[k].scheme, used[k], m.plan.activations[k].tensor));
}

// bias_q = clamp(round(b / (s_in * s_w[c])), int32) * (s_in * s_w[c]); round = half-to-even, as
// integer runtimes quantize biases offline. The bias grid is int32, zero point 0.
void quantize_biases(QuantizedModel& m) {
  m.bias_params.assign(m.plan.weights.size(), QParams{});
  for (size_t k = 0; k < m.plan.weights.size(); ++k) {
    const WeightQuantPoint& w = m.plan.weights[k];
    Node& n = m.graph.nodes().at(w.node);
    if (n.params.bias.empty() || n.params.bias.size() == 0) continue;
    const int a = m.plan.act_index(w.input);
    if (a < 0) continue;  // input stays fp32 (skip): the runtime keeps a float bias too
    const float s_in = m.act_params.at(static_cast<size_t>(a)).scale.at(0);
    const QParams& wp = m.weight_params[k];
    const int64_t oc = n.params.bias.size();
    QParams bp;
    bp.qmin = std::numeric_limits<int32_t>::min();
    bp.qmax = std::numeric_limits<int32_t>::max();
    bp.rounding = Rounding::HalfToEven;
    bp.axis = oc > 1 || wp.per_channel() ? 0 : -1;
    for (int64_t c = 0; c < oc; ++c) {
      const float s_w = wp.scale.at(wp.per_channel() ? static_cast<size_t>(c) : 0);
      bp.scale.push_back(s_in * s_w);
      bp.zero_point.push_back(0);
    }
    if (bp.axis < 0) {
      bp.scale.resize(1);
      bp.zero_point.resize(1);
    }
    // Fake-quantize in double: int32 does not fit a float mantissa.
    float* b = n.params.bias.data();
    for (int64_t c = 0; c < oc; ++c) {
      const double s = bp.scale[bp.axis < 0 ? 0 : static_cast<size_t>(c)];
      double q = std::nearbyint(static_cast<double>(b[c]) / s);
      q = std::min<double>(std::max<double>(q, bp.qmin), bp.qmax);
      b[c] = static_cast<float>(q * s);
    }
    m.bias_params[k] = std::move(bp);
  }
}

ValueHook simulation_hook(const QuantizedModel& m, SqnrAccumulator* sqnr) {
  auto point_of = std::make_shared<std::vector<int>>(m.graph.values().size(), -1);
  for (size_t i = 0; i < m.plan.activations.size(); ++i)
    (*point_of)[static_cast<size_t>(m.plan.activations[i].value)] = static_cast<int>(i);
  if (sqnr) {
    sqnr->signal.assign(m.plan.activations.size(), 0.0);
    sqnr->noise.assign(m.plan.activations.size(), 0.0);
  }
  const QuantizedModel* mp = &m;
  return [mp, point_of, sqnr](ValueId v, TensorF32& t) {
    const int p = (*point_of)[static_cast<size_t>(v)];
    if (p < 0) return;
    const QParams& qp = mp->act_params[static_cast<size_t>(p)];
    if (!sqnr) {
      fake_quantize_f32(t.view(), qp, t.data());
      return;
    }
    TensorF32 q(t.shape());
    fake_quantize_f32(t.view(), qp, q.data());
    double s = 0, e = 0;
    const float* x = t.data();
    for (int64_t i = 0; i < t.size(); ++i) {
      const double d = static_cast<double>(x[i]) - q[i];
      s += static_cast<double>(x[i]) * x[i];
      e += d * d;
    }
    sqnr->signal[static_cast<size_t>(p)] += s;
    sqnr->noise[static_cast<size_t>(p)] += e;
    t = std::move(q);
  };
}

}  // namespace mqcalib
