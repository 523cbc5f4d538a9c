// mqcalib/src/pipeline/verify.cpp: see verify.h.
#include "pipeline/verify.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "exec/executor.h"

namespace mqcalib {

namespace {

struct Stats {
  int64_t elements = 0, differ = 0;
  double max_lsb = 0;
};

std::vector<int64_t> argmax_last(const TensorF32& t) {
  const int64_t k = t.rank() > 0 ? t.dim(-1) : 1, n = t.size() / std::max<int64_t>(1, k);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (t[i * k + j] > t[i * k + best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

// LSB of each channel of a float output: s_x * s_w[c] of the conv/linear producing it (1 when unknown).
std::vector<float> output_lsb(const IntModel& m, ValueId v) {
  const Graph& g = *m.graph;
  const int64_t k = g.producer(v);
  if (k < 0) return {1.0f};
  const Node& n = g.nodes()[static_cast<size_t>(k)];
  const auto& w = m.weight[static_cast<size_t>(k)];
  const auto& x = m.act[static_cast<size_t>(n.inputs.at(0))];
  if (!w || !x) return {1.0f};
  std::vector<float> l;
  for (float s : w->params.scale) l.push_back(x->scale * s);
  return l;
}

// Value ids in graph order: inputs, then every node's outputs.
std::vector<ValueId> graph_order(const Graph& g) {
  std::vector<ValueId> v(g.inputs().begin(), g.inputs().end());
  for (const Node& n : g.nodes()) v.insert(v.end(), n.outputs.begin(), n.outputs.end());
  return v;
}

}  // namespace

VerifyResult verify_integer(const Simulation& sim, const IntModel& im, const VerifyBatchSource& batches,
                            const std::function<void(int64_t)>& progress, const VerifyBatchSink& sink) {
  const Graph& g = *im.graph;
  VerifyResult r;
  r.backend = im.backend;
  r.requant = std::string(to_string(im.mode.kind));
  std::map<ValueId, std::vector<float>> lsb;
  for (ValueId v : g.outputs())
    if (!im.act[static_cast<size_t>(v)]) lsb[v] = output_lsb(im, v);
  auto tracked = [&](ValueId v) { return im.act[static_cast<size_t>(v)] || lsb.count(v); };

  Executor sim_ex(sim.graph);
  IntExecutor int_ex(im);
  const ValueHook sim_quant = sim.activations.hook();
  std::map<ValueId, Stats> stats;
  std::map<ValueId, TensorF32> sim_vals;
  std::set<std::string> float_ops;
  int64_t correct_sim = 0, correct_int = 0, agree = 0;
  TensorF32 x;
  std::vector<int64_t> labels;
  for (int64_t b = 0; batches(b, x, labels); ++b) {
    sim_vals.clear();
    const std::vector<TensorF32> so = sim_ex.run({x}, sim.run_options([&](ValueId v, TensorF32& t) {
      sim_quant(v, t);
      if (tracked(v)) sim_vals[v] = t;
    }));
    const std::vector<TensorF32> io = int_ex.run({x}, [&](ValueId v, const IntTensor& t) {
      if (!tracked(v)) return;
      const TensorF32& s = sim_vals.at(v);
      Stats& st = stats[v];
      const auto a = im.act[static_cast<size_t>(v)];
      for (int64_t i = 0; i < s.size(); ++i) {
        double d = 0;
        if (a && t.is_int) {
          d = std::abs(quantize_value(s[i], *a, im.mode.rounding) - t.q[static_cast<size_t>(i)]);
        } else {
          const std::vector<float>& l = lsb.count(v) ? lsb[v] : std::vector<float>{1.0f};
          const int64_t c = t.shape.empty() ? 0 : i % t.shape.back();
          const float iv = t.is_int ? static_cast<float>(t.q[static_cast<size_t>(i)] - t.p.zp) * t.p.scale : t.f[i];
          d = std::abs(static_cast<double>(s[i]) - iv) / l[l.size() > 1 ? static_cast<size_t>(c) : 0];
        }
        st.max_lsb = std::max(st.max_lsb, d);
        st.differ += d > 0.5 ? 1 : 0;
      }
      st.elements += s.size();
    });
    float_ops.insert(int_ex.float_ops().begin(), int_ex.float_ops().end());
    const std::vector<int64_t> ps = argmax_last(so.at(0)), pi = argmax_last(io.at(0));
    for (size_t i = 0; i < ps.size(); ++i) {
      correct_sim += i < labels.size() && ps[i] == labels[i];
      correct_int += i < labels.size() && pi[i] == labels[i];
      agree += ps[i] == pi[i];
    }
    r.samples += static_cast<int64_t>(ps.size());
    if (sink) sink(x, so.at(0), io.at(0));
    if (progress) progress(r.samples);
  }
  if (r.samples == 0) throw Error("verify: the evaluation source produced no batch");
  const double n = static_cast<double>(r.samples);
  r.sim_top1 = 100.0 * static_cast<double>(correct_sim) / n;
  r.int_top1 = 100.0 * static_cast<double>(correct_int) / n;
  r.top1_agreement = 100.0 * static_cast<double>(agree) / n;
  for (ValueId v : graph_order(g)) {
    const auto it = stats.find(v);
    if (it == stats.end()) continue;
    const Stats& s = it->second;
    const std::string origin =
        im.act[static_cast<size_t>(v)] ? std::string(to_string(im.origin[static_cast<size_t>(v)])) : "output";
    r.tensors.push_back({g.value(v).name, origin, s.elements, s.max_lsb,
                         s.elements ? static_cast<double>(s.differ) / static_cast<double>(s.elements) : 0.0});
    if (r.first_parting.empty() && s.differ > 0) r.first_parting = g.value(v).name;
    if (r.first_over_one_lsb.empty() && s.max_lsb > 1.0) r.first_over_one_lsb = g.value(v).name;
  }
  r.float_ops.assign(float_ops.begin(), float_ops.end());
  for (size_t k = 0; k < g.nodes().size(); ++k) {
    const Node& n = g.nodes()[k];
    if (n.kind == OpKind::Conv2d && im.weight[k] && !im.act[static_cast<size_t>(n.outputs.at(0))])
      r.float_output_convs.push_back(n.name);
  }
  return r;
}

}  // namespace mqcalib
