// mqcalib/calibrators/observer.h: the observer interface and its registry.
//
// An observer streams over batches of float data (observe many times, finalize once) and returns
// a Range. It knows nothing of graphs or backends (../shared/ARCHITECTURE-SKETCH.md, boundaries):
// params come from core's choose_qparams(scheme, range). finalize() receives the scheme because the
// search-based observers (mse, kl) optimise the error *of that quantizer* (bits, signedness,
// symmetry, narrow range, rounding).
//
// Threading and determinism: observe() may parallelise internally, but only over fixed chunks whose
// partial results are merged in chunk order, so the range is bit-identical at any thread count.
// merge() combines an observer that saw other batches (same name, same options), and the result of
// observe(a); observe(b) equals observe(a) merged with observe(b) up to the documented exception of
// order-dependent observers (ema).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/qscheme.h"
#include "core/tensor.h"

namespace mqcalib {

// Options shared by all observers; each reads the ones it documents. Defaults are the field's
// (REFERENCE.md section 3), cited where they are used.
struct ObserverOptions {
  Granularity granularity = Granularity::PerTensor;
  int axis = 0;               // channel axis when per-channel (weights: 0, ConvTranspose: 1)
  double percentile = 99.99;  // percentile observer (PPQ / pytorch-quantization 99.99; ORT 99.999)
  double ema_ratio = 0.9;     // ema: new = ratio * old + (1 - ratio) * batch  (MQBench 0.9)
  double lp_norm = 2.0;       // mse: p of mean |x_q - x|^p (BRECQ/QDrop use 2.4)
  int histogram_bins = 2048;  // kl, percentile (large inputs)
  // kl: leave exact zeros out of the histogram (ncnn's variant, REFERENCE.md section 3). Default on:
  // after a ReLU about half the values are exact zeros; counted (TensorRT / pytorch-quantization),
  // that mass in bin 0 drives KL to the smallest candidate (T = 128 bins) on every post-ReLU tensor
  // of the zoo ResNet-20, a 29-point top-1 drop at W8A8 (measured; clipping at ~2x RMS).
  bool kl_skip_zeros = true;
  // kl: leave isolated histogram spikes out too (calibrators/kl.h, find_histogram_spikes): bins
  // holding more than kKlSpikeFactor x the median of their neighbourhood. They are single repeated
  // values, typically a constant image background through the first convolutions (each channel maps
  // it to one value); on the zoo MobileNetV2 they hold ~35% of the stem output's non-zero mass and
  // pulled KL's threshold to 0.75 of max 2.89 (12.6 dB SQNR vs 35.4 dB with min-max). The threshold
  // is then never below the highest spike, so no spike is clipped.
  bool kl_skip_spikes = true;
  int search_steps = 100;              // mse: candidate thresholds
  std::string aciq_prior = "laplace";  // aciq: "laplace" | "gaussian"
  // percentile, mse: values kept exactly up to this many per observer, then fine histograms.
  int64_t exact_limit = int64_t{1} << 20;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual std::string_view name() const = 0;
  // Observe one batch. Per-channel observers take channels along options().axis.
  // Throws mqcalib::Error if the data holds NaN/Inf (the caller adds the tensor name).
  virtual void observe(ViewF32 x) = 0;
  // Combines the statistics of `other` (same concrete type and options) into this observer.
  virtual void merge(const Observer& other) = 0;
  // A fresh observer with the same options and no data.
  virtual std::unique_ptr<Observer> clone_empty() const = 0;
  // Whether observing contiguous runs of batches on separate observers and merging them in run order
  // (A.merge(B), B's batches after A's) gives the bits of observing every batch on one: true where
  // merge() is exact (integer counts, min / max, kept values in order) or, as ema's, defined as
  // appending; false where it only agrees up to rounding (aciq's sums). The calibration pass runs its
  // batches on several threads only when every point's observer says true.
  virtual bool merge_in_order_is_exact() const { return false; }
  // The final range for quantizing with `scheme`. Throws Error if nothing was observed.
  virtual Range finalize(const QScheme& scheme) const = 0;
  const ObserverOptions& options() const { return options_; }

 protected:
  explicit Observer(ObserverOptions o) : options_(std::move(o)) {}
  ObserverOptions options_;

 private:
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;
};

// Algorithm registry (libcamera style): observers register by name; the CLI's choices come from it.
struct ObserverInfo {
  std::string name;
  std::string description;   // one line, shown by --help
  bool per_channel = false;  // supports Granularity::PerChannel
  std::function<std::unique_ptr<Observer>(const ObserverOptions&)> create;
};

class ObserverRegistry {
 public:
  static ObserverRegistry& instance();
  void add(ObserverInfo info);
  // Throws Error listing the registered names when `name` is unknown, or when per-channel is
  // asked of an observer that does not support it.
  std::unique_ptr<Observer> create(std::string_view name, const ObserverOptions& options) const;
  const ObserverInfo& info(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted

 private:
  std::vector<ObserverInfo> infos_;
};

// Registration, in each observer's .cpp:  MQCALIB_REGISTER_OBSERVER(minmax, ObserverInfo{...});
// defines the function observer_info_minmax(), and the registry adds every observer listed in
// MQCALIB_BUILTIN_OBSERVERS when it is first used. Explicit calls, not static initializers: nothing
// depends on how the calibrators library is linked (static, whole, into a shared library).
#define MQCALIB_BUILTIN_OBSERVERS(X) X(aciq) X(ema) X(kl) X(minmax) X(mse) X(percentile)
#define MQCALIB_DECLARE_OBSERVER_INFO(id) ObserverInfo observer_info_##id();
MQCALIB_BUILTIN_OBSERVERS(MQCALIB_DECLARE_OBSERVER_INFO)
#undef MQCALIB_DECLARE_OBSERVER_INFO
#define MQCALIB_REGISTER_OBSERVER(id, ...) \
  ::mqcalib::ObserverInfo mqcalib::observer_info_##id() { return __VA_ARGS__; }

}  // namespace mqcalib
