// mqcalib/src/import/ts_importer.h: internal to src/import (includes LibTorch). The TorchScript
// walker behind import_torchscript() (approach in torchscript_import.h).
//
// The walk keeps, for every JIT value, its IValue from the shadow run (env_) and, when the value
// depends on the network input, the IR tensor(s) it stands for (tensor_of_ / list_of_). A node with
// no input-dependent operand is folded (its shadow outputs are the compile-time values); a node
// with one is lowered by the function the lowering table (ts_lowering.h) holds for its symbol, or
// rejected with an error naming the op, the node and the source line.
//
// Files: ts_importer.cpp (the walk, control flow, list plumbing), ts_importer_args.cpp (errors,
// operand readers, emitting IR nodes), ts_lower_*.cpp (one small function per op), ts_lowering.cpp
// (the table).
#pragma once

#include <torch/script.h>

#include <array>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/ir.h"

namespace mqcalib::import_detail {

namespace tj = torch::jit;
using c10::IValue;

TensorF32 to_tensor_f32(const at::Tensor& t);
std::string shape_of(const at::Tensor& t);  // "[O, C, kh, kw]"

class Importer {
 public:
  Importer(tj::Module module, std::string path, Shape input_shape);
  Graph run();

  // ---- for the lowering functions (ts_lower_*.cpp) -------------------------------------------
  // Errors: "import: 'PATH': WHAT at node 'MODULE.OP' (module 'M', output %v), FILE:LINE ...: `source`".
  [[noreturn]] void fail(const tj::Node* n, const std::string& what) const;
  [[noreturn]] void unsupported(const tj::Node* n, const std::string& why = "") const;

  // Operand readers; each fails naming the node when the operand is not of that kind.
  const IValue& iv(const tj::Value* v) const;
  ValueId tensor_in(const tj::Node* n, size_t i) const;               // an input-dependent tensor
  const at::Tensor& const_tensor(const tj::Node* n, size_t i) const;  // a parameter / constant
  bool is_dynamic(const tj::Value* v) const { return tensor_of_.count(v) || list_of_.count(v); }
  bool is_tensor(const tj::Value* v) const { return tensor_of_.count(v) > 0; }
  bool is_none(const tj::Node* n, size_t i) const { return iv(n->input(i)).isNone(); }
  int64_t int_arg(const tj::Node* n, size_t i) const;
  bool bool_arg(const tj::Node* n, size_t i) const;
  double num_arg(const tj::Node* n, size_t i) const;
  std::vector<int64_t> ints_arg(const tj::Node* n, size_t i) const;
  std::array<int64_t, 2> pair_arg(const tj::Node* n, size_t i, const std::array<int64_t, 2>& if_empty) const;
  const std::vector<ValueId>& dyn_list(const tj::Node* n, const tj::Value* v) const;
  int rank_of(ValueId v) const { return static_cast<int>(graph_.value(v).shape.size()); }
  const Shape& shape_of_value(ValueId v) const { return graph_.value(v).shape; }
  int64_t norm_dim(const tj::Node* n, int64_t d, int rank) const;
  Shape out_shape(const tj::Node* n, size_t i = 0) const;
  int64_t example_batch() const { return example_batch_; }
  // Module owning a parameter reached by a GetAttr chain ("layer1.0.conv1"), "" otherwise.
  std::string param_owner(const tj::Value* v) const;

  // Appends `node` for `n` with its shadow outputs as values (named after the module, ir.h).
  void emit(tj::Node* n, Node node, const std::string& owner_hint = "");
  // The same for a list-valued node (chunk/split): binds the output list to new IR values.
  void emit_list(tj::Node* n, Node node);
  // In-place ops (relu_, add_...): later reads of operand 0 see the result.
  void rebind_in_place(const tj::Node* n) { tensor_of_[n->input(0)] = tensor_of_.at(n->output()); }

 private:
  void collect_module_paths();
  Shape guess_input_shape();
  std::string module_path(const tj::Node* n) const;
  std::string unique_name(const std::string& base);
  std::string base_name(const tj::Node* n, OpKind kind, const std::string& owner_hint) const;
  static bool feeds_control_flow(const tj::Node* n);

  bool any_dynamic_input(const tj::Node* n) const;
  void run_block(tj::Block* b);
  void alias(const tj::Value* to, const tj::Value* from);
  void run_node(tj::Node* n);
  bool shadow_execute_prim(tj::Node* n);
  void shadow_execute(tj::Node* n);
  void run_if(tj::Node* n);
  void run_loop(tj::Node* n);
  bool handle_dynamic_structural(tj::Node* n);
  void lower(tj::Node* n);
  void collect_outputs(const tj::Value* o);

  tj::Module module_;
  std::string path_;
  Shape input_shape_;
  int64_t example_batch_ = -1;
  Graph graph_;
  std::unordered_map<const tj::Value*, IValue> env_;
  std::unordered_map<const tj::Value*, std::string> attr_path_;
  std::unordered_map<const tj::Value*, ValueId> tensor_of_;
  std::unordered_map<const tj::Value*, std::vector<ValueId>> list_of_;
  std::set<std::string> leaf_modules_;
  std::map<std::string, int> name_count_;
  std::set<std::string> used_names_;
};

}  // namespace mqcalib::import_detail
