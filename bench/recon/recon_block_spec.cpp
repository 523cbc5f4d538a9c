// mqcalib/bench/recon/recon_block_spec.cpp: see recon_block_spec.h.
#include "recon_block_spec.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "reconstruction/round_regularizer.h"

namespace mqcalib::bench {

namespace {

// Symmetric per-channel grid (axis 0) from the weight's min-max.
QParams weight_grid(const TensorF32& w) {
  QScheme s;
  s.bits = kWeightBits;
  s.granularity = Granularity::PerChannel;
  Range r;
  const int64_t inner = w.size() / w.dim(0);
  for (int64_t o = 0; o < w.dim(0); ++o) {
    const auto b = w.vec().begin() + o * inner;
    r.min.push_back(*std::min_element(b, b + inner));
    r.max.push_back(*std::max_element(b, b + inner));
  }
  return choose_qparams(s, r, "weight");
}

// Unsigned asymmetric for non-negative values, signed symmetric otherwise, from min-max.
QParams act_grid(const TensorF32& x) {
  QScheme s;
  s.bits = kActBits;
  const float lo = *std::min_element(x.vec().begin(), x.vec().end());
  const float hi = *std::max_element(x.vec().begin(), x.vec().end());
  if (lo >= 0.0f) {
    s.signedness = Signedness::Unsigned;
    s.symmetry = Symmetry::Asymmetric;
  }
  return choose_qparams(s, Range{{lo}, {hi}}, "activation");
}

bool weighted(const Node& n) { return n.kind == OpKind::Conv2d || n.kind == OpKind::Linear; }

}  // namespace

UnitTrainOptions train_options() {
  UnitTrainOptions o;
  o.iters = 1000;
  o.batch = static_cast<int>(kBatch);
  o.learn_rounding = o.learn_steps = o.act_quant = true;
  o.drop_prob = 0.5f;
  o.p = 2.0f;
  o.step_lr = 4e-5f;
  o.step_lr_cosine = false;
  return o;
}

std::vector<BlockSpec> zoo_blocks(const std::string& model) {
  ImportOptions io;
  io.input_shape = {1, 1, 28, 28};
  auto g = std::make_shared<Graph>(import_torchscript(MQCALIB_SOURCE_ROOT "/examples/zoo/" + model + ".pt", io));
  fold_batchnorm(*g);
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-0.81f, 2.03f);  // the preprocessed Fashion-MNIST range
  TensorF32 x({kBatch, 1, 28, 28});
  for (float& v : x.vec()) v = u(rng);
  std::map<ValueId, TensorF32> fp;
  Executor(*g).run({x}, [&](ValueId v, TensorF32& t) { fp[v] = t; });
  std::vector<bool> read_by_layer(g->values().size(), false);
  for (const Node& n : g->nodes())
    if (weighted(n)) read_by_layer[static_cast<size_t>(n.inputs[0])] = true;
  std::vector<BlockSpec> out;
  for (const Unit& unit : partition_units(*g, UnitGranularity::Block)) {
    BlockSpec b{model + "/" + unit.name, g, *g, unit, {}, {}, {}, {}};
    int step = 0;
    for (size_t i : unit.nodes) {
      const Node& n = g->nodes()[i];
      if (weighted(n)) b.soft.push_back({i, weight_grid(n.params.weight)});
      for (ValueId v : n.outputs)
        if (read_by_layer[static_cast<size_t>(v)]) b.acts.push_back({v, act_grid(fp.at(v)), false, step++});
    }
    for (ValueId v : unit.inputs) b.inputs.push_back(fp.at(v));
    for (ValueId v : unit.outputs) b.targets.push_back(fp.at(v));
    out.push_back(std::move(b));
  }
  return out;
}

void write_block(const BlockSpec& b, const std::string& base) {
  const Graph& g = b.graph;
  std::ofstream bin(base + ".bin", std::ios::binary);
  int64_t at = 0;
  nlohmann::json tensors = nlohmann::json::object();
  auto put = [&](const std::string& name, const float* d, const Shape& s) {
    bin.write(reinterpret_cast<const char*>(d), static_cast<std::streamsize>(sizeof(float) * numel(s)));
    tensors[name] = {{"offset", at}, {"shape", s}};
    at += numel(s);
  };
  nlohmann::json j, nodes = nlohmann::json::array(), soft = nlohmann::json::array(), acts = nlohmann::json::array();
  j["name"] = b.name;
  for (size_t i : b.unit.nodes) {
    const Node& n = g.nodes()[i];
    nlohmann::json nj = {{"kind", std::string(op_name(n.kind))}, {"name", n.name}};
    for (ValueId v : n.inputs) nj["inputs"].push_back(g.value(v).name);
    for (ValueId v : n.outputs) nj["outputs"].push_back(g.value(v).name);
    const Attrs& a = n.attrs;
    nj["stride"] = a.stride, nj["padding"] = a.padding, nj["dilation"] = a.dilation, nj["groups"] = a.groups;
    nj["output_size"] = a.output_size, nj["start_dim"] = a.start_dim, nj["end_dim"] = a.end_dim;
    nj["has_scalar"] = a.has_scalar, nj["scalar"] = a.scalar, nj["min_val"] = a.min_val, nj["max_val"] = a.max_val;
    if (weighted(n)) {
      put(n.name + ".weight", n.params.weight.data(), n.params.weight.shape());
      if (!n.params.bias.empty()) put(n.name + ".bias", n.params.bias.data(), n.params.bias.shape());
    }
    nodes.push_back(nj);
  }
  for (const SoftWeightSpec& s : b.soft) {
    const std::string name = g.nodes()[s.node].name;
    put(name + ".scale", s.qparams.scale.data(), {static_cast<int64_t>(s.qparams.scale.size())});
    soft.push_back({{"node", name}, {"qmin", s.qparams.qmin}, {"qmax", s.qparams.qmax}});
  }
  for (const ActQuantSpec& a : b.acts)
    acts.push_back({{"value", g.value(a.value).name},
                    {"scale", a.qparams.scale[0]},
                    {"zero_point", a.qparams.zero_point[0]},
                    {"qmin", a.qparams.qmin},
                    {"qmax", a.qparams.qmax}});
  for (size_t k = 0; k < b.inputs.size(); ++k) {
    put("input:" + g.value(b.unit.inputs[k]).name, b.inputs[k].data(), b.inputs[k].shape());
    j["inputs"].push_back(g.value(b.unit.inputs[k]).name);
  }
  for (size_t k = 0; k < b.targets.size(); ++k) {
    put("target:" + g.value(b.unit.outputs[k]).name, b.targets[k].data(), b.targets[k].shape());
    j["outputs"].push_back(g.value(b.unit.outputs[k]).name);
  }
  const UnitTrainOptions o = train_options();
  j["nodes"] = nodes, j["soft"] = soft, j["acts"] = acts, j["tensors"] = tensors;
  j["lambda"] = o.rounding.lambda, j["drop_prob"] = o.drop_prob, j["step_lr"] = o.step_lr, j["lr"] = o.rounding.lr;
  j["beta"] = round_regularizer_beta(kBenchIteration, o.iters, o.rounding.warmup, o.rounding.beta_start,
                                     o.rounding.beta_end, o.rounding.beta_schedule);
  std::ofstream(base + ".json") << j.dump(1);
}

}  // namespace mqcalib::bench
