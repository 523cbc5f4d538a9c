// mqcalib/src/deploy/verify_report.h: the `verify` block of report.json and float32 .npy dumps.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"
#include "deploy/verify.h"

namespace mqcalib {

// {"backend", "requant", "samples", "sim_top1", "int_top1", "top1_agreement", "first_parting",
//  "first_over_one_lsb", "float_ops": [..], "float_output_convs": [..], "tensors": [{"tensor", "origin", "elements", "max_lsb",
//  "frac_differ"}]} (percent for top-1 and agreement, fractions per tensor).
nlohmann::json verify_json(const VerifyResult& r);

// Merges {"verify": verify_json(r)} into the JSON object in `path` (created when absent), atomically.
void merge_verify_into_report(const VerifyResult& r, const std::string& path);

// float32 arrays as NumPy .npy (format 1.0, '<f4', C order), written atomically.
void write_npy_f32(const std::string& path, const Shape& shape, const float* data);

}  // namespace mqcalib
