// mqcalib/src/core/quantize.cpp: quantize / dequantize / fake-quantize, fast and reference twins.
//
// Formula (../shared/REFERENCE.md section 1, docs/quantization.md):
//   q = clamp(round(x / s) + zp, qmin, qmax)      x / s is a TRUE float32 division, never x * (1/s)
//   x = s * float(q - zp)
// round() is params.rounding:
//   HalfToEven:        std::nearbyint under the default rounding mode (FE_TONEAREST); the fast kernel
//                      uses the same call, which the compiler vectorizes (vroundps, imm 0xC / 0x4).
//   HalfAwayFromZero:  std::round in the reference; in the fast kernel the exact, vectorizable
//                      equivalent r = nearbyint(v); r + copysign(v - r == copysign(0.5, v) ? 1 : 0, v)
//                      (v - r is exact in float32; only ties rounded toward zero move).
// The clamp is applied to r = round(x / s) against [qmin - zp, qmax - zp] (exact small integers in
// float32), then q = int(r) + zp. This is the same value as clamp(r + zp, qmin, qmax), and never
// converts an out-of-range float to int. NaN input gives qmin (the clamp's max(lo, min(NaN, hi))
// returns lo), identically in both twins.
//
// Layout: contiguous row-major. Per-channel params along axis a: outer = prod(shape[0..a)),
// C = shape[a], inner = prod(shape(a..)); element (o, c, k) is at (o * C + c) * inner + k and uses
// channel c. Parallelism: fixed chunks of rows (parallel.h), elementwise, so results do not depend on
// the thread count.
#include "core/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace mqcalib {

namespace {

// Elements per parallel chunk (a fixed number: chunk boundaries never depend on the thread count).
constexpr int64_t kChunkElems = int64_t{1} << 15;

struct Layout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// Checks the params against the tensor shape and returns the (outer, C, inner) decomposition.
Layout layout_of(const Shape& shape, const QParams& p, const char* fn) {
  p.validate(fn);
  Layout l;
  if (!p.per_channel()) {
    l.inner = numel(shape);
    return l;
  }
  const int rank = static_cast<int>(shape.size());
  if (p.axis >= rank)
    throw Error(std::string(fn) + ": per-channel axis " + std::to_string(p.axis) + " but the tensor has shape " +
                shape_to_string(shape));
  if (shape[static_cast<size_t>(p.axis)] != static_cast<int64_t>(p.channels()))
    throw Error(std::string(fn) + ": " + std::to_string(p.channels()) + " per-channel params but dimension " +
                std::to_string(p.axis) + " of shape " + shape_to_string(shape) + " has " +
                std::to_string(shape[static_cast<size_t>(p.axis)]) + " entries");
  for (int i = 0; i < p.axis; ++i) l.outer *= shape[static_cast<size_t>(i)];
  l.channels = shape[static_cast<size_t>(p.axis)];
  for (int i = p.axis + 1; i < rank; ++i) l.inner *= shape[static_cast<size_t>(i)];
  return l;
}

// Clamp bounds in float that never leave the integer range: float(qmax - zp) can round UP past it
// (int32 grid: float(2^31 - 1) = 2^31, which converts to INT32_MIN), so the upper bound is the
// largest float <= qmax - zp and the lower the smallest float >= qmin - zp.
inline float float_bound_hi(int64_t v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > static_cast<double>(v)) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}
inline float float_bound_lo(int64_t v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < static_cast<double>(v)) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// Per-channel constants in float32: scale, lo = qmin - zp, hi = qmax - zp.
struct ChannelConsts {
  std::vector<float> s, lo, hi;
  std::vector<int32_t> zp;
};
ChannelConsts consts_of(const QParams& p) {
  ChannelConsts k;
  const size_t C = p.channels();
  k.s = p.scale;
  k.zp = p.zero_point;
  k.lo.resize(C);
  k.hi.resize(C);
  for (size_t c = 0; c < C; ++c) {
    k.lo[c] = float_bound_lo(static_cast<int64_t>(p.qmin) - p.zero_point[c]);
    k.hi[c] = float_bound_hi(static_cast<int64_t>(p.qmax) - p.zero_point[c]);
  }
  return k;
}

// r = clamp(round(v), lo, hi) with the tie rule of the template parameter; vectorizable.
inline float round_half_even_fast(float v) { return std::nearbyint(v); }
// Half away from zero from the half-even rounding: r = nearbyint(v), d = v - r (exact: |d| <= 0.5 and
// Sterbenz); only a tie that went toward zero (d == copysign(0.5, v)) moves one step away from zero.
// Written as a select of 1/0 plus copysign (GCC if-converts and vectorizes this form, not trunc() or a
// select between two sums under -ftrapping-math). Equals std::round for every float, incl. -0, +-inf
// and NaN (NaN stays NaN).
inline float round_half_away_fast(float v) {
  const float r = std::nearbyint(v);
  const float adj = (v - r) == std::copysign(0.5f, v) ? 1.0f : 0.0f;
  return r + std::copysign(adj, v);
}
inline float clampf(float r, float lo, float hi) { return std::max(lo, std::min(r, hi)); }

// Reference rounding (plain library calls).
inline float round_ref(Rounding mode, float v) {
  return mode == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v);
}

// Defined int32 wrap for q - zp (q is normally inside [qmin, qmax], so no wrap happens).
inline int32_t sub_wrap(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}

// ---- fast inner loops ------------------------------------------------------------------------
// Row with one channel's constants: q[i] = int(clamp(round(x[i] / s), lo, hi)) + zp.
template <bool kEven>
void quant_row(const float* x, int32_t* q, int64_t n, float s, float lo, float hi, int32_t zp) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / s;
    const float r = clampf(kEven ? round_half_even_fast(v) : round_half_away_fast(v), lo, hi);
    q[i] = static_cast<int32_t>(r) + zp;
  }
}
// Row across channels (inner == 1): element c uses channel c.
template <bool kEven>
void quant_row_pc(const float* x, int32_t* q, int64_t n, const float* s, const float* lo, const float* hi,
                  const int32_t* zp) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / s[i];
    const float r = clampf(kEven ? round_half_even_fast(v) : round_half_away_fast(v), lo[i], hi[i]);
    q[i] = static_cast<int32_t>(r) + zp[i];
  }
}
// out[i] = s * (clamp(round(x[i] / s), lo, hi) + 0)  ( == s * float(q - zp), exact since r is a small
// integer; the + 0.0f turns a -0 from rounding a small negative x into +0, as float(q - zp) gives)
template <bool kEven>
void fq_row(const float* x, float* out, int64_t n, float s, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / s;
    out[i] = s * (clampf(kEven ? round_half_even_fast(v) : round_half_away_fast(v), lo, hi) + 0.0f);
  }
}
template <bool kEven>
void fq_row_pc(const float* x, float* out, int64_t n, const float* s, const float* lo, const float* hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / s[i];
    out[i] = s[i] * (clampf(kEven ? round_half_even_fast(v) : round_half_away_fast(v), lo[i], hi[i]) + 0.0f);
  }
}
void deq_row(const int32_t* q, float* x, int64_t n, float s, int32_t zp) {
  for (int64_t i = 0; i < n; ++i) x[i] = s * static_cast<float>(sub_wrap(q[i], zp));
}
void deq_row_pc(const int32_t* q, float* x, int64_t n, const float* s, const int32_t* zp) {
  for (int64_t i = 0; i < n; ++i) x[i] = s[i] * static_cast<float>(sub_wrap(q[i], zp[i]));
}

// Drives a kernel over the layout in fixed chunks.
//   inner > 1 (or per-tensor): rows (o, c) of length inner with scalar channel constants;
//     per-tensor: the whole tensor is one "row", split into fixed element chunks.
//   inner == 1 (channel axis is the last one): rows o of length C with per-element constant arrays.
template <class RowFn, class RowPcFn>
void drive(const Layout& l, RowFn&& row, RowPcFn&& row_pc) {
  if (l.channels == 1 && l.outer == 1) {  // per-tensor (or a single channel)
    parallel_for_chunks(l.inner, kChunkElems, [&](int64_t b, int64_t e, int64_t) { row(0, b, e - b); });
    return;
  }
  if (l.inner == 1) {
    const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElems / std::max<int64_t>(1, l.channels));
    parallel_for_chunks(l.outer, rows_per_chunk, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t o = b; o < e; ++o) row_pc(o * l.channels, l.channels);
    });
    return;
  }
  const int64_t rows = l.outer * l.channels;
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElems / l.inner);
  parallel_for_chunks(rows, rows_per_chunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t r = b; r < e; ++r) row(r % l.channels, r * l.inner, l.inner);
  });
}

}  // namespace

// ---- quantize ----------------------------------------------------------------------------------
// q = clamp(round(x / s[c]) + zp[c], qmin, qmax), true division; round = p.rounding
// (HalfToEven: nearbyint; HalfAwayFromZero: nearbyint + exact tie fix-up, == std::round).
void quantize_f32_i32(ViewF32 x, const QParams& p, int32_t* q) {
  const Layout l = layout_of(x.shape, p, "quantize_f32_i32");
  const ChannelConsts k = consts_of(p);
  const bool even = p.rounding == Rounding::HalfToEven;
  const float* xd = x.data;
  auto row = [&](int64_t c, int64_t off, int64_t n) {
    const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
    if (even)
      quant_row<true>(xd + off, q + off, n, k.s[ci], k.lo[ci], k.hi[ci], k.zp[ci]);
    else
      quant_row<false>(xd + off, q + off, n, k.s[ci], k.lo[ci], k.hi[ci], k.zp[ci]);
  };
  auto row_pc = [&](int64_t off, int64_t n) {
    if (even)
      quant_row_pc<true>(xd + off, q + off, n, k.s.data(), k.lo.data(), k.hi.data(), k.zp.data());
    else
      quant_row_pc<false>(xd + off, q + off, n, k.s.data(), k.lo.data(), k.hi.data(), k.zp.data());
  };
  drive(l, row, row_pc);
}

// Reference: q = clamp(round(x / s[c]) + zp[c], qmin, qmax); round = std::nearbyint (HalfToEven,
// default rounding mode) or std::round (HalfAwayFromZero). Plain scalar loop over (o, c, k).
void quantize_f32_i32_ref(ViewF32 x, const QParams& p, int32_t* q) {
  const Layout l = layout_of(x.shape, p, "quantize_f32_i32_ref");
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
      const float s = p.scale[ci];
      const int32_t zp = p.zero_point[ci];
      const float lo = float_bound_lo(static_cast<int64_t>(p.qmin) - zp),
                  hi = float_bound_hi(static_cast<int64_t>(p.qmax) - zp);
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t idx = (o * l.channels + c) * l.inner + i;
        float r = round_ref(p.rounding, x.data[idx] / s);
        r = std::max(lo, std::min(r, hi));
        q[idx] = static_cast<int32_t>(r) + zp;
      }
    }
}

// ---- dequantize --------------------------------------------------------------------------------
// x = s[c] * float(q - zp[c])   (q - zp in int32, exact; one float32 multiply)
void dequantize_i32_f32(const int32_t* q, const Shape& shape, const QParams& p, float* x) {
  const Layout l = layout_of(shape, p, "dequantize_i32_f32");
  auto row = [&](int64_t c, int64_t off, int64_t n) {
    const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
    deq_row(q + off, x + off, n, p.scale[ci], p.zero_point[ci]);
  };
  auto row_pc = [&](int64_t off, int64_t n) { deq_row_pc(q + off, x + off, n, p.scale.data(), p.zero_point.data()); };
  drive(l, row, row_pc);
}

// Reference: x = s[c] * float(q - zp[c]). Plain scalar loop.
void dequantize_i32_f32_ref(const int32_t* q, const Shape& shape, const QParams& p, float* x) {
  const Layout l = layout_of(shape, p, "dequantize_i32_f32_ref");
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t idx = (o * l.channels + c) * l.inner + i;
        x[idx] = p.scale[ci] * static_cast<float>(sub_wrap(q[idx], p.zero_point[ci]));
      }
    }
}

// ---- fake quantize -----------------------------------------------------------------------------
// out = s[c] * (clamp(round(x / s[c]) + zp[c], qmin, qmax) - zp[c]), true division, round = p.rounding.
// Computed as s * clamp(round(x / s), qmin - zp, qmax - zp): bit-identical to
// dequantize(quantize(x)) because the clamped value is an exact small integer in float32.
void fake_quantize_f32(ViewF32 x, const QParams& p, float* out) {
  const Layout l = layout_of(x.shape, p, "fake_quantize_f32");
  const ChannelConsts k = consts_of(p);
  const bool even = p.rounding == Rounding::HalfToEven;
  const float* xd = x.data;
  auto row = [&](int64_t c, int64_t off, int64_t n) {
    const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
    if (even)
      fq_row<true>(xd + off, out + off, n, k.s[ci], k.lo[ci], k.hi[ci]);
    else
      fq_row<false>(xd + off, out + off, n, k.s[ci], k.lo[ci], k.hi[ci]);
  };
  auto row_pc = [&](int64_t off, int64_t n) {
    if (even)
      fq_row_pc<true>(xd + off, out + off, n, k.s.data(), k.lo.data(), k.hi.data());
    else
      fq_row_pc<false>(xd + off, out + off, n, k.s.data(), k.lo.data(), k.hi.data());
  };
  drive(l, row, row_pc);
}

// Reference: out = s * float(q - zp) with q = clamp(round(x / s) + zp, qmin, qmax) computed in int32
// (round = std::nearbyint or std::round). Plain scalar loop; safe when out aliases x (elementwise).
void fake_quantize_f32_ref(ViewF32 x, const QParams& p, float* out) {
  const Layout l = layout_of(x.shape, p, "fake_quantize_f32_ref");
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const size_t ci = p.per_channel() ? static_cast<size_t>(c) : 0;
      const float s = p.scale[ci];
      const int32_t zp = p.zero_point[ci];
      const float lo = float_bound_lo(static_cast<int64_t>(p.qmin) - zp),
                  hi = float_bound_hi(static_cast<int64_t>(p.qmax) - zp);
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t idx = (o * l.channels + c) * l.inner + i;
        float r = round_ref(p.rounding, x.data[idx] / s);
        r = std::max(lo, std::min(r, hi));
        const int32_t q = static_cast<int32_t>(r) + zp;
        out[idx] = s * static_cast<float>(q - zp);
      }
    }
}

FakeQuantF32 fake_quant_consts(const QParams& p, std::string_view tensor) {
  p.validate(tensor);
  if (p.per_channel())
    throw Error("fake_quant_consts: '" + std::string(tensor) + "' has per-channel params (axis " +
                std::to_string(p.axis) + "); an epilogue fake-quantizes per-tensor only");
  const ChannelConsts k = consts_of(p);
  return FakeQuantF32{k.s[0], k.lo[0], k.hi[0], p.rounding};
}

void fake_quantize_span_f32(const FakeQuantF32& fq, const float* x, float* out, int64_t n) {
  if (fq.rounding == Rounding::HalfToEven)
    fq_row<true>(x, out, n, fq.scale, fq.lo, fq.hi);
  else
    fq_row<false>(x, out, n, fq.scale, fq.lo, fq.hi);
}

}  // namespace mqcalib
