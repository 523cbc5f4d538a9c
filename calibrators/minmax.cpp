// mqcalib/calibrators/minmax.cpp: running global min / max (REFERENCE.md section 3), per-tensor or
// per-channel along options.axis (weights).
//
// observe: one vectorised pass (scan_f32, 16 lanes) over fixed chunks in parallel; chunk results
// are combined with min/max, which is exact in any order, so the range is bit-identical at any
// thread count, and observe(a); observe(b) equals observe(a) merged with observe(b) exactly.
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"

namespace mqcalib::calib {
namespace {

class MinMaxObserver final : public Observer {
 public:
  explicit MinMaxObserver(const ObserverOptions& o) : Observer(o) {}
  std::string_view name() const override { return "minmax"; }

  void observe(ViewF32 x) override {
    if (x.size() == 0) return;
    if (options_.granularity == Granularity::PerTensor) {
      const ScanResult s = scan_f32_parallel(x.data, x.size());
      if (!s.finite) throw_non_finite(name());
      if (r_.empty()) r_.resize(1);
      r_[0].merge(s);
      return;
    }
    const size_t channels = static_cast<size_t>(channel_count(x, options_.axis, name()));
    if (!r_.empty() && r_.size() != channels)
      throw Error("observer 'minmax': batch has " + std::to_string(channels) + " channels, earlier batches " +
                  std::to_string(r_.size()));
    const ChannelSplit split(x, options_.axis);
    std::vector<ScanResult> next(channels);
    std::vector<float> buf;
    for (size_t c = 0; c < channels; ++c) {
      next[c] = scan_f32(split.channel(static_cast<int64_t>(c), buf), split.per_channel());
      if (!next[c].finite) throw_non_finite(name());
    }
    if (r_.empty()) r_.resize(channels);
    for (size_t c = 0; c < channels; ++c) r_[c].merge(next[c]);
  }

  void merge(const Observer& other) override {
    const auto& o = same_observer<MinMaxObserver>(*this, other);
    if (o.r_.empty()) return;
    if (r_.empty()) r_.resize(o.r_.size());
    if (r_.size() != o.r_.size()) throw Error("observer 'minmax': merging observers with different channel counts");
    for (size_t c = 0; c < r_.size(); ++c) r_[c].merge(o.r_[c]);
  }

  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<MinMaxObserver>(options_); }
  bool merge_in_order_is_exact() const override { return true; }

  Range finalize(const QScheme&) const override {
    if (r_.empty()) throw_no_data(name());
    Range r;
    for (const ScanResult& s : r_) {
      r.min.push_back(s.min);
      r.max.push_back(s.max);
    }
    return r;
  }

 private:
  std::vector<ScanResult> r_;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(minmax, mqcalib::ObserverInfo{
    "minmax", "running global min/max (per-tensor or per-channel)", true,
    [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
      return std::make_unique<mqcalib::calib::MinMaxObserver>(o);
    }})
