// mqcalib/src/import/torchscript_import.cpp: see torchscript_import.h for the approach.
//
// The walk keeps, for every JIT value, its IValue from the shadow run (env_) and, when the value
// depends on the network input, the IR tensor(s) it stands for (tensor_of_ / list_of_). A node with
// no input-dependent operand is folded (its shadow outputs are the compile-time values); a node
// with one is lowered by `lower()` or rejected with an error.
#include "import/torchscript_import.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "import/omp_threads_guard.h"

namespace mqcalib {
namespace {

namespace tj = torch::jit;
using c10::IValue;

TensorF32 to_tensor_f32(const at::Tensor& t_in) {
  at::Tensor t = t_in.detach().to(torch::kFloat32).contiguous();
  TensorF32 r(Shape(t.sizes().begin(), t.sizes().end()));
  if (r.size() > 0) std::memcpy(r.data(), t.data_ptr<float>(), sizeof(float) * static_cast<size_t>(r.size()));
  return r;
}

// "file:line" of a node, preferring the original Python source when the archive recorded it.
std::string source_of(const tj::Node* n) {
  tj::SourceRange r = n->sourceRange();
  if (auto orig = r.findSourceRangeThatGenerated()) r = *orig;
  if (auto flc = r.file_line_col()) return std::get<0>(*flc) + ":" + std::to_string(std::get<1>(*flc));
  return "<unknown source>";
}

std::string source_text(const tj::Node* n) {
  tj::SourceRange r = n->sourceRange();
  if (auto orig = r.findSourceRangeThatGenerated()) r = *orig;
  if (!r.source()) return "";
  std::string text = r.text().str();
  if (text.size() > 160) text = text.substr(0, 160) + "...";
  return text;
}

std::string shape_of(const at::Tensor& t) { return shape_to_string(Shape(t.sizes().begin(), t.sizes().end())); }

class Importer {
 public:
  Importer(tj::Module module, std::string path, Shape input_shape)
      : module_(std::move(module)), path_(std::move(path)), input_shape_(std::move(input_shape)) {}

  Graph run() {
    collect_module_paths();
    std::shared_ptr<tj::Graph> g = module_.get_method("forward").graph()->copy();
    tj::Inline(*g);
    if (g->inputs().size() != 2)
      throw Error("import: '" + path_ + "': forward must take exactly one tensor input, it takes " +
                  std::to_string(g->inputs().size() - 1));
    if (input_shape_.empty()) input_shape_ = guess_input_shape();
    example_batch_ = input_shape_.empty() ? -1 : input_shape_[0];

    env_[g->inputs()[0]] = module_._ivalue();
    attr_path_[g->inputs()[0]] = "";
    at::Tensor x = torch::randn(std::vector<int64_t>(input_shape_.begin(), input_shape_.end()),
                                at::TensorOptions().dtype(torch::kFloat32));
    env_[g->inputs()[1]] = x;
    ValueId in = graph_.add_value("input", input_shape_);
    graph_.inputs().push_back(in);
    tensor_of_[g->inputs()[1]] = in;

    run_block(g->block());

    for (const tj::Value* o : g->outputs()) collect_outputs(o);
    if (graph_.outputs().empty())
      throw Error("import: '" + path_ + "': the forward output does not depend on the input tensor");
    graph_.validate();
    return std::move(graph_);
  }

 private:
  // ---- module paths ---------------------------------------------------------------------------
  void collect_module_paths() {
    for (const auto& m : module_.named_modules()) {
      bool has_children = false;
      for (const auto& c : m.value.children()) {
        (void)c;
        has_children = true;
        break;
      }
      if (!has_children) leaf_modules_.insert(m.name);
    }
  }

  Shape guess_input_shape() {
    for (const auto& p : module_.named_parameters()) {
      if (p.value.dim() == 4) {
        int64_t c = p.value.size(1);
        // Groups are unknown here; a grouped first conv needs an explicit input shape.
        return {1, c, 32, 32};
      }
      break;
    }
    throw Error("import: '" + path_ + "': no input shape given and the first parameter is not a conv weight; "
                "pass ImportOptions::input_shape (--input-shape)");
  }

  // Module path of a node from its inlined call stack ("layer1.0.conv1"), "" at the root.
  std::string module_path(const tj::Node* n) const {
    std::string path;
    if (auto cs = n->callstack()) {
      for (const auto& e : (*cs)->vec()) {
        const auto& info = std::get<2>(e);
        if (!info) continue;
        const std::string& inst = info->instance_name();
        if (inst == "SELF" || inst.empty()) continue;
        path += (path.empty() ? "" : ".") + inst;
      }
    }
    return path;
  }

  // Path of the module owning a parameter that came from a GetAttr chain ("layer1.0.conv1.weight"
  // -> "layer1.0.conv1"); "" when the value is not such a chain.
  std::string param_owner(const tj::Value* v) const {
    auto it = attr_path_.find(v);
    if (it == attr_path_.end() || it->second.empty()) return "";
    size_t dot = it->second.rfind('.');
    return dot == std::string::npos ? std::string() : it->second.substr(0, dot);
  }

  std::string unique_name(const std::string& base) {
    int& count = name_count_[base];
    std::string name = count == 0 ? base : base + "_" + std::to_string(count);
    ++count;
    while (used_names_.count(name)) name = base + "_" + std::to_string(count++);
    used_names_.insert(name);
    return name;
  }

  std::string base_name(const tj::Node* n, OpKind kind, const std::string& owner_hint) const {
    std::string mod = owner_hint.empty() ? module_path(n) : owner_hint;
    if (!mod.empty() && leaf_modules_.count(mod)) return mod;
    std::string op(op_name(kind));
    return mod.empty() ? op : mod + "." + op;
  }

  // ---- errors ---------------------------------------------------------------------------------
  [[noreturn]] void fail(const tj::Node* n, const std::string& what) const {
    std::ostringstream s;
    s << "import: '" << path_ << "': " << what << " at node ";
    std::string mod = module_path(n);
    std::string op = n->kind().toUnqualString();
    s << "'" << (mod.empty() ? op : mod + "." + op) << "' (module '" << (mod.empty() ? "<root>" : mod) << "'";
    if (!n->outputs().empty()) s << ", output %" << n->outputs()[0]->debugName();
    s << "), " << source_of(n);
    if (auto cs = n->callstack()) {
      for (const auto& e : (*cs)->vec()) {
        tj::SourceRange r = std::get<1>(e);
        if (auto orig = r.findSourceRangeThatGenerated()) r = *orig;
        if (auto flc = r.file_line_col())
          s << " <- called from " << std::get<0>(*flc) << ":" << std::get<1>(*flc);
      }
    }
    std::string text = source_text(n);
    if (!text.empty()) s << ": `" << text << "`";
    throw Error(s.str());
  }

  [[noreturn]] void unsupported(const tj::Node* n, const std::string& why = "") const {
    if (feeds_control_flow(n))
      fail(n, std::string("control flow on tensor data ('") + n->kind().toQualString() +
                  "' of an input-dependent tensor computes the condition of a prim::If / prim::Loop)");
    fail(n, std::string("unsupported op '") + n->kind().toQualString() + "'" + (why.empty() ? "" : " (" + why + ")"));
  }

  // True when an output of `n` reaches, through any chain of nodes, the condition of a prim::If or
  // prim::Loop (e.g. `if bool(x.sum() > 0)`): the real reason such a node cannot be lowered.
  static bool feeds_control_flow(const tj::Node* n) {
    std::vector<const tj::Value*> stack(n->outputs().begin(), n->outputs().end());
    std::set<const tj::Value*> seen(stack.begin(), stack.end());
    while (!stack.empty()) {
      const tj::Value* v = stack.back();
      stack.pop_back();
      for (const tj::Use& u : v->uses()) {
        const tj::Node* user = u.user;
        if (user->kind() == c10::prim::If && u.offset == 0) return true;
        if (user->kind() == c10::prim::Loop && u.offset <= 1) return true;
        if (user->kind() == c10::prim::Return) {  // a sub-block output: the loop condition or a carried value
          const tj::Node* owner = user->owningBlock()->owningNode();
          if (owner && owner->kind() == c10::prim::Loop && u.offset == 0) return true;
          if (!owner) continue;
          for (const tj::Value* o : owner->outputs())
            if (seen.insert(o).second) stack.push_back(o);
          continue;
        }
        for (const tj::Value* o : user->outputs())
          if (seen.insert(o).second) stack.push_back(o);
      }
    }
    return false;
  }

  // ---- walking --------------------------------------------------------------------------------
  bool is_dynamic(const tj::Value* v) const { return tensor_of_.count(v) || list_of_.count(v); }

  bool any_dynamic_input(const tj::Node* n) const {
    for (const tj::Value* v : n->inputs())
      if (is_dynamic(v)) return true;
    return false;
  }

  const IValue& iv(const tj::Value* v) const {
    auto it = env_.find(v);
    if (it == env_.end()) throw Error("import: '" + path_ + "': internal: value %" + v->debugName() + " has no value");
    return it->second;
  }

  void run_block(tj::Block* b) {
    for (tj::Node* n : b->nodes()) run_node(n);
  }

  // Binds `to` to what `from` stands for (dynamic tensor/list or compile-time value).
  void alias(const tj::Value* to, const tj::Value* from) {
    tensor_of_.erase(to);
    list_of_.erase(to);
    env_[to] = iv(from);
    if (auto t = tensor_of_.find(from); t != tensor_of_.end()) tensor_of_[to] = t->second;
    if (auto l = list_of_.find(from); l != list_of_.end()) list_of_[to] = l->second;
  }

  void run_node(tj::Node* n) {
    const c10::Symbol k = n->kind();
    if (k == c10::prim::Constant) {
      c10::optional<IValue> c = tj::toIValue(n->output());
      if (!c) {
        // Constants without a runtime value (e.g. function references) are only used by calls,
        // which Inline removed; bind None so an unexpected use fails loudly where it happens.
        env_[n->output()] = IValue();
        return;
      }
      env_[n->output()] = *c;
      return;
    }
    if (k == c10::prim::GetAttr) {
      const IValue& obj = iv(n->input());
      if (is_dynamic(n->input()) || !obj.isObject()) unsupported(n, "attribute of a non-module value");
      const std::string& name = n->s(c10::attr::name);
      env_[n->output()] = obj.toObjectRef().getAttr(name);
      auto p = attr_path_.find(n->input());
      if (p != attr_path_.end()) attr_path_[n->output()] = p->second.empty() ? name : p->second + "." + name;
      return;
    }
    if (k == c10::prim::If) return run_if(n);
    if (k == c10::prim::Loop) return run_loop(n);
    if (k == c10::aten::warn || k == c10::prim::Print) return;
    if (k == c10::prim::RaiseException) fail(n, "the model raises an exception on this input");
    if (k == c10::prim::CallMethod || k == c10::prim::CallFunction)
      unsupported(n, "call left after inlining");

    if (any_dynamic_input(n)) {
      if (handle_dynamic_structural(n)) return;
      shadow_execute(n);
      lower(n);
      return;
    }
    shadow_execute(n);
  }

  // prim ops the interpreter implements inline (no registered Operator in LibTorch).
  bool shadow_execute_prim(tj::Node* n) {
    const c10::Symbol k = n->kind();
    std::vector<IValue> out;
    if (k == c10::prim::ListConstruct) {
      c10::TypePtr elem = n->output()->type()->expectRef<c10::ListType>().getElementType();
      c10::impl::GenericList list(elem);
      for (const tj::Value* v : n->inputs()) list.push_back(iv(v));
      out.emplace_back(std::move(list));
    } else if (k == c10::prim::TupleConstruct) {
      std::vector<IValue> elems;
      for (const tj::Value* v : n->inputs()) elems.push_back(iv(v));
      out.emplace_back(c10::ivalue::Tuple::create(std::move(elems)));
    } else if (k == c10::prim::TupleUnpack || k == c10::prim::ListUnpack) {
      const IValue& v = iv(n->input());
      std::vector<IValue> elems;
      if (v.isTuple()) {
        for (const IValue& e : v.toTupleRef().elements()) elems.push_back(e);
      } else if (v.isList()) {
        for (const IValue& e : v.toListRef()) elems.push_back(e);
      } else {
        fail(n, "unpacking a value that is neither a list nor a tuple");
      }
      if (elems.size() != n->outputs().size()) fail(n, "unpacking a list of the wrong length");
      out = std::move(elems);
    } else if (k == c10::prim::TupleIndex) {
      const IValue& v = iv(n->input(0));
      int64_t i = iv(n->input(1)).toInt();
      const auto& elems = v.toTupleRef().elements();
      if (i < 0) i += static_cast<int64_t>(elems.size());
      out.push_back(elems.at(static_cast<size_t>(i)));
    } else if (k == c10::prim::Uninitialized) {
      out.emplace_back();
    } else if (k == c10::prim::unchecked_cast) {
      out.push_back(iv(n->input()));
    } else if (k == c10::prim::isinstance) {
      const IValue& v = iv(n->input());
      bool is = false;
      for (const c10::TypePtr& t : n->tys(c10::attr::types)) is = is || v.type()->isSubtypeOf(*t);
      out.emplace_back(is);
    } else {
      return false;
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      tensor_of_.erase(n->outputs()[i]);
      list_of_.erase(n->outputs()[i]);
      env_[n->outputs()[i]] = std::move(out[i]);
    }
    return true;
  }

  void shadow_execute(tj::Node* n) {
    if (shadow_execute_prim(n)) return;
    const tj::Operator* op = n->maybeOperator();
    if (!op) unsupported(n, "no LibTorch kernel for this node");
    tj::Stack stack;
    for (const tj::Value* v : n->inputs()) stack.push_back(iv(v));
    try {
      n->getOperation()(stack);
    } catch (const c10::Error& e) {
      fail(n, std::string("LibTorch failed to evaluate '") + n->kind().toQualString() +
                  "' on the example input: " + e.what_without_backtrace());
    }
    if (stack.size() != n->outputs().size())
      fail(n, std::string("internal: '") + n->kind().toQualString() + "' returned an unexpected number of values");
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      tensor_of_.erase(n->outputs()[i]);
      list_of_.erase(n->outputs()[i]);
      env_[n->outputs()[i]] = std::move(stack[i]);
    }
  }

  void run_if(tj::Node* n) {
    if (is_dynamic(n->input(0))) fail(n, "control flow on tensor data (prim::If on an input-dependent condition)");
    const IValue& c = iv(n->input(0));
    if (!c.isBool()) fail(n, "prim::If condition is not a bool");
    tj::Block* b = n->blocks()[c.toBool() ? 0 : 1];
    run_block(b);
    for (size_t i = 0; i < n->outputs().size(); ++i) alias(n->outputs()[i], b->outputs()[i]);
  }

  // Unrolls a loop whose trip count and conditions are compile-time values.
  void run_loop(tj::Node* n) {
    // inputs: max_trip_count, initial condition, carried...; block inputs: iter, carried...;
    // block outputs: condition, carried...
    if (is_dynamic(n->input(0)) || is_dynamic(n->input(1)))
      fail(n, "control flow on tensor data (prim::Loop with an input-dependent trip count or condition)");
    int64_t trips = iv(n->input(0)).toInt();
    bool cond = iv(n->input(1)).toBool();
    tj::Block* body = n->blocks()[0];
    size_t carried = n->inputs().size() - 2;
    for (size_t i = 0; i < carried; ++i) alias(n->outputs()[i], n->input(i + 2));
    constexpr int64_t kMaxUnroll = 100000;
    for (int64_t it = 0; it < trips && cond; ++it) {
      if (it >= kMaxUnroll) fail(n, "prim::Loop runs more than 100000 iterations; not unrolled");
      env_[body->inputs()[0]] = IValue(it);
      for (size_t i = 0; i < carried; ++i) alias(body->inputs()[i + 1], n->outputs()[i]);
      run_block(body);
      if (is_dynamic(body->outputs()[0]))
        fail(n, "control flow on tensor data (prim::Loop condition depends on the input)");
      cond = iv(body->outputs()[0]).toBool();
      for (size_t i = 0; i < carried; ++i) alias(n->outputs()[i], body->outputs()[i + 1]);
    }
  }

  // Nodes that read an input-dependent value but produce no IR node: shape queries, list and tuple
  // plumbing, casts. Returns false when `n` must be lowered.
  bool handle_dynamic_structural(tj::Node* n) {
    const c10::Symbol k = n->kind();
    if (k == c10::aten::size || k == c10::aten::dim || k == c10::aten::len) {
      shadow_execute(n);  // a compile-time value derived from shapes
      return true;
    }
    if (k == c10::prim::ListConstruct || k == c10::prim::TupleConstruct) {
      shadow_execute(n);
      std::vector<ValueId> elems;
      for (const tj::Value* v : n->inputs()) {
        auto t = tensor_of_.find(v);
        if (list_of_.count(v)) fail(n, "nested lists of input-dependent tensors");
        elems.push_back(t == tensor_of_.end() ? kNoValue : t->second);
      }
      list_of_[n->output()] = std::move(elems);
      return true;
    }
    if (k == c10::prim::ListUnpack || k == c10::prim::TupleUnpack) {
      const auto& elems = dyn_list(n, n->input());
      if (elems.size() != n->outputs().size()) fail(n, "unpacking a list of the wrong length");
      shadow_execute(n);
      for (size_t i = 0; i < elems.size(); ++i)
        if (elems[i] != kNoValue) tensor_of_[n->outputs()[i]] = elems[i];
      return true;
    }
    if ((k == c10::aten::__getitem__ || k == c10::prim::TupleIndex) && list_of_.count(n->input(0)) &&
        !is_dynamic(n->input(1))) {
      const auto& elems = list_of_.at(n->input(0));
      int64_t i = iv(n->input(1)).toInt();
      if (i < 0) i += static_cast<int64_t>(elems.size());
      shadow_execute(n);
      if (i >= 0 && i < static_cast<int64_t>(elems.size()) && elems[static_cast<size_t>(i)] != kNoValue)
        tensor_of_[n->output()] = elems[static_cast<size_t>(i)];
      return true;
    }
    if (k == c10::prim::unchecked_cast || k == c10::aten::detach) {
      alias(n->output(), n->input(0));
      return true;
    }
    return false;
  }

  const std::vector<ValueId>& dyn_list(const tj::Node* n, const tj::Value* v) const {
    auto it = list_of_.find(v);
    if (it == list_of_.end()) fail(n, "expected a list of input-dependent tensors");
    return it->second;
  }

  void collect_outputs(const tj::Value* o) {
    if (auto t = tensor_of_.find(o); t != tensor_of_.end()) {
      graph_.outputs().push_back(t->second);
      return;
    }
    if (auto l = list_of_.find(o); l != list_of_.end())
      for (ValueId v : l->second)
        if (v != kNoValue) graph_.outputs().push_back(v);
  }

  // ---- lowering helpers -----------------------------------------------------------------------
  ValueId tensor_in(const tj::Node* n, size_t i) const {
    auto it = tensor_of_.find(n->input(i));
    if (it == tensor_of_.end())
      fail(n, std::string("'") + n->kind().toQualString() + "' operand " + std::to_string(i) +
                  " must be an input-dependent tensor (constant tensor operands are not supported here)");
    return it->second;
  }

  const at::Tensor& const_tensor(const tj::Node* n, size_t i) const {
    if (is_dynamic(n->input(i)))
      fail(n, std::string("'") + n->kind().toQualString() + "' operand " + std::to_string(i) +
                  " must be a parameter, not an input-dependent tensor");
    const IValue& v = iv(n->input(i));
    if (!v.isTensor()) fail(n, "operand " + std::to_string(i) + " is not a tensor");
    return v.toTensor();
  }

  bool is_none(const tj::Node* n, size_t i) const { return iv(n->input(i)).isNone(); }
  int64_t int_arg(const tj::Node* n, size_t i) const {
    const IValue& v = iv(n->input(i));
    if (!v.isInt()) fail(n, "operand " + std::to_string(i) + " is not a compile-time int");
    return v.toInt();
  }
  bool bool_arg(const tj::Node* n, size_t i) const {
    const IValue& v = iv(n->input(i));
    if (!v.isBool()) fail(n, "operand " + std::to_string(i) + " is not a compile-time bool");
    return v.toBool();
  }
  double num_arg(const tj::Node* n, size_t i) const {
    const IValue& v = iv(n->input(i));
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    if (v.isBool()) return v.toBool() ? 1.0 : 0.0;
    if (v.isTensor() && v.toTensor().numel() == 1 && !is_dynamic(n->input(i))) return v.toTensor().item<double>();
    fail(n, "operand " + std::to_string(i) + " is not a compile-time number");
  }
  std::vector<int64_t> ints_arg(const tj::Node* n, size_t i) const {
    const IValue& v = iv(n->input(i));
    if (v.isInt()) return {v.toInt()};
    if (!v.isIntList()) fail(n, "operand " + std::to_string(i) + " is not a compile-time int list");
    return v.toIntVector();
  }
  std::array<int64_t, 2> pair_arg(const tj::Node* n, size_t i, const std::array<int64_t, 2>& if_empty) const {
    std::vector<int64_t> v = ints_arg(n, i);
    if (v.empty()) return if_empty;
    if (v.size() == 1) return {v[0], v[0]};
    if (v.size() != 2) fail(n, "operand " + std::to_string(i) + " must hold 1 or 2 ints");
    return {v[0], v[1]};
  }
  int rank_of(ValueId v) const { return static_cast<int>(graph_.value(v).shape.size()); }
  int64_t norm_dim(const tj::Node* n, int64_t d, int rank) const {
    int64_t r = d < 0 ? d + rank : d;
    if (r < 0 || r >= rank) fail(n, "dimension " + std::to_string(d) + " out of range for rank " + std::to_string(rank));
    return r;
  }

  // Appends the IR node for `n` with its shadow outputs as values.
  void emit(tj::Node* n, Node node, const std::vector<const tj::Value*>& outs, const std::string& owner_hint = "") {
    node.name = unique_name(base_name(n, node.kind, owner_hint));
    node.source = source_of(n);
    for (size_t i = 0; i < outs.size(); ++i) {
      const IValue& v = iv(outs[i]);
      Shape shape;
      if (v.isTensor()) shape = Shape(v.toTensor().sizes().begin(), v.toTensor().sizes().end());
      ValueId id = graph_.add_value(i == 0 ? node.name : node.name + ":" + std::to_string(i), shape);
      node.outputs.push_back(id);
      tensor_of_[outs[i]] = id;
    }
    graph_.add_node(std::move(node));
  }

  // Output tensors of a list-valued node (chunk/split): binds the list to new IR values.
  void emit_list(tj::Node* n, Node node) {
    const IValue& v = iv(n->output());
    std::vector<at::Tensor> parts = v.toTensorVector();
    node.name = unique_name(base_name(n, node.kind, ""));
    node.source = source_of(n);
    std::vector<ValueId> ids;
    for (size_t i = 0; i < parts.size(); ++i) {
      ValueId id = graph_.add_value(i == 0 ? node.name : node.name + ":" + std::to_string(i),
                                    Shape(parts[i].sizes().begin(), parts[i].sizes().end()));
      node.outputs.push_back(id);
      ids.push_back(id);
    }
    list_of_[n->output()] = ids;
    graph_.add_node(std::move(node));
  }

  Shape out_shape(const tj::Node* n, size_t i = 0) const {
    const IValue& v = iv(n->output(i));
    if (!v.isTensor()) fail(n, "output is not a tensor");
    return Shape(v.toTensor().sizes().begin(), v.toTensor().sizes().end());
  }

  // Target dims of a shape-only op (view/reshape/squeeze/unsqueeze): the literal list when the model
  // wrote one, otherwise the shadow output shape with the batch dimension as -1 when it is kept.
  std::vector<int64_t> reshape_dims(const tj::Node* n, ValueId in, bool literal_arg) const {
    if (literal_arg && n->inputs().size() > 1 && n->input(1)->node()->kind() == c10::prim::Constant) {
      std::vector<int64_t> lit = ints_arg(n, 1);
      return lit;
    }
    Shape out = out_shape(n);
    const Shape& ins = graph_.value(in).shape;
    if (!out.empty() && !ins.empty() && out[0] == ins[0] && ins[0] == example_batch_) out[0] = -1;
    return out;
  }

  // ---- lowering -------------------------------------------------------------------------------
  void lower(tj::Node* n) {
    namespace a = c10::aten;
    const c10::Symbol k = n->kind();
    Node node;
    auto unary = [&](OpKind kind) {
      node.kind = kind;
      node.inputs = {tensor_in(n, 0)};
      emit(n, std::move(node), {n->output()});
      // In-place ops also rebind their operand: later reads of it see the result.
      if (n->kind().toUnqualString()[std::strlen(n->kind().toUnqualString()) - 1] == '_')
        tensor_of_[n->input(0)] = tensor_of_.at(n->output());
    };

    if (k == a::conv2d || k == a::_convolution || k == a::convolution) {
      const at::Tensor& w = const_tensor(n, 1);
      if (w.dim() != 4) unsupported(n, "only 2-d convolutions (weight rank 4), got weight " + shape_of(w));
      node.kind = OpKind::Conv2d;
      node.inputs = {tensor_in(n, 0)};
      node.params.weight = to_tensor_f32(w);
      if (!is_none(n, 2)) node.params.bias = to_tensor_f32(const_tensor(n, 2));
      node.attrs.kernel = {w.size(2), w.size(3)};
      node.attrs.stride = pair_arg(n, 3, {1, 1});
      node.attrs.dilation = pair_arg(n, 5, {1, 1});
      if (iv(n->input(4)).isString()) {
        std::string pad = iv(n->input(4)).toStringRef();
        if (pad == "valid") {
          node.attrs.padding = {0, 0};
        } else {
          for (int d = 0; d < 2; ++d) {
            int64_t total = node.attrs.dilation[d] * (node.attrs.kernel[d] - 1);
            if (total % 2 != 0) unsupported(n, "padding='same' with an asymmetric padding");
            node.attrs.padding[d] = total / 2;
          }
        }
      } else {
        node.attrs.padding = pair_arg(n, 4, {0, 0});
      }
      if (k == a::conv2d) {
        node.attrs.groups = int_arg(n, 6);
      } else {
        if (bool_arg(n, 6)) unsupported(n, "transposed convolution");
        node.attrs.groups = int_arg(n, 8);
      }
      emit(n, std::move(node), {n->output()}, param_owner(n->input(1)));
      return;
    }
    if (k == a::linear) {
      const at::Tensor& w = const_tensor(n, 1);
      if (w.dim() != 2) unsupported(n, "linear weight must be 2-d, got " + shape_of(w));
      node.kind = OpKind::Linear;
      node.inputs = {tensor_in(n, 0)};
      node.params.weight = to_tensor_f32(w);
      if (!is_none(n, 2)) node.params.bias = to_tensor_f32(const_tensor(n, 2));
      emit(n, std::move(node), {n->output()}, param_owner(n->input(1)));
      return;
    }
    if (k == a::matmul || k == a::mm || k == a::addmm) {
      // y = x @ W (+ b), W a [I, O] parameter (often W = weight.t()): Linear with weight W^T.
      size_t xi = k == a::addmm ? 1 : 0;
      const at::Tensor& w = const_tensor(n, xi + 1);
      if (w.dim() != 2) unsupported(n, "matmul with a parameter of rank != 2");
      node.kind = OpKind::Linear;
      node.inputs = {tensor_in(n, xi)};
      node.params.weight = to_tensor_f32(w.t());
      std::string owner = param_owner(n->input(xi + 1));
      if (k == a::addmm) {
        if (num_arg(n, 3) != 1.0 || num_arg(n, 4) != 1.0) unsupported(n, "addmm with beta or alpha != 1");
        node.params.bias = to_tensor_f32(const_tensor(n, 0));
      }
      if (owner.empty() && w.size(0) > 0) {
        const tj::Node* src = n->input(xi + 1)->node();
        if (src->kind() == a::t && !src->inputs().empty()) owner = param_owner(src->input(0));
      }
      emit(n, std::move(node), {n->output()}, owner);
      return;
    }
    if (k == a::batch_norm) {
      if (bool_arg(n, 5)) fail(n, "batch_norm in training mode (the model must be in eval mode)");
      if (is_none(n, 3) || is_none(n, 4)) unsupported(n, "batch_norm without running statistics");
      const at::Tensor& mean = const_tensor(n, 3);
      node.kind = OpKind::BatchNorm;
      node.inputs = {tensor_in(n, 0)};
      node.params.running_mean = to_tensor_f32(mean);
      node.params.running_var = to_tensor_f32(const_tensor(n, 4));
      // affine=False: gamma 1, beta 0, written out so later passes see complete parameters.
      node.params.weight = is_none(n, 1) ? TensorF32({mean.size(0)}, 1.0f) : to_tensor_f32(const_tensor(n, 1));
      node.params.bias = is_none(n, 2) ? TensorF32({mean.size(0)}, 0.0f) : to_tensor_f32(const_tensor(n, 2));
      node.attrs.eps = static_cast<float>(num_arg(n, 7));
      emit(n, std::move(node), {n->output()}, param_owner(n->input(3)));
      return;
    }
    if (k == a::relu || k == a::relu_) return unary(OpKind::Relu);
    if (k == a::relu6 || k == a::relu6_) return unary(OpKind::Relu6);
    if (k == a::hardtanh || k == a::hardtanh_) {
      double lo = num_arg(n, 1), hi = num_arg(n, 2);
      if (lo == 0.0 && hi == 6.0) return unary(OpKind::Relu6);
      node.attrs.min_val = static_cast<float>(lo);
      node.attrs.max_val = static_cast<float>(hi);
      return unary(OpKind::Hardtanh);
    }
    if (k == a::silu || k == a::silu_) return unary(OpKind::Silu);
    if (k == a::sigmoid || k == a::sigmoid_) return unary(OpKind::Sigmoid);
    if (k == a::tanh || k == a::tanh_) return unary(OpKind::Tanh);
    if (k == a::hardswish || k == a::hardswish_) return unary(OpKind::Hardswish);
    if (k == a::hardsigmoid || k == a::hardsigmoid_) return unary(OpKind::Hardsigmoid);
    if (k == a::gelu || k == a::gelu_) {
      node.attrs.approximate = n->inputs().size() > 1 ? iv(n->input(1)).toStringRef() : "none";
      if (node.attrs.approximate != "none" && node.attrs.approximate != "tanh")
        unsupported(n, "gelu approximate='" + node.attrs.approximate + "'");
      return unary(OpKind::Gelu);
    }
    if (k == a::contiguous || k == a::clone || k == a::detach || k == a::feature_dropout || k == a::dropout ||
        k == a::alpha_dropout || k == a::feature_alpha_dropout || k == a::dropout_ || k == a::feature_dropout_) {
      if ((k == a::dropout || k == a::feature_dropout || k == a::alpha_dropout || k == a::feature_alpha_dropout ||
           k == a::dropout_ || k == a::feature_dropout_) &&
          bool_arg(n, 2))
        fail(n, "dropout in training mode (the model must be in eval mode)");
      // contiguous(memory_format) only changes strides; the values are unchanged.
      return unary(OpKind::Identity);
    }
    if (k == a::add || k == a::add_ || k == a::sub || k == a::sub_ || k == a::mul || k == a::mul_ ||
        k == a::div || k == a::div_)
      return lower_binary(n);
    if (k == a::cat || k == a::concat) {
      const auto& elems = dyn_list(n, n->input(0));
      node.kind = OpKind::Cat;
      for (ValueId v : elems) {
        if (v == kNoValue) fail(n, "cat of a constant tensor with input-dependent tensors is not supported");
        node.inputs.push_back(v);
      }
      node.attrs.axis = norm_dim(n, int_arg(n, 1), rank_of(elems.at(0)));
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::max_pool2d) {
      node.kind = OpKind::MaxPool2d;
      node.inputs = {tensor_in(n, 0)};
      node.attrs.kernel = pair_arg(n, 1, {0, 0});
      node.attrs.stride = pair_arg(n, 2, node.attrs.kernel);
      node.attrs.padding = pair_arg(n, 3, {0, 0});
      node.attrs.dilation = pair_arg(n, 4, {1, 1});
      node.attrs.ceil_mode = bool_arg(n, 5);
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::avg_pool2d) {
      node.kind = OpKind::AvgPool2d;
      node.inputs = {tensor_in(n, 0)};
      node.attrs.kernel = pair_arg(n, 1, {0, 0});
      node.attrs.stride = pair_arg(n, 2, node.attrs.kernel);
      node.attrs.padding = pair_arg(n, 3, {0, 0});
      node.attrs.ceil_mode = bool_arg(n, 4);
      node.attrs.count_include_pad = bool_arg(n, 5);
      if (n->inputs().size() > 6 && !is_none(n, 6)) unsupported(n, "avg_pool2d with divisor_override");
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::adaptive_avg_pool2d) {
      node.kind = OpKind::AdaptiveAvgPool2d;
      node.inputs = {tensor_in(n, 0)};
      Shape o = out_shape(n);
      node.attrs.output_size = {o.at(o.size() - 2), o.at(o.size() - 1)};
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::mean) {
      node.kind = OpKind::Mean;
      node.inputs = {tensor_in(n, 0)};
      int rank = rank_of(node.inputs[0]);
      if (n->inputs().size() >= 3 && (iv(n->input(1)).isIntList() || iv(n->input(1)).isNone())) {
        if (iv(n->input(1)).isNone()) {
          for (int d = 0; d < rank; ++d) node.attrs.dims.push_back(d);
        } else {
          for (int64_t d : ints_arg(n, 1)) node.attrs.dims.push_back(norm_dim(n, d, rank));
        }
        node.attrs.keepdim = bool_arg(n, 2);
        if (n->inputs().size() > 3 && !is_none(n, 3)) unsupported(n, "mean with a dtype");
      } else if (n->inputs().size() <= 2) {  // mean(x, dtype?) over everything
        for (int d = 0; d < rank; ++d) node.attrs.dims.push_back(d);
      } else {
        unsupported(n, "mean overload");
      }
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::flatten) {
      node.kind = OpKind::Flatten;
      node.inputs = {tensor_in(n, 0)};
      int rank = rank_of(node.inputs[0]);
      if (rank == 0) unsupported(n, "flatten of a scalar");
      node.attrs.start_dim = norm_dim(n, int_arg(n, 1), rank);
      node.attrs.end_dim = norm_dim(n, int_arg(n, 2), rank);
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::view || k == a::reshape || k == a::squeeze || k == a::unsqueeze || k == a::squeeze_ ||
        k == a::unsqueeze_) {
      if (k == a::view && !iv(n->input(1)).isIntList()) unsupported(n, "view as a dtype");
      node.kind = OpKind::Reshape;
      node.inputs = {tensor_in(n, 0)};
      node.attrs.dims = reshape_dims(n, node.inputs[0], k == a::view || k == a::reshape);
      emit(n, std::move(node), {n->output()});
      if (k == a::squeeze_ || k == a::unsqueeze_) tensor_of_[n->input(0)] = tensor_of_.at(n->output());
      return;
    }
    if (k == a::transpose || k == a::permute || k == a::t) {
      node.kind = OpKind::Transpose;
      node.inputs = {tensor_in(n, 0)};
      int rank = rank_of(node.inputs[0]);
      std::vector<int64_t> perm(static_cast<size_t>(rank));
      for (int d = 0; d < rank; ++d) perm[static_cast<size_t>(d)] = d;
      if (k == a::permute) {
        perm.clear();
        for (int64_t d : ints_arg(n, 1)) perm.push_back(norm_dim(n, d, rank));
      } else if (k == a::t) {
        if (rank == 2) std::swap(perm[0], perm[1]);
      } else {
        std::swap(perm[static_cast<size_t>(norm_dim(n, int_arg(n, 1), rank))],
                  perm[static_cast<size_t>(norm_dim(n, int_arg(n, 2), rank))]);
      }
      node.attrs.dims = perm;
      emit(n, std::move(node), {n->output()});
      return;
    }
    if (k == a::chunk || k == a::split || k == a::split_with_sizes || k == a::unsafe_chunk || k == a::unsafe_split) {
      node.inputs = {tensor_in(n, 0)};
      int rank = rank_of(node.inputs[0]);
      node.attrs.axis = norm_dim(n, int_arg(n, 2), rank);
      std::vector<at::Tensor> parts = iv(n->output()).toTensorVector();
      std::vector<int64_t> sizes;
      for (const at::Tensor& p : parts) sizes.push_back(p.size(node.attrs.axis));
      bool equal = true;
      for (int64_t s : sizes) equal = equal && s == sizes[0];
      bool is_chunk = k == a::chunk || k == a::unsafe_chunk;
      if (is_chunk && equal && static_cast<int64_t>(parts.size()) == int_arg(n, 1)) {
        node.kind = OpKind::Chunk;
        node.attrs.chunks = int_arg(n, 1);
      } else {
        node.kind = OpKind::Split;
        node.attrs.dims = sizes;
      }
      emit_list(n, std::move(node));
      return;
    }
    if (k == a::softmax) {
      node.kind = OpKind::Softmax;
      node.inputs = {tensor_in(n, 0)};
      node.attrs.axis = norm_dim(n, int_arg(n, 1), rank_of(node.inputs[0]));
      if (n->inputs().size() > 2 && !is_none(n, 2)) unsupported(n, "softmax with a dtype");
      emit(n, std::move(node), {n->output()});
      return;
    }
    unsupported(n);
  }

  // add/sub/mul/div: two graph tensors (add, mul) or a graph tensor and a compile-time scalar.
  void lower_binary(tj::Node* n) {
    namespace a = c10::aten;
    const c10::Symbol k = n->kind();
    const bool is_add = k == a::add || k == a::add_ || k == a::sub || k == a::sub_;
    const bool is_sub = k == a::sub || k == a::sub_;
    const bool is_div = k == a::div || k == a::div_;
    const bool inplace = k == a::add_ || k == a::sub_ || k == a::mul_ || k == a::div_;
    if (is_add && n->inputs().size() > 2 && num_arg(n, 2) != 1.0) unsupported(n, "add/sub with alpha != 1");
    if (is_div && n->inputs().size() > 2 && !is_none(n, 2)) unsupported(n, "div with a rounding mode");
    Node node;
    node.kind = is_add ? OpKind::Add : OpKind::Mul;
    const bool d0 = tensor_of_.count(n->input(0)) > 0, d1 = tensor_of_.count(n->input(1)) > 0;
    auto is_scalar = [&](size_t i) {
      const IValue& v = iv(n->input(i));
      return v.isDouble() || v.isInt() || v.isBool() || (v.isTensor() && v.toTensor().numel() == 1 && v.toTensor().dim() == 0);
    };
    if (d0 && d1) {
      if (is_sub || is_div) unsupported(n, "sub/div of two input-dependent tensors (no IR op)");
      node.inputs = {tensor_in(n, 0), tensor_in(n, 1)};
    } else if (d0 && is_scalar(1)) {
      double s = num_arg(n, 1);
      if (is_sub) s = -s;
      if (is_div) s = 1.0 / s;
      node.inputs = {tensor_in(n, 0)};
      node.attrs.scalar = static_cast<float>(s);
      node.attrs.has_scalar = true;
    } else if (d1 && is_scalar(0) && !is_sub && !is_div && !inplace) {
      node.inputs = {tensor_in(n, 1)};
      node.attrs.scalar = static_cast<float>(num_arg(n, 0));
      node.attrs.has_scalar = true;
    } else {
      unsupported(n, "operand is a constant tensor, not a scalar or an input-dependent tensor");
    }
    emit(n, std::move(node), {n->output()});
    if (inplace) tensor_of_[n->input(0)] = tensor_of_.at(n->output());
  }

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

}  // namespace

Graph import_torchscript(const std::string& path, const ImportOptions& options) {
  const import_detail::OmpThreadsGuard keep_engine_threads;
  tj::Module module;
  try {
    module = tj::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error("import: cannot load TorchScript model '" + path + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    // LibTorch's TorchScript parser throws torch::jit::ErrorReport, not a c10::Error (fuzz_torchscript).
    throw Error("import: cannot load TorchScript model '" + path + "': " + e.what());
  }
  module.eval();
  torch::NoGradGuard no_grad;
  try {
    Importer imp(std::move(module), path, options.input_shape);
    return imp.run();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error("import: '" + path + "': LibTorch error: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error("import: '" + path + "': LibTorch error: " + e.what());
  }
}

}  // namespace mqcalib
