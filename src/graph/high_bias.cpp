// mqcalib/src/graph/high_bias.cpp: high-bias absorption (formulas in high_bias.h).
#include "graph/high_bias.h"

#include <algorithm>

#include "core/error.h"
#include "graph/layer_pairs.h"

namespace mqcalib {

std::vector<AbsorbedBias> absorb_high_biases(Graph& g, double sigmas) {
  if (!(sigmas >= 0.0)) throw Error("high-bias absorption: sigmas must be >= 0");
  std::vector<AbsorbedBias> out;
  for (const LayerPair& p : find_layer_pairs(g)) {
    Node& first = g.nodes()[p.first];
    Node& second = g.nodes()[p.second];
    if (p.join != JoinKind::Relu || first.bn_stats.empty() || first.params.bias.empty()) continue;
    const int64_t channels = first.params.weight.dim(0);
    if (static_cast<int64_t>(first.bn_stats.mean.size()) != channels)
      throw Error("high-bias absorption: '" + first.name + "' has BN statistics for " +
                  std::to_string(first.bn_stats.mean.size()) + " channels, its weight " + std::to_string(channels));
    if (second.params.bias.empty()) second.params.bias = TensorF32(Shape{second.params.weight.dim(0)}, 0.0f);
    AbsorbedBias rec{first.name, second.name, std::vector<double>(static_cast<size_t>(channels), 0.0)};
    std::vector<double> add(static_cast<size_t>(second.params.weight.dim(0)), 0.0);
    bool any = false;
    for (int64_t i = 0; i < channels; ++i) {
      const size_t ci = static_cast<size_t>(i);
      const double c = std::max(
          0.0, static_cast<double>(first.bn_stats.mean[ci]) - sigmas * static_cast<double>(first.bn_stats.std[ci]));
      if (c <= 0.0) continue;
      any = true;
      rec.absorbed[ci] = c;
      first.params.bias[i] = static_cast<float>(static_cast<double>(first.params.bias[i]) - c);
      first.bn_stats.mean[ci] = static_cast<float>(static_cast<double>(first.bn_stats.mean[ci]) - c);
      const InputColumn col = input_column(second, i);
      for (int64_t o = col.o_begin; o < col.o_end; ++o)
        for (int64_t t = 0; t < col.taps; ++t)
          add[static_cast<size_t>(o)] += static_cast<double>(second.params.weight[col.offset(o, t)]) * c;
    }
    if (!any) continue;
    for (size_t o = 0; o < add.size(); ++o)
      second.params.bias[static_cast<int64_t>(o)] =
          static_cast<float>(static_cast<double>(second.params.bias[static_cast<int64_t>(o)]) + add[o]);
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace mqcalib
