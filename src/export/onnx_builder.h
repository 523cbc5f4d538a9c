// mqcalib/src/export/onnx_builder.h: internal helper of the QDQ ONNX export: nodes, attributes and
// initializers on an onnx::GraphProto, with names checked unique.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "exec/int_model.h"

namespace mqcalib::onnx_export {

class Builder {
 public:
  explicit Builder(onnx::GraphProto* g) : g_(g) {}

  onnx::NodeProto* node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);
  static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v);
  static void integer(onnx::NodeProto* n, const std::string& name, int64_t v);
  static void real(onnx::NodeProto* n, const std::string& name, float v);

  // Initializers; return their name. dims {} is a scalar.
  std::string f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v);
  std::string i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v);
  std::string i32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v);
  // int8 when `is_signed`, else uint8; every code must fit the type (Error naming `name` otherwise).
  std::string i8(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v,
                 bool is_signed);

  // A fresh tensor name derived from `base` (base, base_1, ...).
  std::string fresh(const std::string& base);

 private:
  void claim(const std::string& name);
  onnx::GraphProto* g_;
  std::set<std::string> names_;       // tensors (initializers, node outputs)
  std::set<std::string> node_names_;  // nodes (a separate namespace in ONNX)
};

// Q -> DQ on `tensor` (a float tensor of that name already exists); returns the dequantized name.
// One pair per tensor, shared by its readers: ONNX Runtime fuses a producer (Conv, Add) only with a
// single QuantizeLinear on its output.
std::string add_qdq(Builder& b, const std::string& tensor, const ActQ& q);

// Emits IR node `k` of `m` reading `in` (consumer-side names) and producing `out` (the engine's
// value names); `shapes` per value (batch 1). Throws Error naming the node for an op without a mapping.
void emit_node(Builder& b, const IntModel& m, const std::vector<Shape>& shapes, size_t k,
               const std::vector<std::string>& in, const std::vector<std::string>& out);

// Every value's shape for a batch of one sample of the graph's example input shape (a forward pass).
std::vector<Shape> value_shapes(const Graph& g);

}  // namespace mqcalib::onnx_export
