// mqcalib/src/export/onnx_qdq.h: the QDQ ONNX export (model.qdq.onnx), written with ONNX's own
// protobuf classes (Debian's libonnx-dev) and checked with ONNX's checker before it is written.
//
// The folded FP graph as ONNX (opset 13), with QuantizeLinear/DequantizeLinear pairs on every tensor
// the integer model (exec/int_model.h) holds as codes: the backend's placement plus the exact
// aliases that let a runtime fuse conv + ReLU and pool on integers. Weights are int8 (uint8 for an
// unsigned scheme) initializers holding the record's codes behind a DequantizeLinear (per-channel
// with axis 0); biases int32 at scale s_in * s_w[c], zero point 0. Layers kept in fp32 keep float
// weights. Names (docs/deployment.md) map back to params.json:
//   <tensor>               the float tensor as the engine computes it (its params.json name)
//   <tensor>_quantized     QuantizeLinear's output (codes), <tensor>_dequantized what consumers read
//   <tensor>_scale, <tensor>_zero_point   the quantizer's initializers
//   <layer>.weight_quantized / .weight (dequantized) / .weight_scale / .weight_zero_point, and .bias_*
// IR ops map to ONNX ops by a table (onnx_qdq.cpp, emit_node); an op with no mapping throws an Error
// naming the node.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "exec/int_model.h"

namespace mqcalib {

inline constexpr int kQdqOnnxOpset = 13;

// File name in the output folder.
inline constexpr const char* kQdqOnnxFile = "model.qdq.onnx";

// Whether `quantize` writes model.qdq.onnx: by default for the runtimes that read QDQ ONNX (a table in
// onnx_qdq.cpp: ort, tensorrt, openvino), and for any backend whose `exports` list "onnx".
bool writes_qdq_onnx(const std::string& backend, const std::vector<std::string>& exports);

struct QdqOnnxOptions {
  // Also declare every <tensor>_quantized (the codes) as a graph output: a runtime then returns the
  // codes it computed, tensor by tensor (the deploy suite's diagnosis of where it parts from the engine).
  bool expose_codes = false;
};

// The serialized ModelProto (checked). Throws mqcalib::Error naming the node or tensor at fault,
// or carrying the checker's message.
std::string qdq_onnx_bytes(const IntModel& m, const QdqOnnxOptions& options = {});
// Checks, then writes atomically (write_file_atomic).
void write_qdq_onnx(const IntModel& m, const std::string& path, const QdqOnnxOptions& options = {});

// Op types of the nodes of an ONNX file, in order (for tests: what a runtime's optimized graph holds).
std::vector<std::string> onnx_op_types(const std::string& path);
// (op type, node name) of the nodes of an ONNX file, in order.
std::vector<std::pair<std::string, std::string>> onnx_nodes(const std::string& path);

}  // namespace mqcalib
