// mqcalib/src/pipeline/sensitivity.cpp: see sensitivity.h.
#include "pipeline/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>

#include "core/error.h"
#include "exec/executor.h"
#include "graph/blocks.h"
#include "pipeline/simulation.h"

namespace mqcalib {

SensitivityUnit parse_sensitivity_unit(const std::string& s) {
  if (s == "layer") return SensitivityUnit::Layer;
  if (s == "block") return SensitivityUnit::Block;
  throw Error("--unit '" + s + "': expected layer or block");
}

std::string to_string(SensitivityUnit u) { return u == SensitivityUnit::Layer ? "layer" : "block"; }

SensitivityMetric parse_sensitivity_metric(const std::string& s) {
  if (s == "nsr") return SensitivityMetric::Nsr;
  if (s == "kl") return SensitivityMetric::Kl;
  throw Error("--metric '" + s + "': expected nsr or kl");
}

std::string to_string(SensitivityMetric m) { return m == SensitivityMetric::Nsr ? "nsr" : "kl"; }

double metric_of(const SensitivityRow& r, SensitivityMetric m) { return m == SensitivityMetric::Nsr ? r.nsr : r.kl; }

std::vector<SensitivityUnitDef> sensitivity_units(const Graph& folded, const QuantPlan& plan, SensitivityUnit unit) {
  std::vector<SensitivityUnitDef> out;
  if (unit == SensitivityUnit::Layer) {
    for (size_t i = 0; i < plan.weights.size(); ++i) out.push_back({plan.weights[i].layer, {i}, {}});
    return out;
  }
  for (const Block& b : partition_blocks(folded)) {
    SensitivityUnitDef d;
    for (size_t i = 0; i < plan.weights.size(); ++i)
      if (std::binary_search(b.nodes.begin(), b.nodes.end(), plan.weights[i].node)) d.weights.push_back(i);
    if (d.weights.empty()) continue;
    d.name = b.name.empty() ? plan.weights[d.weights.front()].layer : b.name;
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

bool is_graph_input(const Graph& g, ValueId v) {
  return std::find(g.inputs().begin(), g.inputs().end(), v) != g.inputs().end();
}

// The activation observers of every planned point, fed with the FP model over every calibration batch.
std::vector<std::unique_ptr<Observer>> observe_fp_activations(const SensitivityInputs& in, const ProgressFn& progress) {
  std::vector<std::unique_ptr<Observer>> obs;
  for (const ActQuantPoint& a : in.plan.activations) {
    ObserverOptions o = in.a_observer.options;
    o.granularity = Granularity::PerTensor;
    obs.push_back(
        ObserverRegistry::instance().create(is_graph_input(in.folded, a.value) ? "minmax" : in.a_observer.name, o));
  }
  const ValueHook hook = [&](ValueId v, TensorF32& t) {
    const int p = in.plan.act_index(v);
    if (p < 0) return;
    try {
      obs[static_cast<size_t>(p)]->observe(t.view());
    } catch (const Error& e) {
      throw Error("activation '" + in.plan.activations[static_cast<size_t>(p)].tensor + "': " + e.what());
    }
  };
  const Executor ex(in.folded);
  const BatchSource batches = in.calib.batches(in.calib.batch());
  TensorF32 x;
  for (int64_t i = 0; batches(i, x); ++i) {
    ex.run({x}, hook);
    if (progress)
      progress("sensitivity observe", std::min(in.calib.size(), (i + 1) * in.calib.batch()), in.calib.size());
  }
  return obs;
}

QParams weight_params_at(const SensitivityInputs& in, const WeightQuantPoint& w, int bits) {
  QScheme s = w.scheme;
  s.bits = bits;
  ObserverOptions o = in.w_observer.options;
  o.granularity = s.granularity;
  o.axis = s.axis;
  std::unique_ptr<Observer> obs = ObserverRegistry::instance().create(in.w_observer.name, o);
  try {
    obs->observe(in.folded.nodes().at(w.node).params.weight.view());
    return choose_qparams(s, obs->finalize(s), w.tensor);
  } catch (const Error& e) {
    throw Error("weight '" + w.tensor + "': " + e.what());
  }
}

// Sums of one row's comparison of quantized against FP logits.
struct LogitSums {
  double signal = 0, noise = 0, kl = 0;
  int64_t samples = 0;
  void add(const TensorF32& fp, const TensorF32& q) {
    const int64_t n = fp.dim(0), k = fp.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      const float* z = fp.data() + i * k;
      const float* zq = q.data() + i * k;
      double mz = z[0], mq = zq[0];
      for (int64_t j = 0; j < k; ++j) {
        const double d = static_cast<double>(z[j]) - static_cast<double>(zq[j]);
        signal += static_cast<double>(z[j]) * static_cast<double>(z[j]);
        noise += d * d;
        mz = std::max(mz, static_cast<double>(z[j]));
        mq = std::max(mq, static_cast<double>(zq[j]));
      }
      double sz = 0, sq = 0;
      for (int64_t j = 0; j < k; ++j) {
        sz += std::exp(static_cast<double>(z[j]) - mz);
        sq += std::exp(static_cast<double>(zq[j]) - mq);
      }
      const double lz = mz + std::log(sz), lq = mq + std::log(sq);
      for (int64_t j = 0; j < k; ++j) {
        const double lp = static_cast<double>(z[j]) - lz, lpq = static_cast<double>(zq[j]) - lq;
        kl += std::exp(lp) * (lp - lpq);
      }
    }
    samples += n;
  }
};

// FP predictions and labels of the evaluation data, once.
struct EvalTruth {
  std::vector<int64_t> fp_pred, labels;
  int64_t fp_correct = 0;
};

EvalTruth eval_truth(const Graph& g, const LabeledBatchSource& src, const std::string& labels_name) {
  EvalTruth t;
  const Executor ex(g);
  TensorF32 x;
  std::vector<int64_t> y;
  for (int64_t i = 0; src(i, x, y); ++i) {
    const TensorF32 logits = ex.run({x}).at(0);
    const std::vector<int64_t> p = argmax_rows(logits);
    for (size_t k = 0; k < y.size(); ++k)
      if (y[k] < 0 || y[k] >= logits.dim(1))
        throw Error("labels '" + labels_name + "': sample " + std::to_string(t.labels.size() + k) + " has label " +
                    std::to_string(y[k]) + " but the model has " + std::to_string(logits.dim(1)) + " classes");
    t.fp_pred.insert(t.fp_pred.end(), p.begin(), p.end());
    t.labels.insert(t.labels.end(), y.begin(), y.end());
  }
  for (size_t k = 0; k < t.labels.size(); ++k) t.fp_correct += t.fp_pred[k] == t.labels[k];
  return t;
}

double top1_of(const Executor& ex, const ValueHook& hook, const LabeledBatchSource& src, const EvalTruth& t) {
  TensorF32 x;
  std::vector<int64_t> y;
  int64_t correct = 0, seen = 0;
  for (int64_t i = 0; src(i, x, y); ++i) {
    const std::vector<int64_t> p = argmax_rows(ex.run({x}, hook).at(0));
    for (size_t k = 0; k < p.size(); ++k) correct += p[k] == t.labels.at(static_cast<size_t>(seen) + k);
    seen += static_cast<int64_t>(p.size());
  }
  return seen ? 100.0 * static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

}  // namespace

namespace {

// What every row reads: observers, FP logits and predictions, the working copy of the model.
class RowMeasurer {
 public:
  RowMeasurer(const SensitivityInputs& in, const SensitivityRequest& req, const ProgressFn& progress)
      : in_(in), req_(req), act_obs_(observe_fp_activations(in, progress)), work_(in.folded), q_ex_(work_) {
    samples_ = std::min(req.samples, in.calib.size());
    first_ = in.calib.first(samples_, in.calib.batch());
    const Executor fp_ex(in.folded);
    TensorF32 x;
    for (int64_t i = 0; first_(i, x); ++i) fp_logits_.push_back(fp_ex.run({x}).at(0));
    if (req.eval) truth_ = eval_truth(in.folded, *req.eval, req.eval_labels_name);
  }
  int64_t samples() const { return samples_; }
  const EvalTruth& truth() const { return truth_; }

  SensitivityRow measure(const SensitivityUnitDef& u, const BitOption& opt) {
    SensitivityRow row;
    row.unit = u.name;
    row.w_bits = opt.w_bits;
    row.a_bits = opt.a_bits;
    std::vector<ValueId> values;
    std::vector<QParams> aparams;
    std::vector<std::string> names;
    std::vector<TensorF32> saved;
    for (size_t wi : u.weights) {
      const WeightQuantPoint& w = in_.plan.weights[wi];
      row.layers.push_back(w.layer);
      TensorF32& weight = work_.nodes().at(w.node).params.weight;
      saved.push_back(weight);
      apply_weight_quant(weight, weight_params(wi, opt.w_bits), {}, w.tensor);
      const int a = in_.plan.act_index(w.input);
      if (a < 0 || std::find(values.begin(), values.end(), w.input) != values.end()) continue;
      const ActQuantPoint& ap = in_.plan.activations[static_cast<size_t>(a)];
      QScheme s = ap.scheme;
      s.bits = opt.a_bits;
      values.push_back(w.input);
      aparams.push_back(choose_qparams(s, act_obs_[static_cast<size_t>(a)]->finalize(s), ap.tensor));
      names.push_back(ap.tensor);
    }
    const ActivationQuantizers aq(in_.folded.values().size(), values, std::move(aparams), std::move(names));
    const ValueHook hook = aq.hook();
    LogitSums sums;
    TensorF32 x;
    for (int64_t i = 0; first_(i, x); ++i) sums.add(fp_logits_.at(static_cast<size_t>(i)), q_ex_.run({x}, hook).at(0));
    row.nsr = sums.signal > 0 ? sums.noise / sums.signal : 0.0;
    row.sqnr_db =
        sums.noise > 0 ? 10.0 * std::log10(sums.signal / sums.noise) : std::numeric_limits<double>::infinity();
    row.kl = sums.samples ? sums.kl / static_cast<double>(sums.samples) : 0.0;
    if (req_.eval) row.top1 = top1_of(q_ex_, hook, *req_.eval, truth_);
    for (size_t k = 0; k < u.weights.size(); ++k)
      work_.nodes().at(in_.plan.weights[u.weights[k]].node).params.weight = std::move(saved[k]);
    return row;
  }

 private:
  const QParams& weight_params(size_t wi, int bits) {
    auto it = wparams_.find({wi, bits});
    if (it == wparams_.end())
      it = wparams_.emplace(std::make_pair(wi, bits), weight_params_at(in_, in_.plan.weights[wi], bits)).first;
    return it->second;
  }

  const SensitivityInputs& in_;
  const SensitivityRequest& req_;
  std::vector<std::unique_ptr<Observer>> act_obs_;
  Graph work_;
  Executor q_ex_;
  int64_t samples_ = 0;
  BatchSource first_;
  std::vector<TensorF32> fp_logits_;
  EvalTruth truth_;
  std::map<std::pair<size_t, int>, QParams> wparams_;
};

}  // namespace

SensitivityResult measure_sensitivity(const SensitivityInputs& in, const SensitivityRequest& req,
                                      const ProgressFn& progress) {
  if (req.samples <= 0) throw Error("--samples must be positive, got " + std::to_string(req.samples));
  int64_t total = 0;
  for (const SensitivityUnitDef& u : req.units) {
    for (size_t w : u.weights)
      if (w >= in.plan.weights.size()) throw Error("sensitivity: unit '" + u.name + "' names no planned layer");
    const size_t n = (u.options.empty() ? req.options : u.options).size();
    if (n == 0) throw Error("sensitivity: no bit option to measure unit '" + u.name + "' at");
    total += static_cast<int64_t>(n);
  }
  RowMeasurer m(in, req, progress);
  SensitivityResult res;
  res.samples = m.samples();
  if (req.eval) {
    res.eval_samples = static_cast<int64_t>(m.truth().labels.size());
    res.fp_top1 = res.eval_samples ? 100.0 * static_cast<double>(m.truth().fp_correct) /
                                         static_cast<double>(res.eval_samples)
                                   : 0.0;
  }
  for (const SensitivityUnitDef& u : req.units)
    for (const BitOption& opt : u.options.empty() ? req.options : u.options) {
      res.rows.push_back(m.measure(u, opt));
      if (progress) progress("sensitivity", static_cast<int64_t>(res.rows.size()), total);
    }
  return res;
}

namespace {

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) rank[idx[k]] = r;
    i = j + 1;
  }
  return rank;
}

}  // namespace

double spearman_rank_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2)
    throw Error("spearman: needs two series of the same length >= 2, got " + std::to_string(x.size()) + " and " +
                std::to_string(y.size()));
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  const double n = static_cast<double>(x.size()), mean = (n + 1.0) / 2.0;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

SensitivityReport sensitivity_report(SensitivityResult result, SensitivityUnit unit, SensitivityMetric metric) {
  SensitivityReport r;
  r.granularity = to_string(unit);
  r.samples = result.samples;
  r.metric = to_string(metric);
  r.fp_top1 = result.fp_top1;
  r.eval_samples = result.eval_samples;
  r.rows = std::move(result.rows);
  std::stable_sort(r.rows.begin(), r.rows.end(), [metric](const SensitivityRow& a, const SensitivityRow& b) {
    return metric_of(a, metric) > metric_of(b, metric);
  });
  const bool all_evaluated = r.fp_top1 && r.rows.size() >= 2 &&
                             std::all_of(r.rows.begin(), r.rows.end(), [](const SensitivityRow& s) { return s.top1.has_value(); });
  if (all_evaluated) {
    std::vector<double> m, drop;
    for (const SensitivityRow& s : r.rows) {
      m.push_back(metric_of(s, metric));
      drop.push_back(*r.fp_top1 - *s.top1);
    }
    r.spearman = spearman_rank_correlation(m, drop);
  }
  return r;
}

}  // namespace mqcalib
