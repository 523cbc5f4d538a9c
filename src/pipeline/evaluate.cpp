#include "pipeline/evaluate.h"

#include "core/error.h"

namespace mqcalib {

std::vector<int64_t> argmax_rows(const TensorF32& logits) {
  if (logits.rank() != 2) throw Error("evaluate: the model output is " + shape_to_string(logits.shape()) + ", expected [N, classes]");
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

EvalResult evaluate_top1(const Graph& fp, const QuantizedModel& q, const LabeledBatchSource& next_batch,
                         const ProgressFn& progress, std::vector<int64_t>* fp_predictions) {
  const bool reuse = fp_predictions && !fp_predictions->empty();
  std::vector<int64_t> fp_all;
  Executor fp_ex(fp), q_ex(q.graph);
  const ValueHook hook = simulation_hook(q);
  EvalResult r;
  TensorF32 x;
  std::vector<int64_t> labels;
  for (int64_t i = 0; next_batch(i, x, labels); ++i) {
    std::vector<int64_t> pf;
    if (reuse) {
      const size_t b = static_cast<size_t>(r.samples);
      if (b + labels.size() > fp_predictions->size())
        throw Error("evaluate: the cached FP predictions cover " + std::to_string(fp_predictions->size()) + " samples, not " + std::to_string(b + labels.size()));
      pf.assign(fp_predictions->begin() + static_cast<int64_t>(b), fp_predictions->begin() + static_cast<int64_t>(b + labels.size()));
    } else {
      pf = argmax_rows(fp_ex.run({x}).at(0));
      fp_all.insert(fp_all.end(), pf.begin(), pf.end());
    }
    const std::vector<int64_t> pq = argmax_rows(q_ex.run({x}, hook).at(0));
    if (pf.size() != labels.size()) throw Error("evaluate: batch of " + std::to_string(pf.size()) + " predictions but " + std::to_string(labels.size()) + " labels");
    for (size_t k = 0; k < pf.size(); ++k) {
      r.fp_correct += pf[k] == labels[k];
      r.q_correct += pq[k] == labels[k];
      r.agree += pf[k] == pq[k];
    }
    r.samples += static_cast<int64_t>(pf.size());
    if (progress) progress("evaluate", r.samples, -1);
  }
  if (fp_predictions && !reuse) *fp_predictions = std::move(fp_all);
  return r;
}

}  // namespace mqcalib
