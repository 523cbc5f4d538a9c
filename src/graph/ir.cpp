#include "graph/ir.h"

#include <set>

#include "core/error.h"

namespace mqcalib {

std::string_view op_name(OpKind k) {
  switch (k) {
#define MQCALIB_X(e, s) \
  case OpKind::e:       \
    return s;
    MQCALIB_OP_KINDS(MQCALIB_X)
#undef MQCALIB_X
  }
  return "?";
}

ValueId Graph::add_value(std::string name, Shape shape) {
  Value v;
  v.name = std::move(name);
  v.shape = std::move(shape);
  v.id = static_cast<ValueId>(values_.size());
  values_.push_back(std::move(v));
  return values_.back().id;
}

size_t Graph::add_node(Node n) {
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

ValueId Graph::find_value(std::string_view name) const {
  for (const Value& v : values_)
    if (v.name == name) return v.id;
  throw Error("graph: no tensor named '" + std::string(name) + "'");
}

std::unordered_map<std::string, ValueId> Graph::value_ids_by_name() const {
  std::unordered_map<std::string, ValueId> m;
  for (const Value& v : values_) m.emplace(v.name, v.id);
  return m;
}

std::unordered_map<std::string, size_t> Graph::node_indices_by_name() const {
  std::unordered_map<std::string, size_t> m;
  for (size_t i = 0; i < nodes_.size(); ++i) m.emplace(nodes_[i].name, i);
  return m;
}

const Node& Graph::find_node(std::string_view name) const {
  for (const Node& n : nodes_)
    if (n.name == name) return n;
  throw Error("graph: no node named '" + std::string(name) + "'");
}

int64_t Graph::producer(ValueId v) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (ValueId o : nodes_[i].outputs)
      if (o == v) return static_cast<int64_t>(i);
  return -1;
}

std::vector<size_t> Graph::consumers(ValueId v) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (ValueId in : nodes_[i].inputs)
      if (in == v) {
        out.push_back(i);
        break;
      }
  return out;
}

void Graph::erase_nodes(const std::vector<bool>& dead) {
  if (dead.size() != nodes_.size()) throw Error("graph: erase_nodes mask has the wrong size");
  std::vector<Node> kept;
  kept.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!dead[i]) kept.push_back(std::move(nodes_[i]));
  nodes_ = std::move(kept);
}

void Graph::replace_uses(ValueId from, ValueId to) {
  for (Node& n : nodes_)
    for (ValueId& in : n.inputs)
      if (in == from) in = to;
  for (ValueId& o : outputs_)
    if (o == from) o = to;
}

void Graph::validate() const {
  std::vector<bool> defined(values_.size(), false);
  for (ValueId v : inputs_) {
    if (v < 0 || static_cast<size_t>(v) >= values_.size()) throw Error("graph: input id out of range");
    defined[static_cast<size_t>(v)] = true;
  }
  std::set<std::string> names;
  for (const Node& n : nodes_) {
    if (!names.insert(n.name).second) throw Error("graph: duplicate node name '" + n.name + "'");
    for (ValueId v : n.inputs) {
      if (v < 0 || static_cast<size_t>(v) >= values_.size())
        throw Error("graph: node '" + n.name + "' reads an undefined tensor id " + std::to_string(v));
      if (!defined[static_cast<size_t>(v)])
        throw Error("graph: node '" + n.name + "' (" + std::string(op_name(n.kind)) + ") reads '" +
                    values_[static_cast<size_t>(v)].name + "' before it is produced");
    }
    for (ValueId v : n.outputs) {
      if (v < 0 || static_cast<size_t>(v) >= values_.size())
        throw Error("graph: node '" + n.name + "' writes an undefined tensor id");
      defined[static_cast<size_t>(v)] = true;
    }
  }
  for (ValueId v : outputs_)
    if (v < 0 || static_cast<size_t>(v) >= values_.size() || !defined[static_cast<size_t>(v)])
      throw Error("graph: an output tensor is never produced");
}

}  // namespace mqcalib
