// mqcalib/src/pipeline/evaluate.cpp: see evaluate.h.
#include "pipeline/evaluate.h"

#include <algorithm>

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

TopOneEvaluator::TopOneEvaluator(const Graph& fp, const Simulation* sim)
    : fp_(fp),
      q_(sim ? std::make_unique<Executor>(sim->graph) : nullptr),
      run_(sim ? sim->run_options(sim->activations.hook()) : RunOptions{}) {}

void TopOneEvaluator::add(const TensorF32& x, const std::vector<int64_t>& labels, const std::string& labels_name) {
  const TensorF32 logits = fp_.run({x}).at(0);
  const std::vector<int64_t> pf = argmax_rows(logits);
  const std::vector<int64_t> pq = q_ ? argmax_rows(q_->run({x}, run_).at(0)) : pf;
  if (pf.size() != labels.size())
    throw Error("evaluate: batch of " + std::to_string(pf.size()) + " predictions but " +
                std::to_string(labels.size()) + " labels");
  const int64_t classes = logits.dim(1);
  for (size_t k = 0; k < pf.size(); ++k)
    if (labels[k] < 0 || labels[k] >= classes)
      throw Error(ErrorKind::BadData, "labels '" + labels_name + "': sample " +
                                          std::to_string(r_.samples + static_cast<int64_t>(k)) + " has label " +
                                          std::to_string(labels[k]) + " but the model has " + std::to_string(classes) +
                                          " classes (0.." + std::to_string(classes - 1) + ")");
  for (size_t k = 0; k < pf.size(); ++k) {
    r_.fp_correct += pf[k] == labels[k];
    r_.q_correct += pq[k] == labels[k];
    r_.agree += pf[k] == pq[k];
  }
  r_.samples += static_cast<int64_t>(pf.size());
}

EvalResult evaluate_top1(const Graph& fp, const Simulation& sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress) {
  return evaluate_top1(fp, &sim, next_batch, labels_name, progress);
}

EvalResult evaluate_top1(const Graph& fp, const Simulation* sim, const LabeledBatchSource& next_batch,
                         const std::string& labels_name, const ProgressFn& progress) {
  TopOneEvaluator ev(fp, sim);
  TensorF32 x;
  std::vector<int64_t> labels;
  for (int64_t i = 0; next_batch(i, x, labels); ++i) {
    ev.add(x, labels, labels_name);
    if (progress) progress("evaluate", ev.result().samples, -1);
  }
  return ev.result();
}

void check_labels_in_classes(const Graph& model, const std::vector<int64_t>& labels, const std::string& labels_name) {
  if (model.outputs().empty()) throw Error("evaluate: the model has no output");
  const Shape& out = model.value(model.outputs()[0]).shape;
  if (out.empty() || out.back() <= 0) return;  // unknown class count: evaluate_top1 checks per batch
  const int64_t k = out.back();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= k)
      throw Error("labels file '" + labels_name + "': label " + std::to_string(labels[i]) + " of sample " +
                  std::to_string(i) + " is not one of the model's " + std::to_string(k) + " classes (0.." +
                  std::to_string(k - 1) + "); a wrong labels file would count every such sample as a miss");
}

}  // namespace mqcalib
