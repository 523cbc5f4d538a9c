// mqcalib/reconstruction/tensor_recycler.h: internal to the unit runner (reconstruction/unit_runner.h).
// Recycled tensor storage: before each forward the runner hands back the buffers of the last
// iteration's tape and gradients, and new values take them instead of fresh allocations. A fresh
// buffer costs a page fault per 4 KiB page at first touch (and the allocator returns freed ones to
// the OS): with fresh buffers, faults, zero-fills and unmapping were about 40% of a ZeroQ synthesis
// iteration on ResNet-20 at batch 32 (perf, docs/results.md "Synthesis speed").
//
// Buffers come back uninitialized: the kernel that fills one writes every element (unit_ops.h: the
// forward kernels of src/exec, and the backward kernels, which overwrite dL/d input).
#pragma once

#include <cstddef>
#include <map>
#include <utility>

#include "core/tensor.h"

namespace mqcalib::recon_detail {

class TensorRecycler {
 public:
  // A tensor of shape s, values unset: the smallest free buffer holding n = numel(s) floats when it
  // holds at most 2n (a much larger one stays for a larger value), else a new one.
  TensorF32 take(Shape s) {
    const size_t n = static_cast<size_t>(numel(s));
    auto it = free_.lower_bound(n);
    if (n == 0 || it == free_.end() || it->first > 2 * n) return TensorF32::uninitialized(std::move(s));
    FloatBuffer b = std::move(it->second);
    free_.erase(it);
    return TensorF32::uninitialized(std::move(s), std::move(b));
  }
  // Keeps t's storage for a later take(); t becomes empty.
  // Buffers held for reuse (a runner's tape gives back as many as it takes: this stays flat over
  // iterations; tests check it).
  size_t held() const { return free_.size(); }
  void give(TensorF32& t) {
    FloatBuffer b = t.release();
    t = TensorF32();
    if (b.capacity() > 0) free_.emplace(b.capacity(), std::move(b));
  }

 private:
  std::multimap<size_t, FloatBuffer> free_;  // by capacity
};

}  // namespace mqcalib::recon_detail
