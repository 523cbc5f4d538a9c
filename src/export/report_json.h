// mqcalib/src/export/report_json.h: report.json, the schema of a run's report (run_report.h), defined
// here and nowhere else:
//   {"tool_version", "model", "backend", "backend_notes": [..], "w_observer", "a_observer",
//    "calib_samples", "seed", "folded_bn", "method",
//    "<method>": {setting: value},                                   (methods other than nearest)
//    "reconstruction": [{"unit", "layers", "bits", "loss_before", "loss_after", "soft_fraction",
//                        "iterations", "seconds"}],                  (methods other than nearest)
//    "transforms": {"activation_ranges": "observer" | "bn_stats", "range_sigmas", "equalized_pairs": [..],
//                   "equalization_sweeps", "equalization_last_change", "relu6_replaced": [..],
//                   "relu6_skipped": [..], "high_bias_absorbed": [..], "bias_correction",
//                   "bias_corrected": [..], "bias_correction_skipped": [{"layer", "reason"}]},
//    "unfolded_bn": [{"bn", "reason"}], "placement_notes": [..], "export_notes": [..],
//    "eval": {"samples", "fp_top1", "quant_top1", "drop", "agreement",        (when evaluated)
//             "fp_top1_op_changes"},                  (FP with the record's relu6 -> relu only, when any)
//    "verify": {"backend", "requant", "samples", "sim_top1", "int_top1", "top1_agreement",
//               "first_parting", "first_over_one_lsb", "float_ops": [..], "float_output_convs": [..],
//               "tensors": [{"tensor", "origin", "elements", "max_lsb", "frac_differ"}]}  (when verified)
//    "layers": [{"layer", "w_bits", "a_bits", "weight_sqnr_db", "input_sqnr_db"}],
//    "activations": [{"tensor", "sqnr_db", "observed_min", "observed_max", "clip_min", "clip_max"}],
//    "outliers": [{"layer", "tensor", "kind", "value", "explanation", "advice"}],
//    "seconds": {phase: s}, "peak_memory_bytes",
//    "sensitivity": {"granularity", "samples", "metric", "rows": [{"unit", "layers", "w_bits", "a_bits",
//                    "nsr", "sqnr_db", "kl", "top1"?}], "fp_top1"?, "eval_samples"?,
//                    "spearman_metric_vs_top1_drop"?},                 (--sensitivity, --bits-budget)
//    "bit_allocation": {"budget", "budget_bits", "used_bits", "average_w_bits", "w_bits_set",
//                       "a_bits_set", "objective", "solver", "layers": [{"layer", "params", "w_bits",
//                       "a_bits", "fixed", "sensitivity"}]},          (--bits-budget)
//    "outlier_fix": {"actions": [{"layer", "kinds", "action"}], "logits_sqnr_before_db",
//                    "logits_sqnr_after_db", "top1_before"?, "top1_after"?}}   (--fix-outliers)
// An exact SQNR (+inf) is written as 999 dB; one measured on no data (NaN: data-free) as null. Any other non-finite
// number throws Error naming its path.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "export/run_report.h"

namespace mqcalib {

nlohmann::json report_json(const RunReport& report);
// The "verify" block alone (also merged into an existing report.json by `mqcalib verify`).
nlohmann::json verify_json(const VerifyReport& report);
// Adds issue 16's keys to `rep` (report_json_sections.cpp; report_json calls it).
nlohmann::json report_sections_json(const RunReport& report, nlohmann::json rep);
// Pretty-printed (2-space indent) with a trailing newline.
std::string report_json_text(const RunReport& report);
std::string report_json_text(const nlohmann::json& report);

}  // namespace mqcalib
