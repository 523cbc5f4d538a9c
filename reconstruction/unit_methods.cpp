// mqcalib/reconstruction/unit_methods.cpp: BRECQ's two stages and QDrop on one unit (unit_methods.h).
#include "reconstruction/unit_methods.h"

namespace mqcalib {

namespace {

UnitTrainOptions base_options(const ReconOptions& o, uint64_t seed) {
  UnitTrainOptions t;
  t.batch = o.batch;
  t.rounding = o.rounding;
  t.step_lr = o.method_step_lr();
  t.step_lr_cosine = o.step_lr_cosine;
  t.seed = seed;
  t.progress_every = o.progress_every;
  t.keep_better = o.keep_better;
  return t;
}

UnitOutcome run(UnitRunner& r, const UnitSamples& s, const UnitTrainOptions& t, const UnitProgressFn& progress) {
  UnitOutcome out;
  out.report = train_unit(r, s, t, progress);
  if (t.learn_rounding)
    for (size_t k = 0; k < r.num_soft(); ++k) {
      const SoftWeight& sw = r.soft_weight(k);
      out.weights.emplace_back(sw.shape());
      out.codes.emplace_back(static_cast<size_t>(sw.size()));
      sw.hard(r.rounding_vars(k).data(), out.codes.back().data(), out.weights.back().data());
    }
  for (size_t k = 0; k < r.act_specs().size(); ++k) out.steps.push_back(r.act_qparams(k).scale[0]);
  return out;
}

}  // namespace

std::string_view to_string(ReconMethod m) { return m == ReconMethod::Brecq ? "brecq" : "qdrop"; }
ReconMethod parse_recon_method(std::string_view s) {
  if (s == "brecq") return ReconMethod::Brecq;
  if (s == "qdrop") return ReconMethod::QDrop;
  throw Error("reconstruction method '" + std::string(s) + "': expected brecq or qdrop");
}
std::string_view to_string(ReconLoss l) { return l == ReconLoss::Mse ? "mse" : "fisher"; }
ReconLoss parse_recon_loss(std::string_view s) {
  if (s == "mse") return ReconLoss::Mse;
  if (s == "fisher") return ReconLoss::Fisher;
  throw Error("reconstruction loss '" + std::string(s) + "': expected mse or fisher");
}

UnitOutcome brecq_rounding_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s,
                                const ReconOptions& o, uint64_t seed, const UnitProgressFn& progress) {
  UnitRunner r(g, u, q.soft, {});
  UnitTrainOptions t = base_options(o, seed);
  t.iters = o.iters;
  t.learn_rounding = true;
  t.p = s.weights ? 2.0f : o.p_rounding;  // the Fisher weighting is a squared error
  return run(r, s, t, progress);
}

UnitOutcome brecq_steps_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s,
                             const ReconOptions& o, uint64_t seed, const UnitProgressFn& progress) {
  UnitRunner r(g, u, {}, q.acts);
  UnitTrainOptions t = base_options(o, seed);
  t.iters = r.steps().empty() ? 0 : o.act_iters;
  t.learn_steps = true;
  t.act_quant = true;
  t.p = s.weights ? 2.0f : o.p_steps;
  return run(r, s, t, progress);
}

UnitOutcome qdrop_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s, const ReconOptions& o,
                       uint64_t seed, const UnitProgressFn& progress) {
  UnitRunner r(g, u, q.soft, q.acts);
  UnitTrainOptions t = base_options(o, seed);
  t.iters = o.iters;
  t.learn_rounding = true;
  t.learn_steps = !r.steps().empty();
  t.act_quant = !q.acts.empty();
  t.drop_prob = q.acts.empty() ? 1.0f : o.drop_prob;
  t.p = s.weights ? 2.0f : o.p_rounding;
  UnitOutcome out = run(r, s, t, progress);
  out.report.phase = "joint";  // also when the unit owns no learnable step
  return out;
}

}  // namespace mqcalib
