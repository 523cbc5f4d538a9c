// Block partition on hand-built graphs shaped like ResNet, MobileNetV2, Inception, ShuffleNet and an
// inverted residual with squeeze-excite. Names are deliberately unhelpful in one test to show that
// only the structure is used.
#include <doctest/doctest.h>

#include <set>

#include "graph/blocks.h"
#include "graph_builder.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

namespace {

// Every node in exactly one block; blocks in topological order.
void check_cover(const Graph& g, const std::vector<Block>& blocks) {
  std::vector<int> seen(g.nodes().size(), 0);
  size_t prev_first = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    REQUIRE(!blocks[i].nodes.empty());
    if (i) CHECK(blocks[i].nodes.front() > prev_first);
    prev_first = blocks[i].nodes.front();
    for (size_t k : blocks[i].nodes) ++seen[k];
  }
  for (size_t k = 0; k < seen.size(); ++k) {
    CAPTURE(g.nodes()[k].name);
    CHECK(seen[k] == 1);
  }
}

std::vector<BlockKind> kinds(const std::vector<Block>& b) {
  std::vector<BlockKind> k;
  for (const Block& x : b) k.push_back(x.kind);
  return k;
}

// BasicBlock: conv-relu-conv + shortcut (identity or 1x1 downsample) -> add -> relu.
ValueId basic_block(GraphBuilder& b, const std::string& p, ValueId x, int64_t cin, int64_t cout) {
  ValueId c1 = b.conv(p + ".conv1", x, cout, cin);
  ValueId r1 = b.unary(OpKind::Relu, p + ".relu", c1);
  ValueId c2 = b.conv(p + ".conv2", r1, cout, cout);
  ValueId sc = cin == cout ? x : b.conv(p + ".downsample.0", x, cout, cin, 1);
  ValueId s = b.binary(OpKind::Add, p + ".add", c2, sc);
  return b.unary(OpKind::Relu, p + ".relu_1", s);
}

// Inverted residual: [expand 1x1 + relu6] dw 3x3 + relu6, project 1x1 (+ shortcut add).
ValueId inverted_residual(GraphBuilder& b, const std::string& p, ValueId x, int64_t cin, int64_t cout, int64_t t,
                          bool shortcut) {
  ValueId h = x;
  int64_t ch = cin;
  int k = 0;
  if (t != 1) {
    ch = cin * t;
    h = b.conv(p + ".conv.0.0", h, ch, cin, 1);
    h = b.unary(OpKind::Relu6, p + ".conv.0.2", h);
    k = 1;
  }
  h = b.conv(p + ".conv." + std::to_string(k) + ".0", h, ch, ch, 3, ch);
  h = b.unary(OpKind::Relu6, p + ".conv." + std::to_string(k) + ".2", h);
  h = b.conv(p + ".conv." + std::to_string(k + 1), h, cout, ch, 1);
  if (shortcut) h = b.binary(OpKind::Add, p + ".add", x, h);
  return h;
}

}  // namespace

TEST_CASE("blocks: ResNet-like graph: stem, residual blocks with and without downsample, classifier") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("conv1", x, 8, 3);
  h = b.unary(OpKind::Relu, "relu", h);
  h = b.op(OpKind::MaxPool2d, "maxpool", {h});
  const ValueId stem_out = h;
  h = basic_block(b, "layer1.0", h, 8, 8);
  const ValueId l10 = h;
  h = basic_block(b, "layer1.1", h, 8, 8);
  h = basic_block(b, "layer2.0", h, 8, 16);
  h = b.op(OpKind::AdaptiveAvgPool2d, "avgpool", {h});
  h = b.op(OpKind::Flatten, "flatten", {h});
  h = b.linear("fc", h, 10, 16);
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  REQUIRE(kinds(blocks) == std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Residual, BlockKind::Residual,
                                                  BlockKind::Residual, BlockKind::LastLayer});
  CHECK(blocks[0].name == "conv1");
  CHECK(blocks[0].output == stem_out);
  CHECK(blocks[1].name == "layer1.0");
  CHECK(blocks[1].inputs == std::vector<ValueId>{stem_out});
  CHECK(blocks[1].output == l10);
  CHECK(blocks[1].weight_layers == 2);
  CHECK(blocks[2].name == "layer1.1");
  CHECK(blocks[3].name == "layer2.0");
  CHECK(blocks[3].weight_layers == 3);  // conv1, conv2, downsample
  CHECK(blocks[4].name == "fc");
  CHECK(blocks[4].nodes.size() == 3);   // avgpool, flatten, fc
  CHECK(blocks[4].output == b.g.outputs()[0]);
}

TEST_CASE("blocks: the partition ignores names (same ResNet-like structure, meaningless names)") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("n0", x, 8, 3);
  h = b.unary(OpKind::Relu, "n1", h);
  for (int blk = 0; blk < 3; ++blk) {
    const std::string p = "z" + std::to_string(blk);
    ValueId c1 = b.conv(p + "a", h, 8, 8);
    ValueId r1 = b.unary(OpKind::Relu, p + "b", c1);
    ValueId c2 = b.conv(p + "c", r1, 8, 8);
    ValueId s = b.binary(OpKind::Add, p + "d", h, c2);  // shortcut as the first operand
    h = b.unary(OpKind::Relu, p + "e", s);
  }
  h = b.op(OpKind::Mean, "m", {h});
  h = b.linear("q", h, 10, 8);
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  CHECK(kinds(blocks) == std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Residual, BlockKind::Residual,
                                                BlockKind::Residual, BlockKind::LastLayer});
}

TEST_CASE("blocks: MobileNetV2-like graph: inverted residuals with and without shortcut") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("features.0.0", x, 8, 3);
  h = b.unary(OpKind::Relu6, "features.0.2", h);
  h = inverted_residual(b, "features.1", h, 8, 4, 1, false);   // dw + project
  h = inverted_residual(b, "features.2", h, 4, 6, 6, false);   // expand + dw + project, no shortcut
  h = inverted_residual(b, "features.3", h, 6, 6, 6, true);    // with shortcut
  h = inverted_residual(b, "features.4", h, 6, 8, 6, false);
  h = inverted_residual(b, "features.5", h, 8, 8, 6, true);
  h = b.conv("features.6.0", h, 32, 8, 1);
  h = b.unary(OpKind::Relu6, "features.6.2", h);
  h = b.op(OpKind::AdaptiveAvgPool2d, "avgpool", {h});
  h = b.op(OpKind::Flatten, "flatten", {h});
  h = b.op(OpKind::Identity, "classifier.0", {h});
  h = b.linear("classifier.1", h, 10, 32);
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  REQUIRE(kinds(blocks) == std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Sequential, BlockKind::Sequential,
                                                  BlockKind::Residual, BlockKind::Sequential, BlockKind::Residual,
                                                  BlockKind::Sequential, BlockKind::LastLayer});
  CHECK(blocks[0].name == "features.0");
  CHECK(blocks[1].name == "features.1.conv");
  CHECK(blocks[1].weight_layers == 2);
  CHECK(blocks[2].name == "features.2.conv");
  CHECK(blocks[2].weight_layers == 3);
  CHECK(blocks[3].name == "features.3");
  CHECK(blocks[3].inputs == std::vector<ValueId>{blocks[2].output});
  CHECK(blocks[4].name == "features.4.conv");
  CHECK(blocks[5].name == "features.5");
  CHECK(blocks[6].weight_layers == 1);  // features.6 conv + relu6 + pool + flatten + dropout
  CHECK(blocks[7].name == "classifier.1");
}

TEST_CASE("blocks: Inception-like and ShuffleNet-like concat merges") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("conv1", x, 8, 3);
  h = b.unary(OpKind::Relu, "relu1", h);
  // inception: four branches of different depth merged by cat
  ValueId b1 = b.conv("inc.branch1", h, 4, 8, 1);
  ValueId b2 = b.conv("inc.branch2.0", h, 4, 8, 1);
  b2 = b.conv("inc.branch2.1", b2, 4, 4);
  ValueId b3 = b.op(OpKind::MaxPool2d, "inc.branch3.0", {h});
  b3 = b.conv("inc.branch3.1", b3, 4, 8, 1);
  ValueId b4 = b.conv("inc.branch4", h, 4, 8, 1);
  Attrs cat;
  cat.axis = 1;
  h = b.op(OpKind::Cat, "inc.cat", {b1, b2, b3, b4}, cat);
  const ValueId inc_out = h;
  h = b.op(OpKind::MaxPool2d, "maxpool2", {h});  // between blocks: joins the inception block
  const ValueId pool2 = h;
  // shufflenet stride-1 unit: chunk, transform one half, cat, channel shuffle
  Node ch;
  ch.kind = OpKind::Chunk;
  ch.name = "stage.0.chunk";
  ch.inputs = {h};
  ch.attrs.chunks = 2;
  ValueId x1 = b.g.add_value("stage.0.chunk");
  ValueId x2 = b.g.add_value("stage.0.chunk:1");
  ch.outputs = {x1, x2};
  b.g.add_node(ch);
  ValueId y = b.conv("stage.0.branch2.0", x2, 8, 8, 1);
  y = b.unary(OpKind::Relu, "stage.0.branch2.2", y);
  y = b.conv("stage.0.branch2.3", y, 8, 8, 3, 8);
  y = b.conv("stage.0.branch2.5", y, 8, 8, 1);
  y = b.unary(OpKind::Relu, "stage.0.branch2.7", y);
  h = b.op(OpKind::Cat, "stage.0.cat", {x1, y}, cat);
  h = b.op(OpKind::Reshape, "stage.0.view", {h});
  h = b.op(OpKind::Transpose, "stage.0.transpose", {h});
  h = b.op(OpKind::Reshape, "stage.0.view_1", {h});
  const ValueId shuffle_out = h;
  h = b.op(OpKind::Mean, "mean", {h});
  h = b.linear("fc", h, 10, 16);
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  REQUIRE(kinds(blocks) == std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Concat, BlockKind::Concat,
                                                  BlockKind::LastLayer});
  CHECK(blocks[1].name == "inc");
  CHECK(blocks[1].weight_layers == 5);
  CHECK(blocks[1].output == pool2);
  (void)inc_out;
  CHECK(blocks[2].name == "stage.0");
  CHECK(blocks[2].inputs == std::vector<ValueId>{pool2});  // the chunk belongs to the unit
  CHECK(blocks[2].output == shuffle_out);                  // the channel shuffle too
  CHECK(blocks[2].weight_layers == 3);
}

TEST_CASE("blocks: squeeze-excite gating stays whole inside a run; long plain chains are cut") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("stem", x, 8, 3);
  h = b.unary(OpKind::Hardswish, "stem_act", h);
  // inverted residual without shortcut, with SE: expand, dw, [pool fc1 relu fc2 hsig mul], project
  ValueId e = b.conv("ir.expand", h, 16, 8, 1);
  e = b.unary(OpKind::Hardswish, "ir.expand_act", e);
  ValueId d = b.conv("ir.dw", e, 16, 16, 3, 16);
  d = b.unary(OpKind::Hardswish, "ir.dw_act", d);
  ValueId s = b.op(OpKind::AdaptiveAvgPool2d, "ir.se.pool", {d});
  s = b.conv("ir.se.fc1", s, 4, 16, 1, 1, true);
  s = b.unary(OpKind::Relu, "ir.se.relu", s);
  s = b.conv("ir.se.fc2", s, 16, 4, 1, 1, true);
  s = b.unary(OpKind::Hardsigmoid, "ir.se.hsig", s);
  ValueId m = b.binary(OpKind::Mul, "ir.se.mul", d, s);
  h = b.conv("ir.project", m, 8, 16, 1);
  // a plain VGG-like chain of 5 conv+relu: cut after kMaxRunLayers
  for (int i = 0; i < 5; ++i) {
    h = b.conv("vgg." + std::to_string(i), h, 8, 8);
    h = b.unary(OpKind::Relu, "vgg.relu" + std::to_string(i), h);
  }
  h = b.op(OpKind::Mean, "mean", {h});
  h = b.linear("fc", h, 10, 8);
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  REQUIRE(kinds(blocks) == std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Sequential, BlockKind::Sequential,
                                                  BlockKind::Sequential, BlockKind::LastLayer});
  CHECK(blocks[1].name == "ir");
  CHECK(blocks[1].weight_layers == 5);  // expand, dw, fc1, fc2, project: the SE layers do not split it
  CHECK(blocks[2].weight_layers == kMaxRunLayers);
  CHECK(blocks[3].weight_layers == 5 - kMaxRunLayers);
}

TEST_CASE("blocks: common_module_prefix") {
  CHECK(common_module_prefix({"layer1.0.conv1", "layer1.0.add", "layer1.0.relu_1"}) == "layer1.0");
  CHECK(common_module_prefix({"layer1.0.conv1", "layer1.1.conv1"}) == "layer1");
  CHECK(common_module_prefix({"layer10.conv", "layer1.conv"}) == "");
  CHECK(common_module_prefix({"fc"}) == "fc");
}

TEST_CASE("blocks: SqueezeNet fire modules start at their squeeze conv") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 32, 32});
  ValueId h = b.conv("features.0", x, 8, 3);
  h = b.unary(OpKind::Relu, "features.1", h);
  h = b.op(OpKind::MaxPool2d, "features.2", {h});
  Attrs cat;
  cat.axis = 1;
  std::vector<ValueId> outs;
  for (int f = 3; f <= 4; ++f) {
    const std::string p = "features." + std::to_string(f);
    ValueId s = b.conv(p + ".squeeze", h, 4, 8, 1);
    s = b.unary(OpKind::Relu, p + ".squeeze_activation", s);
    ValueId e1 = b.conv(p + ".expand1x1", s, 4, 4, 1);
    e1 = b.unary(OpKind::Relu, p + ".expand1x1_activation", e1);
    ValueId e3 = b.conv(p + ".expand3x3", s, 4, 4, 3);
    e3 = b.unary(OpKind::Relu, p + ".expand3x3_activation", e3);
    h = b.op(OpKind::Cat, p + ".cat", {e1, e3}, cat);
    outs.push_back(h);
  }
  h = b.conv("classifier.1", h, 10, 8, 1);
  h = b.unary(OpKind::Relu, "classifier.2", h);
  h = b.op(OpKind::AdaptiveAvgPool2d, "classifier.3", {h});
  b.output(h);
  const std::vector<Block> blocks = partition_blocks(b.g);
  check_cover(b.g, blocks);
  REQUIRE(kinds(blocks) ==
          std::vector<BlockKind>{BlockKind::FirstLayer, BlockKind::Concat, BlockKind::Concat, BlockKind::LastLayer});
  CHECK(blocks[1].name == "features.3");
  CHECK(blocks[1].weight_layers == 3);
  CHECK(blocks[1].output == outs[0]);
  CHECK(blocks[2].name == "features.4");
  CHECK(blocks[2].inputs == std::vector<ValueId>{outs[0]});
  // The last_layer block (classifier.1 conv, classifier.2 relu, classifier.3 pool) is named, like
  // every block, by the common module prefix of its nodes (blocks.h), as torchvision's
  // `classifier` Sequential is.
  CHECK(blocks[3].name == "classifier");
  CHECK(blocks[3].nodes.size() == 3);
}
