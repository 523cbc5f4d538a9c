// mqcalib/src/import/ts_importer_args.cpp: the Importer's errors (naming the op, the node, the module
// and the source line), operand readers for the lowering functions, and the emission of IR nodes.
#include <sstream>

#include "core/error.h"
#include "import/ts_importer.h"

namespace mqcalib::import_detail {

namespace {

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

}  // namespace

void Importer::fail(const tj::Node* n, const std::string& what) const {
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
      if (auto flc = r.file_line_col()) s << " <- called from " << std::get<0>(*flc) << ":" << std::get<1>(*flc);
    }
  }
  std::string text = source_text(n);
  if (!text.empty()) s << ": `" << text << "`";
  throw Error(s.str());
}

void Importer::unsupported(const tj::Node* n, const std::string& why) const {
  if (feeds_control_flow(n))
    fail(n, std::string("control flow on tensor data ('") + n->kind().toQualString() +
                "' of an input-dependent tensor computes the condition of a prim::If / prim::Loop)");
  fail(n, std::string("unsupported op '") + n->kind().toQualString() + "'" + (why.empty() ? "" : " (" + why + ")"));
}

// True when an output of `n` reaches, through any chain of nodes, the condition of a prim::If or
// prim::Loop (e.g. `if bool(x.sum() > 0)`): the real reason such a node cannot be lowered.
bool Importer::feeds_control_flow(const tj::Node* n) {
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

const std::vector<ValueId>& Importer::dyn_list(const tj::Node* n, const tj::Value* v) const {
  auto it = list_of_.find(v);
  if (it == list_of_.end()) fail(n, "expected a list of input-dependent tensors");
  return it->second;
}

ValueId Importer::tensor_in(const tj::Node* n, size_t i) const {
  auto it = tensor_of_.find(n->input(i));
  if (it == tensor_of_.end())
    fail(n, std::string("'") + n->kind().toQualString() + "' operand " + std::to_string(i) +
                " must be an input-dependent tensor (constant tensor operands are not supported here)");
  return it->second;
}

const at::Tensor& Importer::const_tensor(const tj::Node* n, size_t i) const {
  if (is_dynamic(n->input(i)))
    fail(n, std::string("'") + n->kind().toQualString() + "' operand " + std::to_string(i) +
                " must be a parameter, not an input-dependent tensor");
  const IValue& v = iv(n->input(i));
  if (!v.isTensor()) fail(n, "operand " + std::to_string(i) + " is not a tensor");
  return v.toTensor();
}

int64_t Importer::int_arg(const tj::Node* n, size_t i) const {
  const IValue& v = iv(n->input(i));
  if (!v.isInt()) fail(n, "operand " + std::to_string(i) + " is not a compile-time int");
  return v.toInt();
}
bool Importer::bool_arg(const tj::Node* n, size_t i) const {
  const IValue& v = iv(n->input(i));
  if (!v.isBool()) fail(n, "operand " + std::to_string(i) + " is not a compile-time bool");
  return v.toBool();
}
double Importer::num_arg(const tj::Node* n, size_t i) const {
  const IValue& v = iv(n->input(i));
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  if (v.isBool()) return v.toBool() ? 1.0 : 0.0;
  if (v.isTensor() && v.toTensor().numel() == 1 && !is_dynamic(n->input(i))) return v.toTensor().item<double>();
  fail(n, "operand " + std::to_string(i) + " is not a compile-time number");
}
std::vector<int64_t> Importer::ints_arg(const tj::Node* n, size_t i) const {
  const IValue& v = iv(n->input(i));
  if (v.isInt()) return {v.toInt()};
  if (!v.isIntList()) fail(n, "operand " + std::to_string(i) + " is not a compile-time int list");
  return v.toIntVector();
}
std::array<int64_t, 2> Importer::pair_arg(const tj::Node* n, size_t i, const std::array<int64_t, 2>& if_empty) const {
  std::vector<int64_t> v = ints_arg(n, i);
  if (v.empty()) return if_empty;
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) fail(n, "operand " + std::to_string(i) + " must hold 1 or 2 ints");
  return {v[0], v[1]};
}
int64_t Importer::norm_dim(const tj::Node* n, int64_t d, int rank) const {
  int64_t r = d < 0 ? d + rank : d;
  if (r < 0 || r >= rank) fail(n, "dimension " + std::to_string(d) + " out of range for rank " + std::to_string(rank));
  return r;
}

void Importer::emit(tj::Node* n, Node node, const std::string& owner_hint) {
  node.name = unique_name(base_name(n, node.kind, owner_hint));
  node.source = source_of(n);
  const IValue& v = iv(n->output());
  Shape shape;
  if (v.isTensor()) shape = Shape(v.toTensor().sizes().begin(), v.toTensor().sizes().end());
  const ValueId id = graph_.add_value(node.name, shape);
  node.outputs.push_back(id);
  tensor_of_[n->output()] = id;
  graph_.add_node(std::move(node));
}

void Importer::emit_list(tj::Node* n, Node node) {
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

Shape Importer::out_shape(const tj::Node* n, size_t i) const {
  const IValue& v = iv(n->output(i));
  if (!v.isTensor()) fail(n, "output is not a tensor");
  return Shape(v.toTensor().sizes().begin(), v.toTensor().sizes().end());
}

}  // namespace mqcalib::import_detail
