// mqcalib/calibrators/pow2_histogram.cpp: see pow2_histogram.h.
#include "calibrators/pow2_histogram.h"

#include <algorithm>
#include <cmath>
#include <memory>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/error.h"
#include "core/parallel.h"

namespace mqcalib::calib {
// ---------------------------------------------------------------------------------------------
// Pow2Histogram

Pow2Histogram::Pow2Histogram(HistKind kind, int bins) : kind_(kind), bins_(bins) {
  if (bins < 2 || (bins & (bins - 1)) != 0)
    throw Error("histogram: bin count " + std::to_string(bins) + " is not a power of two >= 2");
  while ((1 << log2_bins_) < bins) ++log2_bins_;
  counts_.assign(static_cast<size_t>(bins), 0);
}

int Pow2Histogram::exponent_above(float absmax) {
  if (!(absmax > 0.0f)) return kMinExp;
  int e = 0;
  std::frexp(absmax, &e);  // absmax = m 2^e, m in [0.5, 1): 2^(e-1) <= absmax < 2^e
  return std::max(e, kMinExp);
}

uint64_t Pow2Histogram::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

double Pow2Histogram::width() const {
  return std::ldexp(1.0, exp_ - (kind_ == HistKind::Abs ? log2_bins_ : log2_bins_ - 1));
}

double Pow2Histogram::lo() const { return kind_ == HistKind::Abs ? 0.0 : -std::ldexp(1.0, exp_); }

std::vector<float> Pow2Histogram::centers() const {
  std::vector<float> c(static_cast<size_t>(bins_));
  const double w = width(), l = lo();
  for (int k = 0; k < bins_; ++k) c[static_cast<size_t>(k)] = static_cast<float>(l + (k + 0.5) * w);
  return c;
}

namespace {

constexpr int kBinBlock = 512;  // indices computed per block, then counted
constexpr int kSubHists = 4;    // interleaved sub-histograms (see SubHistograms)
constexpr int kSubPad = 16;     // sub-histogram stride bins + 16: the four copies of a bin do not
                                // sit 4 KiB apart (the loads of one would wait on the others' stores)

// Four interleaved uint16 sub-histograms: consecutive values in one bin no longer serialise on a
// single counter's store-to-load dependency, and the four copies of 2048 bins take 16.5 KiB (uint32
// copies took 33 KiB, more than a 32 KiB L1 data cache holds beside the data and the indices). The
// lane runs on across blocks: the t-th value counted since the last flush goes to copy t mod 4, so no
// copy holds more than ceil(pending / 4) counts, and flushing before pending passes kSubFlushAt keeps
// every uint16 counter below 2^16. Integer sums, so the merge order does not matter.
static_assert((kSubHists & (kSubHists - 1)) == 0, "the running lane wraps with a mask");
class SubHistograms {
 public:
  explicit SubHistograms(int bins) : bins_(bins), stride_(bins + kSubPad), sub_(static_cast<size_t>(kSubHists * stride_), 0u) {}
  void count(const int32_t* idx, int m) {
    uint16_t* b[kSubHists];
    for (int k = 0; k < kSubHists; ++k) b[k] = sub_.data() + static_cast<size_t>(((lane_ + k) & (kSubHists - 1)) * stride_);
    int j = 0;
    for (; j + kSubHists <= m; j += kSubHists) {
      ++b[0][idx[j]];
      ++b[1][idx[j + 1]];
      ++b[2][idx[j + 2]];
      ++b[3][idx[j + 3]];
    }
    for (int k = 0; j < m; ++j, ++k) ++b[k][idx[j]];
    lane_ = (lane_ + m) & (kSubHists - 1);
    pending += m;
  }
  // Adds the counts to `counts` and starts again from zero.
  void flush_to(uint64_t* counts) {
    const uint16_t* s = sub_.data();
    for (int k = 0; k < bins_; ++k)
      counts[k] += static_cast<uint64_t>(static_cast<uint32_t>(s[k]) + s[stride_ + k] + s[2 * stride_ + k] +
                                         s[3 * stride_ + k]);
    std::fill(sub_.begin(), sub_.end(), uint16_t{0});
    pending = 0;
  }
  int64_t pending = 0;  // values counted since the last flush

 private:
  int bins_, stride_;
  int lane_ = 0;
  std::vector<uint16_t> sub_;
};
constexpr int64_t kSubFlushAt = int64_t{kSubHists} * 65535;  // pending + next chunk must stay below

// A thread's part of Pow2Histogram::add: its histogram and the sub-histograms counting into it at
// that histogram's exponent (flushed before the exponent grows and at the end).
struct ThreadBins {
  Pow2Histogram hist;
  std::unique_ptr<SubHistograms> sub;
};

// The bin indices floor(|x| * scale) (clamped to last) of the non-zero values of xb[0, m), in order,
// into idx (room for m + 8); returns how many. Exact zeros (+0, -0) are left out.
int abs_indices_nonzero_scalar(const float* xb, int m, float scale, int32_t last, int32_t* idx) {
  int w = 0;
  for (int j = 0; j < m; ++j) {
    const float a = std::fabs(xb[j]);
    const int32_t k = static_cast<int32_t>(a * scale);
    idx[w] = k < last ? k : last;
    w += a != 0.0f ? 1 : 0;
  }
  return w;
}

#if defined(__AVX2__)
// Lane permutations that move the lanes set in an 8-bit mask to the front, in order.
struct CompactTable {
  alignas(32) int32_t lanes[256][8];
  CompactTable() {
    for (int m = 0; m < 256; ++m) {
      int k = 0;
      for (int j = 0; j < 8; ++j)
        if (m >> j & 1) lanes[m][k++] = j;
      for (; k < 8; ++k) lanes[m][k] = 0;
    }
  }
};
const CompactTable kCompact;

// abs_indices_nonzero_scalar, 8 values at a time (compacted by a lane permutation), the tail by it.
int abs_indices_nonzero(const float* xb, int m, float scale, int32_t last, int32_t* idx) {
  const __m256 vscale = _mm256_set1_ps(scale), vabs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i vlast = _mm256_set1_epi32(last);
  int w = 0, j = 0;
  for (; j + 8 <= m; j += 8) {
    const __m256 a = _mm256_and_ps(_mm256_loadu_ps(xb + j), vabs);
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ));
    __m256i k = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(a, vscale)), vlast);
    k = _mm256_permutevar8x32_epi32(k, _mm256_load_si256(reinterpret_cast<const __m256i*>(kCompact.lanes[mask])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + w), k);
    w += __builtin_popcount(static_cast<unsigned>(mask));
  }
  return w + abs_indices_nonzero_scalar(xb + j, m - j, scale, last, idx + w);
}
#else
int abs_indices_nonzero(const float* xb, int m, float scale, int32_t last, int32_t* idx) {
  return abs_indices_nonzero_scalar(xb, m, scale, last, idx);
}
#endif

// Bin index, exact: Abs: floor(|x| 2^(k - e)); Signed: floor(x 2^(k-1-e)) + bins/2.
// Abs: the non-zero values are compacted and counted, the exact zeros (bin 0) counted apart: after
// a ReLU about half the values are zeros, and counting them one by one was most of the cost.
// Counts into `sub`; returns the exact zeros among x (+0 and -0), which Abs adds to bin 0 of
// `counts` itself and Signed counts only when asked (`want_zeros`).
uint64_t bin_values(HistKind kind, int bins, int log2_bins, const float* x, int64_t n, int e, SubHistograms& sub,
                    uint64_t* counts, bool want_zeros) {
  alignas(64) int32_t idx[kBinBlock + 8];
  const int32_t last = bins - 1;
  uint64_t n_zero = 0;
  if (kind == HistKind::Abs) {
    const float scale = std::ldexp(1.0f, log2_bins - e);
    for (int64_t b = 0; b < n; b += kBinBlock) {
      const int m = static_cast<int>(std::min<int64_t>(kBinBlock, n - b));
      const int w = abs_indices_nonzero(x + b, m, scale, last, idx);
      n_zero += static_cast<uint64_t>(m - w);
      sub.count(idx, w);
    }
    counts[0] += n_zero;
    return n_zero;
  }
  const float scale = std::ldexp(1.0f, log2_bins - 1 - e);
  const int32_t half = bins / 2;
  for (int64_t b = 0; b < n; b += kBinBlock) {
    const int m = static_cast<int>(std::min<int64_t>(kBinBlock, n - b));
    const float* xb = x + b;
    for (int j = 0; j < m; ++j) {
      // floor without std::floor (which GCC does not vectorise under default math flags):
      // truncate, then step down where truncation rounded up (negative non-integers).
      const float y = xb[j] * scale;
      int32_t t = static_cast<int32_t>(y);
      t -= static_cast<float>(t) > y ? 1 : 0;
      const int32_t k = t + half;
      idx[j] = k < last ? (k > 0 ? k : 0) : last;
    }
    sub.count(idx, m);
  }
  if (want_zeros)
    for (int64_t j = 0; j < n; ++j) n_zero += x[j] == 0.0f ? 1u : 0u;
  return n_zero;
}

}  // namespace

void Pow2Histogram::bin_into_ref(const float* x, int64_t n, int e, uint64_t* counts) const {
  for (int64_t i = 0; i < n; ++i) {
    double k;
    if (kind_ == HistKind::Abs)
      k = std::floor(std::fabs(static_cast<double>(x[i])) * std::ldexp(1.0, log2_bins_ - e));
    else
      k = std::floor(static_cast<double>(x[i]) * std::ldexp(1.0, log2_bins_ - 1 - e)) + bins_ / 2;
    ++counts[static_cast<size_t>(std::clamp(k, 0.0, static_cast<double>(bins_ - 1)))];
  }
}

// Doubling the range s times maps bin j (Abs) to j >> s, and signed offset j - bins/2 to
// (j - bins/2) >> s (arithmetic shift = floor division), exactly as binning at the larger range.
void Pow2Histogram::grow_to(int exponent) {
  if (exp_ == kEmpty) {
    exp_ = exponent;
    return;
  }
  if (exponent <= exp_) return;
  const int s = std::min(exponent - exp_, 62);
  std::vector<uint64_t> out(static_cast<size_t>(bins_), 0);
  const int64_t half = bins_ / 2;
  for (int64_t k = 0; k < bins_; ++k) {
    const int64_t t = kind_ == HistKind::Abs ? (k >> s) : (((k - half) >> s) + half);
    out[static_cast<size_t>(t)] += counts_[static_cast<size_t>(k)];
  }
  counts_.swap(out);
  exp_ = exponent;
}

void Pow2Histogram::merge(const Pow2Histogram& o) {
  if (o.bins_ != bins_ || o.kind_ != kind_) throw Error("histogram merge: different bin count or kind");
  if (o.empty()) return;
  Pow2Histogram tmp = o;
  const int e = empty() ? o.exp_ : std::max(exp_, o.exp_);
  grow_to(e);
  tmp.grow_to(e);
  for (size_t k = 0; k < counts_.size(); ++k) counts_[k] += tmp.counts_[k];
}

// One pass over memory: each fixed chunk (kHistChunk values, in L2) is scanned, then binned from
// cache into the thread's sub-histograms at that thread's histogram's current exponent (flushed
// and grown exactly when the chunk exceeds it). Thread histograms are merged afterwards; integer
// counts make every order exact, so the counts are those of binning everything at the final
// exponent, at any thread count and any chunk size.
ScanResult Pow2Histogram::add(const float* x, int64_t n, uint64_t* zeros) {
  constexpr int64_t kHistChunk = 1 << 14;  // small, so that both threads get about as many chunks
  ScanResult all;
  if (n <= 0) return all;
  const int threads = std::max(1, num_threads());
  std::vector<ThreadBins> local(static_cast<size_t>(threads));
  std::vector<ScanResult> part(static_cast<size_t>(num_chunks(n, kHistChunk)));
  std::vector<uint64_t> zero_part(part.size(), 0);
  parallel_for_chunks(n, kHistChunk, [&](int64_t b, int64_t end, int64_t k) {
    const ScanResult s = scan_f32(x + b, end - b);
    part[static_cast<size_t>(k)] = s;
    if (!s.finite) return;
    ThreadBins& t = local[static_cast<size_t>(omp_get_thread_num())];
    Pow2Histogram& l = t.hist;
    if (l.bins_ == 0) {
      l = Pow2Histogram(kind_, bins_);
      t.sub = std::make_unique<SubHistograms>(bins_);
    }
    const int e = exponent_above(std::max(std::fabs(s.min), std::fabs(s.max)));
    if (!l.empty() && (e > l.exp_ || t.sub->pending + (end - b) > kSubFlushAt)) t.sub->flush_to(l.counts_.data());
    l.grow_to(l.empty() ? e : std::max(l.exp_, e));
    zero_part[static_cast<size_t>(k)] =
        bin_values(kind_, bins_, log2_bins_, x + b, end - b, l.exp_, *t.sub, l.counts_.data(), zeros != nullptr);
  });
  for (const ScanResult& s : part) all.merge(s);
  if (!all.finite) return all;
  if (zeros)
    for (uint64_t z : zero_part) *zeros += z;
  for (ThreadBins& t : local)
    if (t.hist.bins_ != 0) {
      t.sub->flush_to(t.hist.counts_.data());
      merge(t.hist);
    }
  return all;
}

// ---------------------------------------------------------------------------------------------
// quantiles

double quantile_exact(std::vector<float>& v, double q) {
  const int64_t n = static_cast<int64_t>(v.size());
  const double h = static_cast<double>(n - 1) * q;
  const int64_t lo = std::clamp<int64_t>(static_cast<int64_t>(std::floor(h)), 0, n - 1);
  const int64_t hi = std::min<int64_t>(lo + 1, n - 1);
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double vlo = v[static_cast<size_t>(lo)];
  double vhi = vlo;
  if (hi != lo) vhi = *std::min_element(v.begin() + lo + 1, v.end());
  return vlo + (h - static_cast<double>(lo)) * (vhi - vlo);
}

double quantile_histogram(const Pow2Histogram& hist, double q) {
  const uint64_t n = hist.total();
  const double h = static_cast<double>(n - 1) * q;
  const double w = hist.width(), l = hist.lo();
  double cum = 0;
  const auto& c = hist.counts();
  for (size_t k = 0; k < c.size(); ++k) {
    if (c[k] == 0) continue;
    const double ck = static_cast<double>(c[k]);
    if (cum + ck > h) return l + (static_cast<double>(k) + (h - cum + 0.5) / ck) * w;
    cum += ck;
  }
  return l + static_cast<double>(c.size()) * w;
}

}  // namespace mqcalib::calib
