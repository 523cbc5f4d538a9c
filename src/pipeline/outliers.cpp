#include "pipeline/outliers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mqcalib {

namespace {

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

std::vector<OutlierFinding> find_weight_outliers(const std::vector<WeightStats>& stats, const BackendProfile& backend) {
  std::vector<OutlierFinding> out;
  const bool per_channel = backend.weight.granularity == Granularity::PerChannel;
  for (const WeightStats& s : stats) {
    const std::string tensor = s.node + ".weight";
    const double gap = s.sqnr_per_channel_8 - s.sqnr_per_tensor_8;
    if (gap > kPerTensorGapDb) {
      OutlierFinding f{s.node, tensor, "weight_per_tensor_gap", gap, "", ""};
      f.explanation =
          fmt("8-bit weight SQNR is %.1f dB per-tensor but %.1f dB per-channel (%.1f dB apart): "
              "a few output channels set the whole tensor's range (after BN folding, a channel "
              "with a tiny running variance is scaled up)",
              s.sqnr_per_tensor_8, s.sqnr_per_channel_8, gap);
      f.advice = per_channel ? "the backend already quantizes weights per-channel: no action needed at 8 bits; "
                               "at 4 bits or below keep this layer at 8 bits (--layer-bits " +
                                   s.node + "=8)"
                             : "this backend quantizes weights per-tensor: keep this layer at higher precision "
                               "(--layer-bits " +
                                   s.node + "=8 / --skip " + s.node +
                                   "), choose a per-channel "
                                   "backend, or equalize the channels before quantizing (--equalize: cross-layer "
                                   "equalization)";
      out.push_back(std::move(f));
    }
    if (s.absmax_over_std > kMaxOverStd) {
      OutlierFinding f{s.node, tensor, "weight_max_over_std", s.absmax_over_std, "", ""};
      f.explanation =
          fmt("max|w| = %.4g is %.1f standard deviations (std %.4g): a far tail; min-max scales "
              "leave most of the grid to a handful of weights",
              s.absmax, s.absmax_over_std, s.std);
      f.advice =
          "use the mse weight observer (--w-observer mse) so the tail is clipped where it costs least, "
          "or keep this layer at 8 bits when quantizing below 8";
      out.push_back(std::move(f));
    }
    if (std::isfinite(s.channel_range_spread) && s.channel_range_spread > kChannelSpread) {
      OutlierFinding f{s.node, tensor, "channel_range_spread", s.channel_range_spread, "", ""};
      f.explanation = fmt("the widest output channel's range is %.1fx the median channel's", s.channel_range_spread);
      f.advice = per_channel ? "per-channel weights (this backend) absorb it"
                             : "per-tensor weights lose the narrow channels: keep this layer at 8 bits or fp32, "
                               "or equalize channels before quantizing (--equalize)";
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<OutlierFinding> find_activation_outliers(const std::vector<ActivationStats>& acts) {
  std::vector<OutlierFinding> out;
  for (const ActivationStats& a : acts) {
    const double absmax = std::max(std::fabs(a.observed_min), std::fabs(a.observed_max));
    const double kept = std::max(std::fabs(a.clip_min), std::fabs(a.clip_max));
    if (absmax <= 0) continue;
    const double frac = kept / absmax;
    const double max_over_rms = a.rms > 0 ? absmax / a.rms : 0;
    if (frac < kActClipFraction || max_over_rms > kActMaxOverRms) {
      OutlierFinding f{a.layer, a.tensor, "activation_heavy_tail", frac < kActClipFraction ? frac : max_over_rms,
                       "",      ""};
      f.explanation = fmt("observed |x| max %.4g is %.1f x the RMS (%.4g); ", absmax, max_over_rms, a.rms) + "the " +
                      a.observer + " observer keeps " + fmt("%.0f%% of that range", 100.0 * frac);
      f.advice = a.observer == "minmax"
                     ? "a heavy tail: min-max spends the grid on rare values; try --a-observer mse, percentile or kl"
                     : "a heavy tail, clipped by the observer: compare the per-layer SQNR with --a-observer minmax "
                       "(KL is known to lose to min-max on some models, TensorRT #3922)";
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<int64_t> outlier_channels(const std::vector<float>& min, const std::vector<float>& max) {
  std::vector<double> range;
  for (size_t c = 0; c < min.size() && c < max.size(); ++c)
    range.push_back(static_cast<double>(max[c]) - static_cast<double>(min[c]));
  std::vector<int64_t> out;
  if (range.empty()) return out;
  std::vector<double> sorted = range;
  std::sort(sorted.begin(), sorted.end());
  const size_t h = sorted.size() / 2;
  const double median = sorted.size() % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
  for (size_t c = 0; c < range.size(); ++c)
    if (range[c] > kOutlierChannelRatio * median) out.push_back(static_cast<int64_t>(c));
  return out;
}

}  // namespace mqcalib
