// mqcalib/src/pipeline/observe.cpp: see observe.h.
#include "pipeline/observe.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <thread>
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

// Per point: its observer (a thread's own clone in the batch-parallel pass).
using PointObservers = std::vector<std::unique_ptr<Observer>>;

// The report statistics of one point over one of the first kActStatsBatches batches.
struct BatchStats {
  ScanSumSquares st;
  double count = 0.0;
};

bool is_graph_input(const Graph& g, ValueId v) {
  return std::find(g.inputs().begin(), g.inputs().end(), v) != g.inputs().end();
}

// What the calibration pass shares between its threads: read-only but for the batch reads and the
// progress count (serialized) and the statistics slots (each batch's own, written by its thread).
struct CalibrationPass {
  const Graph& graph;
  const QuantPlan& plan;
  const SampleStore& calib;
  const ProgressFn& progress;
  std::vector<std::vector<BatchStats>>& stats;  // [batch < kActStatsBatches][point]
  int64_t batches_done = 0;
  int64_t reported = -1;  // the last sample count passed to `progress`
  std::thread::id caller = std::this_thread::get_id();  // the thread that reports progress
  void report(int64_t samples) {
    if (progress && samples > reported) progress("calibrate", samples, calib.size());
    reported = std::max(reported, samples);
  }
};

// Observes the batches [begin, end) of the store into `obs` through an executor of this thread.
// Only the thread that called the pass reports progress, so the callback never runs on another.
void observe_batch_range(CalibrationPass& pass, int64_t begin, int64_t end, PointObservers& obs) {
  const bool reports = std::this_thread::get_id() == pass.caller;
  int64_t batch_index = begin;
  const ValueHook hook = [&](ValueId v, TensorF32& t) {
    const int p = observe_point(pass.plan, obs, v, t);
    if (p < 0 || batch_index >= kActStatsBatches) return;
    BatchStats& b = pass.stats[static_cast<size_t>(batch_index)][static_cast<size_t>(p)];
    b.st = scan_sum_squares_f32(t.data(), t.size());
    b.count = static_cast<double>(t.size());
  };
  const Executor ex(pass.graph);
  const RunOptions run = point_hook_run(pass.plan, hook);
  const BatchSource batches = pass.calib.batches(pass.calib.batch());
  const int64_t batch = pass.calib.batch(), size = pass.calib.size();
  TensorF32 x;
  for (; batch_index < end; ++batch_index) {
    bool got = false;
#pragma omp critical(mqcalib_calibration_batches)
    got = batches(batch_index, x);
    if (!got) break;
    ex.run({x}, run);
    int64_t done = 0;
#pragma omp atomic capture
    done = ++pass.batches_done;
    if (reports) pass.report(std::min(size, done * batch));
  }
}

// Whether every point's observer gives the same bits when contiguous runs of batches are observed
// apart and merged in order (Observer::merge_in_order_is_exact): then the pass runs on all threads,
// one run of batches each, every kernel serial inside (a forward without the barriers of intra-op
// parallelism; the results do not depend on the thread count either way).
int calibration_threads(const PointObservers& obs, int64_t batches) {
  for (const auto& o : obs)
    if (!o->merge_in_order_is_exact()) return 1;
  return static_cast<int>(std::clamp<int64_t>(num_threads(), 1, std::max<int64_t>(1, batches)));
}

// Runs the pass over every batch into `obs`: on T threads, thread t observes batches
// [nb t / T, nb (t + 1) / T) into its own clones, merged into `obs` in thread (= batch) order. The
// error of the earliest failing batch is the one thrown, as in a serial pass.
void run_calibration_pass(CalibrationPass& pass, PointObservers& obs) {
  const int64_t nb = (pass.calib.size() + pass.calib.batch() - 1) / std::max<int64_t>(1, pass.calib.batch());
  const int threads = calibration_threads(obs, nb);
  if (threads == 1) return observe_batch_range(pass, 0, nb, obs);
  std::vector<PointObservers> local(static_cast<size_t>(threads));
  for (int t = 1; t < threads; ++t)
    for (const auto& o : obs) local[static_cast<size_t>(t)].push_back(o->clone_empty());
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  // A loop, not one range per team member: inside an enclosing parallel region the team may be one
  // thread, which then runs every range in turn.
#pragma omp parallel for schedule(static, 1) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    try {
      PointObservers& mine = t == 0 ? obs : local[static_cast<size_t>(t)];
      observe_batch_range(pass, nb * t / threads, nb * (t + 1) / threads, mine);
    } catch (...) {
      errors[static_cast<size_t>(t)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  for (int t = 1; t < threads; ++t)
    for (size_t k = 0; k < obs.size(); ++k) obs[k]->merge(*local[static_cast<size_t>(t)][k]);
  pass.report(pass.calib.size());  // the other threads' last batches, reported by none of them
}

}  // namespace

int observe_point(const QuantPlan& plan, const std::vector<std::unique_ptr<Observer>>& obs, ValueId v,
                  const TensorF32& t) {
  const int p = plan.act_index(v);
  if (p < 0) return p;
  try {
    obs[static_cast<size_t>(p)]->observe(t.view());
  } catch (const Error& e) {
    throw Error("activation '" + plan.activations[static_cast<size_t>(p)].tensor + "': " + e.what());
  }
  return p;
}

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
  PointObservers obs(np);
  for (size_t i = 0; i < np; ++i) {
    ObserverOptions o = observer.options;
    o.granularity = Granularity::PerTensor;  // activations are per-tensor on every backend
    acts[i].point = plan.activations[i];
    acts[i].observer = is_graph_input(weight_quantized, acts[i].point.value) ? "minmax" : observer.name;
    obs[i] = ObserverRegistry::instance().create(acts[i].observer, o);
  }
  std::vector<std::vector<BatchStats>> stats(static_cast<size_t>(kActStatsBatches), std::vector<BatchStats>(np));
  CalibrationPass pass{weight_quantized, plan, calib, progress, stats};
  run_calibration_pass(pass, obs);
  // The points' finalizes run side by side, one thread each (an observer's own parallel loops run
  // serially inside, with the same fixed chunks, so the ranges do not change); the first failing
  // point in plan order is the one reported, at any thread count.
  parallel_for_chunks(static_cast<int64_t>(np), 1, [&](int64_t b, int64_t, int64_t) {
    const size_t k = static_cast<size_t>(b);
    ScanResult scan;
    double sumsq = 0.0, count = 0.0;
    for (const std::vector<BatchStats>& batch : stats) {  // in batch order: the sums' bits
      scan.merge(batch[k].st.scan);
      sumsq += batch[k].st.sum_squares;
      count += batch[k].count;
    }
    acts[k].stats.min = scan.min;
    acts[k].stats.max = scan.max;
    acts[k].stats.rms = count > 0 ? std::sqrt(sumsq / count) : 0.0;
    try {
      acts[k].range = obs[k]->finalize(acts[k].point.scheme);
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
