// mqcalib/src/pipeline/reconstruct.h: the reconstruct stage: a method from a registry turns the
// observed weight params into final weights (integer codes), and may learn activation steps.
//
// Methods (the table in reconstruct_methods.cpp; one line adds one):
//   nearest   no reconstruction: round to nearest (codes stay empty)
//   adaround  layer-wise AdaRound (reconstruction/adaround.h), REFERENCE.md section 4
//   brecq     block-wise rounding, then learned activation steps (block_recon_method.h), REFERENCE.md 4, 9
//   qdrop     rounding and activation steps jointly with QDrop's drop (block_recon_method.h)
// The pipeline runs a method after observe_weights; a method with needs_activation_params() runs after
// observe_activations (it reads and may replace ActQuant params, marking them `learned`), any other
// method before it (activation ranges then see the final weights). Every method reads calibration data
// from the sample store only, and FP values it needs once per run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "export/run_report.h"
#include "graph/ir.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/sample_store.h"

namespace mqcalib {

// Defaults: REFERENCE.md section 4 (iters as the papers; 2000 is a usable quick run).
struct ReconstructOptions {
  std::string method = "nearest";
  int iters = 20000;     // rounding iterations per unit
  float lambda = 0.01f;  // rounding regularizer weight
  float round_lr = 1e-3f;  // Adam lr of the rounding variables V (the papers' 1e-3, set for 20k iterations)
  int batch = 32;        // samples per iteration
  uint64_t seed = 0;
  std::string granularity;  // "": the method's own; layer | block | stage | network where the method has units
  // RAM for every cached activation of the run, the sample store included (a method's caches get what the
  // store leaves: method_cache_budget); beyond it, spilled to a temporary file. < 0: unlimited.
  int64_t cache_budget_bytes = int64_t{1} << 30;
  std::string spill_dir;  // empty: $TMPDIR or /tmp
  // brecq / qdrop (reconstruction/unit_methods.h); their own granularity is block
  std::string loss = "mse";  // mse | fisher (BRECQ's Fisher-diagonal weighting)
  int act_iters = 5000;      // brecq stage 2: activation-step iterations per unit
  float drop_prob = 0.5f;    // qdrop: probability that an element takes its quantized value
  float step_lr = 0.0f;      // Adam lr of the activation steps; 0: the method's (brecq 4e-4, qdrop 4e-5)
};

// (unit, unit index, unit count, iteration, loss, soft fraction).
using ReconstructProgress = std::function<void(const std::string&, size_t, size_t, int, float, float)>;

// What a method reads. `observe` re-runs activation observation on a state (the pipeline's own stage),
// for methods that need activation ranges on weights they changed.
struct ReconstructInputs {
  const Graph& folded;
  const QuantPlan& plan;
  const SampleStore& calib;
  const ReconstructOptions& options;
  ReconstructProgress progress;
  std::function<std::vector<ActQuant>(const QuantState&)> observe;
  // Records a method statistic (e.g. cache bytes spilled) into report.json's method settings.
  std::function<void(const std::string&, double)> record_setting;
};

class ReconstructionMethod {
 public:
  virtual ~ReconstructionMethod() = default;
  virtual std::string_view name() const = 0;
  virtual bool needs_activation_params() const { return false; }
  // Updates `state` (codes; activation params when needs_activation_params) and reports per unit.
  virtual std::vector<UnitReport> run(const ReconstructInputs& in, QuantState& state) const = 0;
};

struct MethodInfo {
  std::string name;
  std::string description;  // one line, for --help
  std::function<std::unique_ptr<ReconstructionMethod>()> create;
};

// The method table, in listing order.
const std::vector<MethodInfo>& reconstruction_methods();
// Throws Error listing the known names when there is no method `name`.
const MethodInfo& find_method(std::string_view name);
std::vector<std::string> method_names();

// The RAM budget left for a method's own caches once the sample store holds its samples.
int64_t method_cache_budget(const ReconstructOptions& options, const SampleStore& calib);

// Checks the options a method reads (positive iters and batch, lambda >= 0, a known method), naming
// the option. Called before any work.
void validate(const ReconstructOptions& options);

}  // namespace mqcalib
