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
#include "graph/segment.h"
#include "pipeline/simulation.h"

namespace mqcalib {

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
  const ValueHook hook = [&](ValueId v, TensorF32& t) { observe_point(in.plan, obs, v, t); };
  const Executor ex(in.folded);
  const RunOptions run = point_hook_run(in.plan, hook);
  const BatchSource batches = in.calib.batches(in.calib.batch());
  TensorF32 x;
  for (int64_t i = 0; batches(i, x); ++i) {
    ex.run({x}, run);
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

// The node a unit's suffix starts at: right after the producer of its layers' earliest input, so every
// reader of a quantized input is inside the suffix.
size_t unit_start(const Graph& g, const QuantPlan& plan, const SensitivityUnitDef& u) {
  size_t b = g.nodes().size();
  for (size_t w : u.weights) {
    const int64_t p = g.producer(plan.weights[w].input);
    b = std::min(b, p < 0 ? size_t{0} : static_cast<size_t>(p) + 1);
  }
  return b;
}

// The FP values live at a node boundary, per batch of the compared samples, moved forward by running
// only the nodes between two boundaries: over all units, one FP pass in all.
class Boundary {
 public:
  Boundary(const Graph& g, const BatchSource& first) : g_(g) {
    TensorF32 x;
    for (int64_t i = 0; first(i, x); ++i) live_.push_back({{g.inputs().at(0), x}});
  }
  // Moves to node `to` (>= the current one); `suffix` is graph_segment(g, to, end): its inputs are live.
  void advance(size_t to, const Graph& suffix) {
    if (to != at_) {
      const Graph seg = graph_segment(g_, at_, to);
      const Executor ex(seg);
      for (auto& vals : live_) {
        std::vector<TensorF32> in;
        for (ValueId v : seg.inputs()) in.push_back(vals.at(v));
        std::vector<TensorF32> out = ex.run(in);
        for (size_t k = 0; k < out.size(); ++k) vals[seg.outputs()[k]] = std::move(out[k]);
      }
      at_ = to;
    }
    for (auto& vals : live_) {  // keep only what the suffix reads
      std::map<ValueId, TensorF32> kept;
      for (ValueId v : suffix.inputs()) kept[v] = std::move(vals.at(v));
      vals = std::move(kept);
    }
  }
  size_t batches() const { return live_.size(); }
  std::vector<TensorF32> inputs(size_t batch, const Graph& suffix) const {
    std::vector<TensorF32> in;
    for (ValueId v : suffix.inputs()) in.push_back(live_[batch].at(v));
    return in;
  }

 private:
  const Graph& g_;
  size_t at_ = 0;
  std::vector<std::map<ValueId, TensorF32>> live_;
};

// What every row reads: observers, FP logits and predictions, the FP values at the current unit's start.
class RowMeasurer {
 public:
  RowMeasurer(const SensitivityInputs& in, const SensitivityRequest& req, const ProgressFn& progress)
      : in_(in), req_(req), act_obs_(observe_fp_activations(in, progress)), work_(in.folded), q_ex_(work_) {
    samples_ = std::min(req.samples, in.calib.size());
    first_ = in.calib.first(samples_, in.calib.batch());
    const Executor fp_ex(in.folded);
    TensorF32 x;
    for (int64_t i = 0; first_(i, x); ++i) fp_logits_.push_back(fp_ex.run({x}).at(0));
    boundary_ = std::make_unique<Boundary>(in.folded, first_);
    if (req.eval) truth_ = eval_truth(in.folded, *req.eval, req.eval_labels_name);
  }
  int64_t samples() const { return samples_; }
  const EvalTruth& truth() const { return truth_; }

  // Units must come in ascending unit_start order.
  void start_unit(const SensitivityUnitDef& u) {
    start_ = unit_start(in_.folded, in_.plan, u);
    suffix_ = graph_segment(in_.folded, start_, in_.folded.nodes().size());
    boundary_->advance(start_, suffix_);
  }

  SensitivityRow measure(const SensitivityUnitDef& u, const BitOption& opt) {
    SensitivityRow row;
    row.unit = u.name;
    row.w_bits = opt.w_bits;
    row.a_bits = opt.a_bits;
    std::vector<ValueId> values;
    std::vector<QParams> aparams;
    std::vector<std::string> names;
    for (size_t wi : u.weights) {
      const WeightQuantPoint& w = in_.plan.weights[wi];
      row.layers.push_back(w.layer);
      const QParams& qp = weight_params(wi, opt.w_bits);
      apply_weight_quant(work_.nodes().at(w.node).params.weight, qp, {}, w.tensor);
      apply_weight_quant(suffix_.nodes().at(w.node - start_).params.weight, qp, {}, w.tensor);
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
    const Executor sx(suffix_);
    for (size_t i = 0; i < boundary_->batches(); ++i)
      sums.add(fp_logits_.at(i), sx.run(boundary_->inputs(i, suffix_), hook).at(0));
    row.nsr = sums.signal > 0 ? sums.noise / sums.signal : 0.0;
    row.sqnr_db =
        sums.noise > 0 ? 10.0 * std::log10(sums.signal / sums.noise) : std::numeric_limits<double>::infinity();
    row.kl = sums.samples ? sums.kl / static_cast<double>(sums.samples) : 0.0;
    if (req_.eval) row.top1 = top1_of(q_ex_, hook, *req_.eval, truth_);
    for (size_t wi : u.weights) {  // back to FP
      const size_t node = in_.plan.weights[wi].node;
      work_.nodes().at(node).params.weight = in_.folded.nodes().at(node).params.weight;
      suffix_.nodes().at(node - start_).params.weight = in_.folded.nodes().at(node).params.weight;
    }
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
  Graph work_;  // the whole model (evaluation), FP but for the row's unit
  Executor q_ex_;
  Graph suffix_;  // the current unit's suffix (nodes from start_ on), FP but for the row's unit
  size_t start_ = 0;
  std::unique_ptr<Boundary> boundary_;
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
  if (in.folded.inputs().size() != 1 || in.folded.outputs().size() != 1)
    throw Error("sensitivity: the model must have one input and one output (logits)");
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
    res.fp_top1 = res.eval_samples
                      ? 100.0 * static_cast<double>(m.truth().fp_correct) / static_cast<double>(res.eval_samples)
                      : 0.0;
  }
  // Units in the order their suffixes start (the boundary only moves forward), rows back in request order.
  std::vector<size_t> order(req.units.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return unit_start(in.folded, in.plan, req.units[a]) < unit_start(in.folded, in.plan, req.units[b]);
  });
  std::vector<std::vector<SensitivityRow>> rows(req.units.size());
  int64_t done = 0;
  for (size_t k : order) {
    const SensitivityUnitDef& u = req.units[k];
    m.start_unit(u);
    for (const BitOption& opt : u.options.empty() ? req.options : u.options) {
      rows[k].push_back(m.measure(u, opt));
      if (progress) progress("sensitivity", ++done, total);
    }
  }
  for (auto& r : rows)
    for (SensitivityRow& x : r) res.rows.push_back(std::move(x));
  return res;
}

}  // namespace mqcalib
