#include <doctest/doctest.h>

#include "graph/ir.h"

using namespace mqcalib;

TEST_CASE("graph: validate rejects a read before the write and names the node") {
  Graph g;
  ValueId in = g.add_value("input", {1, 3});
  ValueId a = g.add_value("a");
  ValueId b = g.add_value("b");
  g.inputs().push_back(in);
  Node n1;
  n1.kind = OpKind::Relu;
  n1.name = "relu";
  n1.inputs = {b};
  n1.outputs = {a};
  g.add_node(n1);
  g.outputs().push_back(a);
  CHECK_THROWS_WITH_AS(g.validate(), doctest::Contains("'relu'"), Error);
  g.nodes()[0].inputs = {in};
  CHECK_NOTHROW(g.validate());
  CHECK(g.producer(a) == 0);
  CHECK(g.producer(in) == -1);
  CHECK(g.consumers(in) == std::vector<size_t>{0});
  CHECK(op_name(OpKind::AdaptiveAvgPool2d) == "adaptive_avg_pool2d");
}
