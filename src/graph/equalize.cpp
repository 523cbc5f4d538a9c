// mqcalib/src/graph/equalize.cpp: cross-layer equalization (formulas in equalize.h).
#include "graph/equalize.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace mqcalib {

namespace {

// Scales row c of `layer` (weight, bias, BN statistics) by 1 / s.
void divide_output_channel(Node& layer, int64_t c, double s) {
  TensorF32& w = layer.params.weight;
  const int64_t per = w.size() / w.dim(0);
  for (int64_t k = 0; k < per; ++k) w[c * per + k] = static_cast<float>(static_cast<double>(w[c * per + k]) / s);
  if (!layer.params.bias.empty())
    layer.params.bias[c] = static_cast<float>(static_cast<double>(layer.params.bias[c]) / s);
  if (!layer.bn_stats.empty()) {
    const size_t i = static_cast<size_t>(c);
    layer.bn_stats.mean[i] = static_cast<float>(static_cast<double>(layer.bn_stats.mean[i]) / s);
    layer.bn_stats.std[i] = static_cast<float>(static_cast<double>(layer.bn_stats.std[i]) / s);
  }
}

// Scales every weight of `layer` reading input channel i by s.
void multiply_input_channel(Node& layer, int64_t i, double s) {
  const InputColumn col = input_column(layer, i);
  TensorF32& w = layer.params.weight;
  for (int64_t o = col.o_begin; o < col.o_end; ++o)
    for (int64_t t = 0; t < col.taps; ++t) {
      float& v = w[col.offset(o, t)];
      v = static_cast<float>(static_cast<double>(v) * s);
    }
}

// One equalization step of a pair; returns max_i |s_i - 1| and multiplies `cumulative` by the s_i.
double equalize_pair(Graph& g, const LayerPair& p, std::vector<double>& cumulative) {
  Node& first = g.nodes()[p.first];
  Node& second = g.nodes()[p.second];
  const int64_t channels = first.params.weight.dim(0);
  double change = 0.0;
  for (int64_t i = 0; i < channels; ++i) {
    const double r1 = row_absmax(first, i), r2 = column_absmax(second, i);
    if (!(r1 > 0.0) || !(r2 > 0.0) || !std::isfinite(r1) || !std::isfinite(r2)) continue;
    const double s = std::sqrt(r1 / r2);
    divide_output_channel(first, i, s);
    multiply_input_channel(second, i, s);
    cumulative[static_cast<size_t>(i)] *= s;
    change = std::max(change, std::fabs(s - 1.0));
  }
  return change;
}

}  // namespace

std::string_view to_string(Relu6Policy p) { return p == Relu6Policy::ReplaceByRelu ? "relu" : "skip"; }

EqualizeReport equalize_cross_layer(Graph& g, const EqualizeOptions& o) {
  if (o.max_sweeps <= 0) throw Error("equalization: max_sweeps must be positive, got " + std::to_string(o.max_sweeps));
  if (!(o.tolerance > 0.0)) throw Error("equalization: tolerance must be positive");
  EqualizeReport rep;
  std::vector<LayerPair> pairs;
  for (const LayerPair& p : find_layer_pairs(g)) {
    const std::string names = g.nodes()[p.first].name + " -> " + g.nodes()[p.second].name;
    if (p.join == JoinKind::Relu6 && o.relu6 == Relu6Policy::Skip) {
      rep.relu6_skipped.push_back(names);
      continue;
    }
    pairs.push_back(p);
    rep.pairs.push_back({g.nodes()[p.first].name, g.nodes()[p.second].name, p.join,
                         std::vector<double>(static_cast<size_t>(g.nodes()[p.first].params.weight.dim(0)), 1.0)});
  }
  for (const LayerPair& p : pairs)
    if (p.join == JoinKind::Relu6) {
      Node& j = g.nodes()[static_cast<size_t>(p.join_node)];
      j.kind = OpKind::Relu;
      rep.relu6_replaced.push_back(j.name);
    }
  for (rep.sweeps = 1; rep.sweeps <= o.max_sweeps; ++rep.sweeps) {
    rep.last_change = 0.0;
    for (size_t k = 0; k < pairs.size(); ++k)
      rep.last_change = std::max(rep.last_change, equalize_pair(g, pairs[k], rep.pairs[k].scales));
    if (rep.last_change <= o.tolerance) break;
  }
  rep.sweeps = std::min(rep.sweeps, o.max_sweeps);
  return rep;
}

}  // namespace mqcalib
