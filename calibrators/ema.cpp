// mqcalib/calibrators/ema.cpp: moving-average min / max (MQBench EMAMinMaxObserver, ratio 0.9;
// REFERENCE.md section 3), per-tensor:
//   first batch:  m = batch min (resp. max)
//   later batches: m = ratio * m + (1 - ratio) * batch min      (computed in double, stored as float)
//
// Streaming and merge: the EMA depends on the order of the batches, so this observer keeps the
// sequence of per-batch (min, max) (two floats per batch) and applies the EMA at finalize.
// merge(other) is DEFINED as "other's batches came after mine, in other's order": the sequence is
// appended. Hence observe(a); observe(b) equals A.merge(B) exactly, but B.merge(A) differs (the
// order-dependence is inherent to an EMA). Each batch's min/max is a parallel scan over fixed chunks
// (exact in any order), so results are bit-identical at any thread count.
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"

namespace mqcalib::calib {
namespace {

class EmaObserver final : public Observer {
 public:
  explicit EmaObserver(const ObserverOptions& o) : Observer(o) {
    if (!(o.ema_ratio >= 0.0 && o.ema_ratio < 1.0))
      throw Error("observer 'ema': ema_ratio " + std::to_string(o.ema_ratio) + " not in [0, 1)");
  }
  std::string_view name() const override { return "ema"; }

  void observe(ViewF32 x) override {
    if (x.size() == 0) return;
    const ScanResult s = scan_f32_parallel(x.data, x.size());
    if (!s.finite) throw_non_finite(name());
    batches_.push_back(s);
  }

  void merge(const Observer& other) override {
    const auto& o = same_observer<EmaObserver>(*this, other);
    batches_.insert(batches_.end(), o.batches_.begin(), o.batches_.end());
  }

  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<EmaObserver>(options_); }
  bool merge_in_order_is_exact() const override { return true; }

  Range finalize(const QScheme&) const override {
    if (batches_.empty()) throw_no_data(name());
    const double r = options_.ema_ratio;
    double mn = batches_[0].min, mx = batches_[0].max;
    for (size_t b = 1; b < batches_.size(); ++b) {
      mn = r * mn + (1.0 - r) * static_cast<double>(batches_[b].min);
      mx = r * mx + (1.0 - r) * static_cast<double>(batches_[b].max);
    }
    return Range{{static_cast<float>(mn)}, {static_cast<float>(mx)}};
  }

 private:
  std::vector<ScanResult> batches_;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(ema, mqcalib::ObserverInfo{
    "ema", "moving-average min/max over batches (MQBench, ratio 0.9)", false,
    [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
      return std::make_unique<mqcalib::calib::EmaObserver>(o);
    }})
