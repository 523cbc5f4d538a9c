// A small model and data for the stage tests (tests/pipeline): every stage runs alone on it.
//   input [N,1,6,6] -> c1 (conv 3x3, 4 ch, bias) -> r1 (relu) -> c2 (conv 1x1, 4 ch, bias)
//   -> add(c2, r1) -> r2 (relu) -> f (flatten) -> fc (linear 144 -> 5)
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "graph/bn_fold.h"
#include "graph/graph_builder.h"
#include "pipeline/sample_store.h"

namespace mqcalib::testing {

inline Graph stage_model() {
  GraphBuilder b;
  const ValueId in = b.input("input");
  const ValueId c1 = b.conv("c1", in, 4, 1, 3, 1, true);
  const ValueId r1 = b.unary(OpKind::Relu, "r1", c1);
  const ValueId c2 = b.conv("c2", r1, 4, 4, 1, 1, true);
  const ValueId add = b.binary(OpKind::Add, "add", c2, r1);
  const ValueId r2 = b.unary(OpKind::Relu, "r2", add);
  Attrs fa;
  fa.start_dim = 1;
  fa.end_dim = 3;  // canonical form (graph/ir.h): dims normalized, non-negative
  const ValueId f = b.op(OpKind::Flatten, "f", {r2}, fa);
  const ValueId fc = b.linear("fc", f, 5, 4 * 6 * 6);
  b.output(fc);
  b.g.validate();
  return b.g;
}

// A model with BN statistics for the data-free stages, folded:
//   input [N,1,6,6] -> c1 (conv 3x3, 4 ch) -> bn1 -> r1 (relu) -> dw (depthwise 3x3) -> bn2
//   -> r2 (relu6) -> pw (conv 1x1, 6 ch) -> bn3 -> f (flatten) -> fc (linear 216 -> 5)
// bn1's channel 2 has a tiny variance (a 100x wider channel after folding: the equalization case).
inline Graph bn_stage_model() {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 1, 6, 6});
  ValueId v = b.conv("c1", in, 4, 1, 3, 1, false);
  v = b.bn("bn1", v, 4);
  v = b.unary(OpKind::Relu, "r1", v);
  v = b.conv("dw", v, 4, 4, 3, 4, false);
  v = b.bn("bn2", v, 4);
  v = b.unary(OpKind::Relu6, "r2", v);
  v = b.conv("pw", v, 6, 4, 1, 1, false);
  v = b.bn("bn3", v, 6);
  Attrs fa;
  fa.start_dim = 1;
  fa.end_dim = 3;  // canonical form (graph/ir.h): dims normalized, non-negative
  v = b.op(OpKind::Flatten, "f", {v}, fa, {}, {1, 216});
  b.output(b.linear("fc", v, 5, 216));
  b.g.nodes()[1].params.running_var[2] = 1e-4f;
  fold_batchnorm(b.g);
  b.g.validate();
  return b.g;
}

// n samples [1, 6, 6] of a fixed pseudo-random pattern (deterministic, no <random> distribution).
inline TensorF32 stage_samples(int64_t n) {
  TensorF32 x({n, 1, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 1.5);
  return x;
}

// A provider over samples in memory that counts what it hands out.
class MemoryBatches : public BatchProvider {
 public:
  explicit MemoryBatches(TensorF32 all) : all_(std::move(all)) {}
  Shape sample_shape() const override { return Shape(all_.shape().begin() + 1, all_.shape().end()); }
  int64_t size() const override { return all_.dim(0); }
  bool next(int64_t max_samples, TensorF32& x) override {
    if (pos_ >= all_.dim(0)) return false;
    const int64_t n = std::min(max_samples, all_.dim(0) - pos_), per = all_.size() / all_.dim(0);
    Shape s = all_.shape();
    s[0] = n;
    x = TensorF32(s, std::vector<float>(all_.data() + pos_ * per, all_.data() + (pos_ + n) * per));
    pos_ += n;
    given_ += n;
    ++calls_;
    return true;
  }
  std::string description() const override { return "memory samples"; }
  int64_t given() const { return given_; }
  int64_t calls() const { return calls_; }

 private:
  TensorF32 all_;
  int64_t pos_ = 0, given_ = 0, calls_ = 0;
};

inline SampleStore stage_store(int64_t n, int64_t batch = 16, int64_t budget = -1) {
  MemoryBatches p(stage_samples(n));
  SampleStoreOptions o;
  o.batch = batch;
  o.cache.ram_budget_bytes = budget;
  return SampleStore::load(p, o);
}

}  // namespace mqcalib::testing
