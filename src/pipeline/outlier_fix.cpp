// mqcalib/src/pipeline/outlier_fix.cpp: see outlier_fix.h.
#include "pipeline/outlier_fix.h"

#include <algorithm>
#include <map>

namespace mqcalib {

namespace {

enum class Fix { None, EightBits, Fp32 };

struct LayerFix {
  std::vector<std::string> kinds;
  Fix fix = Fix::None;
  std::string why;  // for Fix::None
};

bool is_weight_kind(const std::string& k) {
  return k == "weight_per_tensor_gap" || k == "channel_range_spread" || k == "weight_max_over_std";
}

void raise(LayerFix& lf, const std::string& kind, Fix f, const std::string& why) {
  if (std::find(lf.kinds.begin(), lf.kinds.end(), kind) == lf.kinds.end()) lf.kinds.push_back(kind);
  if (f > lf.fix || (f == Fix::None && lf.fix == Fix::None && lf.why.empty())) {
    lf.fix = f;
    lf.why = why;
  }
}

}  // namespace

OutlierFix plan_outlier_fix(const std::vector<OutlierFinding>& findings, const QuantPlan& plan,
                            const LayerPolicy& policy) {
  std::map<std::string, LayerFix> by_layer;
  for (const OutlierFinding& f : findings) {
    if (is_weight_kind(f.kind)) {
      const auto w = std::find_if(plan.weights.begin(), plan.weights.end(),
                                  [&](const WeightQuantPoint& p) { return p.layer == f.layer; });
      if (w == plan.weights.end()) continue;  // already FP32
      if (w->scheme.bits < 8)
        raise(by_layer[w->layer], f.kind, Fix::EightBits, "");
      else if (w->scheme.granularity == Granularity::PerTensor)
        raise(by_layer[w->layer], f.kind, Fix::Fp32, "");
      else
        raise(by_layer[w->layer], f.kind, Fix::None, "per-channel weights at 8 bits absorb it");
      continue;
    }
    const auto a = std::find_if(plan.activations.begin(), plan.activations.end(),
                                [&](const ActQuantPoint& p) { return p.tensor == f.tensor; });
    if (a == plan.activations.end()) continue;
    for (const WeightQuantPoint& w : plan.weights) {
      if (w.input != a->value) continue;
      if (a->scheme.bits < 8)
        raise(by_layer[w.layer], f.kind, Fix::EightBits, "");
      else
        raise(by_layer[w.layer], f.kind, Fix::None, "an 8-bit input: the advice is another observer (run-wide)");
    }
  }
  OutlierFix out;
  out.policy = policy;
  for (const WeightQuantPoint& w : plan.weights) {
    const auto it = by_layer.find(w.layer);
    if (it == by_layer.end()) continue;
    const LayerFix& lf = it->second;
    OutlierAction act{w.layer, lf.kinds, ""};
    switch (lf.fix) {
      case Fix::Fp32:
        act.action = "fp32";
        out.policy.skip.insert(w.layer);
        out.policy.layer_bits.erase(w.layer);
        out.policy.layer_a_bits.erase(w.layer);
        out.changed = true;
        break;
      case Fix::EightBits:
        act.action = "8 bits";
        out.policy.layer_bits[w.layer] = 8;
        out.policy.layer_a_bits.erase(w.layer);
        out.changed = true;
        break;
      case Fix::None:
        act.action = "none: " + lf.why;
        break;
    }
    out.actions.push_back(std::move(act));
  }
  return out;
}

}  // namespace mqcalib
