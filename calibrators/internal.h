// mqcalib/calibrators/internal.h: building blocks shared by the observers (not part of the contract).
//
//  - (the min / max / finite scan, scan_f32, is core's: src/core/stats.h)
//  - ChannelSplit: per-channel access to a tensor along an axis (gathers a channel when it is not
//    contiguous).
//  - Pow2Histogram: a histogram whose range is a power of two, [0, 2^e) for |x| or [-2^e, 2^e) for
//    signed x, with 2^k bins. Because the range is a power of two, the bin index floor(x * 2^(k-e))
//    is computed exactly in float (a multiplication by a power of two), and growing the range by
//    doubling maps bin j to bin floor(j / 2) *exactly*. So the counts equal those of binning all the
//    data at the final range at once: they do not depend on batch order, on merge order or on the
//    thread split. e is the smallest exponent with 2^e > max|x| (strictly greater, so no value falls
//    on the upper edge); the range is therefore between max|x| and 2 max|x|, and between half and
//    all of the bins hold data.
//  - (the Lp range search used by mse is in lp_search.h, included here)
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "calibrators/lp_search.h"
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

enum class HistKind { Abs, Signed };

class Pow2Histogram {
 public:
  static constexpr int kEmpty = std::numeric_limits<int>::min();
  static constexpr int kMinExp = -100;  // ranges never below 2^-100 (all-zero data)
  Pow2Histogram() = default;
  Pow2Histogram(HistKind kind, int bins);  // bins: a power of two >= 2

  // Adds n values in one parallel pass and returns their scan; when it reports non-finite input the
  // histogram is left unchanged (the caller throws).
  // With `zeros`, also adds the number of exact zeros (+0 and -0) to *zeros, counted per chunk while
  // the chunk is in cache (the kl observer leaves them out).
  ScanResult add(const float* x, int64_t n, uint64_t* zeros = nullptr);
  void merge(const Pow2Histogram& o);
  void grow_to(int exponent);

  bool empty() const { return exp_ == kEmpty; }
  int exponent() const { return exp_; }
  int bins() const { return bins_; }
  HistKind kind() const { return kind_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  std::vector<uint64_t>& counts_mut() { return counts_; }
  uint64_t total() const;
  double width() const;  // bin width
  double lo() const;     // lower edge of bin 0
  // Values of the bin centres (exact in float) - used as weighted samples.
  std::vector<float> centers() const;
  // Bins an array exactly at exponent e into `counts` (size bins), serial; the kernel of add().
  void bin_into(const float* x, int64_t n, int e, uint64_t* counts) const;
  void bin_into_ref(const float* x, int64_t n, int e, uint64_t* counts) const;

  static int exponent_above(float absmax);  // smallest e >= kMinExp with 2^e > absmax

 private:
  HistKind kind_ = HistKind::Abs;
  int bins_ = 0;
  int log2_bins_ = 0;
  int exp_ = kEmpty;
  std::vector<uint64_t> counts_;
};

// Quantile of a sample at probability q in [0, 1] with linear interpolation between order
// statistics (numpy's default "linear"): h = (n - 1) q, v[floor h] + (h - floor h)(v[ceil h] - v[floor h]).
// `v` is reordered (nth_element).
double quantile_exact(std::vector<float>& v, double q);
// The same definition on a histogram: the order statistic at rank h is placed inside its bin by
// linear interpolation of the rank (values spread uniformly in the bin); error <= one bin width.
double quantile_histogram(const Pow2Histogram& h, double q);

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
