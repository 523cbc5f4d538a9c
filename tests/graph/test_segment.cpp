// graph_segment (graph/segment.h): running a model in segments, each on the values the previous ones
// produced, gives the whole model's output bit for bit; inputs and outputs are the live values.
#include <doctest/doctest.h>

#include <map>

#include "exec/executor.h"
#include "graph/graph_builder.h"
#include "graph/segment.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

// input -> c1 -> r1 -> c2 -> add(c2, r1) -> r2 -> c3 -> out: a residual so r1 is live across c2.
Graph residual() {
  GraphBuilder b;
  const ValueId in = b.input("input");
  const ValueId r1 = b.unary(OpKind::Relu, "r1", b.conv("c1", in, 4, 2, 3));
  const ValueId c2 = b.conv("c2", r1, 4, 4, 3);
  const ValueId r2 = b.unary(OpKind::Relu, "r2", b.binary(OpKind::Add, "add", c2, r1));
  b.output(b.conv("c3", r2, 3, 4, 1));
  return b.g;
}

}  // namespace

TEST_CASE("graph_segment: live inputs and outputs; segments chained equal the whole run bit for bit") {
  const Graph g = residual();
  const ValueId r1 = g.find_value("r1"), c2 = g.find_value("c2");
  const Graph mid = graph_segment(g, 2, 3);  // c2 alone: reads r1, its output c2 is read by add
  CHECK(mid.inputs() == std::vector<ValueId>{r1});
  CHECK(mid.outputs() == std::vector<ValueId>{c2});
  const Graph head = graph_segment(g, 0, 2);  // c1, r1: r1 is read later (by c2 and add)
  CHECK(head.outputs() == std::vector<ValueId>{r1});
  GraphBuilder b;
  TensorF32 x = b.randn({3, 2, 5, 5});
  const TensorF32 whole = Executor(g).run({x}).at(0);
  for (size_t cut = 0; cut <= g.nodes().size(); ++cut) {
    CAPTURE(cut);
    const Graph a = graph_segment(g, 0, cut), rest = graph_segment(g, cut, g.nodes().size());
    std::map<ValueId, TensorF32> vals{{g.inputs()[0], x}};
    if (cut > 0) {  // an empty segment has no inputs and no outputs
      const std::vector<TensorF32> out = Executor(a).run({x});
      for (size_t k = 0; k < out.size(); ++k) vals[a.outputs()[k]] = out[k];
    } else {
      CHECK(a.inputs().empty());
    }
    std::vector<TensorF32> in;
    for (ValueId v : rest.inputs()) in.push_back(vals.at(v));
    const TensorF32 y = cut < g.nodes().size() ? Executor(rest).run(in).at(0) : vals.at(g.outputs()[0]);
    CHECK(y.vec() == whole.vec());
  }
  CHECK_THROWS(graph_segment(g, 3, 2));
  CHECK_THROWS(graph_segment(g, 0, 99));
}
