// mqcalib/src/graph/weight_stats.cpp: per-layer weight statistics (definitions in weight_stats.h).
#include "graph/weight_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/quantize.h"
#include "core/stats.h"

namespace mqcalib {

double weight_sqnr_db(const TensorF32& w, int bits, Granularity granularity, const std::string& name) {
  if (w.rank() < 1 || w.size() == 0) throw Error("weight_stats: '" + name + "' has an empty weight");
  QScheme s;  // symmetric signed, amax / qmax, half-to-even (QScheme defaults)
  s.bits = bits;
  s.granularity = granularity;
  s.axis = 0;
  Range r;
  const int64_t channels = granularity == Granularity::PerChannel ? w.dim(0) : 1;
  const int64_t per_ch = w.size() / channels;
  for (int64_t c = 0; c < channels; ++c) {
    const float* p = w.data() + c * per_ch;
    const auto mm = std::minmax_element(p, p + per_ch);
    r.min.push_back(*mm.first);
    r.max.push_back(*mm.second);
  }
  const QParams qp = choose_qparams(s, r, name);
  std::vector<float> wq(static_cast<size_t>(w.size()));
  fake_quantize_f32(w.view(), qp, wq.data());
  return sqnr_db(w.data(), wq.data(), w.size());
}

WeightStats weight_stats_of(const Node& n) {
  const TensorF32& w = n.params.weight;
  if (w.rank() < 1 || w.size() == 0) throw Error("weight_stats: node '" + n.name + "' has no weight");
  WeightStats st;
  st.node = n.name;
  st.kind = n.kind;
  st.shape = w.shape();
  const auto mm = std::minmax_element(w.vec().begin(), w.vec().end());
  st.min = *mm.first;
  st.max = *mm.second;
  st.absmax = std::max(std::fabs(st.min), std::fabs(st.max));
  double sum = 0.0;
  for (float x : w.vec()) sum += static_cast<double>(x);
  const double mean = sum / static_cast<double>(w.size());
  double ss = 0.0;
  for (float x : w.vec()) ss += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  st.std = std::sqrt(ss / static_cast<double>(w.size()));
  st.absmax_over_std = st.std > 0.0 ? static_cast<double>(st.absmax) / st.std : 0.0;

  const int64_t channels = w.dim(0);
  const int64_t per_ch = w.size() / channels;
  std::vector<double> ranges;
  for (int64_t c = 0; c < channels; ++c) {
    const float* p = w.data() + c * per_ch;
    const auto cm = std::minmax_element(p, p + per_ch);
    st.channel_min.push_back(*cm.first);
    st.channel_max.push_back(*cm.second);
    ranges.push_back(static_cast<double>(*cm.second) - static_cast<double>(*cm.first));
  }
  std::vector<double> sorted = ranges;
  std::sort(sorted.begin(), sorted.end());
  const size_t h = sorted.size() / 2;
  const double median = sorted.size() % 2 ? sorted[h] : 0.5 * (sorted[h - 1] + sorted[h]);
  const double top = sorted.back();
  st.channel_range_spread = median > 0.0 ? top / median : (top > 0.0 ? std::numeric_limits<double>::infinity() : 1.0);

  st.sqnr_per_tensor_8 = weight_sqnr_db(w, 8, Granularity::PerTensor, n.name + ".weight");
  st.sqnr_per_channel_8 = weight_sqnr_db(w, 8, Granularity::PerChannel, n.name + ".weight");
  st.sqnr_per_tensor_4 = weight_sqnr_db(w, 4, Granularity::PerTensor, n.name + ".weight");
  st.sqnr_per_channel_4 = weight_sqnr_db(w, 4, Granularity::PerChannel, n.name + ".weight");
  return st;
}

std::vector<WeightStats> weight_stats(const Graph& g) {
  std::vector<WeightStats> out;
  for (const Node& n : g.nodes())
    if (n.kind == OpKind::Conv2d || n.kind == OpKind::Linear) out.push_back(weight_stats_of(n));
  return out;
}

}  // namespace mqcalib
