// mqcalib/src/exec/ops_fused.cpp: a fused group (fusion_plan.h) as one conv/linear kernel with the
// epilogue bias -> fq(head) -> + residual -> fq(add) -> activation -> fq(act) (kernels.h), and the
// output quantization pass of the ops that do not fuse it.
#include <algorithm>
#include <optional>
#include <string>

#include "core/quantize.h"
#include "exec/executor.h"
#include "exec/fusion_plan.h"
#include "exec/node_activation.h"
#include "exec/op_runners.h"

namespace mqcalib::exec_detail {

namespace {

Shape head_output_shape(const Node& h, const TensorF32& x) {
  if (h.kind == OpKind::Conv2d) return conv2d_output_shape(x.shape(), h.params.weight.shape(), conv2d_params(h.attrs));
  const int64_t I = h.params.weight.dim(1);
  if (x.rank() < 1 || x.dim(-1) != I)
    throw Error("node '" + h.name + "' (linear): input " + shape_to_string(x.shape()) +
                " does not end with the weight's " + std::to_string(I) + " input features");
  Shape s = x.shape();
  s.back() = h.params.weight.dim(0);
  return s;
}

void run_head(const Node& h, const TensorF32& x, const ConvEpilogue& ep, TensorF32& y) {
  if (h.kind == OpKind::Conv2d) return conv2d_nchw_f32(x, h.params.weight, ep, conv2d_params(h.attrs), y.mut_view());
  const int64_t I = h.params.weight.dim(1), O = h.params.weight.dim(0), M = x.size() / std::max<int64_t>(1, I);
  linear_f32(ViewF32{x.data(), {M, I}}, h.params.weight, ep, MutViewF32{y.data(), {M, O}});
}

// The members one after the other, each output materialized (a residual that broadcasts).
TensorF32 run_unfused(const GroupArgs& a) {
  const Node& h = a.g.nodes()[a.grp.head];
  TensorF32 y = a.pool->take(head_output_shape(h, a.x));
  ConvEpilogue ep;
  ep.bias = h.params.bias.empty() ? nullptr : h.params.bias.data();
  run_head(h, a.x, ep, y);
  apply_output_quant(a.quant, h.outputs[0], y);
  std::vector<TensorF32*> in(2);
  in[static_cast<size_t>(a.grp.residual)] = a.residual;
  in[static_cast<size_t>(1 - a.grp.residual)] = &y;
  std::vector<bool> consumable(2, false);
  consumable[static_cast<size_t>(1 - a.grp.residual)] = true;
  const Node& add = a.g.nodes()[static_cast<size_t>(a.grp.add)];
  TensorF32 s = std::move(op_runner(OpKind::Add)(OpArgs{add, in, consumable, a.pool}).at(0));
  apply_output_quant(a.quant, add.outputs[0], s);
  if (a.grp.act < 0) return s;
  const Node& act = a.g.nodes()[static_cast<size_t>(a.grp.act)];
  const std::vector<TensorF32*> ai = {&s};
  const std::vector<bool> ac = {true};
  TensorF32 r = std::move(op_runner(act.kind)(OpArgs{act, ai, ac, a.pool}).at(0));
  apply_output_quant(a.quant, act.outputs[0], r);
  return r;
}

}  // namespace

void apply_output_quant(const OutputQuant* quant, ValueId v, TensorF32& t) {
  if (!quant) return;
  if (const QParams* p = quant->params(v)) fake_quantize_f32(t.view(), *p, t.data());
}

TensorF32 run_fused_group(const GroupArgs& a) {
  const Graph& g = a.g;
  const FusedGroup& grp = a.grp;
  const Node& h = g.nodes()[grp.head];
  const Shape ys = head_output_shape(h, a.x);
  if (grp.add >= 0 && a.residual->shape() != ys) return run_unfused(a);
  auto fq = [&](ValueId v) { return a.quant ? a.quant->epilogue(v) : nullptr; };
  ConvEpilogue ep;
  ep.bias = h.params.bias.empty() ? nullptr : h.params.bias.data();
  ep.fq_pre = fq(h.outputs[0]);
  TensorF32 y;
  if (grp.add >= 0) {
    const Node& add = g.nodes()[static_cast<size_t>(grp.add)];
    ep.fq_sum = fq(add.outputs[0]);
    if (a.residual_consumable) y = std::move(*a.residual);  // each residual is read before its output is written
    ep.residual = a.residual_consumable ? y.data() : a.residual->data();
  }
  std::optional<Activation> act;
  ActivationParams ap;
  if (grp.act >= 0) {
    const Node& an = g.nodes()[static_cast<size_t>(grp.act)];
    act = node_activation(an);
    ap = node_activation_params(an);
    ep.act = &*act;
    ep.act_params = &ap;
    ep.fq_out = fq(an.outputs[0]);
  }
  if (y.empty()) y = a.pool->take(ys);
  run_head(h, a.x, ep, y);
  // A per-channel quantization of the group's output (never fused) is a pass after the kernel.
  if (a.quant && a.quant->params(grp.out) && !a.quant->epilogue(grp.out)) apply_output_quant(a.quant, grp.out, y);
  return y;
}

}  // namespace mqcalib::exec_detail
