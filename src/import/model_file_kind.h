// mqcalib/src/import/model_file_kind.h: why a file LibTorch cannot load is not a TorchScript model, in
// the user's terms (issue 14: LibTorch's own message names its internals, "inline_container.cc").
#pragma once

#include <string>

namespace mqcalib::import_detail {

// A sentence naming what the file is instead ("written by torch.save, not torch.jit.save: ..."), or ""
// when it looks like a TorchScript archive (then LibTorch's message is the only explanation). Reads the
// zip's central directory only (bounded: at most 64 KiB + 22 bytes of the tail and 4096 names).
std::string not_torchscript_reason(const std::string& path);

// "<who>: cannot load TorchScript model '<path>': <LibTorch's message>", or, when the file is not
// TorchScript, "<who>: '<path>' is not a TorchScript model: <reason> (LibTorch: <message>)".
std::string load_error(const std::string& who, const std::string& path, const std::string& libtorch_message);

}  // namespace mqcalib::import_detail
