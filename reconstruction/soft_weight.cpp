// mqcalib/reconstruction/soft_weight.cpp: W~(V), dW~/dV, hard rounding (formulas in the header).
#include "reconstruction/soft_weight.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "reconstruction/rectified_sigmoid.h"

namespace mqcalib {

namespace {
constexpr int64_t kChunkElems = int64_t{1} << 12;  // small: 2 threads share a 10k-weight layer
}

SoftWeight::SoftWeight(ViewF32 w, const QParams& p, const std::string& name) : shape_(w.shape) {
  p.validate(name);
  if (p.per_channel()) {
    if (p.axis >= w.rank() || w.shape[static_cast<size_t>(p.axis)] != static_cast<int64_t>(p.channels()))
      throw Error("AdaRound weight '" + name + "': " + std::to_string(p.channels()) + " per-channel params on axis " +
                  std::to_string(p.axis) + " do not match weight shape " + shape_to_string(w.shape));
    channels_ = static_cast<int64_t>(p.channels());
    for (int i = p.axis + 1; i < w.rank(); ++i) inner_ *= w.shape[static_cast<size_t>(i)];
  }
  qmin_ = p.qmin;
  qmax_ = p.qmax;
  scale_ = p.scale;
  zp_ = p.zero_point;
  for (size_t c = 0; c < p.channels(); ++c) {
    lo_.push_back(static_cast<float>(p.qmin - p.zero_point[c]));
    hi_.push_back(static_cast<float>(p.qmax - p.zero_point[c]));
  }
  base_.resize(static_cast<size_t>(w.size()));
  frac_.resize(base_.size());
  for (int64_t i = 0; i < w.size(); ++i) {
    const float r = w.data[i] / scale_[channel(i)];
    if (!std::isfinite(r))
      throw Error("AdaRound weight '" + name + "': non-finite value at index " + std::to_string(i));
    base_[static_cast<size_t>(i)] = std::floor(r);
    frac_[static_cast<size_t>(i)] = r - std::floor(r);
  }
}

std::vector<float> SoftWeight::initial_v() const {
  std::vector<float> v(frac_.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = rectified_sigmoid_inverse(frac_[i]);
  return v;
}

// Vectorized over 8 entries of a channel run (the run's tail as a partial vector): the same
// rectified_sigmoid_and_grad8 as every scalar h(V) of the engine.
void SoftWeight::soft(const float* v, float* w_soft, float* h, float* dh) const {
  using namespace recon_detail;
  parallel_for_chunks(size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for_channel_runs(b, e, [&](size_t c, int64_t i0, int64_t i1) {
      const V8F32 lo = splat8_f32(lo_[c]), hi = splat8_f32(hi_[c]);
      for (int64_t i = i0; i < i1; i += 8) {
        const int64_t n = std::min<int64_t>(8, i1 - i);
        V8F32 hv, dhv;
        rectified_sigmoid_and_grad8(load_partial8_f32(v + i, n), hv, dhv);
        const V8F32 q = load_partial8_f32(base_.data() + i, n) + hv;
        store_partial8_f32(w_soft + i, scale_[c] * select8_f32(q < lo, lo, select8_f32(q > hi, hi, q)), n);
        if (h) store_partial8_f32(h + i, hv, n);
        if (dh) store_partial8_f32(dh + i, dhv, n);
      }
    });
  });
}

void SoftWeight::backward(const float* v, const float* g_wsoft, float* gv) const {
  parallel_for_chunks(size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for_channel_runs(b, e, [&](size_t c, int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const RectifiedSigmoid r = rectified_sigmoid_and_grad(v[i]);
        gv[i] = grad(c, i, r.h, r.dh, g_wsoft[i]);
      }
    });
  });
}

void SoftWeight::hard(const float* v, int32_t* codes, float* w_hard) const {
  for (int64_t i = 0; i < size(); ++i) {
    const size_t c = channel(i);
    const int64_t up = rectified_sigmoid(v[i]) >= 0.5f ? 1 : 0;
    const int64_t q = std::min<int64_t>(
        std::max<int64_t>(static_cast<int64_t>(base_[static_cast<size_t>(i)]) + up + zp_[c], qmin_), qmax_);
    if (codes) codes[i] = static_cast<int32_t>(q);
    if (w_hard) w_hard[i] = scale_[c] * static_cast<float>(q - zp_[c]);
  }
}

float SoftWeight::soft_fraction(const float* v) const {
  int64_t n = 0;
  for (int64_t i = 0; i < size(); ++i) {
    const float h = rectified_sigmoid(v[i]);
    n += h > 0.0f && h < 1.0f ? 1 : 0;
  }
  return size() ? static_cast<float>(n) / static_cast<float>(size()) : 0.0f;
}

}  // namespace mqcalib
