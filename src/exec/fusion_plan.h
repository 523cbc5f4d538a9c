// mqcalib/src/exec/fusion_plan.h: internal to the executor. Which nodes of a run execute as one
// conv/linear kernel with a fused epilogue (rules in executor.h, "Fusion").
#pragma once

#include <cstdint>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {
class OutputQuant;
}

namespace mqcalib::exec_detail {

// A conv2d or linear node and the nodes fused after it (every conv2d / linear is a group, possibly
// of one node, so that its own output's quantization is applied in its epilogue).
struct FusedGroup {
  size_t head = 0;         // conv2d / linear
  int64_t add = -1;        // add fused after the head, or -1
  int residual = -1;       // the add's input slot holding the residual (the head's output is the other)
  int64_t act = -1;        // activation fused last, or -1
  size_t last = 0;         // the group runs when the node order reaches this member
  ValueId out = kNoValue;  // the last member's output
};

struct FusionPlan {
  std::vector<FusedGroup> groups;
  std::vector<int> group_of;  // per node: its group's index, -1 when it runs alone
};

// needed[v]: the value must exist as a tensor (graph output, hooked, stop_after).
FusionPlan plan_fusion(const Graph& g, const std::vector<bool>& needed, const OutputQuant* quant);

}  // namespace mqcalib::exec_detail
