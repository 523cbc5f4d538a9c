// mqcalib/src/pipeline/observe.h: the observe and choose-params stages.
//
//   observe_weights      every planned weight -> its observer's range -> choose_qparams (one per point)
//   observe_activations  run the graph *with quantized weights* (activation ranges then see the weight
//                        error, as MNN does) over the sample store and feed every activation point's
//                        observer; then choose_qparams, with shared-scale groups (concat) taking the
//                        union of their members' ranges
//   quantize_biases      every bias of a quantized layer whose input is quantized -> the int32 grid of
//                        s_in * s_w[c] (core/bias_i32.h) with the backend's tie rule
// The graph's own inputs are observed with `minmax` whatever the activation observer is: they are
// preprocessed 8-bit images whose range is known exactly, and clipping a bounded, discrete input saves
// no resolution worth the saturation (KL put the Fashion-MNIST input at [-1.49, 1.49] of [-0.81, 2.02]).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "calibrators/observer.h"
#include "exec/executor.h"
#include "graph/ir.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/sample_store.h"

namespace mqcalib {

// Report statistics (ActStats) are taken over this many calibration batches: they feed the outlier
// findings, not the parameters, and a full extra pass over every activation cost ~10% of the forward.
constexpr int64_t kActStatsBatches = 4;

// Run options that call `hook` on the plan's activation points only: every other value may be fused
// away (a conv's output read only by its activation is never written out), as in the forward without
// observers; the points' bits are the same either way (exec/executor.h). (A hook on every value turns
// every fusion off; on the zoo mobilenetv2 the difference was below what bench_calibration resolves.)
RunOptions point_hook_run(const QuantPlan& plan, ValueHook hook);

struct ObserverChoice {
  std::string name;         // registry name (calibrators/observer.h)
  ObserverOptions options;  // granularity and axis are set per point by the stage
};

// One WeightQuant per planned weight of `folded`, in plan order (codes and bias empty).
std::vector<WeightQuant> observe_weights(const Graph& folded, const QuantPlan& plan, const ObserverChoice& observer);

// One ActQuant per planned activation, in plan order. `weight_quantized` is the folded graph with the
// weights of the state applied (with_quantized_weights, simulation.h). Reads every batch of `calib`.
// Schedule: when every point's observer merges in order exactly (Observer::merge_in_order_is_exact:
// all but aciq), the batches run in contiguous runs on the OpenMP threads, one executor (and its
// buffers: one batch's live activations) per thread, kernels serial inside, the runs' observers merged
// in batch order; otherwise one batch at a time on all threads. The bits are the same either way and
// at any thread count. `progress` is called on the calling thread only, ending at calib.size().
std::vector<ActQuant> observe_activations(const Graph& weight_quantized, const QuantPlan& plan,
                                          const SampleStore& calib, const ObserverChoice& observer,
                                          const ProgressFn& progress = {});

// Feeds value `v` of a run to its activation point's observer (obs in plan order) and returns the
// point's index, or -1 when `v` is no point; an observer's error is rethrown naming the tensor.
int observe_point(const QuantPlan& plan, const std::vector<std::unique_ptr<Observer>>& obs, ValueId v,
                  const TensorF32& t);

// The activation params from the observed ranges: choose_qparams per point, shared-scale groups on
// the union of their members' ranges. Points marked `learned` keep their params.
void choose_activation_params(std::vector<ActQuant>& acts);

// Fills WeightQuant::bias for every weighted layer with a bias and a quantized input (a skipped input
// keeps a float bias, as the runtime does). `folded` gives the bias values' presence and size.
void quantize_biases(QuantState& state, const Graph& folded, const QuantPlan& plan, Rounding rounding);

}  // namespace mqcalib
