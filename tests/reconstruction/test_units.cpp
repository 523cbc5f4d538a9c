// Reconstruction units at every granularity on a hand-built ResNet-style graph: each node in exactly
// one unit, inputs / outputs as defined in reconstruction/unit.h, first and last layer on their own,
// stages by output resolution, network as one unit; errors.
#include <doctest/doctest.h>

#include <set>

#include "exec/executor.h"
#include "graph/blocks.h"
#include "graph/graph_builder.h"
#include "reconstruction/unit.h"
#include "reconstruction/unit_test_graphs.h"

using namespace mqcalib;
using mqcalib::test::ResNetLike;

namespace {

void check_cover(const Graph& g, const std::vector<Unit>& units) {
  std::vector<int> seen(g.nodes().size(), 0);
  size_t last = 0;
  for (const Unit& u : units) {
    CHECK(!u.nodes.empty());
    CHECK(u.nodes.front() >= last);  // topological order of units
    last = u.nodes.back();
    for (size_t i : u.nodes) ++seen[i];
    CHECK(!u.outputs.empty());
  }
  for (int s : seen) CHECK(s == 1);
}

}  // namespace

TEST_CASE("units: block granularity is the block partition, with inputs and outputs of each unit") {
  ResNetLike r;
  const std::vector<Unit> units = partition_units(r.b.g, UnitGranularity::Block);
  const std::vector<Block> blocks = partition_blocks(r.b.g);
  REQUIRE(units.size() == blocks.size());
  REQUIRE(units.size() == 5);
  check_cover(r.b.g, units);
  for (size_t k = 0; k < units.size(); ++k) {
    CHECK(units[k].nodes == blocks[k].nodes);
    CHECK(units[k].name == blocks[k].name);
    CHECK(units[k].weight_layers == blocks[k].weight_layers);
  }
  CHECK(units.front().kind == "first_layer");
  CHECK(units.back().kind == "last_layer");
  CHECK(units[1].inputs == std::vector<ValueId>{r.stem});
  CHECK(units[1].outputs == std::vector<ValueId>{r.b1});
  CHECK(units[2].outputs == std::vector<ValueId>{r.b2});
  CHECK(units.back().outputs == std::vector<ValueId>{r.logits});
}

TEST_CASE("units: layer granularity holds one weighted layer per unit") {
  ResNetLike r;
  const std::vector<Unit> units = partition_units(r.b.g, UnitGranularity::Layer);
  check_cover(r.b.g, units);
  CHECK(units.size() == 9);  // 9 conv / linear layers
  for (const Unit& u : units) CHECK(u.weight_layers == 1);
  CHECK(units.front().kind == "first_layer");
  CHECK(units.back().kind == "last_layer");
  CHECK(units.back().name == "fc");
  // layer1.0.conv2 with the add and relu after it: reads conv1's relu and the block input
  const Unit& c2 = units[2];
  CHECK(c2.name == "layer1.0.conv2");
  CHECK(c2.inputs.size() == 2);
  CHECK(c2.outputs == std::vector<ValueId>{r.b1});
}

TEST_CASE("units: stage granularity groups consecutive blocks by output resolution; network is one unit") {
  ResNetLike r;
  const std::vector<Unit> stages = partition_units(r.b.g, UnitGranularity::Stage);
  check_cover(r.b.g, stages);
  REQUIRE(stages.size() == 4);  // first layer, 8x8 (layer1.0), 4x4 (layer2.0 + layer2.1), last layer
  CHECK(stages[1].name == "layer1.0");
  CHECK(stages[2].name == "layer2");
  CHECK(stages[2].kind == "stage");
  CHECK(stages[2].inputs == std::vector<ValueId>{r.b1});
  CHECK(stages[2].outputs == std::vector<ValueId>{r.b3});
  CHECK(stages[2].weight_layers == 5);
  const std::vector<Unit> net = partition_units(r.b.g, UnitGranularity::Network);
  REQUIRE(net.size() == 1);
  check_cover(r.b.g, net);
  CHECK(net[0].inputs == std::vector<ValueId>{r.in});
  CHECK(net[0].outputs == std::vector<ValueId>{r.logits});
  const Unit rest = rest_of_graph_unit(r.b.g, stages[1]);
  CHECK(rest.inputs == std::vector<ValueId>{r.b1});
  CHECK(rest.outputs == std::vector<ValueId>{r.logits});
  CHECK(rest_of_graph_unit(r.b.g, stages.back()).nodes.empty());
}

TEST_CASE("units: granularity names and errors") {
  CHECK(parse_unit_granularity("stage") == UnitGranularity::Stage);
  CHECK_THROWS_WITH_AS(parse_unit_granularity("blocks"), doctest::Contains("expected layer, block, stage or network"),
                       Error);
  ResNetLike r;
  for (Value& v : r.b.g.values()) v.shape.clear();
  CHECK_THROWS_WITH_AS(partition_units(r.b.g, UnitGranularity::Stage), doctest::Contains("has no shape"), Error);
  CHECK_THROWS_AS(make_unit(r.b.g, {999}, "bad", "layer"), Error);
}
