// mqcalib/src/export/onnx_qdq.cpp: the QDQ ONNX export (see onnx_qdq.h): builder helpers, the graph
// assembly with its quantizers, the checker and the file.
#include "export/onnx_qdq.h"

#include <onnx/checker.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exec/executor.h"
#include "export/atomic_file.h"
#include "export/onnx_builder.h"

namespace mqcalib {

namespace onnx_export {

void Builder::claim(const std::string& name) {
  if (!names_.insert(name).second) throw Error("onnx export: tensor or node name '" + name + "' is used twice");
}

std::string Builder::fresh(const std::string& base) {
  std::string n = base;
  for (int i = 1; names_.count(n); ++i) n = base + "_" + std::to_string(i);
  return n;
}

onnx::NodeProto* Builder::node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                               const std::vector<std::string>& outputs) {
  onnx::NodeProto* n = g_->add_node();
  n->set_op_type(op);
  std::string unique = name;
  for (int i = 1; node_names_.count(unique); ++i) unique = name + "_" + std::to_string(i);
  node_names_.insert(unique);
  n->set_name(unique);
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) {
    claim(o);
    n->add_output(o);
  }
  return n;
}

void Builder::ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void Builder::integer(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void Builder::real(onnx::NodeProto* n, const std::string& name, float v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

namespace {
template <class T>
onnx::TensorProto* raw_initializer(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                                   const std::vector<T>& v, int type) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));  // x86: little-endian
  return t;
}
}  // namespace

std::string Builder::f32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
  claim(name);
  raw_initializer(g_, name, dims, v, onnx::TensorProto::FLOAT);
  return name;
}

std::string Builder::i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& v) {
  claim(name);
  raw_initializer(g_, name, dims, v, onnx::TensorProto::INT64);
  return name;
}

std::string Builder::i32(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v) {
  claim(name);
  raw_initializer(g_, name, dims, v, onnx::TensorProto::INT32);
  return name;
}

std::string Builder::i8(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int32_t>& v,
                        bool is_signed) {
  claim(name);
  const int lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  std::vector<uint8_t> bytes;
  for (int32_t x : v) {
    if (x < lo || x > hi)
      throw Error("onnx export: '" + name + "' holds " + std::to_string(x) + ", outside " +
                  (is_signed ? "int8" : "uint8"));
    bytes.push_back(static_cast<uint8_t>(is_signed ? static_cast<uint8_t>(static_cast<int8_t>(x)) : x));
  }
  raw_initializer(g_, name, dims, bytes, is_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
  return name;
}

std::vector<Shape> value_shapes(const Graph& g) {
  std::vector<Shape> shapes(g.values().size());
  std::vector<TensorF32> inputs;
  for (ValueId v : g.inputs()) {
    Shape s = g.value(v).shape;
    if (s.empty()) throw Error("onnx export: graph input '" + g.value(v).name + "' has no example shape");
    s[0] = 1;
    inputs.emplace_back(s);
  }
  Executor(g).run(inputs, [&](ValueId v, TensorF32& t) { shapes[static_cast<size_t>(v)] = t.shape(); });
  return shapes;
}

std::string add_qdq(Builder& b, const std::string& tensor, const ActQ& q) {
  const bool is_signed = q.qmin < 0;
  const std::string s = b.f32(tensor + "_scale", {}, {q.scale});
  const std::string z = b.i8(tensor + "_zero_point", {}, {q.zp}, is_signed);
  b.node("QuantizeLinear", tensor + "_QuantizeLinear", {tensor, s, z}, {tensor + "_quantized"});
  b.node("DequantizeLinear", tensor + "_DequantizeLinear", {tensor + "_quantized", s, z}, {tensor + "_dequantized"});
  return tensor + "_dequantized";
}

}  // namespace onnx_export

namespace {

void value_info(onnx::ValueInfoProto* vi, const std::string& name, const Shape& shape,
                int type = onnx::TensorProto::FLOAT) {
  vi->set_name(name);
  onnx::TypeProto_Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  onnx::TensorShapeProto* sp = tt->mutable_shape();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == 0)
      sp->add_dim()->set_dim_param("batch");
    else
      sp->add_dim()->set_dim_value(shape[i]);
  }
}

onnx::ModelProto build_model(const IntModel& m, const QdqOnnxOptions& options) {
  const Graph& g = *m.graph;
  onnx::ModelProto model;
  model.set_ir_version(7);  // opset 13's IR version
  model.set_producer_name("mqcalib");
  model.set_producer_version(MQCALIB_VERSION);
  model.set_doc_string("QDQ export of a calibrated model for backend '" + m.backend + "' (mqcalib)");
  onnx::OperatorSetIdProto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(kQdqOnnxOpset);
  onnx::GraphProto* gp = model.mutable_graph();
  gp->set_name("mqcalib_qdq");
  onnx_export::Builder b(gp);
  const std::vector<Shape> shapes = onnx_export::value_shapes(g);
  std::vector<std::string> read_as(g.values().size());  // the name readers read
  auto produce = [&](ValueId v) {
    const size_t u = static_cast<size_t>(v);
    read_as[u] = m.act[u] ? onnx_export::add_qdq(b, g.value(v).name, *m.act[u]) : g.value(v).name;
  };
  auto read = [&](ValueId v) { return read_as.at(static_cast<size_t>(v)); };
  for (ValueId v : g.inputs()) {
    value_info(gp->add_input(), g.value(v).name, shapes[static_cast<size_t>(v)]);
    produce(v);
  }
  for (size_t k = 0; k < g.nodes().size(); ++k) {
    const Node& n = g.nodes()[k];
    std::vector<std::string> in, out;
    for (ValueId v : n.inputs) in.push_back(read(v));
    for (ValueId v : n.outputs) out.push_back(g.value(v).name);
    onnx_export::emit_node(b, m, shapes, k, in, out);
    for (ValueId v : n.outputs) produce(v);
  }
  for (ValueId v : g.outputs()) value_info(gp->add_output(), read(v), shapes[static_cast<size_t>(v)]);
  if (options.expose_codes)
    for (size_t v = 0; v < g.values().size(); ++v)
      if (m.act[v])
        value_info(gp->add_output(), g.values()[v].name + "_quantized", shapes[v],
                   m.act[v]->qmin < 0 ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
  return model;
}

}  // namespace

bool writes_qdq_onnx(const std::string& backend, const std::vector<std::string>& exports) {
  static const std::vector<std::string> kQdqRuntimes = {"ort", "tensorrt", "openvino"};
  return std::find(kQdqRuntimes.begin(), kQdqRuntimes.end(), backend) != kQdqRuntimes.end() ||
         std::find(exports.begin(), exports.end(), "onnx") != exports.end();
}

std::string qdq_onnx_bytes(const IntModel& m, const QdqOnnxOptions& options) {
  if (!m.graph) throw Error("onnx export: the integer model has no graph");
  const onnx::ModelProto model = build_model(m, options);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(std::string("onnx export: ONNX's checker rejects the model: ") + e.what());
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("onnx export: cannot serialize the model");
  return bytes;
}

void write_qdq_onnx(const IntModel& m, const std::string& path, const QdqOnnxOptions& options) {
  write_file_atomic(path, qdq_onnx_bytes(m, options));
}

std::vector<std::pair<std::string, std::string>> onnx_nodes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("onnx file '" + path + "': cannot open it");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&f)) throw Error("onnx file '" + path + "': not a valid ONNX model");
  std::vector<std::pair<std::string, std::string>> nodes;
  for (const onnx::NodeProto& n : model.graph().node()) nodes.emplace_back(n.op_type(), n.name());
  return nodes;
}

std::vector<std::string> onnx_op_types(const std::string& path) {
  std::vector<std::string> ops;
  for (const auto& n : onnx_nodes(path)) ops.push_back(n.first);
  return ops;
}

}  // namespace mqcalib
