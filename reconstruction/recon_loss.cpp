// mqcalib/reconstruction/recon_loss.cpp: Lp / weighted output loss and the softmax KL (header).
#include "reconstruction/recon_loss.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunkElems = int64_t{1} << 14;  // multiple of 8

double per_channel_count(const ViewF32& y) {
  const int64_t c = y.rank() >= 2 ? y.shape[1] : 1;
  return static_cast<double>(y.size()) / static_cast<double>(std::max<int64_t>(1, c));
}

void check(const ViewF32& y, const ViewF32& t, float p, const char* fn) {
  if (y.shape != t.shape)
    throw Error(std::string(fn) + ": output " + shape_to_string(y.shape) + " and target " + shape_to_string(t.shape) +
                " differ");
  if (!(p > 0.0f)) throw Error(std::string(fn) + ": p must be positive, got " + std::to_string(p));
}

// Elements [b, e): returns sum w |d|^p, writes grad = w p |d|^(p-1) sign(d) * inv_m.
double chunk_fast(const float* y, const float* t, float p, const float* w, float* grad, float inv_m, int64_t b,
                  int64_t e) {
  using namespace recon_detail;
  V8F32 acc{};
  const bool sq = p == 2.0f;
  const V8F32 zero{}, tiny = splat8_f32(1.17549435e-38f);
  for (int64_t i = b; i < e; i += 8) {
    const int64_t n = std::min<int64_t>(8, e - i);
    const V8F32 d = load_partial8_f32(y + i, n) - load_partial8_f32(t + i, n);
    const V8F32 wv = w ? load_partial8_f32(w + i, n) : splat8_f32(1.0f);
    V8F32 pw, g;
    if (sq) {
      pw = d * d;
      g = 2.0f * d;
    } else {
      const V8F32 a = abs8_f32(d);
      const V8I32 pos = a >= tiny;
      pw = select8_f32(pos, exp8_f32(p * log8_f32(select8_f32(pos, a, splat8_f32(1.0f)))), zero);
      g = select8_f32(pos, p * pw / select8_f32(pos, d, splat8_f32(1.0f)), zero);
    }
    acc += wv * pw;
    if (grad) store_partial8_f32(grad + i, wv * g * inv_m, n);
  }
  return static_cast<double>(hsum8_f32(acc));
}

}  // namespace

double lp_loss_f32(ViewF32 y, ViewF32 t, float p, const float* w, float* grad) {
  check(y, t, p, "lp_loss");
  const double m = per_channel_count(y);
  const float inv_m = static_cast<float>(1.0 / std::max(1.0, m));
  std::vector<double> part(static_cast<size_t>(num_chunks(y.size(), kChunkElems)), 0.0);
  parallel_for_chunks(y.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t c) {
    part[static_cast<size_t>(c)] = chunk_fast(y.data, t.data, p, w, grad, inv_m, b, e);
  });
  double s = 0.0;
  for (double v : part) s += v;
  return y.size() ? s / m : 0.0;
}

double lp_loss_f32_ref(ViewF32 y, ViewF32 t, float p, const float* w, float* grad) {
  check(y, t, p, "lp_loss_ref");
  const double m = per_channel_count(y);
  const float inv_m = static_cast<float>(1.0 / std::max(1.0, m));
  double s = 0.0;
  for (int64_t i = 0; i < y.size(); ++i) {
    const float d = y.data[i] - t.data[i], wv = w ? w[i] : 1.0f;
    const float a = std::fabs(d);
    const float pw = p == 2.0f ? d * d : (a > 0.0f ? std::pow(a, p) : 0.0f);
    const float g = p == 2.0f ? 2.0f * d : (a > 0.0f ? p * pw / d : 0.0f);
    s += static_cast<double>(wv * pw);
    if (grad) grad[i] = wv * g * inv_m;
  }
  return y.size() ? s / m : 0.0;
}

double kl_softmax_f32(ViewF32 fp_logits, ViewF32 q_logits, float* grad_q) {
  if (fp_logits.shape != q_logits.shape || fp_logits.rank() < 1)
    throw Error("kl_softmax: FP logits " + shape_to_string(fp_logits.shape) + " and quantized logits " +
                shape_to_string(q_logits.shape) + " must have one shape");
  const int64_t K = fp_logits.shape.back(), B = K ? fp_logits.size() / K : 0;
  std::vector<double> pf(static_cast<size_t>(K)), pq(static_cast<size_t>(K));
  auto softmax = [K](const float* z, std::vector<double>& pr) {
    double mx = -INFINITY, sum = 0.0;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    for (int64_t k = 0; k < K; ++k) sum += pr[static_cast<size_t>(k)] = std::exp(static_cast<double>(z[k]) - mx);
    for (double& v : pr) v /= sum;
    return mx + std::log(sum);  // log-sum-exp
  };
  double kl = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    const float *zf = fp_logits.data + b * K, *zq = q_logits.data + b * K;
    const double lse_f = softmax(zf, pf), lse_q = softmax(zq, pq);
    for (int64_t k = 0; k < K; ++k) {
      const double p = pf[static_cast<size_t>(k)];
      if (p > 0.0) kl += p * ((zf[k] - lse_f) - (zq[k] - lse_q));
      if (grad_q) grad_q[b * K + k] = static_cast<float>((pq[static_cast<size_t>(k)] - p) / static_cast<double>(B));
    }
  }
  return B ? kl / static_cast<double>(B) : 0.0;
}

}  // namespace mqcalib
