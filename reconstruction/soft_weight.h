// mqcalib/reconstruction/soft_weight.h: AdaRound's soft-quantized weight, its gradient w.r.t. V and
// the final hard rounding, for per-tensor or per-channel, symmetric or asymmetric QParams (a
// power-of-two scale is just a scale value here).
//
// ../shared/REFERENCE.md section 4, with the zero point folded into the clamp bounds:
//   b = floor(W / s)                                   (true division, as the forward quantizer)
//   W~ = s * clamp(b + h(V), qmin - zp, qmax - zp)      = s * (clamp(b + h + zp, qmin, qmax) - zp)
//   dW~/dV = s * h'(V)  where qmin - zp <= b + h(V) <= qmax - zp  (inclusive, as torch.clamp), else 0
//   hard rounding:  q = clamp(b + (h(V) >= 0.5 ? 1 : 0) + zp, qmin, qmax),  W^ = s * (q - zp)
//   V initialised by h(V) = W / s - b (rectified_sigmoid_inverse).
// s and zp are those of the element's channel (QParams::axis), or the tensor's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "core/tensor.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib {

class SoftWeight {
 public:
  // Checks p against w's shape (Error naming `name`) and precomputes b = floor(W / s).
  SoftWeight(ViewF32 w, const QParams& p, const std::string& name);

  int64_t size() const { return static_cast<int64_t>(base_.size()); }
  const Shape& shape() const { return shape_; }

  // V with h(V) = frac(W / s).
  std::vector<float> initial_v() const;
  // W~(V) into w_soft; with h and dh (size() each, or null), h(V) and h'(V) as well, for grad().
  void soft(const float* v, float* w_soft, float* h = nullptr, float* dh = nullptr) const;
  // gv = dL/dW~ * dW~/dV.
  void backward(const float* v, const float* g_wsoft, float* gv) const;

  // backward() for entry i of channel c, given the h(V_i) and h'(V_i) soft() wrote: for loops that
  // fuse it with other per-entry work, iterating with for_channel_runs().
  float grad(size_t c, int64_t i, float h, float dh, float g_wsoft) const {
    const float q = base_[static_cast<size_t>(i)] + h;
    return q >= lo_[c] && q <= hi_[c] ? g_wsoft * scale_[c] * dh : 0.0f;
  }
  // grad() for the n <= 8 entries [i, i + n) of channel c, as vectors (lanes past n are zero).
  recon_detail::V8F32 grad8(size_t c, int64_t i, int64_t n, recon_detail::V8F32 h, recon_detail::V8F32 dh,
                            recon_detail::V8F32 g_wsoft) const {
    using namespace recon_detail;
    const V8F32 q = load_partial8_f32(base_.data() + i, n) + h;
    return select8_f32((q >= splat8_f32(lo_[c])) & (q <= splat8_f32(hi_[c])) & first_lanes8(n),
                       g_wsoft * scale_[c] * dh, V8F32{});
  }
  // Calls fn(c, i0, i1) for the runs [i0, i1) of [b, e) whose entries share channel c.
  template <class Fn>
  void for_channel_runs(int64_t b, int64_t e, Fn&& fn) const {
    for (int64_t i = b; i < e;) {
      const int64_t end = channels_ == 1 ? e : std::min(e, (i / inner_ + 1) * inner_);
      fn(channel(i), i, end);
      i = end;
    }
  }
  // Hard-rounded integer codes q and the dequantized weight W^ = s * (q - zp).
  void hard(const float* v, int32_t* codes, float* w_hard) const;
  // Fraction of entries whose h(V) is strictly between 0 and 1 (not yet decided).
  float soft_fraction(const float* v) const;

 private:
  size_t channel(int64_t i) const { return static_cast<size_t>((i / inner_) % channels_); }

  Shape shape_;
  std::vector<float> base_;             // floor(W / s)
  std::vector<float> frac_;             // W / s - floor(W / s)
  std::vector<float> scale_, lo_, hi_;  // per channel: s, qmin - zp, qmax - zp
  std::vector<int32_t> zp_;
  int32_t qmin_ = 0, qmax_ = 0;
  int64_t inner_ = 1, channels_ = 1;
};

}  // namespace mqcalib
