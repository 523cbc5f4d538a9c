// mqcalib/src/pipeline/quant_plan.h: where quantizers sit in a (BN-folded) graph for a backend.
//
// Placement follows how real runtimes execute the graph (REFERENCE.md section 2, "Graph placement"):
//  - weights of every conv2d/linear (the backend's weight scheme, per-channel on axis 0 where the
//    backend is per-channel); biases as int32 at scale s_in * s_w (decided after calibration);
//  - activations: every tensor read by a "quantized op" (conv2d, linear; plus add and cat unless the
//    backend profile quantizes only conv/linear inputs, the `academic` profile), and the outputs of
//    add and cat;
//  - fusion: a conv/linear or add output read only by a ReLU-family activation (relu, relu6, hardtanh)
//    that the backend fuses carries no quantizer: the activation's output does;
//  - concat: where the backend requires it, every input and the output of a cat share one scale
//    (one `group`); the group's range is the union of its members' ranges;
//  - unsigned-after-ReLU backends use an unsigned grid for tensors known non-negative by structure.
// Layer policy: `skip` keeps a layer in fp32 (no weight quantizer, and its input is not quantized
// for it); `layer_bits` and `first_last_8bit` override the bits of a layer's weight and input;
// `layer_a_bits` overrides its input's bits alone (mixed precision chooses the two apart).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "graph/ir.h"

namespace mqcalib {

struct LayerPolicy {
  std::set<std::string> skip;               // node names kept in fp32
  std::map<std::string, int> layer_bits;    // node name -> bits for its weight and its input activation
  std::map<std::string, int> layer_a_bits;  // node name -> bits for its input activation (over layer_bits)
  bool first_last_8bit = false;             // the first and last conv/linear at 8 bits
};

struct WeightQuantPoint {
  size_t node = 0;     // index into graph.nodes()
  std::string layer;   // node name
  std::string tensor;  // "<layer>.weight"
  QScheme scheme;
  ValueId input = kNoValue;  // the activation this layer reads (for the bias scale s_in * s_w)
};

struct ActQuantPoint {
  ValueId value = kNoValue;
  std::string tensor;  // value name
  std::string layer;   // a node that reads it (or produces it, for add/cat outputs)
  QScheme scheme;
  bool non_negative = false;  // known >= 0 from the graph's structure
  int group = -1;             // points with the same group share one scale (concat); -1: own
};

struct QuantPlan {
  std::vector<WeightQuantPoint> weights;
  std::vector<ActQuantPoint> activations;
  std::vector<std::string> notes;  // human-readable decisions (fusions, shared scales, skips)
  // The value -> point map, built once with the points (index_points): act_of_value[v] is the index
  // into `activations` of value v's point, or -1. Invariant: act_of_value.size() == graph value count
  // and act_of_value[activations[i].value] == i.
  std::vector<int> act_of_value;
  // Index into `activations` for a value, or -1 (a lookup in act_of_value).
  int act_index(ValueId v) const;
  // Builds act_of_value for a graph of `value_count` values (plan_quantization calls it; a plan built
  // by hand or from a record calls it once its points are set). Throws Error on a value out of range
  // or a value planned twice.
  void index_points(size_t value_count);
};

QuantPlan plan_quantization(const Graph& folded, const BackendProfile& backend, const LayerPolicy& policy);

// Indices of the conv2d/linear nodes in graph order.
std::vector<size_t> weighted_layers(const Graph& g);

}  // namespace mqcalib
