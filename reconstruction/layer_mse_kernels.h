// mqcalib/reconstruction/layer_mse_kernels.h: internal to the layer_mse*.cpp files, the chunk
// machinery shared by the fused loss-and-gradient kernels of reconstruction/layer_mse.h (one file per
// layer family: layer_mse_conv.cpp, layer_mse_depthwise.cpp, layer_mse_linear.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "exec/activation_scalar.h"
#include "reconstruction/activation_backward.h"
#include "reconstruction/im2col.h"
#include "reconstruction/layer_spec.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib::recon_detail::mse {

// Columns per chunk of the im2col path: 64 Ki floats (256 KiB). Columns, Z and the packed GEMM
// panels of one chunk then fit a core's L2 (1 MiB per core on the bench machine), so the gradient
// GEMM reads the columns the forward GEMM just used from cache.
constexpr int64_t kChunkColumnFloats = int64_t{1} << 16;
// Planes and outputs per chunk of the direct conv path (samples whose gradients share one set of
// accumulators before the horizontal sums): 128 Ki floats (512 KiB), within a core's L2.
constexpr int64_t kChunkDirectFloats = int64_t{1} << 17;
// Elements per parallel chunk of the final reduction over chunk partials.
constexpr int64_t kReduceElems = int64_t{1} << 12;
// Partial sums per loss accumulator: vector-width lanes in a fixed order (deterministic, vectorizes).
constexpr int kLanes = 8;

enum class ActKind { Identity, Relu, Relu6, Other };

inline ActKind act_kind(const LayerSpec& l) {
  if (!l.activation) return ActKind::Identity;
  if (*l.activation == Activation::Relu) return ActKind::Relu;
  if (*l.activation == Activation::Relu6) return ActKind::Relu6;
  return ActKind::Other;
}

// Outputs of one channel, `rows` runs of `cols` at stride ldz: z the outputs before bias, t their
// targets (contiguous, rows * cols). Returns sum (f(z + b) - t)^2; with Grad, z is overwritten by
// d rec / dz = 2 (f(z + b) - t) / M * f'(z + b) (scale2 = 2 / M), the same expression and order as the
// reference's gy then activation_backward, and the ldz - cols entries after each run are zeroed.
template <ActKind K, bool Grad>
double segment(float* z, int64_t ldz, const float* t, int64_t rows, int64_t cols, float b, float scale2, Activation a,
               const ActivationParams& ap) {
  // Lane l of acc sums the entries i % kLanes == l of each run (vector lanes for the piecewise-linear
  // activations, the same lanes one entry at a time for the others and for run tails).
  float acc[kLanes] = {};
  auto one = [&](float* zp, float tv, float& lane) {
    const float zb = *zp + b;
    float y = zb, fd = 1.0f;
    if constexpr (K == ActKind::Relu) {
      y = zb < 0.0f ? 0.0f : zb;
      fd = zb > 0.0f ? 1.0f : 0.0f;
    } else if constexpr (K == ActKind::Relu6) {
      y = detail::clamp_f32(zb, 0.0f, 6.0f);
      fd = zb > 0.0f && zb < 6.0f ? 1.0f : 0.0f;
    } else if constexpr (K == ActKind::Other) {
      y = detail::activation_scalar_f32(a, zb, ap);
      if constexpr (Grad) fd = activation_derivative_f32(a, zb, ap);
    }
    const float d = y - tv;
    lane += d * d;
    if constexpr (Grad) *zp = d * scale2 * fd;
  };
  V8F32 vacc{};
  const V8F32 zero{}, one_v = splat8_f32(1.0f), six = splat8_f32(6.0f), bv = splat8_f32(b), s2 = splat8_f32(scale2);
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * ldz;
    const float* tr = t + r * cols;
    int64_t i = 0;
    if constexpr (K != ActKind::Other) {
      for (; i + kLanes <= cols; i += kLanes) {
        const V8F32 zb = load8_f32(zr + i) + bv;
        V8F32 y = zb, fd = one_v;
        if constexpr (K == ActKind::Relu) {
          y = select8_f32(zb < zero, zero, zb);
          fd = select8_f32(zb > zero, one_v, zero);
        } else if constexpr (K == ActKind::Relu6) {
          y = select8_f32(zb < zero, zero, select8_f32(zb > six, six, zb));
          fd = select8_f32((zb > zero) & (zb < six), one_v, zero);
        }
        const V8F32 d = y - load8_f32(tr + i);
        vacc += d * d;
        if constexpr (Grad) store8_f32(zr + i, d * s2 * fd);
      }
    } else {
      for (; i + kLanes <= cols; i += kLanes)
        for (int l = 0; l < kLanes; ++l) one(zr + i + l, tr[i + l], acc[l]);
    }
    for (int l = 0; i < cols; ++i, ++l) one(zr + i, tr[i], acc[l]);
    if constexpr (Grad)
      for (int64_t q = cols; q < ldz; ++q) zr[q] = 0.0f;
  }
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += static_cast<double>(acc[l] + vacc[l]);
  return s;
}

using SegmentFn = double (*)(float*, int64_t, const float*, int64_t, int64_t, float, float, Activation,
                             const ActivationParams&);

SegmentFn segment_fn(ActKind k, bool grad);

// Samples per chunk: as many as fit the buffer budget, but at least kMinChunks chunks when there are
// enough samples (so 2-8 threads get balanced shares). From the shapes only, never the thread count.
constexpr int64_t kMinChunks = 8;
inline int64_t samples_per_chunk(int64_t fit, int64_t n) {
  return std::clamp<int64_t>(std::min(fit, (n + kMinChunks - 1) / kMinChunks), 1, std::max<int64_t>(1, n));
}

// The calling thread's partial gradients and losses, kept between calls (an AdaRound layer calls
// with the same sizes thousands of times; fresh buffers would be page-faulted in every time).
std::vector<float>& scratch_part(int64_t n);
std::vector<double>& scratch_loss(int64_t n);

// Everything one chunk kernel needs besides the geometry.
struct Job {
  const LayerSpec& layer;
  const float* w;
  ViewF32 x, t;
  SegmentFn seg;
  float scale2;  // 2 / M
  double m;      // M, elements per output channel
  Activation act;
};

// Chunk k's partial gradient: chunk 0 writes into gw itself, the others into `part`.
inline float* chunk_grad(float* gw, std::vector<float>& part, int64_t k, int64_t wsize) {
  if (!gw) return nullptr;
  return k == 0 ? gw : part.data() + (k - 1) * wsize;
}

// gw += partials of chunks 1.. in chunk order, each element on its own (order independent of threads);
// returns the chunk losses summed in chunk order, over m.
double finish(float* gw, const std::vector<float>& part, int64_t nchunks, int64_t wsize,
              const std::vector<double>& loss, double m);

// The kernels, one per layer family; each returns rec and fills gw unless it is null.
double conv_gemm(const Job& j, const ConvGeom& g, float* gw);
bool use_direct(const ConvGeom& g, const Conv2dParams& p);
double conv_direct(const Job& j, const ConvGeom& g, float* gw);
double conv_depthwise(const Job& j, const ConvGeom& g, float* gw);
double linear(const Job& j, float* gw);

}  // namespace mqcalib::recon_detail::mse
