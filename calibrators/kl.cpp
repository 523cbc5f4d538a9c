// mqcalib/calibrators/kl.cpp: TensorRT-style entropy calibration ("EntropyCalibration2" lineage,
// REFERENCE.md section 3), per-tensor only.
//
// Histogram: |x| in options.histogram_bins (2048) bins over [0, 2^e), 2^e the smallest power of two
// above absmax (internal.h, Pow2Histogram): it grows exactly (double the range, merge bin pairs)
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
// Fast search (kl_divergences): prefix sums give each group's mass and non-empty count in O(1);
// only the non-empty bins of P need a log; candidates run in parallel (each computed alone).
// kl_divergence_ref builds P and Q explicitly (the reference twin used by the tests).
#include "calibrators/kl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "calibrators/common.h"
#include "calibrators/internal.h"
#include "core/parallel.h"

namespace mqcalib::calib {

// MXNet / TVM _smooth_distribution on counts: zero bins get eps, non-zero bins lose
// eps * n_zero / n_nonzero (the total is unchanged).
namespace {
void smooth(std::vector<double>& v) {
  double nz = 0;
  for (double x : v) nz += x > 0 ? 1 : 0;
  const double z = static_cast<double>(v.size()) - nz;
  const double eps1 = nz > 0 ? kKlSmoothEps * z / nz : 0.0;
  for (double& x : v) x = x > 0 ? x - eps1 : kKlSmoothEps;
}
}  // namespace

double kl_divergence_ref(const std::vector<uint64_t>& h, int i, int levels) {
  const size_t n = h.size();
  std::vector<double> p(h.begin(), h.begin() + i), qsrc(h.begin(), h.begin() + i);
  double tail = 0;
  for (size_t k = static_cast<size_t>(i); k < n; ++k) tail += static_cast<double>(h[k]);
  p[static_cast<size_t>(i - 1)] += tail;
  const int m = i / levels;
  std::vector<double> q(static_cast<size_t>(i), 0.0);
  for (int g = 0; g < levels; ++g) {
    const int s = g * m, e = g == levels - 1 ? i : s + m;
    double sum = 0, nz = 0;
    for (int k = s; k < e; ++k) {
      sum += qsrc[static_cast<size_t>(k)];
      if (p[static_cast<size_t>(k)] > 0) nz += 1;
    }
    for (int k = s; k < e; ++k)
      if (p[static_cast<size_t>(k)] > 0) q[static_cast<size_t>(k)] = sum / nz;
  }
  double sq0 = 0;
  for (double v : q) sq0 += v;
  if (sq0 == 0) return std::numeric_limits<double>::infinity();  // nothing inside [0, T): no Q at all
  smooth(p);
  smooth(q);
  double sp = 0, sq = 0;
  for (int k = 0; k < i; ++k) sp += p[static_cast<size_t>(k)], sq += q[static_cast<size_t>(k)];
  double kl = 0;
  for (int k = 0; k < i; ++k) {
    const double pk = p[static_cast<size_t>(k)] / sp, qk = q[static_cast<size_t>(k)] / sq;
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

// log(c - e) for a bin count c >= 1 and the smoothing deduction e >= 0, from log(c) precomputed
// once per bin: log(c) + log1p(-u), u = e / c, with log1p's series when u < kSeriesMax (truncation
// error below u^5 / 5 < 2e-16): one libm call per bin of the histogram instead of one per bin and
// candidate (the search was ~2/3 of the KL observer's cost).
inline double log_count_minus(double log_c, double c, double e) {
  constexpr double kSeriesMax = 1e-3;
  const double u = e / c;
  if (u < kSeriesMax) return log_c - u * (1.0 + u * (0.5 + u * (1.0 / 3.0 + u * 0.25)));
  return log_c + std::log1p(-u);
}

// Same quantities without building P / Q: bins where P = 0 have Q = 0 as well, so after smoothing
// both are eps and contribute (eps / N) log(N_i / N) each (the smoothed totals stay N and N_i); only
// the non-empty bins of P need a log. Candidates are independent: each value is computed alone into
// its own slot (kl_divergences), so the result does not depend on the thread count or schedule.
double kl_divergence_fast(const std::vector<uint64_t>& h, const std::vector<uint64_t>& cum, const std::vector<uint64_t>& nzc,
                          const std::vector<double>& log_h, int i, int levels) {
  const int n = static_cast<int>(h.size());
  const size_t ui = static_cast<size_t>(i);
  const uint64_t tail = cum[static_cast<size_t>(n)] - cum[ui];
  const uint64_t ni = cum[ui];
  if (ni == 0) return std::numeric_limits<double>::infinity();
  const double total = static_cast<double>(cum[static_cast<size_t>(n)]), dni = static_cast<double>(ni);
  const bool last_from_tail = h[ui - 1] == 0 && tail > 0;
  const double nz_p = static_cast<double>(nzc[ui]) + (last_from_tail ? 1.0 : 0.0);
  const int m = i / levels;
  // Q's zero count: P's zeros plus the non-empty P bins of groups with no mass in h.
  double nz_q = nz_p;
  {
    const int s = (levels - 1) * m;
    if (cum[ui] - cum[static_cast<size_t>(s)] == 0) nz_q -= last_from_tail ? 1.0 : 0.0;  // only bin i-1 can be non-empty there
  }
  const double eps1_p = kKlSmoothEps * (i - nz_p) / nz_p, eps1_q = kKlSmoothEps * (i - nz_q) / nz_q;
  const double inv_n = 1.0 / total, inv_ni = 1.0 / dni;
  const double log_inv_n = std::log(inv_n);
  double kl = (i - nz_p) * (kKlSmoothEps * inv_n) * std::log((kKlSmoothEps * inv_n) / (kKlSmoothEps * inv_ni));
  for (int g = 0; g < levels; ++g) {
    const int s = g * m, e = g == levels - 1 ? i : s + m;
    const uint64_t sg = cum[static_cast<size_t>(e)] - cum[static_cast<size_t>(s)];
    double cg = static_cast<double>(nzc[static_cast<size_t>(e)] - nzc[static_cast<size_t>(s)]);
    if (g == levels - 1 && last_from_tail) cg += 1.0;
    if (cg == 0) continue;
    const double qk = sg > 0 ? (static_cast<double>(sg) / cg - eps1_q) * inv_ni : kKlSmoothEps * inv_ni;
    const double log_q_over_inv_n = std::log(qk) - log_inv_n;  // log(p/q) = log(c - e) - this
    for (int k = s; k < e; ++k) {
      uint64_t c = h[static_cast<size_t>(k)];
      const bool last = k == i - 1 && tail > 0;
      if (last) c += tail;
      if (c == 0) continue;
      const double dc = static_cast<double>(c);
      const double pk = (dc - eps1_p) * inv_n;
      const double lc = last ? std::log(dc - eps1_p) : log_count_minus(log_h[static_cast<size_t>(k)], dc, eps1_p);
      kl += pk * (lc - log_q_over_inv_n);
    }
  }
  return kl;
}

std::vector<double> kl_divergences(const std::vector<uint64_t>& h, int levels) {
  const int n = static_cast<int>(h.size());
  std::vector<uint64_t> cum(static_cast<size_t>(n) + 1, 0), nzc(static_cast<size_t>(n) + 1, 0);
  for (int k = 0; k < n; ++k) {
    const uint64_t c = h[static_cast<size_t>(k)];
    cum[static_cast<size_t>(k) + 1] = cum[static_cast<size_t>(k)] + c;
    nzc[static_cast<size_t>(k) + 1] = nzc[static_cast<size_t>(k)] + (c > 0 ? 1 : 0);
  }
  std::vector<double> out(static_cast<size_t>(n - levels + 1));
  std::vector<double> log_h(static_cast<size_t>(n), 0.0);
  for (int k = 0; k < n; ++k)
    if (h[static_cast<size_t>(k)] > 0) log_h[static_cast<size_t>(k)] = std::log(static_cast<double>(h[static_cast<size_t>(k)]));
  // Each candidate is computed alone into its own slot, so any schedule gives the same values;
  // dynamic, because a candidate's cost grows with i (a static split leaves one thread the heavy half).
  const int64_t nc = static_cast<int64_t>(out.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t j = 0; j < nc; ++j)
    out[static_cast<size_t>(j)] = kl_divergence_fast(h, cum, nzc, log_h, levels + static_cast<int>(j), levels);
  return out;
}

namespace {
int first_argmin(const std::vector<double>& kl, int levels) {
  int best = -1;
  for (size_t j = 0; j < kl.size(); ++j)
    if (std::isfinite(kl[j]) && (best < 0 || kl[j] < kl[static_cast<size_t>(best)] - kKlTieTolerance)) best = static_cast<int>(j);
  return best < 0 ? levels + static_cast<int>(kl.size()) - 1 : levels + best;
}
}  // namespace

std::vector<int> find_histogram_spikes(const std::vector<uint64_t>& h) {
  const int n = static_cast<int>(h.size()), r = kKlSpikeWindow / 2;
  std::vector<int> spikes;
  std::vector<uint64_t> win(static_cast<size_t>(kKlSpikeWindow));
  for (int k = 0; k < n; ++k) {
    if (h[static_cast<size_t>(k)] == 0) continue;
    for (int j = -r; j <= r; ++j) win[static_cast<size_t>(j + r)] = h[static_cast<size_t>(std::clamp(k + j, 0, n - 1))];
    std::nth_element(win.begin(), win.begin() + r, win.end());
    const double median = static_cast<double>(win[static_cast<size_t>(r)]);
    if (static_cast<double>(h[static_cast<size_t>(k)]) > kKlSpikeFactor * std::max(1.0, median)) spikes.push_back(k);
  }
  return spikes;
}

int kl_best_bins(const std::vector<uint64_t>& h, int levels) { return first_argmin(kl_divergences(h, levels), levels); }

int kl_best_bins_ref(const std::vector<uint64_t>& h, int levels) {
  std::vector<double> kl;
  for (int i = levels; i <= static_cast<int>(h.size()); ++i) kl.push_back(kl_divergence_ref(h, i, levels));
  return first_argmin(kl, levels);
}

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
