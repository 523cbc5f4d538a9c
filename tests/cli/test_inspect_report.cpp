// The graph-only parts of `mqcalib inspect`: shape parsing, JSON sections, atomic writes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include "cli/inspect_report.h"
#include "graph/graph_builder.h"

using namespace mqcalib;
using namespace mqcalib::cli;

TEST_CASE("inspect: parse_shape accepts positive integer lists and names the option on errors") {
  CHECK(parse_shape("1,1,28,28", "--input-shape") == Shape{1, 1, 28, 28});
  CHECK(parse_shape("7", "--input-shape") == Shape{7});
  for (const char* bad : {"", "1,,2", "1,x,3", "1,-1", "0,3", "1, 2", "1,2,"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_shape(bad, "--input-shape"), doctest::Contains("--input-shape"), Error);
  }
}

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

TEST_CASE("inspect: write_json_atomic leaves the document and no .tmp; a bad path is an error naming it") {
  const std::string path = "test_inspect_report_out.json";
  write_json_atomic(nlohmann::json{{"a", 1}}, path);
  std::ifstream f(path);
  REQUIRE(f.good());
  nlohmann::json back;
  f >> back;
  CHECK(back["a"] == 1);
  CHECK(!std::ifstream(path + ".tmp").good());
  std::remove(path.c_str());
  CHECK_THROWS_WITH_AS(write_json_atomic(nlohmann::json{}, "/nonexistent_dir/x.json"),
                       doctest::Contains("/nonexistent_dir/x.json"), Error);
}
