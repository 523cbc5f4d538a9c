// mqcalib/calibrators/common.h: small glue shared by the observer files (not part of the contract).
#pragma once

#include <string>

#include "calibrators/observer.h"
#include "core/error.h"

namespace mqcalib::calib {

// The observer merged into `self` must be of the same concrete type (same name).
template <class T>
const T& same_observer(const Observer& self, const Observer& other) {
  const T* o = dynamic_cast<const T*>(&other);
  if (!o)
    throw Error("observer '" + std::string(self.name()) + "': cannot merge an observer of type '" +
                std::string(other.name()) + "'");
  return *o;
}

[[noreturn]] inline void throw_no_data(std::string_view observer) {
  throw Error("observer '" + std::string(observer) + "': finalize() before any data was observed");
}

}  // namespace mqcalib::calib
