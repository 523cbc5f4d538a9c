// mqcalib/src/graph/ir.h: the engine's own graph IR.
//
// A Graph is a list of Nodes in topological order over named Values (tensors). Nodes carry their
// op kind, attributes and float32 parameters (weights). The IR is what every later stage reads:
// passes rewrite it, the executor runs it, observers and exporters refer to its Value names.
//
// Naming (stable, human-meaningful; users read them in reports and deployment tools match them):
//  - a node is named by its module path, e.g. "layer1.0.conv1"; for a functional op inside a module
//    the module path plus the op, e.g. "layer1.0.add" / "layer1.0.relu_1" (suffix _N when repeated);
//  - a node's (first) output value has the node's name; further outputs get ":1", ":2"...;
//  - the graph input is "input" (then "input_1"...), weights are "<node>.weight" / "<node>.bias".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {

// X-macro: (enum name, display name). Display names appear in reports and errors.
//
// The canonical form. Every op has exactly one IR form; the importer produces it, passes keep it, and
// validate_canonical() (graph/canonical.h, run by the Executor) rejects anything else with an error
// naming the node, so the executor never repairs a node. Common to all ops: the inputs and outputs
// listed below, axes and dims non-negative (normalized against the input rank, which must match when
// the input's Value::shape is known), and the batch dimension never baked in as a constant.
//   conv2d      1 input [N,C,H,W]; weight [O, C/groups, kh, kw]; bias [O] or empty; kernel == {kh, kw};
//               stride >= 1, padding >= 0, dilation >= 1, groups >= 1 dividing O (and C).
//   linear      1 input [..., I]; weight [O, I]; bias [O] or empty.
//   batch_norm  1 input, channel dim 1; weight (gamma), bias (beta), running_mean, running_var all [C]
//               (affine=False is written out as gamma 1, beta 0); eps > 0.
//   activations 1 input (relu, relu6, silu, sigmoid, tanh, hardswish, hardsigmoid, gelu, hardtanh).
//               hardtanh: min_val < max_val, and never (0, 6), which is relu6. gelu: attrs.gelu.
//   add, mul    2 inputs and has_scalar false, or 1 input and has_scalar true (x op attrs.scalar);
//               sub and div by a scalar are add of -s and mul by 1/s.
//   cat         >= 1 inputs, attrs.axis.
//   max_pool2d  kernel >= 1, stride >= 1 (stride = kernel when the model gave none), padding >= 0,
//               dilation >= 1, ceil_mode.
//   avg_pool2d  as max_pool2d with dilation {1, 1}, plus count_include_pad.
//   adaptive_avg_pool2d  output_size >= 1 each (a None size is resolved to the input's at import).
//   mean        attrs.dims strictly ascending, non-empty; keepdim.
//   flatten     start_dim <= end_dim, both non-negative.
//   reshape     attrs.dims = target shape: sizes >= 0 and at most one -1 (inferred from the element
//               count); a size that follows the batch is that -1 (the importer writes a literal batch
//               size, e.g. a traced view(1, 512), as -1).
//   transpose   attrs.dims = full permutation of the input's dims (transpose(a, b) and t() expanded).
//   chunk       attrs.axis, attrs.chunks >= 1; one output per section chunk_sizes() gives (<= chunks).
//   split       attrs.axis, attrs.dims = every section size (>= 0), one output per section.
//   identity    1 input (dropout in eval, contiguous, clone...).
//   softmax     1 input, attrs.axis.
// Every op but chunk and split has exactly one output.
#define MQCALIB_OP_KINDS(X)                                                                    \
  X(Conv2d, "conv2d")        /* attrs kernel stride padding dilation groups */                 \
  X(Linear, "linear")        /* params weight, bias */                                         \
  X(BatchNorm, "batch_norm") /* params running stats; attrs.eps */                             \
  X(Relu, "relu")                                                                              \
  X(Relu6, "relu6")                                                                            \
  X(Hardtanh, "hardtanh") /* attrs.min_val, attrs.max_val */                                   \
  X(Silu, "silu")                                                                              \
  X(Sigmoid, "sigmoid")                                                                        \
  X(Tanh, "tanh")                                                                              \
  X(Hardswish, "hardswish")                                                                    \
  X(Hardsigmoid, "hardsigmoid")                                                                \
  X(Gelu, "gelu")                             /* attrs.gelu */                                 \
  X(Add, "add")                               /* broadcasting, or + attrs.scalar */            \
  X(Mul, "mul")                               /* broadcasting (squeeze-excite), or * scalar */ \
  X(Cat, "cat")                               /* attrs.axis */                                 \
  X(MaxPool2d, "max_pool2d")                  /* kernel stride padding dilation ceil_mode */   \
  X(AvgPool2d, "avg_pool2d")                  /* + count_include_pad */                        \
  X(AdaptiveAvgPool2d, "adaptive_avg_pool2d") /* attrs.output_size (oh, ow) */                 \
  X(Mean, "mean")                             /* attrs.dims, attrs.keepdim */                  \
  X(Flatten, "flatten")                       /* attrs.start_dim, attrs.end_dim */             \
  X(Reshape, "reshape")                       /* attrs.dims = target shape */                  \
  X(Transpose, "transpose")                   /* attrs.dims = full permutation */              \
  X(Chunk, "chunk")                           /* attrs.axis, attrs.chunks */                   \
  X(Split, "split")                           /* attrs.axis, attrs.dims = section sizes */     \
  X(Identity, "identity")                                                                      \
  X(Softmax, "softmax") /* attrs.axis */

enum class OpKind {
#define MQCALIB_X(e, s) e,
  MQCALIB_OP_KINDS(MQCALIB_X)
#undef MQCALIB_X
};

// Number of op kinds (tables indexed by OpKind have this size).
constexpr size_t kNumOpKinds = 0
#define MQCALIB_X(e, s) +1
    MQCALIB_OP_KINDS(MQCALIB_X)
#undef MQCALIB_X
    ;

std::string_view op_name(OpKind k);  // display name, e.g. "conv2d"

// gelu's two formulas (PyTorch's approximate="none" | "tanh"), kernels.h.
enum class GeluApproximation { Erf, Tanh };

using ValueId = int32_t;
constexpr ValueId kNoValue = -1;

// A tensor flowing through the graph. `shape` may be empty when not inferred yet; the batch
// dimension, when known, is recorded as in the example input.
struct Value {
  std::string name;
  Shape shape;
  ValueId id = kNoValue;
};

struct Attrs {
  std::array<int64_t, 2> kernel{0, 0};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 2> output_size{1, 1};
  int64_t groups = 1;
  int64_t axis = 1;
  int64_t chunks = 0;
  int64_t start_dim = 1;
  int64_t end_dim = -1;
  bool keepdim = false;
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::vector<int64_t> dims;
  float min_val = 0.0f;  // hardtanh
  float max_val = 0.0f;  // hardtanh
  float eps = 1e-5f;     // batch_norm
  float scalar = 0.0f;   // add/mul by a constant when has_scalar
  bool has_scalar = false;
  GeluApproximation gelu = GeluApproximation::Erf;
};

// Parameters: conv/linear use weight and bias; batch_norm uses weight (gamma), bias (beta),
// running_mean, running_var. An absent parameter is an empty tensor.
struct Params {
  TensorF32 weight;
  TensorF32 bias;
  TensorF32 running_mean;
  TensorF32 running_var;
};

// The distribution of a conv2d / linear output channel under the statistics of the BN folded into it
// (DFQ, Nagel et al. 2019; docs/data_free.md): channel c ~ N(mean[c], std[c]^2) with mean = the BN's
// beta and std = |gamma| (the BN normalises its input to mean 0, variance 1, then scales and shifts).
// Filled by fold_batchnorm; passes that rescale or shift an output channel (cross-layer
// equalization, high-bias absorption) keep it current. Empty: no BN was folded into the node.
struct BnStats {
  std::vector<float> mean;  // beta[c]
  std::vector<float> std;   // |gamma[c]|
  bool empty() const { return mean.empty(); }
};

struct Node {
  OpKind kind = OpKind::Identity;
  std::string name;    // module path based, see the naming rule above
  std::string source;  // source location from TorchScript ("file:line"), for errors
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attrs attrs;
  Params params;
  // Provenance of folds: names of BN nodes folded into this conv/linear (filled by the BN fold pass).
  std::vector<std::string> folded;
  BnStats bn_stats;  // output-channel statistics of the folded BN (conv2d / linear only)
};

class Graph {
 public:
  ValueId add_value(std::string name, Shape shape = {});
  // Appends a node (nodes must be appended in topological order); returns its index.
  size_t add_node(Node n);

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const std::vector<Value>& values() const { return values_; }
  std::vector<Value>& values() { return values_; }
  const Value& value(ValueId id) const { return values_.at(static_cast<size_t>(id)); }
  Value& value(ValueId id) { return values_.at(static_cast<size_t>(id)); }

  std::vector<ValueId>& inputs() { return inputs_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  std::vector<ValueId>& outputs() { return outputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }

  // Lookups by name; throw mqcalib::Error naming the missing node/value.
  ValueId find_value(std::string_view name) const;
  const Node& find_node(std::string_view name) const;
  // Every value's id / every node's index by name, for callers that look up many names at once.
  std::unordered_map<std::string, ValueId> value_ids_by_name() const;
  std::unordered_map<std::string, size_t> node_indices_by_name() const;
  // Index of the node producing `v`, or -1 for graph inputs.
  int64_t producer(ValueId v) const;
  // Indices of the nodes that read `v`.
  std::vector<size_t> consumers(ValueId v) const;

  // Removes nodes flagged in `dead` (same size as nodes()), keeping order.
  void erase_nodes(const std::vector<bool>& dead);
  // Replaces every read of `from` (node inputs and graph outputs) by `to`.
  void replace_uses(ValueId from, ValueId to);
  // Structural checks: inputs defined before use, ids in range, unique node names. Throws Error
  // naming the node. The op forms are checked by validate_canonical() (graph/canonical.h).
  void validate() const;

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
};

}  // namespace mqcalib
