// mqcalib/src/pipeline/pipeline_diagnose.cpp: QuantizationPipeline's stages that show where accuracy
// goes and act on it (issue 16): allocate bits (mixed precision), sensitivity, fix outliers.
#include <algorithm>

#include "core/error.h"
#include "pipeline/outlier_fix.h"
#include "pipeline/phase_timer.h"
#include "pipeline/pipeline.h"
#include "pipeline/report_detail.h"

namespace mqcalib {

void QuantizationPipeline::allocate_bits() {
  const FoldedModel& m = model();
  const SampleStore& calib = samples();
  PhaseTimer t(report_, "allocate_bits");
  MixedPrecisionChoice c = choose_mixed_precision(m.graph, config_.backend, config_.policy, calib, config_.w_observer,
                                                  config_.a_observer, config_.mixed, config_.progress);
  config_.policy = std::move(c.policy);
  report_.bit_allocation = std::move(c.allocation);
  report_.sensitivity = std::move(c.sensitivity);
}

void QuantizationPipeline::sensitivity() {
  const QuantPlan& plan = quant_plan();
  const SensitivityConfig& sc = config_.sensitivity;
  PhaseTimer t(report_, "sensitivity");
  SensitivityRequest req;
  req.units = sensitivity_units(model().graph, plan, sc.unit);
  req.options = sc.options;
  req.samples = sc.samples;
  if (sc.options.empty())
    for (SensitivityUnitDef& u : req.units) {
      BitOption o{0, 0};
      for (size_t w : u.weights) {
        o.w_bits = std::max(o.w_bits, plan.weights[w].scheme.bits);
        const int a = plan.act_index(plan.weights[w].input);
        o.a_bits = std::max(
            o.a_bits, a >= 0 ? plan.activations[static_cast<size_t>(a)].scheme.bits : config_.backend.activation.bits);
      }
      u.options = {o};
    }
  std::unique_ptr<Dataset> ds;
  std::vector<int64_t> labels;
  LabeledBatchSource eval;
  if (sc.evaluate) {
    if (!config_.eval) throw Error("sensitivity: top-1 needs evaluation data (--eval)");
    ds = open_dataset(config_.eval->path, config_.eval->preprocess);
    check_sample_shape(*ds, samples().sample_shape());
    labels = load_labels(config_.eval->labels);
    check_labels(*ds, labels, config_.eval->labels);
    eval = labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size);
    req.eval = &eval;
    req.eval_labels_name = config_.eval->labels;
  }
  const SensitivityInputs in{model().graph, plan, samples(), config_.w_observer, config_.a_observer};
  report_.sensitivity = sensitivity_report(measure_sensitivity(in, req, config_.progress), sc.unit, sc.metric);
}

void QuantizationPipeline::fix_outliers() {
  const OutlierFix fix = plan_outlier_fix(report_.outliers, quant_plan(), config_.policy);
  OutlierFixReport r;
  r.actions = fix.actions;
  r.logits_sqnr_before_db = logits_sqnr_db(model().graph, simulation(), samples(), kSqnrSamples);
  r.evaluated = report_.eval.has_value();
  if (report_.eval) r.top1_before = report_.eval->quant_top1;
  if (fix.changed) {
    config_.policy = fix.policy;
    plan();
    calibrate();
    analyse();
    if (config_.eval) evaluate();
  }
  r.logits_sqnr_after_db = logits_sqnr_db(model().graph, simulation(), samples(), kSqnrSamples);
  if (report_.eval) r.top1_after = report_.eval->quant_top1;
  report_.outlier_fix = std::move(r);
}

}  // namespace mqcalib
