// mqcalib/src/export/params_json.h: params.json, the canonical record of a run (issue 4 "Exports").
//
// Layout (format "mqcalib-params", format_version 1). Keys are snake_case; enum values use the
// engine's own spellings (core/qscheme.h to_string: "half-even", "per-channel", "fp32-scale",
// "amax/qmax"; roles "weight" | "bias" | "activation"). Objects keep the order below; tensors keep
// the record's order (graph order).
//   {
//     "format": "mqcalib-params", "format_version": 1,
//     "provenance": {"tool_version", "model_path", "model_sha256", "backend", "preprocessing",
//                    "layout", "seed", "calib_samples", "calib_sha256", "skipped_layers": [..],
//                    "layer_bits": {layer: bits}, "layer_a_bits": {layer: input bits} (optional: only
//                    when mixed precision chose input bits apart from the weight's), "command_line", "weight_rounding",

//                    "data_free": {"activation_ranges": "observer" | "bn_stats", "range_sigmas",
//                                  "synthetic_samples", "synthesis_seed", "synthesis_iterations"},
//                    "equalization": {"relu6": "" | "relu" | "skip",
//                                     "pairs": [{"first", "second", "join", "scales": [..]}]},
//                    "high_bias_sigmas", "bias_correction": "none" | "analytic" | "empirical"},
//     "layer_inputs": {layer: activation tensor},
//     "weight_codes": {weight tensor: "weights/<tensor>.npy"},
//     "float_weights": {weight or bias tensor: "folded/<tensor>.npy"},
//     "op_changes": {node: the op it runs as, e.g. "relu" for an equalized relu6},
//     "tensors": [{
//        "tensor", "layer", "role", "observer",
//        "scheme": {"bits", "signed": bool, "symmetric": bool, "narrow_range", "reduce_range",
//                   "granularity", "axis", "qmin", "qmax", "rounding", "scale_kind", "symmetric_scale"},
//        "params": {"axis" (-1 per-tensor), "rounding", "scale": [..], "scale_bits": [..],
//                   "zero_point": [..]},
//        "observed": {"min": [..], "max": [..]}}]
//   }
// The data-free keys of "provenance" and "float_weights" / "op_changes" are optional on reading (a file
// written before they existed is a run on real data whose weights are the model's own, BN folded).
// scheme.qmin/qmax are the grid the simulation clamps to (QParams::qmin/qmax). Floats are written as
// the shortest decimal that reads back to the same float32; "scale_bits" repeats every scale as the
// 8 hex digits of its float32 bit pattern (big-endian), so a reader without correct decimal->float
// rounding can still reproduce the simulation bit for bit. read_params_json checks that both agree.
#pragma once

#include <string>

#include "export/quant_record.h"

namespace mqcalib {

inline constexpr int kParamsFormatVersion = 1;

// The params.json text (pretty-printed, 2-space indent, trailing newline). Throws mqcalib::Error
// naming the tensor when a value cannot be represented (NaN/Inf scale or range, mismatched sizes).
std::string params_json_text(const QuantRecord& record);
void write_params_json(const QuantRecord& record, const std::string& path);

// Strict reader: unknown, missing or mistyped keys, an unknown format version, enum spellings not
// listed above, scale/scale_bits disagreement and QParams::validate failures all throw mqcalib::Error
// naming the file and the JSON path of the bad key (e.g. "tensors[3].params.zero_point[1]").
QuantRecord read_params_json(const std::string& path);
QuantRecord parse_params_json(const std::string& text, const std::string& source_name);

}  // namespace mqcalib
