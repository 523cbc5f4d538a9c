// mqcalib/calibrators/aciq.cpp: ACIQ analytic clipping (Banner, Nahshan, Soudry, "Post training
// 4-bit quantization of convolutional networks for rapid-deployment", NeurIPS 2019; REFERENCE.md
// section 3), per-tensor. Prior options.aciq_prior = "laplace" (default) or "gaussian":
//   laplace:  alpha = c_L(M) * b,      b = mean |x - mean|     c_L = 2.83 3.89 5.03 6.20 7.41 8.64 9.89
//   gaussian: alpha = c_G(M) * sigma,  sigma = std(x)          c_G = 1.71 2.15 2.55 2.94 3.29 3.61 3.92
// for M = 2..8 bits (ncnn uses 3.924 sigma at 8 bits). M is the scheme's grid width in bits
// (log2(qmax - qmin + 1) rounded up: reduce_range counts one bit less). For M > 8 no clipping is
// applied (the returned range is min-max): the clipping gain there is negligible.
//
// Quantizer assumed by the constants: ACIQ minimises the expected MSE of a uniform quantizer with
// 2^M levels spread evenly over [-alpha, alpha] WITHOUT an exact zero (step 2 alpha / 2^M, values
// at the cell mid-points). What the engine does with alpha: the range [mean - alpha, mean + alpha],
// intersected with the observed [min, max], goes to core's choose_qparams, whose grid has an exact
// zero (symmetric: scale = alpha / qmax). So the constants are the paper's, not re-optimised for the
// engine's grid; the mse observer searches the engine's exact quantizer instead.
//
// Streaming: count / sum / sum of squares accumulate in double over fixed chunks in chunk order
// (bit-identical at any thread count); mean |x - mean| needs the final mean, so it is taken from a
// signed 16384-bin Pow2Histogram (exact counts, exact growth) with bin centres (error < half a bin,
// ~ 2^e / 16384). merge() adds the sums: equal to observe(a); observe(b) up to the rounding of the
// double sums (the histogram part is exact).
#include <algorithm>
#include <cmath>
#include <memory>

#include "calibrators/common.h"
#include "calibrators/value_store.h"
#include "core/parallel.h"

namespace mqcalib::calib {
namespace {

constexpr int kAciqBins = 1 << 14;
constexpr double kLaplace[] = {2.83, 3.89, 5.03, 6.20, 7.41, 8.64, 9.89};   // M = 2..8 (Banner et al.)
constexpr double kGaussian[] = {1.71, 2.15, 2.55, 2.94, 3.29, 3.61, 3.92};  // M = 2..8 (Banner et al.)

enum class Prior { Laplace, Gaussian };

class AciqObserver final : public Observer {
 public:
  explicit AciqObserver(const ObserverOptions& o) : Observer(o), hist_(HistKind::Signed, kAciqBins) {
    if (o.aciq_prior == "laplace") prior_ = Prior::Laplace;
    else if (o.aciq_prior == "gaussian") prior_ = Prior::Gaussian;
    else throw Error("observer 'aciq': unknown prior '" + o.aciq_prior + "' (choices: gaussian, laplace)");
  }
  std::string_view name() const override { return "aciq"; }

  void observe(ViewF32 x) override {
    const int64_t n = x.size();
    if (n == 0) return;
    Pow2Histogram h = hist_;
    const ScanResult s = h.add(x.data, n);
    if (!s.finite) throw_non_finite(name());
    std::vector<double> s1(static_cast<size_t>(num_chunks(n, kChunk))), s2(s1.size());
    parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t k) {
      double a = 0, q = 0;
      for (int64_t i = b; i < e; ++i) {
        const double v = x.data[i];
        a += v;
        q += v * v;
      }
      s1[static_cast<size_t>(k)] = a;
      s2[static_cast<size_t>(k)] = q;
    });
    for (size_t k = 0; k < s1.size(); ++k) sum_ += s1[k], sumsq_ += s2[k];
    hist_ = std::move(h);
    scan_.merge(s);
    count_ += n;
  }
  void merge(const Observer& other) override {
    const auto& o = same_observer<AciqObserver>(*this, other);
    hist_.merge(o.hist_);
    scan_.merge(o.scan_);
    sum_ += o.sum_;
    sumsq_ += o.sumsq_;
    count_ += o.count_;
  }
  std::unique_ptr<Observer> clone_empty() const override { return std::make_unique<AciqObserver>(options_); }

  Range finalize(const QScheme& scheme) const override {
    if (count_ == 0) throw_no_data(name());
    const double n = static_cast<double>(count_);
    const double mean = sum_ / n;
    const int levels = scheme.qmax() - scheme.qmin() + 1;
    int bits = 0;
    while ((1 << bits) < levels) ++bits;
    if (bits > 8) return Range{{scan_.min}, {scan_.max}};
    bits = std::max(bits, 2);
    double alpha;
    if (prior_ == Prior::Gaussian) {
      const double var = std::max(0.0, sumsq_ / n - mean * mean);
      alpha = kGaussian[bits - 2] * std::sqrt(var);
    } else {
      const std::vector<float> c = hist_.centers();
      double dev = 0;
      for (size_t k = 0; k < c.size(); ++k) dev += static_cast<double>(hist_.counts()[k]) * std::fabs(c[k] - mean);
      alpha = kLaplace[bits - 2] * dev / n;
    }
    const float lo = std::max(scan_.min, static_cast<float>(mean - alpha));
    const float hi = std::min(scan_.max, static_cast<float>(mean + alpha));
    return Range{{std::min(lo, hi)}, {std::max(lo, hi)}};
  }

 private:
  Prior prior_ = Prior::Laplace;
  Pow2Histogram hist_;
  ScanResult scan_;
  double sum_ = 0, sumsq_ = 0;
  int64_t count_ = 0;
};

}  // namespace
}  // namespace mqcalib::calib

MQCALIB_REGISTER_OBSERVER(aciq, mqcalib::ObserverInfo{
    "aciq", "analytic clipping (ACIQ) from mean |x - mean| (laplace) or std (gaussian)", false,
    [](const mqcalib::ObserverOptions& o) -> std::unique_ptr<mqcalib::Observer> {
      return std::make_unique<mqcalib::calib::AciqObserver>(o);
    }})
