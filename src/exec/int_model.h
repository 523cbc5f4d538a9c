// mqcalib/src/exec/int_model.h: what an integer runtime executes, as data: the folded FP graph plus
// the quantizer of every tensor, the integer weight codes and the int32 biases. The integer
// executor (int_executor.h) runs it, the QDQ ONNX writer (src/export/onnx_qdq.h) writes it.
//
// Quantizers come from the backend's placement (params.json's activation records, origin Planned)
// and from two exact equivalences the runtimes rely on (origin Alias*), so that every op runs on
// integers as the runtime runs it:
//  - backward: a quantizer on the output of an order-preserving op (relu, relu6/hardtanh, max pool,
//    flatten, reshape, transpose, identity) also sits on its input when the op is that input's only
//    reader: Q(f(x)) = f(Q(x)) for these f (same scale and zero point), so the conv before a fused
//    ReLU requantizes straight to the ReLU's grid (QLinearConv + Relu folded);
//  - forward: the output of such an op with no quantizer of its own keeps its input's grid.
// Both change no value; they name, per tensor, the grid the runtime stores it in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "exec/int_kernels.h"
#include "graph/ir.h"

namespace mqcalib {

enum class QuantOrigin { None, Planned, AliasBackward, AliasForward };

std::string_view to_string(QuantOrigin);

// Weight of a conv2d/linear node: its params (per-channel on axis 0 or per-tensor) and integer codes
// in [qmin, qmax] with the weight's shape (nearest, AdaRound, equalized: whatever the record holds).
struct IntWeight {
  QParams params;
  std::vector<int32_t> codes;
};

// int32 bias at scale s_in * s_w[c] (one scale per output channel, or one), zero point 0.
struct IntBias {
  std::vector<float> scale;
  std::vector<int32_t> codes;
};

struct IntModel {
  const Graph* graph = nullptr;                  // the folded FP graph (not owned; must outlive the model)
  std::vector<std::optional<ActQ>> act;          // per ValueId
  std::vector<QuantOrigin> origin;               // per ValueId
  std::vector<std::optional<IntWeight>> weight;  // per node index; empty: the layer stays float
  std::vector<std::optional<IntBias>> bias;      // per node index
  RequantMode mode;
  std::string backend;  // profile name (reports)
};

// An empty model over `g`: no quantizer anywhere.
IntModel make_int_model(const Graph& g, RequantMode mode, std::string backend);

// The storage range of a `bits`-bit code: int8 [-128, 127] / uint8 [0, 255] for 8 bits (ONNX's
// QuantizeLinear and every int8 runtime clamp there, whatever narrower grid the simulation used).
ActQ act_from_qparams(const QParams& p, bool clamp_to_storage);

// Adds the backward and forward aliases described above (idempotent).
void propagate_aliases(IntModel& m);

// Ops whose integer form is exact on codes of one grid (backward/forward aliases pass through them).
bool is_order_preserving(const Node& n);

}  // namespace mqcalib
