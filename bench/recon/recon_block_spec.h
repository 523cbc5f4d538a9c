// mqcalib/bench/recon/recon_block_spec.h: the blocks bench_recon times, and their description for
// recon_torch.py (a JSON of nodes, quantizers and tensor offsets into a raw float32 .bin).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reconstruction/unit_runner.h"
#include "reconstruction/unit_train.h"

namespace mqcalib::bench {

constexpr int64_t kBatch = 32;
constexpr int kWeightBits = 4, kActBits = 4;
constexpr int kBenchIteration = 500;  // of train_options().iters: beta 13.25, past the 20% warm-up

struct BlockSpec {
  std::string name;  // "<model>/<unit>"
  std::shared_ptr<const Graph> graph_ptr;
  const Graph& graph;
  Unit unit;
  std::vector<SoftWeightSpec> soft;
  std::vector<ActQuantSpec> acts;
  std::vector<TensorF32> inputs, targets;  // FP values of the unit's inputs and outputs, batch kBatch
};

// The options of the timed iteration (QDrop's: rounding and steps, drop 0.5, iteration 500 of 1000).
UnitTrainOptions train_options();

// Every block (reconstruction/unit.h, block granularity) of examples/zoo/<model>.pt, BN folded.
std::vector<BlockSpec> zoo_blocks(const std::string& model);

// <base>.json and <base>.bin for recon_torch.py.
void write_block(const BlockSpec& b, const std::string& base);

}  // namespace mqcalib::bench
