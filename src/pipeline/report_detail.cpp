// mqcalib/src/pipeline/report_detail.cpp: see report_detail.h.
#include "pipeline/report_detail.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/stats.h"
#include "exec/executor.h"
#include "pipeline/outliers.h"

namespace mqcalib {

void histogram_f32(const float* x, int64_t n, float lo, float hi, std::vector<int64_t>& counts) {
  const int64_t bins = static_cast<int64_t>(counts.size());
  if (bins == 0) return;
  const double width = static_cast<double>(hi) - static_cast<double>(lo);
  for (int64_t i = 0; i < n; ++i) {
    int64_t b = 0;
    if (width > 0) {
      const double t = (static_cast<double>(x[i]) - static_cast<double>(lo)) / width * static_cast<double>(bins);
      b = t <= 0 ? 0 : std::min<int64_t>(bins - 1, static_cast<int64_t>(t));
    }
    ++counts[static_cast<size_t>(b)];
  }
}

namespace {

// Per point: every registered observer and the min / max of what it saw.
struct PointObservers {
  std::vector<std::unique_ptr<Observer>> observers;
  ScanResult scan;
};

std::vector<PointObservers> observe_all(const Executor& ex, const QuantPlan& plan, const BatchSource& first,
                                        const ObserverChoice& a_observer) {
  const std::vector<std::string> names = ObserverRegistry::instance().names();
  std::vector<PointObservers> pts(plan.activations.size());
  for (PointObservers& p : pts)
    for (const std::string& n : names) {
      ObserverOptions o = a_observer.options;
      o.granularity = Granularity::PerTensor;
      o.exact_limit = std::min(o.exact_limit, kDetailExactLimit);
      p.observers.push_back(ObserverRegistry::instance().create(n, o));
    }
  const ValueHook hook = [&](ValueId v, TensorF32& t) {
    const int k = plan.act_index(v);
    if (k < 0) return;
    PointObservers& p = pts[static_cast<size_t>(k)];
    p.scan.merge(scan_f32_parallel(t.data(), t.size()));
    for (auto& o : p.observers) o->observe(t.view());
  };
  const RunOptions run = point_hook_run(plan, hook);
  TensorF32 x;
  for (int64_t i = 0; first(i, x); ++i) ex.run({x}, run);
  return pts;
}

std::vector<ActivationHistogram> histograms(const Simulation& sim, const QuantPlan& plan, const QuantState& state,
                                            const SampleStore& calib, const ObserverChoice& a_observer) {
  const Executor ex(sim.graph);
  const int64_t samples = std::min(kDetailSamples, calib.size());
  const BatchSource first = calib.first(samples, calib.batch());
  const std::vector<PointObservers> pts = observe_all(ex, plan, first, a_observer);
  std::vector<ActivationHistogram> out(plan.activations.size());
  for (size_t k = 0; k < out.size(); ++k) {
    ActivationHistogram& h = out[k];
    const ActQuant& q = state.activations.at(k);
    h.tensor = q.point.tensor;
    h.samples = samples;
    h.lo = pts[k].scan.min;
    h.hi = pts[k].scan.max;
    h.counts.assign(kHistogramBins, 0);
    h.observer = q.observer;
    h.clip_min = q.range.min.at(0);
    h.clip_max = q.range.max.at(0);
    for (const auto& o : pts[k].observers) {
      try {
        const Range r = o->finalize(q.point.scheme);
        h.alternatives.push_back({std::string(o->name()), r.min.at(0), r.max.at(0)});
      } catch (const Error& e) {
        throw Error("report: activation '" + h.tensor + "', observer '" + std::string(o->name()) + "': " + e.what());
      }
    }
  }
  const ValueHook count = [&](ValueId v, TensorF32& t) {
    const int k = plan.act_index(v);
    if (k < 0) return;
    ActivationHistogram& h = out[static_cast<size_t>(k)];
    histogram_f32(t.data(), t.size(), h.lo, h.hi, h.counts);
  };
  TensorF32 x;
  for (int64_t i = 0; first(i, x); ++i) ex.run({x}, count);
  return out;
}

}  // namespace

ReportDetail report_detail(const Simulation& sim, const QuantPlan& plan, const QuantState& state,
                           const SampleStore& calib, const std::vector<WeightStats>& weight_stats,
                           const ObserverChoice& a_observer) {
  MQCALIB_ASSERT(state.activations.size() == plan.activations.size() && state.weights.size() == plan.weights.size(),
                 "report detail needs the state aligned with the plan");
  ReportDetail d;
  d.histograms = histograms(sim, plan, state, calib, a_observer);
  for (const WeightQuant& w : state.weights) {
    const auto s = std::find_if(weight_stats.begin(), weight_stats.end(),
                                [&](const WeightStats& ws) { return ws.node == w.point.layer; });
    if (s == weight_stats.end()) throw Error("report: no weight statistics for layer '" + w.point.layer + "'");
    ChannelRanges c;
    c.layer = w.point.layer;
    c.min = s->channel_min;
    c.max = s->channel_max;
    c.outlier_channels = outlier_channels(c.min, c.max);
    c.per_channel = w.point.scheme.granularity == Granularity::PerChannel;
    d.channel_ranges.push_back(std::move(c));
  }
  return d;
}

double logits_sqnr_db(const Graph& fp, const Simulation& sim, const SampleStore& calib, int64_t samples) {
  const Executor fp_ex(fp), q_ex(sim.graph);
  const RunOptions run = sim.run_options(sim.activations.hook());
  const BatchSource first = calib.first(std::min(samples, calib.size()), calib.batch());
  SqnrSums sums;
  TensorF32 x;
  for (int64_t i = 0; first(i, x); ++i) {
    const TensorF32 z = fp_ex.run({x}).at(0);
    const TensorF32 zq = q_ex.run({x}, run).at(0);
    sums.add(sqnr_sums_f32(z.data(), zq.data(), z.size()));
  }
  return sums.db();
}

}  // namespace mqcalib
