// mqcalib/calibrators/value_store.cpp: see value_store.h.
#include "calibrators/value_store.h"

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
