// mqcalib/include/mqcalib/input_file.h: how a program reads a small outside text file (a config, a
// list) the way the engine reads its own inputs (issue 14): a missing file, a directory, a FIFO, a
// device or a socket is refused with a message naming it, and the file is refused before it is read
// when it is larger than the caller's bound.
#pragma once

#include <cstdint>
#include <string>

#include "mqcalib/error.h"  // MQCALIB_API; failures throw mqcalib::Error

namespace mqcalib {

// The whole file at `path`; `what` names its role in messages ("--config"): "<what> '<path>': <reason>".
MQCALIB_API std::string read_file_bounded(const std::string& path, const std::string& what, int64_t max_bytes);

}  // namespace mqcalib
