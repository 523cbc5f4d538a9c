// mqcalib/reconstruction/lsq_fake_quant.cpp: LSQ fake quantization, its gradients and QDrop's mask
// (formulas in the header).
#include "reconstruction/lsq_fake_quant.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib {

namespace {

using recon_detail::V8F32;
using recon_detail::V8I32;
typedef uint32_t V8U32 __attribute__((vector_size(32)));

constexpr int64_t kChunkElems = int64_t{1} << 14;  // multiple of 8
constexpr float kRoundMagic = 12582912.0f;         // 1.5 * 2^23

struct Consts {
  float s, lo, hi;
  bool even;
  bool drop;
  uint32_t seed32, threshold;  // m_i = hash(i) >> 8 < threshold
};

uint32_t seed32_of(uint64_t seed) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

uint32_t threshold_of(float p) {
  return p >= 1.0f ? (1u << 24) : (p <= 0.0f ? 0u : static_cast<uint32_t>(p * 16777216.0f));
}

Consts consts(const StepQuant& q, const Drop* d) {
  return {q.scale,
          static_cast<float>(q.qmin - q.zero_point),
          static_cast<float>(q.qmax - q.zero_point),
          q.rounding == Rounding::HalfToEven,
          d != nullptr,
          d ? seed32_of(d->seed) : 0u,
          d ? threshold_of(d->p) : 0u};
}

inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}
inline bool keep_one(const Consts& k, int64_t i) {
  return !k.drop || (fmix32(k.seed32 ^ (static_cast<uint32_t>(i) * 0x9E3779B9u)) >> 8) < k.threshold;
}
// Lanes i0 .. i0 + 7: all-ones where the element takes its quantized value.
inline V8I32 keep8(const Consts& k, int64_t i0) {
  if (!k.drop) return V8I32{} - 1;
  const V8U32 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  V8U32 h = (static_cast<uint32_t>(i0) + lane) * 0x9E3779B9u;
  h ^= k.seed32;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  const V8U32 m = (h >> 8) < k.threshold;
  V8I32 r;
  std::memcpy(&r, &m, sizeof r);
  return r;
}

inline float round_one(float v, bool even) { return even ? std::nearbyint(v) : std::round(v); }
// round(v) for v already clamped to a small range (|v| < 2^22): nearbyint by the magic number; ties
// away from zero moved one step when they went toward zero (src/core/quantize.cpp's fast rounding).
inline V8F32 round8(V8F32 v, bool even) {
  const V8F32 r = (v + kRoundMagic) - kRoundMagic;
  if (even) return r;
  const V8F32 d = v - r, half = recon_detail::splat8_f32(0.5f), zero{};
  const V8I32 up = (d == half) & (v > zero), down = (d == -half) & (v < zero);
  return recon_detail::select8_f32(up, r + 1.0f, recon_detail::select8_f32(down, r - 1.0f, r));
}

// clamp(r, lo, hi) as max(lo, min(r, hi)): NaN gives lo (as fake_quantize_f32).
inline float clamp_one(float r, float lo, float hi) { return std::max(lo, std::min(r, hi)); }

inline float forward_one(float x, const Consts& k, bool keep) {
  if (!keep) return x;
  return k.s * (clamp_one(round_one(x / k.s, k.even), k.lo, k.hi) + 0.0f);  // + 0: -0 -> +0, as fake_quantize_f32
}

inline float backward_one(float x, float gy, const Consts& k, bool keep, double& ds) {
  if (!keep) return gy;
  const float v = x / k.s, r = round_one(v, k.even);
  if (r < k.lo) {
    ds += static_cast<double>(gy) * k.lo;
    return 0.0f;
  }
  if (r > k.hi) {
    ds += static_cast<double>(gy) * k.hi;
    return 0.0f;
  }
  ds += static_cast<double>(gy) * static_cast<double>(r - v);
  return gy;
}

// v = x / s clamped to [lo - 1, hi + 1] (NaN kept), so the magic-number rounding is exact.
inline V8F32 scaled8(V8F32 x, const Consts& k) {
  using namespace recon_detail;
  V8F32 v = x / k.s;
  v = select8_f32(v < splat8_f32(k.lo - 1.0f), splat8_f32(k.lo - 1.0f), v);
  return select8_f32(v > splat8_f32(k.hi + 1.0f), splat8_f32(k.hi + 1.0f), v);
}

void forward_chunk(const float* x, float* y, const Consts& k, int64_t b, int64_t e) {
  using namespace recon_detail;
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    const V8F32 xv = load8_f32(x + i);
    const V8F32 r = round8(scaled8(xv, k), k.even);
    const V8F32 m = select8_f32(splat8_f32(k.hi) < r, splat8_f32(k.hi), r);
    const V8F32 c = select8_f32(splat8_f32(k.lo) < m, m, splat8_f32(k.lo));
    store8_f32(y + i, select8_f32(keep8(k, i), k.s * (c + 0.0f), xv));
  }
  for (; i < e; ++i) y[i] = forward_one(x[i], k, keep_one(k, i));
}

double backward_chunk(const float* x, const float* gy, float* gx, const Consts& k, int64_t b, int64_t e) {
  using namespace recon_detail;
  V8F32 acc{};
  int64_t i = b;
  const V8F32 lo = splat8_f32(k.lo), hi = splat8_f32(k.hi), zero{};
  for (; i + 8 <= e; i += 8) {
    const V8F32 v = scaled8(load8_f32(x + i), k), g = load8_f32(gy + i);
    const V8F32 r = round8(v, k.even);
    const V8I32 below = r<lo, above = r> hi, keep = keep8(k, i);
    const V8F32 ds = select8_f32(below, lo, select8_f32(above, hi, r - v));
    acc += select8_f32(keep, g * ds, zero);
    store8_f32(gx + i, select8_f32(keep & (below | above), zero, g));
  }
  double s = static_cast<double>(hsum8_f32(acc));
  for (; i < e; ++i) gx[i] = backward_one(x[i], gy[i], k, keep_one(k, i), s);
  return s;
}

void check(const ViewF32& x, const Shape& other, const StepQuant& q, const char* fn) {
  if (x.shape != other)
    throw Error(std::string(fn) + ": input " + shape_to_string(x.shape) + " and output/gradient " +
                shape_to_string(other) + " differ");
  if (!(q.scale > 0.0f) || !std::isfinite(q.scale))
    throw Error(std::string(fn) + ": step size must be finite and positive, got " + std::to_string(q.scale));
  if (q.qmin >= q.qmax || q.zero_point < q.qmin || q.zero_point > q.qmax)
    throw Error(std::string(fn) + ": need qmin < qmax and the zero point inside [qmin, qmax]");
}

}  // namespace

StepQuant step_quant_of(const QParams& p, float scale, const std::string& name) {
  if (p.per_channel() || p.scale.size() != 1)
    throw Error("activation quantizer '" + name + "': learned step sizes are per-tensor, got per-channel params");
  StepQuant q;
  q.scale = scale;
  q.zero_point = p.zero_point.at(0);
  q.qmin = p.qmin;
  q.qmax = p.qmax;
  q.rounding = p.rounding;
  return q;
}

void lsq_fake_quant_f32(ViewF32 x, const StepQuant& q, const Drop* drop, MutViewF32 y) {
  check(x, y.shape, q, "lsq_fake_quant");
  const Consts k = consts(q, drop);
  parallel_for_chunks(x.size(), kChunkElems,
                      [&](int64_t b, int64_t e, int64_t) { forward_chunk(x.data, y.data, k, b, e); });
}

void lsq_fake_quant_f32_ref(ViewF32 x, const StepQuant& q, const Drop* drop, MutViewF32 y) {
  check(x, y.shape, q, "lsq_fake_quant_ref");
  const Consts k = consts(q, drop);
  for (int64_t i = 0; i < x.size(); ++i) y.data[i] = forward_one(x.data[i], k, keep_one(k, i));
}

double lsq_fake_quant_backward_f32(ViewF32 x, ViewF32 gy, const StepQuant& q, const Drop* drop, MutViewF32 gx) {
  check(x, gy.shape, q, "lsq_fake_quant_backward");
  check(x, gx.shape, q, "lsq_fake_quant_backward");
  const Consts k = consts(q, drop);
  std::vector<double> part(static_cast<size_t>(num_chunks(x.size(), kChunkElems)), 0.0);
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t c) {
    part[static_cast<size_t>(c)] = backward_chunk(x.data, gy.data, gx.data, k, b, e);
  });
  double gs = 0.0;
  for (double d : part) gs += d;
  return gs;
}

double lsq_fake_quant_backward_f32_ref(ViewF32 x, ViewF32 gy, const StepQuant& q, const Drop* drop, MutViewF32 gx) {
  check(x, gy.shape, q, "lsq_fake_quant_backward_ref");
  check(x, gx.shape, q, "lsq_fake_quant_backward_ref");
  const Consts k = consts(q, drop);
  double gs = 0.0;
  for (int64_t i = 0; i < x.size(); ++i) gx.data[i] = backward_one(x.data[i], gy.data[i], k, keep_one(k, i), gs);
  return gs;
}

void drop_mask_u8(int64_t n, const Drop& drop, uint8_t* mask) {
  const Consts k = consts(StepQuant{}, &drop);
  parallel_for_chunks(n, kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) mask[i] = keep_one(k, i) ? 1 : 0;
  });
}

void drop_mix_f32(MutViewF32 x, ViewF32 alt, const Drop& drop) {
  if (x.shape != alt.shape)
    throw Error("drop_mix: values " + shape_to_string(x.shape) + " and FP values " + shape_to_string(alt.shape) +
                " differ");
  const Consts k = consts(StepQuant{}, &drop);
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    using namespace recon_detail;
    int64_t i = b;
    for (; i + 8 <= e; i += 8)
      store8_f32(x.data + i, select8_f32(keep8(k, i), load8_f32(x.data + i), load8_f32(alt.data + i)));
    for (; i < e; ++i) x.data[i] = keep_one(k, i) ? x.data[i] : alt.data[i];
  });
}

}  // namespace mqcalib
