// The graph-only parts of mqcalib::inspect() (`mqcalib inspect`): the JSON sections.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "api/inspect_report.h"
#include "graph/graph_builder.h"

using namespace mqcalib;
using namespace mqcalib::inspection;

TEST_CASE("inspect: JSON sections of a folded conv-bn-relu-linear graph") {
  mqcalib::testing::GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 8, 8});
  ValueId h = b.conv("conv1", x, 4, 3);
  h = b.bn("bn1", h, 4);
  h = b.unary(OpKind::Relu, "relu", h);
  h = b.op(OpKind::Flatten, "flatten", {h});
  h = b.linear("fc", h, 10, 256);
  b.output(h);
  const std::map<std::string, int> counts = op_counts(b.g);
  CHECK(counts.at("batch_norm") == 1);
  CHECK(counts.at("conv2d") == 1);
  const FoldReport r = fold_batchnorm(b.g);
  const nlohmann::json f = folded_json(r);
  REQUIRE(f["folded"].size() == 1);
  CHECK(f["folded"][0]["bn"] == "bn1");
  CHECK(f["folded"][0]["into"] == "conv1");
  const nlohmann::json nodes = nodes_json(b.g);
  REQUIRE(nodes.size() == 4);
  CHECK(nodes[0]["op"] == "conv2d");
  CHECK(nodes[0]["outputs"][0] == "bn1");
  CHECK(nodes[0]["folded"][0] == "bn1");
  const nlohmann::json bl = blocks_json(b.g, partition_blocks(b.g));
  REQUIRE(bl.size() == 2);
  CHECK(bl[0]["kind"] == "first_layer");
  CHECK(bl[1]["kind"] == "last_layer");
  CHECK(bl[1]["output"] == "fc");
  std::vector<WeightStats> ws = weight_stats(b.g);
  ws[0].channel_range_spread = std::numeric_limits<double>::infinity();
  const nlohmann::json wj = weights_json(ws);
  REQUIRE(wj.size() == 2);
  CHECK(wj[0]["channel_range_spread"].is_null());  // JSON has no infinity
  CHECK(wj[1]["sqnr_db"]["per_channel_int8"].get<double>() == doctest::Approx(ws[1].sqnr_per_channel_8));
}
