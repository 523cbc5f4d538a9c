// mqcalib/include/mqcalib/error.h: the one exception type of the engine and the C++ API.
//
// Every error names the bad input (file, tensor, node, op) in its message. The CLI catches
// mqcalib::Error, prints what() and exits non-zero; the C API maps its kind to an mqc_status.
#pragma once

#include <stdexcept>
#include <string>

// Symbols of the public API (the shared library exports these only).
#ifndef MQCALIB_API
#define MQCALIB_API __attribute__((visibility("default")))
#endif

namespace mqcalib {

// What kind of failure an Error is, for callers that map errors to codes (the C API's mqc_status).
// Most errors are Failed; the places that know better say so.
enum class ErrorKind {
  Failed,    // the operation could not be done (see the message)
  Invalid,   // an option or argument out of range, an unknown name
  BadData,   // input data of the wrong shape, NaN / Inf, labels out of range
  NotFound,  // no such tensor / layer / file entry
  State,     // a call out of order (a stage before the one it needs)
  Io,        // a file that cannot be read or written
};

class MQCALIB_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_ = ErrorKind::Failed;
};

}  // namespace mqcalib
