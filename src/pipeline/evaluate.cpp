// mqcalib/src/pipeline/evaluate.cpp: see evaluate.h.
#include "pipeline/evaluate.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "exec/executor.h"

namespace mqcalib {

std::vector<int64_t> argmax_rows(const TensorF32& logits) {
  if (logits.rank() != 2)
    throw Error("evaluate: the model output is " + shape_to_string(logits.shape()) + ", expected [N, classes]");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* r = logits.data() + i * k;
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (r[j] > r[best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

LabeledBatchSource labeled_batches(const Dataset& ds, const std::vector<int64_t>& labels, int64_t limit,
                                   int64_t batch) {
  const int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
  return [&ds, &labels, n, batch](int64_t i, TensorF32& x, std::vector<int64_t>& y) {
    const int64_t b = i * batch;
    if (b >= n) return false;
    const int64_t e = std::min<int64_t>(b + batch, n);
    std::vector<int64_t> idx;
    for (int64_t k = b; k < e; ++k) idx.push_back(k);
    x = load_batch(ds, idx);
    y.assign(labels.begin() + b, labels.begin() + e);
    return true;
  };
}

EvalResult evaluate_top1(const Graph& fp, const Simulation& sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress) {
  return evaluate_top1(fp, &sim, next_batch, labels_name, progress);
}

EvalResult evaluate_top1(const Graph& fp, const Simulation* sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress) {
  const Executor fp_ex(fp);
  std::unique_ptr<Executor> q_ex = sim ? std::make_unique<Executor>(sim->graph) : nullptr;
  const ValueHook hook = sim ? sim->activations.hook() : ValueHook{};
  EvalResult r;
  TensorF32 x;
  std::vector<int64_t> labels;
  for (int64_t i = 0; next_batch(i, x, labels); ++i) {
    const TensorF32 logits = fp_ex.run({x}).at(0);
    const std::vector<int64_t> pf = argmax_rows(logits);
    const std::vector<int64_t> pq = q_ex ? argmax_rows(q_ex->run({x}, hook).at(0)) : pf;
    if (pf.size() != labels.size())
      throw Error("evaluate: batch of " + std::to_string(pf.size()) + " predictions but " +
                  std::to_string(labels.size()) + " labels");
    const int64_t classes = logits.dim(1);
    for (size_t k = 0; k < pf.size(); ++k) {
      if (labels[k] < 0 || labels[k] >= classes)
        throw Error("labels '" + labels_name + "': sample " + std::to_string(r.samples + static_cast<int64_t>(k)) +
                    " has label " + std::to_string(labels[k]) + " but the model has " + std::to_string(classes) +
                    " classes (0.." + std::to_string(classes - 1) + ")");
      r.fp_correct += pf[k] == labels[k];
      r.q_correct += pq[k] == labels[k];
      r.agree += pf[k] == pq[k];
    }
    r.samples += static_cast<int64_t>(pf.size());
    if (progress) progress("evaluate", r.samples, -1);
  }
  return r;
}

}  // namespace mqcalib
