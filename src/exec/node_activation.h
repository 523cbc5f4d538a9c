// mqcalib/src/exec/node_activation.h: which kernel activation (exec/kernels.h) an IR node computes.
//
// The one OpKind -> Activation mapping: the executor's activation ops and the passes that fuse a
// layer with the activation after it (AdaRound's loss, the fused conv epilogue) all read it here.
#pragma once

#include <optional>

#include "exec/kernels.h"
#include "graph/ir.h"

namespace mqcalib {

// The activation `n` computes (gelu: its attrs.gelu formula), or nullopt when `n` is not one of
// relu, relu6, hardtanh, silu, sigmoid, tanh, hardswish, hardsigmoid, gelu.
std::optional<Activation> node_activation(const Node& n);

// The kernel parameters of an activation node (hardtanh's min_val / max_val; defaults otherwise).
ActivationParams node_activation_params(const Node& n);

}  // namespace mqcalib
