// mqcalib/src/core/error.h: the one exception type of the engine.
//
// Every error names the bad input (file, tensor, node, op) in its message. The CLI catches
// mqcalib::Error, prints what() and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace mqcalib {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace mqcalib
