// mqcalib/calibrators/percentile.cpp: range from quantiles of the data (REFERENCE.md section 3:
// 99.99 as PPQ / pytorch-quantization; ORT and MQBench use 99.999), per-tensor or per-channel.
//
// Two-sided (PPQ style): max = Q(p / 100), min = Q(1 - p / 100), with Q the quantile with linear
// interpolation between order statistics (numpy "linear"). Symmetric schemes then take
// amax = max(|min|, |max|) in choose_qparams.
//  - exact: while at most options.exact_limit values (default 2^20) have been observed, they are
//    kept and Q is computed on them (nth_element);
//  - histogram: beyond that, a signed Pow2Histogram of options.histogram_bins bins per channel
//    (range [-2^e, 2^e), grown exactly by doubling, see pow2_histogram.h); Q interpolates inside its bin,
//    error <= one bin width (2^(e+1) / bins), clamped to the observed [min, max].
// Both modes give the same result for observe(a); observe(b) and for merge, bit for bit, at any
// thread count (values kept in observation order; integer bin counts).
#include <algorithm>
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"

namespace mqcalib::calib {
namespace {

class PercentileObserver final : public Observer {
 public:
  explicit PercentileObserver(const ObserverOptions& o) : Observer(o), store_(o.exact_limit, o.histogram_bins) {
    if (!(o.percentile >= 50.0 && o.percentile <= 100.0))
      throw Error("observer 'percentile': percentile " + std::to_string(o.percentile) + " not in [50, 100]");
    Pow2Histogram check(HistKind::Signed, o.histogram_bins);  // validates the bin count
  }
  std::string_view name() const override { return "percentile"; }

  void observe(ViewF32 x) override {
    store_.observe(x, options_.granularity == Granularity::PerChannel, options_.axis, name());
  }
  void merge(const Observer& other) override { store_.merge(same_observer<PercentileObserver>(*this, other).store_, name()); }
  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<PercentileObserver>(options_); }
  bool merge_in_order_is_exact() const override { return true; }

  Range finalize(const QScheme&) const override {
    if (store_.empty()) throw_no_data(name());
    const double q = options_.percentile / 100.0;
    Range r;
    for (size_t c = 0; c < store_.channels(); ++c) {
      double lo, hi;
      if (store_.exact()) {
        std::vector<float> v = store_.values(c);
        hi = quantile_exact(v, q);
        lo = quantile_exact(v, 1.0 - q);
      } else {
        hi = quantile_histogram(store_.histogram(c), q);
        lo = quantile_histogram(store_.histogram(c), 1.0 - q);
      }
      const ScanResult& s = store_.scan(c);
      r.min.push_back(std::clamp(static_cast<float>(lo), s.min, s.max));
      r.max.push_back(std::clamp(static_cast<float>(hi), s.min, s.max));
    }
    return r;
  }

 private:
  ValueStore store_;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(percentile, mqcalib::ObserverInfo{
    "percentile", "two-sided quantile range (default 99.99%; exact, histogram on large streams)", true,
    [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
      return std::make_unique<mqcalib::calib::PercentileObserver>(o);
    }})
