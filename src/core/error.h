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

// An internal invariant (not an input check): a violation is a bug of the engine, reported as an Error
// naming the condition and its place, in release builds too (the checks are cheap and never in a
// kernel's inner loop).
#define MQCALIB_ASSERT(cond, what)                                                                     \
  do {                                                                                                 \
    if (!(cond))                                                                                       \
      throw ::mqcalib::Error(std::string("internal error: ") + (what) + " (" #cond ", " + __FILE__ + ":" + \
                             std::to_string(__LINE__) + ")");                                          \
  } while (false)

}  // namespace mqcalib
