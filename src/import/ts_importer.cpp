// mqcalib/src/import/ts_importer.cpp: the TorchScript walk (ts_importer.h): module paths and node
// names, shadow execution, control flow unrolled on compile-time conditions, list and tuple plumbing.
// Lowering a node to IR is the table's job (ts_lowering.h).
#include "import/ts_importer.h"

#include <torch/csrc/jit/passes/inliner.h>

#include <cstring>

#include "core/error.h"
#include "graph/canonical.h"
#include "import/ts_lowering.h"

namespace mqcalib::import_detail {

TensorF32 to_tensor_f32(const at::Tensor& t_in) {
  at::Tensor t = t_in.detach().to(torch::kFloat32).contiguous();
  TensorF32 r(Shape(t.sizes().begin(), t.sizes().end()));
  if (r.size() > 0) std::memcpy(r.data(), t.data_ptr<float>(), sizeof(float) * static_cast<size_t>(r.size()));
  return r;
}

std::string shape_of(const at::Tensor& t) { return shape_to_string(Shape(t.sizes().begin(), t.sizes().end())); }

Importer::Importer(tj::Module module, std::string path, Shape input_shape)
    : module_(std::move(module)), path_(std::move(path)), input_shape_(std::move(input_shape)) {}

Graph Importer::run() {
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
  validate_canonical(graph_);  // the lowering functions write canonical nodes only (graph/ir.h)
  return std::move(graph_);
}

// ---- module paths and names ------------------------------------------------------------------
void Importer::collect_module_paths() {
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

Shape Importer::guess_input_shape() {
  for (const auto& p : module_.named_parameters()) {
    if (p.value.dim() == 4) {
      int64_t c = p.value.size(1);
      // Groups are unknown here; a grouped first conv needs an explicit input shape.
      return {1, c, 32, 32};
    }
    break;
  }
  throw Error("import: '" + path_ +
              "': no input shape given and the first parameter is not a conv weight; "
              "pass ImportOptions::input_shape (--input-shape)");
}

// Module path of a node from its inlined call stack ("layer1.0.conv1"), "" at the root.
std::string Importer::module_path(const tj::Node* n) const {
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
std::string Importer::param_owner(const tj::Value* v) const {
  auto it = attr_path_.find(v);
  if (it == attr_path_.end() || it->second.empty()) return "";
  size_t dot = it->second.rfind('.');
  return dot == std::string::npos ? std::string() : it->second.substr(0, dot);
}

std::string Importer::unique_name(const std::string& base) {
  int& count = name_count_[base];
  std::string name = count == 0 ? base : base + "_" + std::to_string(count);
  ++count;
  while (used_names_.count(name)) name = base + "_" + std::to_string(count++);
  used_names_.insert(name);
  return name;
}

std::string Importer::base_name(const tj::Node* n, OpKind kind, const std::string& owner_hint) const {
  std::string mod = owner_hint.empty() ? module_path(n) : owner_hint;
  if (!mod.empty() && leaf_modules_.count(mod)) return mod;
  std::string op(op_name(kind));
  return mod.empty() ? op : mod + "." + op;
}

// ---- walking ----------------------------------------------------------------------------------
bool Importer::any_dynamic_input(const tj::Node* n) const {
  for (const tj::Value* v : n->inputs())
    if (is_dynamic(v)) return true;
  return false;
}

const IValue& Importer::iv(const tj::Value* v) const {
  auto it = env_.find(v);
  if (it == env_.end()) throw Error("import: '" + path_ + "': internal: value %" + v->debugName() + " has no value");
  return it->second;
}

void Importer::run_block(tj::Block* b) {
  for (tj::Node* n : b->nodes()) run_node(n);
}

// Binds `to` to what `from` stands for (dynamic tensor/list or compile-time value).
void Importer::alias(const tj::Value* to, const tj::Value* from) {
  tensor_of_.erase(to);
  list_of_.erase(to);
  env_[to] = iv(from);
  if (auto t = tensor_of_.find(from); t != tensor_of_.end()) tensor_of_[to] = t->second;
  if (auto l = list_of_.find(from); l != list_of_.end()) list_of_[to] = l->second;
}

void Importer::run_node(tj::Node* n) {
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
  if (k == c10::prim::CallMethod || k == c10::prim::CallFunction) unsupported(n, "call left after inlining");

  if (any_dynamic_input(n)) {
    if (handle_dynamic_structural(n)) return;
    shadow_execute(n);
    lower(n);
    return;
  }
  shadow_execute(n);
}

// prim ops the interpreter implements inline (no registered Operator in LibTorch).
bool Importer::shadow_execute_prim(tj::Node* n) {
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

void Importer::shadow_execute(tj::Node* n) {
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

void Importer::run_if(tj::Node* n) {
  if (is_dynamic(n->input(0))) fail(n, "control flow on tensor data (prim::If on an input-dependent condition)");
  const IValue& c = iv(n->input(0));
  if (!c.isBool()) fail(n, "prim::If condition is not a bool");
  tj::Block* b = n->blocks()[c.toBool() ? 0 : 1];
  run_block(b);
  for (size_t i = 0; i < n->outputs().size(); ++i) alias(n->outputs()[i], b->outputs()[i]);
}

// Unrolls a loop whose trip count and conditions are compile-time values.
void Importer::run_loop(tj::Node* n) {
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
bool Importer::handle_dynamic_structural(tj::Node* n) {
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

// The node reads the network input: the lowering table's function for its symbol writes its IR node.
void Importer::lower(tj::Node* n) {
  const Lowering* l = find_lowering(n->kind());
  if (!l) unsupported(n);
  l->fn(*this, n);
  if (l->in_place == InPlace::Yes) rebind_in_place(n);
}

void Importer::collect_outputs(const tj::Value* o) {
  if (auto t = tensor_of_.find(o); t != tensor_of_.end()) {
    graph_.outputs().push_back(t->second);
    return;
  }
  if (auto l = list_of_.find(o); l != list_of_.end())
    for (ValueId v : l->second)
      if (v != kNoValue) graph_.outputs().push_back(v);
}

}  // namespace mqcalib::import_detail
