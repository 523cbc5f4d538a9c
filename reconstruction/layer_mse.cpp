// mqcalib/reconstruction/layer_mse.cpp: fused reconstruction loss and weight gradient (formulas and
// chunking in layer_mse.h): checks, dispatch to the layer-family kernels, the shared chunk
// machinery, and the _ref twin.
#include "reconstruction/layer_mse.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/conv_backward.h"
#include "reconstruction/layer_mse_kernels.h"
#include "reconstruction/linear_backward.h"

namespace mqcalib {

namespace recon_detail::mse {

SegmentFn segment_fn(ActKind k, bool grad) {
  switch (k) {
    case ActKind::Identity:
      return grad ? segment<ActKind::Identity, true> : segment<ActKind::Identity, false>;
    case ActKind::Relu:
      return grad ? segment<ActKind::Relu, true> : segment<ActKind::Relu, false>;
    case ActKind::Relu6:
      return grad ? segment<ActKind::Relu6, true> : segment<ActKind::Relu6, false>;
    case ActKind::Other:
      break;
  }
  return grad ? segment<ActKind::Other, true> : segment<ActKind::Other, false>;
}

std::vector<float>& scratch_part(int64_t n) {
  thread_local std::vector<float> part;
  part.resize(static_cast<size_t>(n));
  return part;
}
std::vector<double>& scratch_loss(int64_t n) {
  thread_local std::vector<double> loss;
  loss.assign(static_cast<size_t>(n), 0.0);
  return loss;
}

double finish(float* gw, const std::vector<float>& part, int64_t nchunks, int64_t wsize,
              const std::vector<double>& loss, double m) {
  if (gw && nchunks > 1)
    parallel_for_chunks(wsize, kReduceElems, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t k = 1; k < nchunks; ++k) {
        const float* p = part.data() + (k - 1) * wsize;
        for (int64_t i = b; i < e; ++i) gw[i] += p[i];
      }
    });
  double s = 0.0;
  for (double v : loss) s += v;
  return s / m;
}

}  // namespace recon_detail::mse

namespace {

using recon_detail::ConvGeom;

// Checks and returns the output shape; M = elements per output channel.
Shape checked_output(const LayerSpec& l, ViewF32 x, ViewF32 target, bool grad) {
  const Shape ys = layer_output_shape(l, x.shape);
  if (target.shape != ys)
    throw Error("layer '" + l.name + "': target has shape " + shape_to_string(target.shape) +
                " but the layer output is " + shape_to_string(ys));
  if (grad && l.activation && (*l.activation == Activation::GeluErf || *l.activation == Activation::GeluTanh))
    throw Error("layer '" + l.name +
                "': GELU has no backward kernel (supported fused activations: relu, relu6, hardtanh, sigmoid, "
                "tanh, silu, hardswish, hardsigmoid)");
  return ys;
}

// The kernel of a conv (layer_mse_path without re-deriving the geometry layer_mse_f32 already has).
LayerMsePath conv_path(const ConvGeom& g, const Conv2dParams& p) {
  if (recon_detail::is_depthwise(g)) return LayerMsePath::Depthwise;
  return recon_detail::mse::use_direct(g, p) ? LayerMsePath::ConvDirect : LayerMsePath::ConvIm2colGemm;
}

// M, the elements per output channel (N * OH * OW or N).
double per_channel(const Shape& ys) {
  return static_cast<double>(std::max<int64_t>(1, ys[0] * (ys.size() == 4 ? ys[2] * ys[3] : 1)));
}

}  // namespace

Shape layer_output_shape(const LayerSpec& l, const Shape& x) {
  const int want = l.kind == LayerKind::Conv2d ? 4 : 2;
  if (l.weight.rank() != want)
    throw Error("layer '" + l.name + "': weight must have rank " + std::to_string(want) + ", got " +
                shape_to_string(l.weight.shape));
  if (l.kind == LayerKind::Conv2d) {
    try {
      return conv2d_output_shape(x, l.weight.shape, l.conv);
    } catch (const Error& e) {
      throw Error("layer '" + l.name + "': " + e.what());
    }
  }
  if (x.size() != 2 || x[1] != l.weight.shape[1])
    throw Error("layer '" + l.name + "': linear input must be [N, " + std::to_string(l.weight.shape[1]) + "], got " +
                shape_to_string(x));
  return {x[0], l.weight.shape[0]};
}

double layer_mse_f32(const LayerSpec& l, const float* weight, ViewF32 x, ViewF32 target, float* gw) {
  const Shape ys = checked_output(l, x, target, gw != nullptr);
  if (x.size() == 0 || target.size() == 0) {
    if (gw) std::fill(gw, gw + l.weight.size(), 0.0f);
    return 0.0;
  }
  using namespace recon_detail::mse;
  const double m = per_channel(ys);
  const Job j{l,
              weight,
              x,
              target,
              segment_fn(act_kind(l), gw != nullptr),
              static_cast<float>(2.0 / m),
              m,
              l.activation.value_or(Activation::Relu)};
  if (l.kind == LayerKind::Linear) return linear(j, gw);
  const ConvGeom g = recon_detail::conv_geom(x.shape, l.weight.shape, ys, l.conv);
  const LayerMsePath path = conv_path(g, l.conv);
  if (path == LayerMsePath::Depthwise) return conv_depthwise(j, g, gw);
  return path == LayerMsePath::ConvDirect ? conv_direct(j, g, gw) : conv_gemm(j, g, gw);
}

LayerMsePath layer_mse_path(const LayerSpec& l, const Shape& x) {
  if (l.kind == LayerKind::Linear) return LayerMsePath::Linear;
  return conv_path(recon_detail::conv_geom(x, l.weight.shape, layer_output_shape(l, x), l.conv), l.conv);
}

double layer_mse_f32_ref(const LayerSpec& l, const float* weight, ViewF32 x, ViewF32 target, float* gw) {
  const Shape ys = checked_output(l, x, target, gw != nullptr);
  const ViewF32 w{weight, l.weight.shape};
  TensorF32 z(ys);
  if (l.kind == LayerKind::Conv2d)
    conv2d_nchw_f32_ref(x, w, l.bias, l.conv, z.mut_view());
  else
    linear_f32_ref(x, w, l.bias, z.mut_view());
  TensorF32 y = z;
  if (l.activation) activation_f32_ref(*l.activation, z, y.mut_view(), l.activation_params);
  const double m = per_channel(ys);
  const float scale2 = static_cast<float>(2.0 / m);
  double s = 0.0;
  TensorF32 gz(ys);
  for (int64_t i = 0; i < y.size(); ++i) {
    const float d = y[i] - target.data[i];
    s += static_cast<double>(d) * d;
    gz[i] = d * scale2;
  }
  if (gw) {
    if (l.activation) activation_backward_f32_ref(*l.activation, z, gz, gz.mut_view(), l.activation_params);
    const MutViewF32 gwv{gw, l.weight.shape};
    if (l.kind == LayerKind::Conv2d)
      conv2d_backward_weight_nchw_f32_ref(x, gz, l.conv, gwv, nullptr);
    else
      linear_backward_weight_f32_ref(x, gz, gwv, nullptr);
  }
  return s / m;
}

}  // namespace mqcalib
