// mqcalib/src/core/error.h: the engine's error type (mqcalib::Error, defined in the public
// include/mqcalib/error.h) and MQCALIB_ASSERT for internal invariants.
#pragma once

#include <string>

#include "mqcalib/error.h"  // Error, ErrorKind (public: the C++ API throws them)

namespace mqcalib {

// An internal invariant (not an input check): a violation is a bug of the engine, reported as an Error
// naming the condition and its place, in release builds too (the checks are cheap and never in a
// kernel's inner loop).
#define MQCALIB_ASSERT(cond, what)                                                                         \
  do {                                                                                                     \
    if (!(cond))                                                                                           \
      throw ::mqcalib::Error(std::string("internal error: ") + (what) + " (" #cond ", " + __FILE__ + ":" + \
                             std::to_string(__LINE__) + ")");                                              \
  } while (false)

}  // namespace mqcalib
