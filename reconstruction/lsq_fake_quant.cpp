// mqcalib/reconstruction/lsq_fake_quant.cpp: LSQ fake quantization, its gradients and QDrop's mask
// (formulas in the header).
#include "reconstruction/lsq_fake_quant.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunkElems = int64_t{1} << 14;

struct Consts {
  float s, lo, hi;
  bool even;
};

Consts consts(const StepQuant& q) {
  return {q.scale, static_cast<float>(q.qmin - q.zero_point), static_cast<float>(q.qmax - q.zero_point),
          q.rounding == Rounding::HalfToEven};
}

inline float round_of(float v, bool even) { return even ? std::nearbyint(v) : std::round(v); }

inline float forward_one(float x, const Consts& k, bool keep) {
  if (!keep) return x;
  const float r = round_of(x / k.s, k.even);
  return k.s * ((r < k.lo ? k.lo : (r > k.hi ? k.hi : r)) + 0.0f);  // + 0: -0 becomes +0, as fake_quantize_f32
}

// gx of one element; ds receives d x_hat / d s times gy (0 for a dropped element).
inline float backward_one(float x, float gy, const Consts& k, bool keep, double& ds) {
  if (!keep) return gy;
  const float v = x / k.s, r = round_of(v, k.even);
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

void lsq_fake_quant_f32(ViewF32 x, const StepQuant& q, const uint8_t* mask, MutViewF32 y) {
  check(x, y.shape, q, "lsq_fake_quant");
  const Consts k = consts(q);
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) y.data[i] = forward_one(x.data[i], k, !mask || mask[i]);
  });
}

void lsq_fake_quant_f32_ref(ViewF32 x, const StepQuant& q, const uint8_t* mask, MutViewF32 y) {
  check(x, y.shape, q, "lsq_fake_quant_ref");
  const Consts k = consts(q);
  for (int64_t i = 0; i < x.size(); ++i) y.data[i] = forward_one(x.data[i], k, !mask || mask[i]);
}

double lsq_fake_quant_backward_f32(ViewF32 x, ViewF32 gy, const StepQuant& q, const uint8_t* mask, MutViewF32 gx) {
  check(x, gy.shape, q, "lsq_fake_quant_backward");
  check(x, gx.shape, q, "lsq_fake_quant_backward");
  const Consts k = consts(q);
  std::vector<double> part(static_cast<size_t>(num_chunks(x.size(), kChunkElems)), 0.0);
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t c) {
    double ds = 0.0;
    for (int64_t i = b; i < e; ++i) gx.data[i] = backward_one(x.data[i], gy.data[i], k, !mask || mask[i], ds);
    part[static_cast<size_t>(c)] = ds;
  });
  double gs = 0.0;
  for (double d : part) gs += d;
  return gs;
}

double lsq_fake_quant_backward_f32_ref(ViewF32 x, ViewF32 gy, const StepQuant& q, const uint8_t* mask, MutViewF32 gx) {
  check(x, gy.shape, q, "lsq_fake_quant_backward_ref");
  check(x, gx.shape, q, "lsq_fake_quant_backward_ref");
  const Consts k = consts(q);
  double gs = 0.0;
  for (int64_t i = 0; i < x.size(); ++i) gx.data[i] = backward_one(x.data[i], gy.data[i], k, !mask || mask[i], gs);
  return gs;
}

void drop_mask_u8(int64_t n, uint64_t seed, float p, uint8_t* mask) {
  const uint32_t threshold = p >= 1.0f ? (1u << 24) : (p <= 0.0f ? 0u : static_cast<uint32_t>(p * 16777216.0f));
  parallel_for_chunks(n, kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      uint64_t z = seed + static_cast<uint64_t>(i + 1) * 0x9E3779B97F4A7C15ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      mask[i] = static_cast<uint32_t>(z >> 40) < threshold ? 1 : 0;
    }
  });
}

}  // namespace mqcalib
