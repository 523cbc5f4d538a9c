// mqcalib/src/pipeline/evaluate.h: the evaluate stage: top-1 of the FP graph and of the simulation on
// the same batches, and their agreement (fraction of samples where both predict the same class).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/executor.h"
#include "pipeline/sample_store.h"
#include "pipeline/simulation.h"

namespace mqcalib {

struct EvalResult {
  int64_t samples = 0;
  int64_t fp_correct = 0, q_correct = 0, agree = 0;
  double fp_top1() const {
    return samples ? 100.0 * static_cast<double>(fp_correct) / static_cast<double>(samples) : 0.0;
  }
  double q_top1() const {
    return samples ? 100.0 * static_cast<double>(q_correct) / static_cast<double>(samples) : 0.0;
  }
  double agreement() const { return samples ? 100.0 * static_cast<double>(agree) / static_cast<double>(samples) : 0.0; }
};

// argmax over the last dimension of [N, K] logits; ties take the lowest index.
std::vector<int64_t> argmax_rows(const TensorF32& logits);

// (batch index i, x, labels) -> false when there is no batch i.
using LabeledBatchSource = std::function<bool(int64_t, TensorF32&, std::vector<int64_t>&)>;

// The first `limit` samples of `ds` (all when limit <= 0) with their labels, in batches of `batch`.
// `ds` and `labels` must outlive the source.
LabeledBatchSource labeled_batches(const Dataset& ds, const std::vector<int64_t>& labels, int64_t limit, int64_t batch);

// Before any work: every label is a class of the model, [0, K) for the last dimension K of its first
// output. Throws Error naming `labels_name`, the first bad sample and K.
void check_labels_in_classes(const Graph& model, const std::vector<int64_t>& labels, const std::string& labels_name);

// Top-1 of the FP model and the simulation, accumulated batch by batch (caller-fed evaluation). Keeps
// references to `fp` and `sim`: both must outlive it. A label outside the model's classes ([0, K) of its
// [N, K] output) throws Error naming `labels_name` and the sample. With `sim` null: the FP graph alone
// (q_correct = fp_correct), one forward per batch.
class TopOneEvaluator {
 public:
  TopOneEvaluator(const Graph& fp, const Simulation& sim) : TopOneEvaluator(fp, &sim) {}
  TopOneEvaluator(const Graph& fp, const Simulation* sim);
  void add(const TensorF32& x, const std::vector<int64_t>& labels, const std::string& labels_name);
  const EvalResult& result() const { return r_; }

 private:
  Executor fp_;
  std::unique_ptr<Executor> q_;  // null: FP alone
  RunOptions run_;               // the simulation's (Simulation::run_options)
  EvalResult r_;
};

// Runs `fp` and `sim` on every batch (a TopOneEvaluator over the source).
EvalResult evaluate_top1(const Graph& fp, const Simulation& sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress = {});
// ... with `sim` null: the FP graph alone (q_correct = fp_correct), one forward per batch.
EvalResult evaluate_top1(const Graph& fp, const Simulation* sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress = {});

}  // namespace mqcalib
