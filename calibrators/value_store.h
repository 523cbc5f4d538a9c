// mqcalib/calibrators/value_store.h: what the observers share besides the histogram (not part of
// the observer contract).
//
//  - (the min / max / finite scan, scan_f32, is core's: src/core/stats.h)
//  - the observers' chunk size, error helpers and ChannelSplit: per-channel access to a tensor along
//    an axis (gathers a channel when it is not contiguous);
//  - ValueStore: the values of percentile and mse, exact up to a limit, then per-channel histograms
//    (Pow2Histogram, calibrators/pow2_histogram.h);
//  - (the Lp range search used by mse is in lp_search.h, included here)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "calibrators/lp_search.h"
#include "calibrators/pow2_histogram.h"
#include "core/qscheme.h"
#include "core/stats.h"
#include "core/tensor.h"

namespace mqcalib::calib {

// Fixed chunk of the observers' parallel loops (elements). Results never depend on it being split
// across threads: every chunk partial is merged exactly (integer counts, min/max) or in chunk order.
constexpr int64_t kChunk = 1 << 16;

// Inputs kept exactly (percentile, mse) up to this many values per observer, then histograms.
constexpr int64_t kDefaultExactLimit = 1 << 20;

// Throws the observers' standard error for non-finite input.
[[noreturn]] void throw_non_finite(std::string_view observer);
// Throws unless shape/axis are usable for per-channel observation; returns the channel count.
int64_t channel_count(ViewF32 x, int axis, std::string_view observer);

// Per-channel view of x along `axis`: x[outer][c][inner]. channel(c, buf) returns a pointer to the
// inner*outer values of channel c (x itself when contiguous, else gathered into buf).
struct ChannelSplit {
  ChannelSplit(ViewF32 x, int axis);
  int64_t channels = 1, outer = 1, inner = 1;
  const float* channel(int64_t c, std::vector<float>& buf) const;
  int64_t per_channel() const { return outer * inner; }
  const float* data;
};

// Per-channel store of the observed values: exact while the total stays <= limit, then per-channel
// Pow2Histograms (Signed, `hist_bins` bins). Used by percentile and mse. Merge/observe orders give
// identical contents (values appended in observation order; histogram counts exact).
class ValueStore {
 public:
  ValueStore(int64_t limit, int hist_bins) : limit_(limit), hist_bins_(hist_bins) {}
  void observe(ViewF32 x, bool per_channel, int axis, std::string_view observer);
  void merge(const ValueStore& o, std::string_view observer);
  bool empty() const { return count_ == 0; }
  bool exact() const { return hist_.empty(); }
  size_t channels() const { return scan_.size(); }
  const std::vector<float>& values(size_t c) const { return values_[c]; }
  std::vector<float>& values_mut(size_t c) { return values_[c]; }
  const Pow2Histogram& histogram(size_t c) const { return hist_[c]; }
  const ScanResult& scan(size_t c) const { return scan_[c]; }

 private:
  void ensure_channels(size_t n, std::string_view observer);
  void to_histograms();
  int64_t limit_;
  int hist_bins_;
  int64_t count_ = 0;
  std::vector<ScanResult> scan_;
  std::vector<std::vector<float>> values_;
  std::vector<Pow2Histogram> hist_;
};

}  // namespace mqcalib::calib
