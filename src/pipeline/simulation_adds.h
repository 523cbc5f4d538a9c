// mqcalib/src/pipeline/simulation_adds.h: the simulation's residual adds computed as the backend's
// integer add computes them (docs/deployment.md, "Where simulation and runtime part").
//
// Fake quantization sums two quantized tensors in float, (s_a*ka + s_b*kb) / s_c, then rounds; a
// runtime adds the codes: ONNX Runtime's QLinearAdd as fma(qa, s_a/s_c, fma(qb, s_b/s_c, k)), TFLite
// through Q31 multipliers. The two round differently on about 2.4e-4 of the code pairs of a ResNet-20
// add, and those one-LSB differences grow through the later layers until 0.1-0.3% of the top-1
// predictions differ. So an add whose two inputs hold codes of known grids and whose output has a
// 8-bit grid (its own, or the one the runtime stores it in: exec/int_model.h's backward alias) is computed
// here by the integer executor's own add kernel (exec/int_kernels.h add_i32) on the recovered codes,
// with the backend's requantization (BackendProfile::integer_requant):
//   q_a = round(x_a / s_a) + z_a, q_b likewise   (exact: x_a = s_a * (q_a - z_a) bit for bit)
//   y   = s_c * float(add_i32(q_a, q_b) - z_c)   (the value fake_quantize gives a code of that grid)
// An input that is not exactly on its grid (it was not quantized where the record says), or inputs of
// different shapes (broadcasting), leave the add to the float op.
#pragma once

#include <memory>
#include <vector>

#include "exec/executor.h"
#include "exec/int_kernels.h"
#include "export/quant_record.h"
#include "graph/ir.h"

namespace mqcalib {

struct IntegerAdd {
  ActQ a, b, c;  // the grids of the two inputs and of the output (the record's, not clamped to storage)
};

struct IntegerAdds {
  RequantMode mode;
  std::vector<int> index_of_node;  // per node: index into adds, -1 for a float add or another op
  std::vector<IntegerAdd> adds;
};

// The adds of `g` that run in integer form under `record` (its activation grids and backend). Empty
// when the record names no backend (a hand-built record).
std::shared_ptr<const IntegerAdds> plan_integer_adds(const Graph& g, const QuantRecord& record);

// The executor override that runs them (empty for no adds).
NodeOverride integer_adds_override(std::shared_ptr<const IntegerAdds> adds);

}  // namespace mqcalib
