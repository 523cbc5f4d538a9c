// mqcalib/src/graph/weight_stats.h: weight statistics of every conv2d / linear (run after BN folding).
//
// Feeds the outlier-layer detection (REFERENCE.md section 5: folding a tiny running var blows up one
// channel's weights, and per-tensor weight quantization then fails, as on MobileNet).
//  - per tensor: min, max, max|w|, std (population, over all weights), max|w| / std;
//  - per output channel (axis 0): min, max, range = max - min; spread = max range / median range
//    (median of an even count: mean of the two middle values);
//  - SQNR of the weights under symmetric signed quantization (QScheme defaults otherwise: scale
//    amax / qmax, half-to-even), per tensor and per channel, at 8 and 4 bits:
//      SQNR_dB = 10 * log10( sum w^2 / sum (w - fake_quant(w))^2 )
//    with the parameters from core's choose_qparams on the min/max range and core's fake_quantize_f32.
//    An exact reconstruction (zero noise) gives +infinity; all sums in double.
#pragma once

#include <string>
#include <vector>

#include "core/qscheme.h"
#include "graph/ir.h"

namespace mqcalib {

struct WeightStats {
  std::string node;  // conv2d / linear node name
  OpKind kind = OpKind::Conv2d;
  Shape shape;       // weight shape
  float min = 0.0f;
  float max = 0.0f;
  float absmax = 0.0f;
  double std = 0.0;
  double absmax_over_std = 0.0;  // 0 when std == 0
  std::vector<float> channel_min;
  std::vector<float> channel_max;
  double channel_range_spread = 0.0;  // max channel range / median channel range; +inf when the median is 0
  double sqnr_per_tensor_8 = 0.0;     // dB
  double sqnr_per_channel_8 = 0.0;
  double sqnr_per_tensor_4 = 0.0;
  double sqnr_per_channel_4 = 0.0;
};

// Statistics of the weights of one conv/linear node (throws Error naming the node when it has no weight).
WeightStats weight_stats_of(const Node& n);
// Statistics of every conv2d / linear of `g`, in node order.
std::vector<WeightStats> weight_stats(const Graph& g);

// SQNR in dB of `w` under a symmetric signed scheme of `bits`, per tensor or per channel (axis 0).
double weight_sqnr_db(const TensorF32& w, int bits, Granularity granularity, const std::string& name);

}  // namespace mqcalib
