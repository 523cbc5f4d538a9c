// mqcalib/src/exec/int_requant.cpp: requantization, rescaling, integer add and global average pool,
// in the two schemes of int_kernels.h (ONNX Runtime's float multiplier, gemmlowp's Q31).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "core/requantize.h"
#include "exec/int_kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunk = int64_t{1} << 15;
constexpr int kAddLeftShift = 20;  // TFLite's 8-bit quantized add (reference_ops::Add)

// clamp(zp + round(f), qmin, qmax) with the clamp done on the rounded value (as the saturating
// packs of the MLAS kernels; equal to clamping first, as the bounds are integers).
inline int32_t finish_float(float f, const ActQ& out, Rounding r) {
  const float lo = static_cast<float>(out.qmin - out.zp), hi = static_cast<float>(out.qmax - out.zp);
  const float c = std::min(std::max(f, lo), hi);
  return static_cast<int32_t>(round_float(c, r)) + out.zp;
}

inline int32_t finish_fixed(int64_t v, const ActQ& out) {
  return static_cast<int32_t>(std::clamp<int64_t>(v + out.zp, out.qmin, out.qmax));
}

std::vector<QuantizedMultiplier> q31_of(const std::vector<double>& m) {
  std::vector<QuantizedMultiplier> q;
  for (double v : m) q.push_back(quantize_multiplier(v));
  return q;
}

void check_multipliers(const std::vector<double>& m, int64_t channels) {
  if (m.size() != 1 && static_cast<int64_t>(m.size()) != channels)
    throw Error("requantize: " + std::to_string(m.size()) + " multipliers for " + std::to_string(channels) +
                " channels");
}

// TFLite's quantized add parameters (8-bit): input multipliers and the output multiplier.
struct AddQ31 {
  QuantizedMultiplier a, b, out;
};
AddQ31 add_q31(const ActQ& pa, const ActQ& pb, const ActQ& pc) {
  const double twice_max = 2.0 * std::max<double>(pa.scale, pb.scale);
  return {quantize_multiplier(pa.scale / twice_max), quantize_multiplier(pb.scale / twice_max),
          quantize_multiplier(twice_max / (static_cast<double>(1 << kAddLeftShift) * pc.scale))};
}

// ONNX Runtime's QLinearAdd on x86 (MlasQLinearAddKernelHelper): ratios s_a/s_c, s_b/s_c and the zero
// points folded into one constant k, then fma(a, ra, fma(b, rb, k)): its x86-64 build contracts the
// sum into two fused multiply-adds, b's first. Measured against onnxruntime-node 1.22.0 on the zoo
// ResNet-20 (every add, 500 samples): the unfused sum differs on up to 1e-4 of the elements, the
// other fused order on a few, this one on none.
struct AddRatios {
  float ra, rb, fixed;
};
AddRatios add_ratios(const ActQ& pa, const ActQ& pb, const ActQ& pc) {
  const float ra = pa.scale / pc.scale, rb = pb.scale / pc.scale;
  return {ra, rb, static_cast<float>(pc.zp) - (ra * static_cast<float>(pa.zp) + rb * static_cast<float>(pb.zp))};
}

}  // namespace

float round_float(float v, Rounding r) { return r == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v); }

int32_t quantize_value(float v, const ActQ& p, Rounding r) { return finish_float(v / p.scale, p, r); }

std::vector<double> output_multipliers(float s_x, const std::vector<float>& s_w, float s_y, RequantMode mode) {
  std::vector<double> m;
  for (float sw : s_w) {
    if (mode.kind == IntegerRequant::FloatMultiplier)
      m.push_back(static_cast<double>((s_x * sw) / s_y));
    else
      m.push_back(static_cast<double>(s_x) * static_cast<double>(sw) / static_cast<double>(s_y));
  }
  return m;
}

void requantize_acc_i32(const int32_t* acc, int64_t n, int64_t channels, int64_t inner, const std::vector<double>& m,
                        const ActQ& out, RequantMode mode, int32_t* q) {
  check_multipliers(m, channels);
  const bool per_channel = m.size() > 1;
  if (mode.kind == IntegerRequant::FloatMultiplier) {
    std::vector<float> mf(m.begin(), m.end());
    parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t i = b; i < e; ++i) {
        const float mc = mf[per_channel ? static_cast<size_t>((i / inner) % channels) : 0];
        q[i] = finish_float(static_cast<float>(acc[i]) * mc, out, mode.rounding);
      }
    });
    return;
  }
  const std::vector<QuantizedMultiplier> qm = q31_of(m);
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      const QuantizedMultiplier& mc = qm[per_channel ? static_cast<size_t>((i / inner) % channels) : 0];
      q[i] = finish_fixed(multiply_by_quantized_multiplier(acc[i], mc), out);
    }
  });
}

void requantize_acc_i32_ref(const int32_t* acc, int64_t n, int64_t channels, int64_t inner,
                            const std::vector<double>& m, const ActQ& out, RequantMode mode, int32_t* q) {
  check_multipliers(m, channels);
  for (int64_t i = 0; i < n; ++i) {
    const double mc = m[m.size() > 1 ? static_cast<size_t>((i / inner) % channels) : 0];
    if (mode.kind == IntegerRequant::FloatMultiplier) {
      const float f = static_cast<float>(acc[i]) * static_cast<float>(mc);
      const float r = round_float(f, mode.rounding);  // round, then saturate
      q[i] = static_cast<int32_t>(std::clamp<double>(static_cast<double>(r) + out.zp, out.qmin, out.qmax));
    } else {
      int32_t v = 0;
      requantize_i32_ref(&acc[i], 1, quantize_multiplier(mc), out.zp, out.qmin, out.qmax, &v);
      q[i] = v;
    }
  }
}

void rescale_i32(const int32_t* q, int64_t n, const ActQ& in, const ActQ& out, RequantMode mode, int32_t* y) {
  if (mode.kind == IntegerRequant::FloatMultiplier) {
    parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t i = b; i < e; ++i) {
        const float real = static_cast<float>(q[i] - in.zp) * in.scale;  // DequantizeLinear
        y[i] = finish_float(real / out.scale, out, mode.rounding);       // QuantizeLinear
      }
    });
    return;
  }
  const QuantizedMultiplier m = quantize_multiplier(static_cast<double>(in.scale) / out.scale);
  parallel_for_chunks(n, kChunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) y[i] = finish_fixed(multiply_by_quantized_multiplier(q[i] - in.zp, m), out);
  });
}

void rescale_i32_ref(const int32_t* q, int64_t n, const ActQ& in, const ActQ& out, RequantMode mode, int32_t* y) {
  for (int64_t i = 0; i < n; ++i) {
    if (mode.kind == IntegerRequant::FloatMultiplier) {
      const float real = static_cast<float>(q[i] - in.zp) * in.scale;
      const float r = round_float(real / out.scale, mode.rounding);
      y[i] = static_cast<int32_t>(std::clamp<double>(static_cast<double>(r) + out.zp, out.qmin, out.qmax));
    } else {
      const int32_t d = q[i] - in.zp;
      requantize_i32_ref(&d, 1, quantize_multiplier(static_cast<double>(in.scale) / out.scale), out.zp, out.qmin,
                         out.qmax, &y[i]);
    }
  }
}

void add_i32(const int32_t* a, const ActQ& pa, const int32_t* b, const ActQ& pb, int64_t n, const ActQ& pc,
             RequantMode mode, int32_t* c) {
  if (mode.kind == IntegerRequant::FloatMultiplier) {
    const AddRatios k = add_ratios(pa, pb, pc);
    parallel_for_chunks(n, kChunk, [&](int64_t lo, int64_t hi, int64_t) {
      for (int64_t i = lo; i < hi; ++i) {
        const float v = std::fma(static_cast<float>(a[i]), k.ra, std::fma(static_cast<float>(b[i]), k.rb, k.fixed));
        c[i] = std::clamp(static_cast<int32_t>(round_float(v, mode.rounding)), pc.qmin, pc.qmax);
      }
    });
    return;
  }
  const AddQ31 m = add_q31(pa, pb, pc);
  parallel_for_chunks(n, kChunk, [&](int64_t lo, int64_t hi, int64_t) {
    for (int64_t i = lo; i < hi; ++i) {
      const int32_t sa = multiply_by_quantized_multiplier((a[i] - pa.zp) * (1 << kAddLeftShift), m.a);
      const int32_t sb = multiply_by_quantized_multiplier((b[i] - pb.zp) * (1 << kAddLeftShift), m.b);
      c[i] = finish_fixed(multiply_by_quantized_multiplier(sa + sb, m.out), pc);
    }
  });
}

void add_i32_ref(const int32_t* a, const ActQ& pa, const int32_t* b, const ActQ& pb, int64_t n, const ActQ& pc,
                 RequantMode mode, int32_t* c) {
  for (int64_t i = 0; i < n; ++i) {
    if (mode.kind == IntegerRequant::FloatMultiplier) {
      const float ra = pa.scale / pc.scale, rb = pb.scale / pc.scale;
      const float fixed = static_cast<float>(pc.zp) - (ra * static_cast<float>(pa.zp) + rb * static_cast<float>(pb.zp));
      const float v = std::fma(static_cast<float>(b[i]), rb, fixed);  // fused, as ORT's x86 build computes it
      const float r = round_float(std::fma(static_cast<float>(a[i]), ra, v), mode.rounding);
      c[i] = static_cast<int32_t>(std::clamp<double>(r, pc.qmin, pc.qmax));
    } else {
      const AddQ31 m = add_q31(pa, pb, pc);
      int32_t sa = 0, sb = 0, out = 0;
      const int32_t da = (a[i] - pa.zp) * (1 << kAddLeftShift), db = (b[i] - pb.zp) * (1 << kAddLeftShift);
      requantize_i32_ref(&da, 1, m.a, 0, INT32_MIN, INT32_MAX, &sa);
      requantize_i32_ref(&db, 1, m.b, 0, INT32_MIN, INT32_MAX, &sb);
      const int32_t sum = sa + sb;
      requantize_i32_ref(&sum, 1, m.out, pc.zp, pc.qmin, pc.qmax, &out);
      c[i] = out;
    }
  }
}

void global_avg_pool_i32(const int32_t* x, int64_t rows, int64_t image, const ActQ& in, const ActQ& out,
                         RequantMode mode, int32_t* y) {
  if (image <= 0) throw Error("global_avg_pool_i32: empty image");
  const float scale_f = in.scale / (out.scale * static_cast<float>(image));
  const QuantizedMultiplier m = mode.kind == IntegerRequant::FixedPointQ31
                                    ? quantize_multiplier(static_cast<double>(in.scale) /
                                                          (static_cast<double>(out.scale) * static_cast<double>(image)))
                                    : QuantizedMultiplier{};
  parallel_for_chunks(rows, 64, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t r = b; r < e; ++r) {
      int32_t acc = -in.zp * static_cast<int32_t>(image);
      for (int64_t k = 0; k < image; ++k) acc += x[r * image + k];
      y[r] = mode.kind == IntegerRequant::FloatMultiplier
                 ? finish_float(static_cast<float>(acc) * scale_f, out, mode.rounding)
                 : finish_fixed(multiply_by_quantized_multiplier(acc, m), out);
    }
  });
}

void global_avg_pool_i32_ref(const int32_t* x, int64_t rows, int64_t image, const ActQ& in, const ActQ& out,
                             RequantMode mode, int32_t* y) {
  for (int64_t r = 0; r < rows; ++r) {
    int64_t s = 0;
    for (int64_t k = 0; k < image; ++k) s += x[r * image + k] - in.zp;
    const int32_t acc = static_cast<int32_t>(s);
    if (mode.kind == IntegerRequant::FloatMultiplier) {
      const float f = static_cast<float>(acc) * (in.scale / (out.scale * static_cast<float>(image)));
      const float rr = round_float(f, mode.rounding);
      y[r] = static_cast<int32_t>(std::clamp<double>(static_cast<double>(rr) + out.zp, out.qmin, out.qmax));
    } else {
      const QuantizedMultiplier m = quantize_multiplier(static_cast<double>(in.scale) /
                                                        (static_cast<double>(out.scale) * static_cast<double>(image)));
      requantize_i32_ref(&acc, 1, m, out.zp, out.qmin, out.qmax, &y[r]);
    }
  }
}

void clamp_i32(const int32_t* x, int64_t n, int32_t lo, int32_t hi, int32_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], lo), hi);
}

}  // namespace mqcalib
