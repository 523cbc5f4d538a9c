// mqcalib/src/exec/int_executor.h: the integer-only reference executor.
//
// Runs an IntModel (int_model.h) the way an integer runtime runs the exported QDQ graph: the graph
// input is quantized (q = clamp(zp + round(x / s))), every op whose inputs and output carry
// quantizers runs on codes with the kernels of int_kernels.h, requantizing as the backend profile
// says (RequantMode), and a conv/linear whose output has no quantizer (the logits) returns
// float(acc) * (s_x * s_w[c]) as ONNX Runtime's QGemm does. An op with no integer kernel here (or
// no quantizer around it) runs as the runtime runs such an op between DequantizeLinear and
// QuantizeLinear: inputs dequantized (float(q - zp) * s), the FP kernel, the output quantized when it
// has a quantizer. Reports name the ops that ran that way (float_ops()).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/int_model.h"

namespace mqcalib {

// A tensor as the integer executor holds it: codes with their grid, or float.
struct IntTensor {
  Shape shape;
  bool is_int = false;
  std::vector<int32_t> q;  // codes (is_int)
  ActQ p;                  // their grid (is_int)
  TensorF32 f;             // values (!is_int)

  int64_t size() const { return numel(shape); }
  // Real values: scale * (q - zp) for codes (float32, DequantizeLinear's order), else f.
  TensorF32 dequantized() const;
};

using IntValueHook = std::function<void(ValueId, const IntTensor&)>;

class IntExecutor {
 public:
  // Keeps a reference to `m` (and its graph). Validates the graph and the model's sizes.
  explicit IntExecutor(const IntModel& m);

  // Inputs in graph.inputs() order (float, preprocessed); returns the graph outputs (dequantized
  // when they are codes). The hook sees every value right after it is computed.
  std::vector<TensorF32> run(const std::vector<TensorF32>& inputs, const IntValueHook& hook = {}) const;

  // Names of the nodes that ran through the float path in the last run (empty: integer only).
  const std::set<std::string>& float_ops() const { return float_ops_; }

 private:
  const IntModel& m_;
  mutable std::set<std::string> float_ops_;
};

}  // namespace mqcalib
