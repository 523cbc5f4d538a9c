// mqcalib/calibrators/kl.cpp: TensorRT-style entropy calibration ("EntropyCalibration2" lineage,
// REFERENCE.md section 3), per-tensor only.
//
// Histogram: |x| in options.histogram_bins (2048) bins over [0, 2^e), 2^e the smallest power of two
// above absmax (pow2_histogram.h): it grows exactly (double the range, merge bin pairs)
// when later batches exceed it, so the counts do not depend on batch order, merge order or thread
// split. Because the range is a power of two, between 1025 and 2048 bins hold data (TensorRT:
// exactly 2048 at the first batch's absmax, order-dependent afterwards).
//
// Target levels L: signed schemes: qmax + 1 (2^(bits-1) = 128 for int8, 64 with reduce_range);
// unsigned schemes on non-negative data (after ReLU): qmax - qmin + 1 (2^bits) over [0, T];
// unsigned schemes on data with negatives: half of that. If L > bins (e.g. 16-bit) no clipping is
// searched: T = the histogram range.
//
// Candidates i = L .. min(bins, last non-empty bin + 1) (inclusive: the last is "no clipping", as
// pytorch-quantization; the empty top of the power-of-two range is not searched):
//   P = h[0..i-1] with the outside mass sum(h[i..]) added to P[i-1];
//   Q = the first i bins of h (WITHOUT the outside mass, as TensorRT's slides and MXNet: merging P
//       itself would make i = L a trivial KL = 0), merged into L groups of m = floor(i / L) bins,
//       the last group taking the remainder (MXNet/TensorRT grouping), each group's sum expanded
//       evenly over the bins of that group that are non-empty in P; zero on empty bins of P;
//   KL(P || Q) with both normalised to sum 1, over the bins where P > 0.
// Variant choices for zeros / eps / ties (the peers differ, REFERENCE.md section 3):
//   - exact zeros of x are left out (ncnn), unless options.kl_skip_zeros is false (TensorRT and
//     pytorch-quantization count them in bin 0; see ObserverOptions for why that is not the default).
//     The zeros are counted beside the histogram and subtracted from bin 0 at finalize, so the
//     histogram itself (and its exact growth) is shared with the counting variant;
//   - smoothing as MXNet / TVM (_smooth_distribution) on the counts of P and of the expanded Q:
//     empty bins get kKlSmoothEps = 1e-4, non-empty bins lose 1e-4 * n_empty / n_nonempty (totals
//     unchanged); this keeps candidates finite when bin i-1 holds only outside mass (without it,
//     a few far outliers make every candidate below them infinite);
//   - KL = sum_k p_k log(p_k / q_k) over all i bins, p and q the smoothed counts normalised to 1;
//   - isolated spikes (a constant background's values) are left out as well, and the threshold is
//     at least the upper edge of the highest spike (ObserverOptions::kl_skip_spikes, kl.h);
//   - ties: the FIRST (smallest) argmin, up to kKlTieTolerance (pytorch-quantization takes the last).
// Threshold T = i * bin width (the upper edge of the last bin kept), at most absmax. Range: [0, T] for non-negative
// data, [-T, T] otherwise.
//
// The search itself (kl_divergences: O(1) per candidate from prefix tables, and its reference twin)
// is calibrators/kl_search.cpp.
#include "calibrators/kl.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"

namespace mqcalib::calib {

namespace {

class KlObserver final : public Observer {
 public:
  explicit KlObserver(const ObserverOptions& o) : Observer(o), hist_(HistKind::Abs, o.histogram_bins) {}
  std::string_view name() const override { return "kl"; }

  void observe(ViewF32 x) override {
    if (x.size() == 0) return;
    const ScanResult s = hist_.add(x.data, x.size(), options_.kl_skip_zeros ? &zeros_ : nullptr);
    if (!s.finite) throw_non_finite(name());
    scan_.merge(s);
  }
  void merge(const Observer& other) override {
    const auto& o = same_observer<KlObserver>(*this, other);
    hist_.merge(o.hist_);
    scan_.merge(o.scan_);
    zeros_ += o.zeros_;
  }
  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<KlObserver>(options_); }
  bool merge_in_order_is_exact() const override { return true; }

  Range finalize(const QScheme& scheme) const override {
    if (hist_.empty()) throw_no_data(name());
    const bool nonneg = scan_.min >= 0.0f;
    int levels;
    if (scheme.signedness == Signedness::Signed) levels = scheme.qmax() + 1;
    else levels = (scheme.qmax() - scheme.qmin() + 1) / (nonneg ? 1 : 2);
    const int bins = hist_.bins();
    std::vector<uint64_t> counts = hist_.counts();
    counts[0] -= std::min(zeros_, counts[0]);
    if (std::all_of(counts.begin(), counts.end(), [](uint64_t c) { return c == 0; })) counts = hist_.counts();  // all zero
    int min_bins = 0;  // the threshold never clips a spike
    if (options_.kl_skip_spikes) {
      std::vector<uint64_t> despiked = counts;
      const std::vector<int> spikes = find_histogram_spikes(counts);
      for (int k : spikes) despiked[static_cast<size_t>(k)] = 0;
      if (!spikes.empty() && std::any_of(despiked.begin(), despiked.end(), [](uint64_t c) { return c != 0; })) {
        counts = std::move(despiked);
        min_bins = spikes.back() + 1;
      }
    }
    // Candidates stop one bin past the last non-empty one: beyond it nothing is clipped (T = absmax),
    // as in TensorRT's [0, absmax] histogram; the empty top of the power-of-two range (up to half the
    // bins) is not searched, which also makes the search 1-4x cheaper.
    size_t used = counts.size();
    while (used > static_cast<size_t>(levels) && counts[used - 1] == 0) --used;
    counts.resize(used);
    const int i = std::max(min_bins, levels <= static_cast<int>(used) ? kl_best_bins(counts, levels) : bins);
    const float absmax = std::max(std::fabs(scan_.min), std::fabs(scan_.max));
    const float t = std::min(static_cast<float>(i * hist_.width()), absmax);
    return Range{{nonneg ? 0.0f : -t}, {t}};
  }

 private:
  Pow2Histogram hist_;
  ScanResult scan_;
  uint64_t zeros_ = 0;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(kl, mqcalib::ObserverInfo{
    "kl", "TensorRT-style entropy (KL) threshold on a 2048-bin |x| histogram (per-tensor)", false,
    [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
      return std::make_unique<mqcalib::calib::KlObserver>(o);
    }})
