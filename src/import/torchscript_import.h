// mqcalib/src/import/torchscript_import.h: TorchScript (scripted or traced) -> the engine's IR.
//
// No LibTorch header here: callers outside src/import/ include this file only (docs/STYLE.md,
// the LibTorch boundary). The implementation loads the module on the CPU in eval mode, inlines its
// forward graph (no freezing: freezing folds conv+BN, and the engine must see and fold every BN
// itself, issue 3) and walks it while running every node once on an example input (shadow
// execution). The shadow run gives the shape of every tensor and evaluates every compile-time value:
// constants, module attributes, `x.size(0)` arithmetic, `self.training` checks and the conditions of
// prim::If / prim::Loop. Nodes reading the network input are lowered to OpKind nodes; everything else
// is folded. A node that cannot be lowered (unknown op, control flow on tensor data, a constant tensor
// operand where the IR wants a graph tensor) throws mqcalib::Error naming the op, the node and the
// source location; nothing is skipped silently.
//
// Naming follows src/graph/ir.h: a node is named by its module path ("layer1.0.conv1") when it is the
// op of a leaf module, module path + op otherwise ("layer1.0.add"), with a _N suffix when repeated.
#pragma once

#include <string>

#include "core/tensor.h"
#include "graph/ir.h"

namespace mqcalib {

struct ImportOptions {
  // Example input shape, e.g. {1, 1, 28, 28}. Used for the shadow run (tensor shapes, sizes read
  // by the model). Empty: the channel count is taken from the first convolution's weight and the
  // input is {1, C, 32, 32}; a model whose first op is not a convolution then needs a shape.
  Shape input_shape;
};

// Throws mqcalib::Error naming the file (unreadable, not TorchScript) or the node (unsupported).
Graph import_torchscript(const std::string& path, const ImportOptions& options = {});

}  // namespace mqcalib
