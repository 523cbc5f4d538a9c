// mqcalib/reconstruction/fake_quant_backward.cpp: STE gradient of fake quantization (header formula).
#include "reconstruction/fake_quant_backward.h"

#include <cmath>
#include <string>

#include "core/parallel.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunkElems = int64_t{1} << 14;

// Channel of flat element i: (i / inner) % C for per-channel params, 0 otherwise.
struct ChannelOf {
  int64_t inner = 1, C = 1;
  int64_t operator()(int64_t i) const { return (i / inner) % C; }
};

ChannelOf check(const ViewF32& x, const ViewF32& gy, const MutViewF32& gx, const QParams& p, const char* fn) {
  p.validate(fn);
  if (x.shape != gy.shape || x.shape != gx.shape)
    throw Error(std::string(fn) + ": input " + shape_to_string(x.shape) + ", gradient gy " + shape_to_string(gy.shape) +
                " and gx " + shape_to_string(gx.shape) + " must have the same shape");
  ChannelOf ch;
  if (!p.per_channel()) return ch;
  if (p.axis >= x.rank() || x.shape[static_cast<size_t>(p.axis)] != static_cast<int64_t>(p.channels()))
    throw Error(std::string(fn) + ": " + std::to_string(p.channels()) + " per-channel params on axis " +
                std::to_string(p.axis) + " do not match input shape " + shape_to_string(x.shape));
  ch.C = static_cast<int64_t>(p.channels());
  for (int i = p.axis + 1; i < x.rank(); ++i) ch.inner *= x.shape[static_cast<size_t>(i)];
  return ch;
}

inline float ste(float x, float gy, float s, int32_t zp, const QParams& p) {
  const float v = x / s;
  const float r = p.rounding == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v);
  const float q = r + static_cast<float>(zp);
  return q >= static_cast<float>(p.qmin) && q <= static_cast<float>(p.qmax) ? gy : 0.0f;
}

}  // namespace

void fake_quantize_backward_ste_f32(ViewF32 x, ViewF32 gy, const QParams& p, MutViewF32 gx) {
  const ChannelOf ch = check(x, gy, gx, p, "fake_quantize_backward_ste");
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      const size_t c = static_cast<size_t>(ch(i));
      gx.data[i] = ste(x.data[i], gy.data[i], p.scale[c], p.zero_point[c], p);
    }
  });
}

void fake_quantize_backward_ste_f32_ref(ViewF32 x, ViewF32 gy, const QParams& p, MutViewF32 gx) {
  const ChannelOf ch = check(x, gy, gx, p, "fake_quantize_backward_ste_ref");
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t c = static_cast<size_t>(ch(i));
    gx.data[i] = ste(x.data[i], gy.data[i], p.scale[c], p.zero_point[c], p);
  }
}

}  // namespace mqcalib
