// mqcalib/src/pipeline/outliers.h: detection and explanation of outlier layers (after BN folding).
//
// Nobody among the peers does this automatically (REFERENCE.md section 5): PPQ and AIMET offer manual
// per-layer analysis. Each finding says what is wrong, in words and numbers, and what to do.
// Thresholds are named constants below; they flag, they never change the quantization.
#pragma once

#include <string>
#include <vector>

#include "backends/backend.h"
#include "export/run_report.h"
#include "graph/weight_stats.h"

namespace mqcalib {

// Per-channel 8-bit weight SQNR above per-tensor by more than this (dB): a few channels dominate
// the tensor's range, the classic symptom of a folded BN with a tiny running variance.
constexpr double kPerTensorGapDb = 10.0;
// max|w| / std(w) above this: the distribution has a far tail (a Gaussian of 10^5 samples: ~4.5).
constexpr double kMaxOverStd = 20.0;
// max channel range / median channel range above this.
constexpr double kChannelSpread = 10.0;
// A clipping observer kept less than this fraction of the observed |x| max.
constexpr double kActClipFraction = 0.5;
// Observed |x| max above this many RMS.
constexpr double kActMaxOverRms = 30.0;
// report.html marks an output channel whose weight range is above this many times the median
// channel's: under a per-tensor grid the median channel then keeps under a quarter of the levels
// (2 bits lost).
constexpr double kOutlierChannelRatio = 4.0;

// OutlierFinding: export/run_report.h (the report's row).
std::vector<OutlierFinding> find_weight_outliers(const std::vector<WeightStats>& stats, const BackendProfile& backend);

struct ActivationStats {
  std::string tensor, layer;
  float observed_min = 0, observed_max = 0;  // min-max over the calibration data
  double rms = 0;
  float clip_min = 0, clip_max = 0;  // the range the chosen observer kept
  std::string observer;
};
std::vector<OutlierFinding> find_activation_outliers(const std::vector<ActivationStats>& acts);

// Channels c with (max[c] - min[c]) > kOutlierChannelRatio x the median of the ranges (median of an
// even count: mean of the two middle values), ascending. A zero median marks every non-zero channel.
std::vector<int64_t> outlier_channels(const std::vector<float>& min, const std::vector<float>& max);

}  // namespace mqcalib
