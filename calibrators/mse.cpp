// mqcalib/calibrators/mse.cpp: Lp-norm range search (REFERENCE.md section 3: MQBench shrinks
// [min, max]; p = options.lp_norm, default 2.0, BRECQ / QDrop use 2.4), per-tensor or per-channel.
//
// Loss of a candidate range [a min, a max]: sum |fq(x) - x|^p, where fq is the EXACT quantizer of
// the scheme: core's choose_qparams on the candidate range and core's fake_quantize_f32 (bits,
// signedness, symmetry, narrow range, power-of-two scale, rounding). Search (lp_search_shrink in
// lp_search.cpp, fast path; its exhaustive _ref twin is tested against it): a = k / steps for k = 1..steps
// (options.search_steps, default 100), then `steps` points between the coarse neighbours of the best, so the shrink
// factor is resolved to 2/steps^2. Data:
//  - exact: up to options.exact_limit values (default 2^20) are kept and the loss is evaluated on
//    them (weights: one file, a few million values at most per layer);
//  - beyond that: a signed Pow2Histogram of kMseBins = 16384 bins per channel (exact growth); the
//    loss is evaluated on the bin centres weighted by their counts (bins are ~1/40 of an 8-bit step
//    or finer at the optimum of Gaussian/Laplace data).
// Sums are over fixed chunks added in chunk order: bit-identical at any thread count; observe(a);
// observe(b) equals merge exactly (same kept values in the same order, or the same integer counts).
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"

namespace mqcalib::calib {
namespace {

constexpr int kMseBins = 1 << 14;

class MseObserver final : public Observer {
 public:
  explicit MseObserver(const ObserverOptions& o) : Observer(o), store_(o.exact_limit, kMseBins) {
    if (!(o.lp_norm > 0.0)) throw Error("observer 'mse': lp_norm " + std::to_string(o.lp_norm) + " must be > 0");
    if (o.search_steps < 2) throw Error("observer 'mse': search_steps must be >= 2");
  }
  std::string_view name() const override { return "mse"; }

  void observe(ViewF32 x) override {
    store_.observe(x, options_.granularity == Granularity::PerChannel, options_.axis, name());
  }
  void merge(const Observer& other) override { store_.merge(same_observer<MseObserver>(*this, other).store_, name()); }
  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<MseObserver>(options_); }
  bool merge_in_order_is_exact() const override { return true; }

  // Every channel searched alone (lp_search_shrink_channels, channels in parallel). Histogram bins
  // with no count are left out: their terms are exact zeros, so the loss is the same number.
  Range finalize(const QScheme& scheme) const override {
    if (store_.empty()) throw_no_data(name());
    const size_t C = store_.channels();
    std::vector<LpChannel> ch(C);
    std::vector<std::vector<float>> centers(store_.exact() ? 0 : C);
    std::vector<std::vector<uint64_t>> counts(centers.size());
    for (size_t c = 0; c < C; ++c) {
      const ScanResult& sc = store_.scan(c);
      ch[c].min = sc.min;
      ch[c].max = sc.max;
      if (store_.exact()) {
        ch[c].x = store_.values(c).data();
        ch[c].n = static_cast<int64_t>(store_.values(c).size());
        continue;
      }
      const Pow2Histogram& h = store_.histogram(c);
      const std::vector<float> all = h.centers();
      for (int b = 0; b < h.bins(); ++b) {
        if (h.counts()[static_cast<size_t>(b)] == 0) continue;
        centers[c].push_back(all[static_cast<size_t>(b)]);
        counts[c].push_back(h.counts()[static_cast<size_t>(b)]);
      }
      ch[c].x = centers[c].data();
      ch[c].weights = counts[c].data();
      ch[c].n = static_cast<int64_t>(centers[c].size());
    }
    const std::vector<double> a =
        lp_search_shrink_channels(ch, per_tensor(scheme), options_.lp_norm, options_.search_steps);
    Range r;
    for (size_t c = 0; c < C; ++c) {
      r.min.push_back(static_cast<float>(a[c] * ch[c].min));
      r.max.push_back(static_cast<float>(a[c] * ch[c].max));
    }
    return r;
  }

 private:
  ValueStore store_;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(mse,
                          mqcalib::ObserverInfo{
                              "mse",
                              "Lp-norm search of the clipping range with the scheme's exact quantizer (p = 2 default)",
                              true, [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
                                return std::make_unique<mqcalib::calib::MseObserver>(o);
                              }})
