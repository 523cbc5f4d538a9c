// mqcalib/src/export/record_files.h: files a record names (params.json's "weight_codes"), read
// without trusting the names (issue 14, "paths inside a record are trusted").
//
// A name in a record is relative to the record's folder and must stay inside it: no absolute path,
// no ".." component, and no symlink whose target leaves the folder (the resolved, canonical path
// must lie under the folder's canonical path). The file is then opened as an InputFile (a regular
// file: no FIFO, no device) and sized against what its header names before its payload is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {

// The canonical path of `rel` inside `folder`. Throws Error "<what> '<rel>' (in <folder>): <why>".
std::string resolve_inside_folder(const std::string& folder, const std::string& rel, const std::string& what);

// The int32 weight codes of `tensor` that params.json at `params_path` names as `rel`: resolved
// inside params.json's folder, refused before the payload is read unless its shape is `expect`.
std::vector<int32_t> read_weight_codes(const std::string& params_path, const std::string& rel, const Shape& expect,
                                       const std::string& tensor);

}  // namespace mqcalib
