// mqcalib/tests/reconstruction/unit_ref_d.h: a double-precision reference interpreter of a unit's nodes
// (plain loops, the formulas of src/exec/kernels.h), for finite-difference checks of the unit runner.
// A hook sees every value right after it is produced (unit inputs first) and may replace it (the
// tests' quantizer surrogate).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "exec/executor.h"
#include "reconstruction/grad_check.h"
#include "reconstruction/unit.h"
#include "reconstruction/unit_ops.h"

namespace mqcalib::test {

struct ValD {
  VecD v;
  Shape s;
};

// Offset into operand shape `s` (right-aligned, broadcast dims read index 0) of element i of shape y.
inline size_t bcast_offset(size_t i, const Shape& y, const Shape& s) {
  size_t off = 0, mul = 1;
  for (size_t k = 0; k < y.size(); ++k) {
    const size_t d = y.size() - 1 - k;
    const size_t c = i % static_cast<size_t>(y[d]);
    i /= static_cast<size_t>(y[d]);
    if (k < s.size()) {
      if (s[s.size() - 1 - k] != 1) off += c * mul;
      mul *= static_cast<size_t>(s[s.size() - 1 - k]);
    }
  }
  return off;
}

// (outer, dim, inner) of shape s around axis a.
inline void around_axis(const Shape& s, int64_t a, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < a; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(a) + 1; d < s.size(); ++d) inner *= s[d];
}

inline ValD pool_d(const Node& n, const ValD& x) {
  const Pool2dParams p = recon_detail::pool2d_params_of(n);
  const int64_t N = x.s[0], C = x.s[1], H = x.s[2], W = x.s[3];
  Shape ys;
  if (n.kind == OpKind::AdaptiveAvgPool2d)
    ys = {N, C, n.attrs.output_size[0] > 0 ? n.attrs.output_size[0] : H,
          n.attrs.output_size[1] > 0 ? n.attrs.output_size[1] : W};
  else
    ys = pool2d_output_shape(x.s, p);
  const int64_t OH = ys[2], OW = ys[3];
  ValD y{VecD(static_cast<size_t>(numel(ys))), ys};
  for (int64_t pl = 0; pl < N * C; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const double* xp = x.v.data() + pl * H * W;
        double r = 0.0;
        if (n.kind == OpKind::MaxPool2d) {
          r = -INFINITY;
          for (int64_t i = 0; i < p.kernel_h; ++i)
            for (int64_t j = 0; j < p.kernel_w; ++j) {
              const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h, iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) r = std::max(r, xp[ih * W + iw]);
            }
        } else {
          int64_t h0, h1, w0, w1, div;
          if (n.kind == OpKind::AdaptiveAvgPool2d) {
            h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH, w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
            div = (h1 - h0) * (w1 - w0);
          } else {
            h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
            h1 = std::min(h0 + p.kernel_h, H + p.pad_h), w1 = std::min(w0 + p.kernel_w, W + p.pad_w);
            const int64_t full = (h1 - h0) * (w1 - w0);
            h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0), h1 = std::min(h1, H), w1 = std::min(w1, W);
            div = p.count_include_pad ? full : (h1 - h0) * (w1 - w0);
          }
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) r += xp[ih * W + iw];
          r /= static_cast<double>(div);
        }
        y.v[static_cast<size_t>((pl * OH + oh) * OW + ow)] = r;
      }
  return y;
}

inline ValD cat_d(const Node& n, const std::vector<const ValD*>& in) {
  const int64_t a = normalize_axis(n.attrs.axis, static_cast<int>(in.at(0)->s.size()), "cat");
  std::vector<Shape> shapes;
  for (const ValD* t : in) shapes.push_back(t->s);
  const Shape ys = cat_output_shape(shapes, n.attrs.axis);
  ValD y{{}, ys};
  int64_t outer, inner;
  around_axis(ys, a, outer, inner);
  for (int64_t o = 0; o < outer; ++o)
    for (const ValD* t : in) {
      const int64_t len = t->s[static_cast<size_t>(a)] * inner;
      y.v.insert(y.v.end(), t->v.begin() + o * len, t->v.begin() + (o + 1) * len);
    }
  return y;
}

inline std::vector<ValD> split_d(const Node& n, const ValD& x) {
  const int64_t a = normalize_axis(n.attrs.axis, static_cast<int>(x.s.size()), "split");
  const std::vector<int64_t> sizes =
      n.kind == OpKind::Chunk ? chunk_sizes(x.s[static_cast<size_t>(a)], n.attrs.chunks) : n.attrs.dims;
  int64_t outer, inner, start = 0;
  around_axis(x.s, a, outer, inner);
  std::vector<ValD> ys;
  for (int64_t sz : sizes) {
    ValD y{{}, x.s};
    y.s[static_cast<size_t>(a)] = sz;
    for (int64_t o = 0; o < outer; ++o) {
      const auto b = x.v.begin() + (o * x.s[static_cast<size_t>(a)] + start) * inner;
      y.v.insert(y.v.end(), b, b + sz * inner);
    }
    start += sz;
    ys.push_back(std::move(y));
  }
  return ys;
}

// Output element i reads input element sum_d c[d] * stride_in[perm[d]] (c its output coordinates).
inline ValD transpose_d(const Node& n, const ValD& x) {
  const std::vector<int64_t>& perm = n.attrs.dims;
  const Shape ys = transpose_output_shape(x.s, perm);
  ValD y{VecD(x.v.size()), ys};
  for (size_t i = 0; i < y.v.size(); ++i) {
    size_t rem = i, off = 0;
    std::vector<size_t> c(ys.size());
    for (size_t d = ys.size(); d-- > 0;) {
      c[d] = rem % static_cast<size_t>(ys[d]);
      rem /= static_cast<size_t>(ys[d]);
    }
    for (size_t d = 0; d < ys.size(); ++d) {
      size_t stride = 1;
      for (size_t e = static_cast<size_t>(perm[d]) + 1; e < x.s.size(); ++e) stride *= static_cast<size_t>(x.s[e]);
      off += c[d] * stride;
    }
    y.v[i] = x.v[off];
  }
  return y;
}

// BatchNorm in inference form, per channel of NC...
inline ValD batchnorm_d(const Node& n, const ValD& x) {
  ValD y = x;
  const int64_t C = x.s[1], inner = numel(x.s) / (x.s[0] * C);
  for (size_t i = 0; i < y.v.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / inner) % C;
    y.v[i] = (x.v[i] - n.params.running_mean[c]) /
                 std::sqrt(static_cast<double>(n.params.running_var[c]) + n.attrs.eps) * n.params.weight[c] +
             n.params.bias[c];
  }
  return y;
}

// Add or Mul: with a scalar (one input) or two broadcast inputs.
inline ValD add_mul_d(const Node& n, const std::vector<const ValD*>& in) {
  const bool add = n.kind == OpKind::Add;
  const ValD& x = *in.at(0);
  if (in.size() == 1) {
    ValD y = x;
    for (double& v : y.v) v = add ? v + n.attrs.scalar : v * n.attrs.scalar;
    return y;
  }
  const ValD& b = *in[1];
  const Shape ys = broadcast_shape(x.s, b.s);
  ValD y{VecD(static_cast<size_t>(numel(ys))), ys};
  for (size_t i = 0; i < y.v.size(); ++i) {
    const double u = x.v[bcast_offset(i, ys, x.s)], v = b.v[bcast_offset(i, ys, b.s)];
    y.v[i] = add ? u + v : u * v;
  }
  return y;
}

inline std::vector<ValD> node_d(const Node& n, const std::vector<const ValD*>& in, const VecD& w) {
  const Attrs& at = n.attrs;
  const ValD& x = *in.at(0);
  switch (n.kind) {
    case OpKind::Conv2d: {
      const VecD b(n.params.bias.vec().begin(), n.params.bias.vec().end());
      const Conv2dParams p = conv2d_params(at);
      return {{conv2d_d(x.v, x.s, w, n.params.weight.shape(), n.params.bias.empty() ? nullptr : &b, p),
               conv2d_output_shape(x.s, n.params.weight.shape(), p)}};
    }
    case OpKind::Linear: {
      const VecD b(n.params.bias.vec().begin(), n.params.bias.vec().end());
      const int64_t I = n.params.weight.dim(1), O = n.params.weight.dim(0);
      Shape ys = x.s;
      ys.back() = O;
      return {
          {linear_d(x.v, {numel(x.s) / I, I}, w, n.params.weight.shape(), n.params.bias.empty() ? nullptr : &b), ys}};
    }
    case OpKind::BatchNorm:
      return {batchnorm_d(n, x)};
    case OpKind::Add:
    case OpKind::Mul:
      return {add_mul_d(n, in)};
    case OpKind::Cat:
      return {cat_d(n, in)};
    case OpKind::Chunk:
    case OpKind::Split:
      return split_d(n, x);
    case OpKind::Transpose:
      return {transpose_d(n, x)};
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
    case OpKind::AdaptiveAvgPool2d:
      return {pool_d(n, x)};
    case OpKind::Mean: {
      const Shape keep = mean_output_shape(x.s, at.dims, true);
      ValD y{VecD(static_cast<size_t>(numel(keep)), 0.0), mean_output_shape(x.s, at.dims, at.keepdim)};
      for (size_t i = 0; i < x.v.size(); ++i) y.v[bcast_offset(i, x.s, keep)] += x.v[i];
      for (double& v : y.v) v /= static_cast<double>(numel(x.s) / numel(keep));
      return {y};
    }
    case OpKind::Flatten:
      return {{x.v, flatten_output_shape(x.s, at.start_dim, at.end_dim)}};
    case OpKind::Reshape:
      return {{x.v, reshape_output_shape(x.s, at.dims)}};
    case OpKind::Identity:
      return {x};
    default: {
      ActivationParams ap;
      ap.min_val = at.min_val;
      ap.max_val = at.max_val;
      const Activation a = recon_detail::activation_of_node(n);
      ValD y = x;
      for (double& v : y.v) v = activation_d(a, v, ap);
      return {y};
    }
  }
}

// Values of the unit (indexed by ValueId) for inputs in unit.inputs order; weights[node] overrides a
// node's weight (its graph weight otherwise).
inline std::vector<ValD> run_unit_d(const Graph& g, const Unit& u, const std::vector<ValD>& inputs,
                                    const std::map<size_t, VecD>& weights,
                                    const std::function<void(ValueId, ValD&)>& hook = {}) {
  std::vector<ValD> vals(g.values().size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    vals[static_cast<size_t>(u.inputs[k])] = inputs[k];
    if (hook) hook(u.inputs[k], vals[static_cast<size_t>(u.inputs[k])]);
  }
  for (size_t i : u.nodes) {
    const Node& n = g.nodes()[i];
    std::vector<const ValD*> in;
    for (ValueId v : n.inputs) in.push_back(&vals[static_cast<size_t>(v)]);
    const auto it = weights.find(i);
    const VecD w = it != weights.end() ? it->second : VecD(n.params.weight.vec().begin(), n.params.weight.vec().end());
    std::vector<ValD> out = node_d(n, in, w);
    for (size_t k = 0; k < out.size(); ++k) {
      vals[static_cast<size_t>(n.outputs[k])] = std::move(out[k]);
      if (hook) hook(n.outputs[k], vals[static_cast<size_t>(n.outputs[k])]);
    }
  }
  return vals;
}

}  // namespace mqcalib::test
