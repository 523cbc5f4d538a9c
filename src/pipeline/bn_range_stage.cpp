// mqcalib/src/pipeline/bn_range_stage.cpp: see bn_range_stage.h.
#include "pipeline/bn_range_stage.h"

#include <cmath>

#include "core/error.h"
#include "pipeline/observe.h"

namespace mqcalib {

std::vector<InputRange> input_ranges(const Graph& g, const Preprocess& pp) {
  if (!pp.scale_to_unit) throw Error("data-free: the input range needs pixels scaled to [0, 1] (x / 255)");
  const std::vector<float> mean = pp.mean.empty() ? std::vector<float>{0.0f} : pp.mean;
  const std::vector<float> std = pp.std.empty() ? std::vector<float>{1.0f} : pp.std;
  if (mean.size() != std.size() && mean.size() != 1 && std.size() != 1)
    throw Error("data-free: --mean has " + std::to_string(mean.size()) + " values, --std " +
                std::to_string(std.size()));
  const size_t c = std::max(mean.size(), std.size());
  std::vector<float> m(c), s(c);
  for (size_t k = 0; k < c; ++k) {
    m[k] = mean[mean.size() == 1 ? 0 : k];
    s[k] = std[std.size() == 1 ? 0 : k];
  }
  std::vector<InputRange> out;
  for (ValueId v : g.inputs()) out.push_back(preprocessed_pixel_range(v, m, s));
  return out;
}

std::vector<ActQuant> bn_range_activations(const Graph& g, const QuantPlan& plan, const std::vector<InputRange>& inputs,
                                           double sigmas) {
  BnRangeOptions o;
  o.sigmas = sigmas;
  const std::vector<ValueDist> dists = bn_value_dists(g, inputs, o);
  std::vector<ActQuant> acts;
  acts.reserve(plan.activations.size());
  for (const ActQuantPoint& p : plan.activations) {
    const ValueDist& d = dists.at(static_cast<size_t>(p.value));
    if (!d.known())
      throw Error("data-free: no BN-statistics rule reaches activation '" + p.tensor +
                  "' (it depends on an input of unknown range): quantize it with calibration data (--calib)");
    ActQuant a;
    a.point = p;
    a.observer = kBnRangeObserver;
    a.range.min = {d.min()};
    a.range.max = {d.max()};
    a.stats.min = d.min();
    a.stats.max = d.max();
    if (d.has_moments()) {
      double s = 0.0;
      for (size_t c = 0; c < d.mean.size(); ++c) s += d.var[c] + d.mean[c] * d.mean[c];
      a.stats.rms = std::sqrt(s / static_cast<double>(d.mean.size()));
    }
    acts.push_back(std::move(a));
  }
  choose_activation_params(acts);
  return acts;
}

}  // namespace mqcalib
