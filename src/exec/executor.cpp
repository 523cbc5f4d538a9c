// mqcalib/src/exec/executor.cpp: the graph interpreter (op dispatch, buffer lifetime, hooks).
#include "exec/executor.h"

#include <string>

#include "exec/kernels.h"

namespace mqcalib {

namespace {

std::string node_label(const Node& n) {
  std::string s = "node '" + n.name + "' (" + std::string(op_name(n.kind)) + ")";
  if (!n.source.empty()) s += " at " + n.source;
  return s;
}

void need_inputs(const Node& n, const std::vector<TensorF32*>& in, size_t lo, size_t hi) {
  if (in.size() < lo || in.size() > hi)
    throw Error("expected " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
                " inputs, got " + std::to_string(in.size()));
  if (n.outputs.empty()) throw Error("node has no output");
}

// Output tensor for a shape-preserving op: the consumed input's buffer when allowed, else new.
TensorF32 take_or_alloc(const std::vector<TensorF32*>& in, const std::vector<bool>& consumable, size_t k,
                        bool& in_place) {
  in_place = k < consumable.size() && consumable[k];
  if (in_place) return std::move(*in[k]);
  return TensorF32(in[k]->shape());
}

Activation activation_of(const Node& n) {
  switch (n.kind) {
    case OpKind::Relu: return Activation::Relu;
    case OpKind::Relu6: return Activation::Relu6;
    case OpKind::Hardtanh: return Activation::Hardtanh;
    case OpKind::Silu: return Activation::Silu;
    case OpKind::Sigmoid: return Activation::Sigmoid;
    case OpKind::Tanh: return Activation::Tanh;
    case OpKind::Hardswish: return Activation::Hardswish;
    case OpKind::Hardsigmoid: return Activation::Hardsigmoid;
    case OpKind::Gelu:
      if (n.attrs.approximate == "none") return Activation::GeluErf;
      if (n.attrs.approximate == "tanh") return Activation::GeluTanh;
      throw Error("gelu: unknown approximate '" + n.attrs.approximate + "' (expected none or tanh)");
    default: throw Error("not an activation");
  }
}

Pool2dParams pool_params(const Attrs& a) {
  Pool2dParams p;
  p.kernel_h = a.kernel[0];
  p.kernel_w = a.kernel[1];
  // stride 0 (absent in TorchScript's max_pool2d(..., stride=[])) means stride = kernel
  p.stride_h = a.stride[0] > 0 ? a.stride[0] : a.kernel[0];
  p.stride_w = a.stride[1] > 0 ? a.stride[1] : a.kernel[1];
  p.pad_h = a.padding[0];
  p.pad_w = a.padding[1];
  p.dil_h = a.dilation[0];
  p.dil_w = a.dilation[1];
  p.ceil_mode = a.ceil_mode;
  p.count_include_pad = a.count_include_pad;
  return p;
}

std::vector<TensorF32> run_split(const Node& n, const TensorF32& x, const std::vector<int64_t>& sizes) {
  if (sizes.size() != n.outputs.size())
    throw Error("splitting dim of size " + std::to_string(x.dim(static_cast<int>(normalize_axis(n.attrs.axis, x.rank(), "split")))) +
                " gives " + std::to_string(sizes.size()) + " sections but the node has " +
                std::to_string(n.outputs.size()) + " outputs");
  const int64_t a = normalize_axis(n.attrs.axis, x.rank(), "split");
  std::vector<TensorF32> outs;
  std::vector<MutViewF32> views;
  for (int64_t s : sizes) {
    Shape sh = x.shape();
    sh[a] = s;
    outs.emplace_back(sh);
  }
  for (TensorF32& t : outs) views.push_back(t.mut_view());
  split_f32(x, a, sizes, views);
  return outs;
}

}  // namespace

Conv2dParams conv2d_params(const Attrs& a) {
  Conv2dParams cp;
  cp.stride_h = a.stride[0];
  cp.stride_w = a.stride[1];
  cp.pad_h = a.padding[0];
  cp.pad_w = a.padding[1];
  cp.dil_h = a.dilation[0];
  cp.dil_w = a.dilation[1];
  cp.groups = a.groups;
  return cp;
}

namespace {

std::vector<TensorF32> run_node_impl(const Node& n, const std::vector<TensorF32*>& in,
                                     const std::vector<bool>& consumable) {
  const Attrs& at = n.attrs;
  const Params& pr = n.params;
  std::vector<TensorF32> out;
  switch (n.kind) {
    case OpKind::Conv2d: {
      need_inputs(n, in, 1, 1);
      if (pr.weight.rank() != 4) throw Error("weight must be [O,C/groups,kh,kw], got " + shape_to_string(pr.weight.shape()));
      const Conv2dParams cp = conv2d_params(at);
      const TensorF32& x = *in[0];
      if (!pr.bias.empty() && pr.bias.size() != pr.weight.dim(0))
        throw Error("bias has " + std::to_string(pr.bias.size()) + " elements for " + std::to_string(pr.weight.dim(0)) +
                    " output channels");
      out.emplace_back(conv2d_output_shape(x.shape(), pr.weight.shape(), cp));
      conv2d_nchw_f32(x, pr.weight, pr.bias.empty() ? nullptr : pr.bias.data(), cp, out[0].mut_view());
      break;
    }
    case OpKind::Linear: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      if (pr.weight.rank() != 2) throw Error("weight must be [O,I], got " + shape_to_string(pr.weight.shape()));
      if (x.rank() < 1 || x.dim(-1) != pr.weight.dim(1))
        throw Error("input " + shape_to_string(x.shape()) + " does not end with the weight's " +
                    std::to_string(pr.weight.dim(1)) + " input features");
      if (!pr.bias.empty() && pr.bias.size() != pr.weight.dim(0))
        throw Error("bias has " + std::to_string(pr.bias.size()) + " elements for " + std::to_string(pr.weight.dim(0)) +
                    " outputs");
      const int64_t I = pr.weight.dim(1), O = pr.weight.dim(0), M = x.size() / std::max<int64_t>(1, I);
      Shape os = x.shape();
      os.back() = O;
      out.emplace_back(os);
      linear_f32(ViewF32{x.data(), {M, I}}, pr.weight, pr.bias.empty() ? nullptr : pr.bias.data(),
                 MutViewF32{out[0].data(), {M, O}});
      break;
    }
    case OpKind::BatchNorm: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      if (x.rank() < 2) throw Error("input must have a channel dim, got " + shape_to_string(x.shape()));
      const int64_t C = x.dim(1);
      if (pr.running_mean.size() != C || pr.running_var.size() != C ||
          (!pr.weight.empty() && pr.weight.size() != C) || (!pr.bias.empty() && pr.bias.size() != C))
        throw Error("running statistics / affine parameters do not have " + std::to_string(C) + " channels");
      bool ip;
      TensorF32 y = take_or_alloc(in, consumable, 0, ip);
      batch_norm_f32(ip ? y.view() : x.view(), pr.running_mean.data(), pr.running_var.data(),
                     pr.weight.empty() ? nullptr : pr.weight.data(), pr.bias.empty() ? nullptr : pr.bias.data(), at.eps,
                     y.mut_view());
      out.push_back(std::move(y));
      break;
    }
    case OpKind::Relu:
    case OpKind::Relu6:
    case OpKind::Hardtanh:
    case OpKind::Silu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Hardswish:
    case OpKind::Hardsigmoid:
    case OpKind::Gelu: {
      need_inputs(n, in, 1, 1);
      const Activation a = activation_of(n);
      ActivationParams ap;
      ap.min_val = at.min_val;
      ap.max_val = at.max_val;
      const ViewF32 xv = in[0]->view();
      bool ip;
      TensorF32 y = take_or_alloc(in, consumable, 0, ip);
      activation_f32(a, ip ? y.view() : xv, y.mut_view(), ap);
      out.push_back(std::move(y));
      break;
    }
    case OpKind::Add:
    case OpKind::Mul: {
      const BinaryOp op = n.kind == OpKind::Add ? BinaryOp::Add : BinaryOp::Mul;
      if (at.has_scalar && in.size() == 1) {
        need_inputs(n, in, 1, 1);
        const ViewF32 xv = in[0]->view();
        bool ip;
        TensorF32 y = take_or_alloc(in, consumable, 0, ip);
        binary_scalar_f32(op, ip ? y.view() : xv, at.scalar, y.mut_view());
        out.push_back(std::move(y));
        break;
      }
      need_inputs(n, in, 2, 2);
      const Shape s = broadcast_shape(in[0]->shape(), in[1]->shape());
      // a+b == b+a and a*b == b*a exactly in IEEE arithmetic, so either input may host the result.
      int host = -1;
      for (int k = 0; k < 2 && host < 0; ++k)
        if (static_cast<size_t>(k) < consumable.size() && consumable[k] && in[k]->shape() == s) host = k;
      if (host >= 0) {
        TensorF32 y = std::move(*in[host]);
        binary_f32(op, y.view(), in[1 - host]->view(), y.mut_view());
        out.push_back(std::move(y));
      } else {
        out.emplace_back(s);
        binary_f32(op, *in[0], *in[1], out[0].mut_view());
      }
      break;
    }
    case OpKind::Cat: {
      if (in.empty()) throw Error("no inputs");
      std::vector<ViewF32> xs;
      std::vector<Shape> shapes;
      for (TensorF32* t : in) {
        xs.push_back(t->view());
        shapes.push_back(t->shape());
      }
      out.emplace_back(cat_output_shape(shapes, at.axis));
      cat_f32(xs, at.axis, out[0].mut_view());
      break;
    }
    case OpKind::MaxPool2d: {
      need_inputs(n, in, 1, 1);
      const Pool2dParams p = pool_params(at);
      out.emplace_back(pool2d_output_shape(in[0]->shape(), p));
      max_pool2d_nchw_f32(*in[0], p, out[0].mut_view());
      break;
    }
    case OpKind::AvgPool2d: {
      need_inputs(n, in, 1, 1);
      Pool2dParams p = pool_params(at);
      p.dil_h = p.dil_w = 1;
      out.emplace_back(pool2d_output_shape(in[0]->shape(), p));
      avg_pool2d_nchw_f32(*in[0], p, out[0].mut_view());
      break;
    }
    case OpKind::AdaptiveAvgPool2d: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      if (x.rank() != 4) throw Error("input must be [N,C,H,W], got " + shape_to_string(x.shape()));
      // a non-positive size (None in PyTorch) keeps the input size
      const int64_t oh = at.output_size[0] > 0 ? at.output_size[0] : x.dim(2);
      const int64_t ow = at.output_size[1] > 0 ? at.output_size[1] : x.dim(3);
      out.emplace_back(Shape{x.dim(0), x.dim(1), oh, ow});
      adaptive_avg_pool2d_nchw_f32(x, oh, ow, out[0].mut_view());
      break;
    }
    case OpKind::Mean: {
      need_inputs(n, in, 1, 1);
      out.emplace_back(mean_output_shape(in[0]->shape(), at.dims, at.keepdim));
      mean_f32(*in[0], at.dims, at.keepdim, out[0].mut_view());
      break;
    }
    case OpKind::Flatten:
    case OpKind::Reshape:
    case OpKind::Identity: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      Shape s = x.shape();
      if (n.kind == OpKind::Flatten) s = flatten_output_shape(x.shape(), at.start_dim, at.end_dim);
      if (n.kind == OpKind::Reshape) {
        std::vector<int64_t> dims = at.dims;
        // A traced reshape may hold the example's batch size as a constant: when the sizes do not
        // match and there is no -1, the first dim is taken as the batch dim.
        bool has_infer = false;
        int64_t prod = 1;
        for (int64_t d : dims) {
          has_infer = has_infer || d == -1;
          prod *= d;
        }
        if (!has_infer && !dims.empty() && x.rank() > 0 && prod != x.size()) dims[0] = x.dim(0);
        s = reshape_output_shape(x.shape(), dims);
      }
      bool ip;
      TensorF32 y = take_or_alloc(in, consumable, 0, ip);
      if (!ip) y.vec() = x.vec();
      y.reshape(s);
      out.push_back(std::move(y));
      break;
    }
    case OpKind::Transpose: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      std::vector<int64_t> perm = at.dims;
      if (perm.size() == 2 && x.rank() != 2) {  // transpose(d0, d1) given as the two swapped dims
        std::vector<int64_t> full(static_cast<size_t>(x.rank()));
        for (int d = 0; d < x.rank(); ++d) full[d] = d;
        std::swap(full[normalize_axis(perm[0], x.rank(), "transpose")], full[normalize_axis(perm[1], x.rank(), "transpose")]);
        perm = full;
      }
      out.emplace_back(transpose_output_shape(x.shape(), perm));
      transpose_f32(x, perm, out[0].mut_view());
      break;
    }
    case OpKind::Chunk: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      const int64_t a = normalize_axis(at.axis, x.rank(), "chunk");
      out = run_split(n, x, chunk_sizes(x.dim(static_cast<int>(a)), at.chunks));
      break;
    }
    case OpKind::Split: {
      need_inputs(n, in, 1, 1);
      const TensorF32& x = *in[0];
      const int64_t a = normalize_axis(at.axis, x.rank(), "split");
      std::vector<int64_t> sizes = at.dims;
      if (sizes.size() == 1 && n.outputs.size() > 1) {  // torch.split(x, split_size): equal sections
        const int64_t dim = x.dim(static_cast<int>(a));
        if (sizes[0] <= 0) throw Error("split size must be positive");
        sizes.clear();
        for (int64_t done = 0; done < dim; done += at.dims[0]) sizes.push_back(std::min(at.dims[0], dim - done));
      }
      out = run_split(n, x, sizes);
      break;
    }
    case OpKind::Softmax: {
      need_inputs(n, in, 1, 1);
      out.emplace_back(in[0]->shape());
      softmax_f32(*in[0], at.axis, out[0].mut_view());
      break;
    }
  }
  if (out.size() != n.outputs.size())
    throw Error("produced " + std::to_string(out.size()) + " outputs but the node declares " +
                std::to_string(n.outputs.size()));
  return out;
}

}  // namespace

std::vector<TensorF32> run_node(const Node& node, const std::vector<TensorF32*>& inputs,
                                const std::vector<bool>& consumable) {
  try {
    return run_node_impl(node, inputs, consumable);
  } catch (const Error& e) {
    throw Error(node_label(node) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(node_label(node) + ": out of memory");
  }
}

Executor::Executor(const Graph& g) : g_(g) { g_.validate(); }

std::vector<TensorF32> Executor::run(const std::vector<TensorF32>& inputs, const ValueHook& hook,
                                     ValueId stop_after) const {
  const Graph& g = g_;
  if (inputs.size() != g.inputs().size())
    throw Error("executor: graph has " + std::to_string(g.inputs().size()) + " inputs but " +
                std::to_string(inputs.size()) + " tensors were given");
  const size_t nv = g.values().size();
  // Remaining reads of each value; graph outputs hold one extra read that is never released.
  std::vector<int64_t> uses(nv, 0);
  for (const Node& n : g.nodes())
    for (ValueId v : n.inputs) ++uses[static_cast<size_t>(v)];
  for (ValueId v : g.outputs()) ++uses[static_cast<size_t>(v)];

  std::vector<TensorF32> vals(nv);
  std::vector<bool> live(nv, false);
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueId v = g.inputs()[k];
    vals[static_cast<size_t>(v)] = inputs[k];
    live[static_cast<size_t>(v)] = true;
    if (hook) hook(v, vals[static_cast<size_t>(v)]);
    if (v == stop_after) return {};
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueId v = g.inputs()[k];
    if (uses[static_cast<size_t>(v)] == 0) {
      vals[static_cast<size_t>(v)] = TensorF32();
      live[static_cast<size_t>(v)] = false;
    }
  }

  std::vector<TensorF32*> in;
  std::vector<bool> consumable;
  for (const Node& n : g.nodes()) {
    in.clear();
    consumable.clear();
    for (ValueId v : n.inputs) {
      if (!live[static_cast<size_t>(v)])
        throw Error(node_label(n) + ": input '" + g.value(v).name + "' has not been computed");
      in.push_back(&vals[static_cast<size_t>(v)]);
    }
    for (ValueId v : n.inputs) {
      int64_t here = 0;
      for (ValueId w : n.inputs) here += w == v;
      consumable.push_back(here == 1 && uses[static_cast<size_t>(v)] == 1);
    }
    std::vector<TensorF32> outs = run_node(n, in, consumable);
    for (ValueId v : n.inputs) {
      size_t i = static_cast<size_t>(v);
      if (--uses[i] == 0) {
        vals[i] = TensorF32();
        live[i] = false;
      }
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      const size_t o = static_cast<size_t>(n.outputs[k]);
      vals[o] = std::move(outs[k]);
      live[o] = true;
      if (hook) hook(n.outputs[k], vals[o]);
      if (n.outputs[k] == stop_after) return {};
      if (uses[o] == 0) {  // dead value (e.g. an unused chunk): freed at once, after the hook
        vals[o] = TensorF32();
        live[o] = false;
      }
    }
  }

  std::vector<TensorF32> result;
  result.reserve(g.outputs().size());
  for (ValueId v : g.outputs()) {
    const size_t i = static_cast<size_t>(v);
    if (!live[i]) throw Error("executor: graph output '" + g.value(v).name + "' was not computed");
    // the last read of an output value may move it; earlier reads (duplicate outputs) copy
    if (--uses[i] == 0)
      result.push_back(std::move(vals[i]));
    else
      result.push_back(vals[i]);
  }
  return result;
}

}  // namespace mqcalib
