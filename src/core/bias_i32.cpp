// mqcalib/src/core/bias_i32.cpp: see bias_i32.h.
#include "core/bias_i32.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace mqcalib {

namespace {

double round_tie(double v, Rounding r) { return r == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v); }

double bias_code(float b, const QParams& p, int64_t c) {
  const double s = p.scale.at(p.per_channel() ? static_cast<size_t>(c) : 0);
  const double q = round_tie(static_cast<double>(b) / s, p.rounding);
  return std::min<double>(std::max<double>(q, p.qmin), p.qmax);
}

void check_channels(int64_t n, const QParams& p) {
  if (p.per_channel() && static_cast<int64_t>(p.channels()) != n)
    throw Error("bias: " + std::to_string(n) + " values but " + std::to_string(p.channels()) + " per-channel scales");
}

}  // namespace

QParams bias_qparams_i32(float s_in, const QParams& weight, int64_t channels, Rounding rounding) {
  if (channels <= 0) throw Error("bias: a layer with no output channel");
  if (weight.per_channel() && static_cast<int64_t>(weight.channels()) != channels)
    throw Error("bias: " + std::to_string(channels) + " outputs but the weight has " +
                std::to_string(weight.channels()) + " per-channel scales");
  QParams bp;
  bp.qmin = std::numeric_limits<int32_t>::min();
  bp.qmax = std::numeric_limits<int32_t>::max();
  bp.rounding = rounding;
  bp.axis = channels > 1 || weight.per_channel() ? 0 : -1;
  const int64_t n = bp.axis < 0 ? 1 : channels;
  for (int64_t c = 0; c < n; ++c) {
    const float s_w = weight.scale.at(weight.per_channel() ? static_cast<size_t>(c) : 0);
    bp.scale.push_back(s_in * s_w);
    bp.zero_point.push_back(0);
  }
  return bp;
}

void quantize_bias_f32_i32(const float* bias, int64_t n, const QParams& p, int32_t* q) {
  check_channels(n, p);
  for (int64_t c = 0; c < n; ++c) q[c] = static_cast<int32_t>(bias_code(bias[c], p, c));
}

void fake_quantize_bias_f32(const float* bias, int64_t n, const QParams& p, float* out) {
  check_channels(n, p);
  for (int64_t c = 0; c < n; ++c) {
    const double s = p.scale.at(p.per_channel() ? static_cast<size_t>(c) : 0);
    out[c] = static_cast<float>(bias_code(bias[c], p, c) * s);
  }
}

}  // namespace mqcalib
