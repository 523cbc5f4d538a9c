// mqcalib/calibrators/pow2_histogram.h: the exact power-of-two histogram the observers bin into
// (not part of the observer contract).
//
// Pow2Histogram: a histogram whose range is a power of two, [0, 2^e) for |x| or [-2^e, 2^e) for
// signed x, with 2^k bins. Because the range is a power of two, the bin index floor(x * 2^(k-e))
// is computed exactly in float (a multiplication by a power of two), and growing the range by
// doubling maps bin j to bin floor(j / 2) *exactly*. So the counts equal those of binning all the
// data at the final range at once: they do not depend on batch order, on merge order or on the
// thread split. e is the smallest exponent with 2^e > max|x| (strictly greater, so no value falls
// on the upper edge); the range is therefore between max|x| and 2 max|x|, and between half and
// all of the bins hold data. Also the quantiles of a sample and of a histogram (percentile).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "core/stats.h"

namespace mqcalib::calib {

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
  // Bins x[0, n) exactly at exponent e into counts (plain loop, double arithmetic): the reference
  // add()'s kernel (compaction, sub-histograms) is tested against.
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

}  // namespace mqcalib::calib
