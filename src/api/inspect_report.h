// mqcalib/src/api/inspect_report.h: the pieces of mqcalib::inspect() (mqcalib/inspect.h) that need only
// the graph: the JSON sections and their text rendering.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "graph/blocks.h"
#include "graph/bn_fold.h"
#include "graph/ir.h"
#include "graph/weight_stats.h"

namespace mqcalib::inspection {

// Op counts by display name, e.g. {"conv2d": 20, "batch_norm": 20, ...}.
std::map<std::string, int> op_counts(const Graph& g);

// JSON sections (keys of the inspect document).
nlohmann::json nodes_json(const Graph& g);                                // [{name, op, inputs, outputs, folded}]
nlohmann::json io_json(const Graph& g, const std::vector<ValueId>& ids);  // [{name, shape}]
nlohmann::json folded_json(const FoldReport& r);  // {folded: [{bn, into}], unfolded: [{bn, reason}]}
nlohmann::json blocks_json(const Graph& g, const std::vector<Block>& blocks);
nlohmann::json weights_json(const std::vector<WeightStats>& w);  // +inf SQNR/spread written as null

// Text rendering of the same sections.
void print_summary(std::ostream& os, const Graph& g, const std::map<std::string, int>& counts_before_fold);
void print_folds(std::ostream& os, const FoldReport& r);
void print_blocks(std::ostream& os, const Graph& g, const std::vector<Block>& blocks);
void print_weights(std::ostream& os, const std::vector<WeightStats>& w);

}  // namespace mqcalib::inspection
