#include "calibrators/internal.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "core/quantize.h"

namespace mqcalib::calib {

void throw_non_finite(std::string_view observer) {
  throw Error("observer '" + std::string(observer) + "': input holds NaN or Inf");
}

int64_t channel_count(ViewF32 x, int axis, std::string_view observer) {
  const int r = x.rank();
  if (axis < -r || axis >= r || r == 0)
    throw Error("observer '" + std::string(observer) + "': per-channel axis " + std::to_string(axis) +
                " out of range for shape " + shape_to_string(x.shape));
  return x.dim(axis);
}

ChannelSplit::ChannelSplit(ViewF32 x, int axis) : data(x.data) {
  const int r = x.rank();
  if (axis < 0) axis += r;
  channels = x.shape[static_cast<size_t>(axis)];
  for (int d = 0; d < axis; ++d) outer *= x.shape[static_cast<size_t>(d)];
  for (int d = axis + 1; d < r; ++d) inner *= x.shape[static_cast<size_t>(d)];
}

const float* ChannelSplit::channel(int64_t c, std::vector<float>& buf) const {
  if (outer == 1) return data + c * inner;
  buf.resize(static_cast<size_t>(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(buf.data() + o * inner, data + (o * channels + c) * inner, static_cast<size_t>(inner) * sizeof(float));
  return buf.data();
}

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

// Bin index, exact: Abs: floor(|x| 2^(k - e)); Signed: floor(x 2^(k-1-e)) + bins/2.
void Pow2Histogram::bin_into(const float* x, int64_t n, int e, uint64_t* counts) const {
  constexpr int kBlock = 512;
  alignas(64) int32_t idx[kBlock];
  const int32_t last = bins_ - 1;
  // Four interleaved sub-histograms (uint32: a call bins at most kChunk values): consecutive values
  // landing in the same bin (the zeros after a ReLU) no longer serialise on one counter's
  // store-to-load dependency. Integer sums, so the merge order does not matter.
  constexpr int kSub = 4;
  std::vector<uint32_t> sub(static_cast<size_t>(kSub) * static_cast<size_t>(bins_), 0u);
  uint32_t* s0 = sub.data();
  uint32_t* s1 = s0 + bins_;
  uint32_t* s2 = s1 + bins_;
  uint32_t* s3 = s2 + bins_;
  const auto count_block = [&](int m) {
    int j = 0;
    for (; j + kSub <= m; j += kSub) {
      ++s0[idx[j]];
      ++s1[idx[j + 1]];
      ++s2[idx[j + 2]];
      ++s3[idx[j + 3]];
    }
    for (; j < m; ++j) ++s0[idx[j]];
  };
  if (kind_ == HistKind::Abs) {
    const float scale = std::ldexp(1.0f, log2_bins_ - e);
    for (int64_t b = 0; b < n; b += kBlock) {
      const int m = static_cast<int>(std::min<int64_t>(kBlock, n - b));
      const float* xb = x + b;
      for (int j = 0; j < m; ++j) {
        const int32_t k = static_cast<int32_t>(std::fabs(xb[j]) * scale);
        idx[j] = k < last ? k : last;
      }
      count_block(m);
    }
  } else {
    const float scale = std::ldexp(1.0f, log2_bins_ - 1 - e);
    const int32_t half = bins_ / 2;
    for (int64_t b = 0; b < n; b += kBlock) {
      const int m = static_cast<int>(std::min<int64_t>(kBlock, n - b));
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
      count_block(m);
    }
  }
  for (int32_t k = 0; k < bins_; ++k) counts[k] += static_cast<uint64_t>(s0[k]) + s1[k] + s2[k] + s3[k];
}

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

// One pass over memory: each fixed chunk (L2-sized) is scanned, then binned from cache into the
// thread's local histogram at that histogram's current exponent (grown exactly when the chunk
// exceeds it). Local histograms are merged afterwards; integer counts make every order exact, so
// the counts are those of binning everything at the final exponent, at any thread count.
ScanResult Pow2Histogram::add(const float* x, int64_t n, uint64_t* zeros) {
  ScanResult all;
  if (n <= 0) return all;
  const int threads = std::max(1, num_threads());
  std::vector<Pow2Histogram> local(static_cast<size_t>(threads));
  std::vector<ScanResult> part(static_cast<size_t>(num_chunks(n, kChunk)));
  std::vector<uint64_t> zero_part(zeros ? part.size() : 0, 0);
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t end, int64_t k) {
    const ScanResult s = scan_f32(x + b, end - b);
    part[static_cast<size_t>(k)] = s;
    if (!s.finite) return;
    Pow2Histogram& l = local[static_cast<size_t>(omp_get_thread_num())];
    if (l.bins_ == 0) l = Pow2Histogram(kind_, bins_);
    const int e = exponent_above(std::max(std::fabs(s.min), std::fabs(s.max)));
    l.grow_to(l.empty() ? e : std::max(l.exp_, e));
    l.bin_into(x + b, end - b, l.exp_, l.counts_.data());
    if (zeros) {
      uint64_t z = 0;
      for (int64_t j = b; j < end; ++j) z += x[j] == 0.0f ? 1u : 0u;
      zero_part[static_cast<size_t>(k)] = z;
    }
  });
  for (const ScanResult& s : part) all.merge(s);
  if (zeros && all.finite)
    for (uint64_t z : zero_part) *zeros += z;
  if (!all.finite) return all;
  for (const Pow2Histogram& l : local)
    if (l.bins_ != 0) merge(l);
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

// ---------------------------------------------------------------------------------------------
// ValueStore

void ValueStore::ensure_channels(size_t n, std::string_view observer) {
  if (scan_.empty()) {
    scan_.resize(n);
    values_.resize(n);
  } else if (scan_.size() != n) {
    throw Error("observer '" + std::string(observer) + "': batch has " + std::to_string(n) +
                " channels, earlier batches " + std::to_string(scan_.size()));
  }
}

void ValueStore::to_histograms() {
  if (!hist_.empty()) return;
  hist_.assign(scan_.size(), Pow2Histogram(HistKind::Signed, hist_bins_));
  for (size_t c = 0; c < scan_.size(); ++c) {
    hist_[c].add(values_[c].data(), static_cast<int64_t>(values_[c].size()));
    std::vector<float>().swap(values_[c]);
  }
}

void ValueStore::observe(ViewF32 x, bool per_channel, int axis, std::string_view observer) {
  const int64_t n = x.size();
  if (n == 0) return;
  if (!per_channel) {
    ensure_channels(1, observer);
    if (exact() && count_ + n > limit_) to_histograms();
    ScanResult s;
    if (exact()) {
      s = scan_f32_parallel(x.data, n);
      if (!s.finite) throw_non_finite(observer);
      values_[0].insert(values_[0].end(), x.data, x.data + n);
    } else {
      s = hist_[0].add(x.data, n);  // one pass: scan + bin
      if (!s.finite) throw_non_finite(observer);
    }
    scan_[0].merge(s);
  } else {
    if (!scan_f32_parallel(x.data, n).finite) throw_non_finite(observer);
    const ChannelSplit split(x, axis);
    ensure_channels(static_cast<size_t>(channel_count(x, axis, observer)), observer);
    if (exact() && count_ + n > limit_) to_histograms();
    std::vector<float> buf;
    for (int64_t c = 0; c < split.channels; ++c) {
      const float* p = split.channel(c, buf);
      const size_t cc = static_cast<size_t>(c);
      if (exact()) {
        scan_[cc].merge(scan_f32(p, split.per_channel()));
        values_[cc].insert(values_[cc].end(), p, p + split.per_channel());
      } else {
        scan_[cc].merge(hist_[cc].add(p, split.per_channel()));
      }
    }
  }
  count_ += n;
}

void ValueStore::merge(const ValueStore& o, std::string_view observer) {
  if (o.empty()) return;
  ensure_channels(o.scan_.size(), observer);
  if (exact() && (!o.exact() || count_ + o.count_ > limit_)) to_histograms();
  for (size_t c = 0; c < scan_.size(); ++c) {
    scan_[c].merge(o.scan_[c]);
    if (exact()) {
      values_[c].insert(values_[c].end(), o.values_[c].begin(), o.values_[c].end());
    } else if (o.exact()) {
      hist_[c].add(o.values_[c].data(), static_cast<int64_t>(o.values_[c].size()));
    } else {
      hist_[c].merge(o.hist_[c]);
    }
  }
  count_ += o.count_;
}

}  // namespace mqcalib::calib
