// mqcalib/src/graph/bias_correction.cpp: analytic bias correction (formula in bias_correction.h).
#include "graph/bias_correction.h"

#include "core/error.h"
#include "graph/layer_pairs.h"

namespace mqcalib {

std::vector<double> expected_output_shift(const Node& layer, const TensorF32& wq,
                                          const std::vector<double>& expected_input) {
  const TensorF32& w = layer.params.weight;
  if (wq.shape() != w.shape())
    throw Error("bias correction: '" + layer.name + "': quantized weight " + shape_to_string(wq.shape()) +
                " for weight " + shape_to_string(w.shape()));
  const int64_t in_ch = input_channels(layer);
  if (expected_input.size() != 1 && static_cast<int64_t>(expected_input.size()) != in_ch)
    throw Error("bias correction: '" + layer.name + "': " + std::to_string(expected_input.size()) +
                " expected inputs for " + std::to_string(in_ch) + " input channels");
  std::vector<double> e(static_cast<size_t>(w.dim(0)), 0.0);
  for (int64_t i = 0; i < in_ch; ++i) {
    const double ex = expected_input[expected_input.size() == 1 ? 0 : static_cast<size_t>(i)];
    const InputColumn col = input_column(layer, i);
    for (int64_t o = col.o_begin; o < col.o_end; ++o) {
      double acc = 0.0;
      for (int64_t t = 0; t < col.taps; ++t) {
        const int64_t k = col.offset(o, t);
        acc += static_cast<double>(wq[k]) - static_cast<double>(w[k]);
      }
      e[static_cast<size_t>(o)] += acc * ex;
    }
  }
  return e;
}

std::vector<BiasCorrection> correct_bias_analytic(Graph& g, const std::vector<const TensorF32*>& quantized,
                                                  const std::vector<ValueDist>& dists) {
  if (quantized.size() != g.nodes().size())
    throw Error("bias correction: " + std::to_string(quantized.size()) + " quantized weights for " +
                std::to_string(g.nodes().size()) + " nodes");
  if (dists.size() != g.values().size()) throw Error("bias correction: value models do not match the graph");
  std::vector<BiasCorrection> out;
  for (size_t k = 0; k < g.nodes().size(); ++k) {
    Node& n = g.nodes()[k];
    if (!quantized[k] || (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear)) continue;
    BiasCorrection bc;
    bc.layer = n.name;
    const ValueDist& x = dists.at(static_cast<size_t>(n.inputs.at(0)));
    const int64_t in_ch = input_channels(n);
    if (!x.has_moments()) {
      bc.skipped = "the mean of its input '" + g.value(n.inputs[0]).name + "' is unknown (" +
                   (x.known() ? "rule " + x.rule + " gives a range only" : std::string("no rule reaches it")) + ")";
    } else if (x.channels() != 1 && x.channels() != in_ch) {
      bc.skipped = "its input model has " + std::to_string(x.channels()) + " channels for " + std::to_string(in_ch) +
                   " input channels";
    } else {
      bc.shift = expected_output_shift(n, *quantized[k], x.mean);
      if (n.params.bias.empty()) n.params.bias = TensorF32(Shape{n.params.weight.dim(0)}, 0.0f);
      for (size_t o = 0; o < bc.shift.size(); ++o) {
        float& b = n.params.bias[static_cast<int64_t>(o)];
        b = static_cast<float>(static_cast<double>(b) - bc.shift[o]);
      }
    }
    out.push_back(std::move(bc));
  }
  return out;
}

}  // namespace mqcalib
