// mqcalib/src/exec/op_table.cpp: the executor's dispatch table, one runner per OpKind, in OpKind order;
// the runners' output allocation (BufferPool).
#include <array>

#include "exec/op_runners.h"

namespace mqcalib::exec_detail {

namespace {

struct RunnerEntry {
  OpKind kind;
  OpRunFn fn;
};

constexpr RunnerEntry kRunners[] = {
    {OpKind::Conv2d, run_conv2d},
    {OpKind::Linear, run_linear},
    {OpKind::BatchNorm, run_batch_norm},
    {OpKind::Relu, run_activation},
    {OpKind::Relu6, run_activation},
    {OpKind::Hardtanh, run_activation},
    {OpKind::Silu, run_activation},
    {OpKind::Sigmoid, run_activation},
    {OpKind::Tanh, run_activation},
    {OpKind::Hardswish, run_activation},
    {OpKind::Hardsigmoid, run_activation},
    {OpKind::Gelu, run_activation},
    {OpKind::Add, run_binary},
    {OpKind::Mul, run_binary},
    {OpKind::Cat, run_cat},
    {OpKind::MaxPool2d, run_max_pool2d},
    {OpKind::AvgPool2d, run_avg_pool2d},
    {OpKind::AdaptiveAvgPool2d, run_adaptive_avg_pool2d},
    {OpKind::Mean, run_mean},
    {OpKind::Flatten, run_flatten},
    {OpKind::Reshape, run_reshape},
    {OpKind::Transpose, run_transpose},
    {OpKind::Chunk, run_chunk},
    {OpKind::Split, run_split},
    {OpKind::Identity, run_identity},
    {OpKind::Softmax, run_softmax},
};

constexpr bool runners_in_op_order() {
  if (sizeof(kRunners) / sizeof(kRunners[0]) != kNumOpKinds) return false;
  for (size_t i = 0; i < kNumOpKinds; ++i)
    if (static_cast<size_t>(kRunners[i].kind) != i) return false;
  return true;
}
static_assert(runners_in_op_order(), "kRunners must hold one entry per OpKind, in OpKind order");

}  // namespace

OpRunFn op_runner(OpKind kind) { return kRunners[static_cast<size_t>(kind)].fn; }

TensorF32 OpArgs::alloc(Shape s) const {
  return pool ? pool->take(std::move(s)) : TensorF32::uninitialized(std::move(s));
}

TensorF32 OpArgs::take_or_alloc(size_t k, bool& in_place) const {
  in_place = k < consumable.size() && consumable[k];
  if (in_place) return std::move(*in[k]);
  return alloc(in[k]->shape());
}

TensorF32 BufferPool::take(Shape s) {
  const size_t n = static_cast<size_t>(numel(s));
  size_t best = free.size();
  for (size_t i = 0; i < free.size(); ++i)
    if (free[i].capacity() >= n && (best == free.size() || free[i].capacity() < free[best].capacity())) best = i;
  if (best == free.size()) return TensorF32::uninitialized(std::move(s));
  FloatBuffer b = std::move(free[best]);
  free[best] = std::move(free.back());
  free.pop_back();
  return TensorF32::uninitialized(std::move(s), std::move(b));
}

void BufferPool::give(TensorF32&& t) {
  FloatBuffer b = t.release();
  if (b.capacity() == 0) return;
  if (free.size() >= kMaxFree) {  // drop the smallest
    size_t small = 0;
    for (size_t i = 1; i < free.size(); ++i)
      if (free[i].capacity() < free[small].capacity()) small = i;
    if (free[small].capacity() >= b.capacity()) return;
    free[small] = std::move(b);
    return;
  }
  free.push_back(std::move(b));
}

}  // namespace mqcalib::exec_detail
