// mqcalib/src/export/record_files.h: the record on disk: params.json (params_json.h) and, for weights
// rounded other than to nearest, their integer codes as weights/<tensor>.npy (npy_i32.h) beside it;
// folded FP weights and biases the result needs (QuantRecord::float_weights) as folded/<tensor>.npy
// (npy_f32.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "export/quant_record.h"

namespace mqcalib {

// The record's files as (path relative to the output folder, bytes): params.json, then one .npy per
// entry of record.weight_codes (each entry's `file`, which must be "weights/<name>.npy" with the codes
// filled in), then one float32 .npy per entry of record.float_weights ("folded/<name>.npy"). Throws
// Error naming the tensor when its codes or values do not match its shape.
std::vector<std::pair<std::string, std::string>> record_files(const QuantRecord& record);

// The file name a weight's codes get: "weights/<tensor>.npy".
std::string weight_codes_file(const std::string& tensor);
// The file name a folded FP weight or bias gets: "folded/<tensor>.npy".
std::string float_weight_file(const std::string& tensor);

// Reads params.json and every weight-code and float-weight file it lists. A listed file must be a relative path that
// stays inside params.json's folder (no absolute path, no "..", no symlink leading out) and be a
// regular file (no FIFO, no device), whose size is exactly what its header names (checked before the
// payload is read). Shapes are checked against the graph when the simulation is built.
QuantRecord load_record(const std::string& params_path);

// The canonical path of `rel` inside `folder`: `rel` is relative, has no ".." component, and its
// resolved path (symlinks followed) lies under the folder's canonical path, component by component
// ("/x/rec2/f" is not inside "/x/rec"). Throws Error "<what> '<rel>' (in '<folder>'): <why>".
std::string resolve_inside_folder(const std::string& folder, const std::string& rel, const std::string& what);

}  // namespace mqcalib
