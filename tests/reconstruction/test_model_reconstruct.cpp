// BRECQ and QDrop over a whole (hand-built, ResNet-style) model on synthetic calibration data:
// every unit's loss goes down, the model output gets closer to FP than round-to-nearest, weights are
// their codes on the grid, learned steps stay legal (power of two, shared scales), results do not
// depend on the thread count or on the cache budget (everything spilled), the Fisher loss runs.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "core/quantize.h"
#include "exec/executor.h"
#include "exec/test_util.h"
#include "reconstruction/model_reconstruct.h"
#include "reconstruction/recon_test_util.h"
#include "reconstruction/unit_test_graphs.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr int64_t kSamples = 64, kBatch = 16;

struct Setup {
  ResNetLike net;
  std::vector<TensorF32> batches;
  ReconProblem problem;
  std::vector<QScheme> schemes;  // per activation
  Setup() {
    for (int64_t b = 0; b < kSamples / kBatch; ++b)
      batches.push_back(random_tensor({kBatch, 3, 8, 8}, 100 + b, -1.0f, 1.0f));
    // unit gain per layer (the builder's N(0, 0.3) weights grow activations ~3x per 3x3 layer)
    for (Node& n : net.b.g.nodes())
      if (n.kind == OpKind::Conv2d || n.kind == OpKind::Linear) {
        const float fan_in = static_cast<float>(n.params.weight.size() / n.params.weight.dim(0));
        for (float& w : n.params.weight.vec()) w /= 0.3f * std::sqrt(fan_in / 2.0f);
      }
    const Graph& g = net.b.g;
    problem.fp = &g;
    for (size_t i = 0; i < g.nodes().size(); ++i) {
      const Node& n = g.nodes()[i];
      if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear) continue;
      QScheme w;
      w.bits = 3;
      w.granularity = Granularity::PerChannel;
      const TensorF32& wt = n.params.weight;
      Range r;
      const int64_t inner = wt.size() / wt.dim(0);
      for (int64_t o = 0; o < wt.dim(0); ++o) {
        float lo = 0, hi = 0;
        for (int64_t k = 0; k < inner; ++k) lo = std::min(lo, wt[o * inner + k]), hi = std::max(hi, wt[o * inner + k]);
        r.min.push_back(lo);
        r.max.push_back(hi);
      }
      problem.weights.push_back({i, choose_qparams(w, r, n.name)});
      // its input quantized (academic placement); the first layer's input is the graph input
      ReconActivation a;
      a.value = n.inputs[0];
      bool dup = false;
      for (const ReconActivation& e : problem.activations) dup = dup || e.value == a.value;
      if (dup) continue;
      QScheme s;
      s.bits = 4;
      s.symmetry = Symmetry::Asymmetric;
      s.signedness = Signedness::Unsigned;
      if (problem.activations.size() == 1) {  // one power-of-two, symmetric quantizer
        s.symmetry = Symmetry::Symmetric;
        s.signedness = Signedness::Signed;
        s.scale_kind = ScaleKind::PowerOfTwo;
        a.power_of_two = true;
      }
      problem.activations.push_back(a);
      schemes.push_back(s);
    }
  }
  CalibBatchFn calib() const {
    return [this](int64_t i, TensorF32& x) {
      if (i >= static_cast<int64_t>(batches.size())) return false;
      x = batches[static_cast<size_t>(i)];
      return true;
    };
  }
  // min-max ranges of the activation points on a model
  ActCalibrateFn calibrate() const {
    return [this](const Graph& g, const std::vector<std::vector<int32_t>>&) {
      std::vector<Range> r(problem.activations.size(), Range{{0.0f}, {0.0f}});
      Executor ex(g);
      for (const TensorF32& x : batches)
        ex.run({x}, [&](ValueId v, TensorF32& t) {
          for (size_t k = 0; k < problem.activations.size(); ++k)
            if (problem.activations[k].value == v)
              for (float e : t.vec()) r[k].min[0] = std::min(r[k].min[0], e), r[k].max[0] = std::max(r[k].max[0], e);
        });
      std::vector<QParams> out;
      for (size_t k = 0; k < r.size(); ++k) out.push_back(choose_qparams(schemes[k], r[k], "a"));
      return out;
    };
  }
  // mean squared logit error of a result against the FP model, over the calibration batches
  double logit_mse(const ReconResult& res, bool act_quant) const {
    Graph q = net.b.g;
    for (size_t k = 0; k < problem.weights.size(); ++k)
      q.nodes()[problem.weights[k].node].params.weight = res.weights[k];
    Executor fe(net.b.g), qe(q);
    double s = 0;
    int64_t n = 0;
    for (const TensorF32& x : batches) {
      const TensorF32 f = fe.run({x})[0];
      const TensorF32 y = qe.run({x}, [&](ValueId v, TensorF32& t) {
        if (!act_quant) return;
        for (size_t k = 0; k < problem.activations.size(); ++k)
          if (problem.activations[k].value == v) fake_quantize_f32(t.view(), res.act_params[k], t.data());
      })[0];
      for (int64_t i = 0; i < f.size(); ++i) s += (f[i] - y[i]) * (f[i] - y[i]);
      n += f.size();
    }
    return s / static_cast<double>(n);
  }
};

ReconOptions options(ReconMethod m) {
  ReconOptions o;
  o.method = m;
  o.iters = 150;
  o.act_iters = 100;
  o.batch = 16;
  o.seed = 7;
  return o;
}

bool same_result(const ReconResult& a, const ReconResult& b) {
  bool ok = a.codes == b.codes && a.act_learned == b.act_learned;
  for (size_t k = 0; k < a.weights.size(); ++k) ok = ok && bit_identical(a.weights[k], b.weights[k]);
  for (size_t k = 0; k < a.act_params.size(); ++k) ok = ok && a.act_params[k].scale == b.act_params[k].scale;
  return ok;
}

void check_legal(const Setup& s, const ReconResult& r) {
  for (size_t k = 0; k < s.problem.weights.size(); ++k) {  // weights are their codes dequantized
    TensorF32 deq(r.weights[k].shape());
    dequantize_i32_f32(r.codes[k].data(), deq.shape(), s.problem.weights[k].qparams, deq.data());
    CHECK(bit_identical(deq, r.weights[k]));
  }
  const float pot = r.act_params[1].scale[0];
  CHECK(std::exp2(std::round(std::log2(pot))) == pot);
  CHECK(r.act_params[1].zero_point[0] == 0);
}

}  // namespace

TEST_CASE("BRECQ: unit losses fall, logits closer to FP than nearest, legal steps, budget- and thread-independent") {
  Setup s;
  const ReconOptions o = options(ReconMethod::Brecq);
  const ReconResult r = reconstruct_model(s.problem, s.calib(), o, s.calibrate());
  REQUIRE(r.units.size() == 10);  // 5 blocks x (rounding, steps)
  for (const UnitTrainReport& u : r.units) {
    CAPTURE(u.unit);
    CAPTURE(u.phase);
    CHECK(u.loss_after <= u.loss_before);
  }
  ReconResult nearest = r;
  for (size_t k = 0; k < s.problem.weights.size(); ++k) {
    const TensorF32& w = s.net.b.g.nodes()[s.problem.weights[k].node].params.weight;
    fake_quantize_f32(w.view(), s.problem.weights[k].qparams, nearest.weights[k].data());
  }
  nearest.act_params = s.calibrate()(s.net.b.g, {});
  CHECK(s.logit_mse(r, false) < s.logit_mse(nearest, false));
  CHECK(s.logit_mse(r, true) < s.logit_mse(nearest, true));
  for (bool learned : r.act_learned) CHECK(learned);
  check_legal(s, r);
  // shorter runs for the budget and thread-count comparisons
  ReconOptions short_run = o;
  short_run.iters = short_run.act_iters = 30;
  const ReconResult base = reconstruct_model(s.problem, s.calib(), short_run, s.calibrate());
  ReconOptions spill = short_run;
  spill.cache.ram_budget_bytes = 0;  // every cached sample on disk
  const ReconResult rs = reconstruct_model(s.problem, s.calib(), spill, s.calibrate());
  CHECK(rs.cache_bytes_spilled > 0);
  CHECK(rs.cache_peak_ram_bytes == 0);
  CHECK(same_result(base, rs));
  at_threads(1, [&] { CHECK(same_result(base, reconstruct_model(s.problem, s.calib(), short_run, s.calibrate()))); });
}

TEST_CASE("QDrop: joint rounding and steps with drop; shared scales; Fisher loss runs") {
  Setup s;
  // quantizers 2, 3 (inputs of layer1.0.conv2 and of layer2.0, both owned by block layer1.0) share one
  // scale inside one unit: learned as one step; 4 and 6 (owned by layer2.0 and layer2.1) share one
  // scale across units: kept
  s.problem.activations[2].group = s.problem.activations[3].group = 0;
  s.problem.activations[4].group = s.problem.activations[6].group = 1;
  std::vector<QParams> cal;
  ActCalibrateFn shared = [&](const Graph& g, const std::vector<std::vector<int32_t>>& codes) {
    cal = s.calibrate()(g, codes);
    cal[3] = cal[2];
    cal[6] = cal[4];
    return cal;
  };
  const ReconOptions o = options(ReconMethod::QDrop);
  const ReconResult r = reconstruct_model(s.problem, s.calib(), o, shared);
  REQUIRE(r.units.size() == 5);
  for (const UnitTrainReport& u : r.units) {
    CAPTURE(u.unit);
    CHECK(u.phase == "joint");
    CHECK(u.loss_after <= u.loss_before * 1.05);  // drop makes the objective noisy; the hard result must not be worse
  }
  CHECK(r.act_learned[2]);
  CHECK(r.act_learned[3]);
  CHECK(r.act_params[2].scale == r.act_params[3].scale);
  CHECK(r.act_params[2].scale != cal[2].scale);
  CHECK(!r.act_learned[4]);
  CHECK(!r.act_learned[6]);
  CHECK(r.act_params[4].scale == cal[4].scale);
  CHECK(r.act_params[6].scale == cal[6].scale);
  CHECK(r.act_learned[0]);
  check_legal(s, r);
  ReconOptions f = options(ReconMethod::Brecq);
  f.loss = ReconLoss::Fisher;
  f.iters = 60;
  f.act_iters = 0;
  const ReconResult rf = reconstruct_model(s.problem, s.calib(), f, s.calibrate());
  for (const UnitTrainReport& u : rf.units) CHECK(u.loss_after <= u.loss_before);
  for (bool learned : rf.act_learned) CHECK(!learned);  // act_iters 0: calibrated, not learned
}
