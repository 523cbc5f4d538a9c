// mqcalib/include/mqcalib/interrupt.h: SIGINT / SIGTERM leave no partial output behind (issue 14).
//
// A program (the mqcalib CLI, a tool linking the library) calls install_interrupt_handlers() once.
// From then on a SIGINT or SIGTERM while an output folder is being written removes the half-written
// set and the process exits with 128 + the signal (130, 143), the shell convention; outside such a
// write the handler only exits. A library user who installs no handler keeps the default behaviour.
#pragma once

#include "mqcalib/error.h"  // MQCALIB_API

namespace mqcalib {

MQCALIB_API void install_interrupt_handlers();

}  // namespace mqcalib
