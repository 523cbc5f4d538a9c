// mqcalib/src/graph/bias_correction.h: analytic bias correction (DFQ, Nagel et al. 2019; REFERENCE.md
// section 9; docs/data_free.md): no data.
//
// Quantizing a layer's weight W to W_q shifts the expected output of channel o by
//   e_o = sum over input channels i and taps t of (W_q - W)[o, i, t] * E[x_i]
// where E[x_i] is the expected input of channel i from the BN-statistics model (graph/bn_ranges.h:
// for x = relu(z), z ~ N(mu, sigma^2), E[x] = sigma phi(mu/sigma) + mu Phi(mu/sigma); clipped normals for
// relu6 / hardtanh; sums through add; kept through pooling). bias_o -= e_o (a layer without a bias gets
// one). Zero padding is ignored (a border output reads fewer taps), as in DFQ. A layer whose input has
// no known mean (the first layer reads the image, whose mean the preprocessing does not give) is left
// alone and reported with the reason.
#pragma once

#include <string>
#include <vector>

#include "graph/bn_ranges.h"
#include "graph/ir.h"

namespace mqcalib {

struct BiasCorrection {
  std::string layer;
  std::vector<double> shift;  // e_o, subtracted from the bias; empty when skipped
  std::string skipped;        // why the layer was not corrected; empty when corrected
};

// quantized[k] is node k's quantized weight (same shape as its weight), or null for nodes left
// alone. dists: bn_value_dists of `g` (indexed by ValueId). Updates the biases of `g` in place.
std::vector<BiasCorrection> correct_bias_analytic(Graph& g, const std::vector<const TensorF32*>& quantized,
                                                  const std::vector<ValueDist>& dists);

// The shift e of one layer for expected inputs `expected_input` (one per input channel, or one for all).
std::vector<double> expected_output_shift(const Node& layer, const TensorF32& quantized_weight,
                                          const std::vector<double>& expected_input);

}  // namespace mqcalib
