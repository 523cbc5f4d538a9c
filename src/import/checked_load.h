// mqcalib/src/import/checked_load.h: the one call that loads a TorchScript file (LibTorch's
// torch::jit::load), then proves every tensor in it lies inside the bytes the archive holds for it.
//
// Why: LibTorch 1.13 builds each stored tensor with the element count its pickle claims, over a
// buffer the size of the archive's data/<key> record, and checks neither against the other. A mutated
// file (fuzz_torchscript found one: a linear weight claiming 16 KiB over a 72-byte record) then makes
// every reader of that tensor, ours or LibTorch's own forward, read past a heap buffer. Neither the
// tensor's sizes and strides nor its storage's nbytes() show it: both repeat the pickle's claim.
#pragma once

#include <torch/script.h>

#include <string>

namespace mqcalib::import_detail {

// Loads `path` onto the CPU and checks every tensor reachable from the module (parameters, buffers,
// attributes, lists and tuples of them, and tensor constants in every method's graph): its last element,
// storage_offset + sum_i (size_i - 1) * stride_i, must lie inside both its storage's nbytes() and the
// buffer LibTorch allocated for that storage while loading (sizes recorded by a forwarding CPU allocator
// that the first load installs for the life of the process and that records only during a load; a
// process-wide mutex serialises loads, other LibTorch work may run beside one). Throws mqcalib::Error naming
// `who`, the file and the tensor ("<who>: '<path>': tensor '<name>' claims N bytes ..."); LibTorch's
// load failures become load_error()'s message (model_file_kind.h).
torch::jit::Module load_checked_module(const std::string& who, const std::string& path);

}  // namespace mqcalib::import_detail
