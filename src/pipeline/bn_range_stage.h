// mqcalib/src/pipeline/bn_range_stage.h: the data-free activation stage: every planned activation's
// range from the BN statistics (graph/bn_ranges.h; DFQ, docs/data_free.md) instead of an observer over
// a sample store. The range of a point is the union over its channels of the rule's [lo_c, hi_c];
// params follow with choose_activation_params (shared-scale groups take the union). The graph input's
// range is the preprocessed pixel range (pixels in [0, 1] after x / 255: (0 - mean_c) / std_c ..
// (1 - mean_c) / std_c). Report statistics (ActStats) are the model's: min / max the range, rms from the
// moments where known (0 otherwise).
#pragma once

#include <vector>

#include "data/dataset.h"
#include "graph/bn_ranges.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"

namespace mqcalib {

inline constexpr const char* kBnRangeObserver = "bn_stats";  // ActQuant::observer of these points

// The input ranges of `g`'s inputs from a preprocessing (every input the same: the engine's models
// take one image). Throws Error when the preprocessing does not scale pixels to [0, 1].
std::vector<InputRange> input_ranges(const Graph& g, const Preprocess& preprocess);

// One ActQuant per planned activation, in plan order. Throws Error naming the tensor when no rule
// reaches it (it depends on a value with no known range): such a model needs calibration data.
std::vector<ActQuant> bn_range_activations(const Graph& g, const QuantPlan& plan, const std::vector<InputRange>& inputs,
                                           double sigmas);

}  // namespace mqcalib
