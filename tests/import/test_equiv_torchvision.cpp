// Equivalence of the imported torchvision models (scripted and traced, random weights with real BN
// statistics, exported at test time by tests/import/export_models.py) with LibTorch's own forward,
// BN folding and the block partition of the folded graphs.
#include <doctest/doctest.h>

#include <set>

#include "equiv_check.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

const char* const kModes[] = {"scripted", "traced"};

// Runs the check for both export modes; every BN of these models follows a conv and is folded.
std::vector<EquivResult> check_both(const std::string& name) {
  std::vector<EquivResult> out;
  for (const char* mode : kModes) {
    const ManifestEntry e = manifest_entry(name, mode);
    const std::string path = models_dir() + "/" + e.file;
    CHECK(count_source_bn(path) == e.num_bn);
    EquivResult r = check_equivalence(name + " " + mode, path, e.input_shape);
    CHECK(r.fold.unfolded.empty());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEST_CASE("import equivalence: resnet18 (20 BN folds, 8 residual blocks)") {
  for (const EquivResult& r : check_both("resnet18")) {
    CHECK(r.fold.folded.size() == 20);
    CHECK(count_blocks(r.blocks, BlockKind::Residual) == 8);
    std::vector<std::string> names;
    for (const Block& b : r.blocks)
      if (b.kind == BlockKind::Residual) names.push_back(b.name);
    CHECK(names == std::vector<std::string>{"layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1",
                                            "layer4.0", "layer4.1"});
  }
}

TEST_CASE("import equivalence: resnet50 (53 BN folds, 16 residual blocks)") {
  for (const EquivResult& r : check_both("resnet50")) {
    CHECK(r.fold.folded.size() == 53);
    CHECK(count_blocks(r.blocks, BlockKind::Residual) == 16);
  }
}

TEST_CASE("import equivalence: mobilenet_v2 (17 inverted residuals, 10 with shortcut)") {
  // torchvision's features.1 .. features.17 are the inverted residuals; those with a shortcut
  // (stride 1, cin == cout) are residual blocks, the other 7 start a sequential block each.
  const std::set<int> with_shortcut = {3, 5, 6, 8, 9, 10, 12, 13, 15, 16};
  for (const EquivResult& r : check_both("mobilenet_v2")) {
    CHECK(r.fold.folded.size() == 52);
    CHECK(count_blocks(r.blocks, BlockKind::Residual) == 10);
    std::set<int> residual, covered;
    for (const Block& b : r.blocks) {
      CAPTURE(b.name);
      int idx = -1;
      if (std::sscanf(b.name.c_str(), "features.%d", &idx) != 1) continue;
      if (idx < 1 || idx > 17) continue;
      covered.insert(idx);
      if (b.kind == BlockKind::Residual) residual.insert(idx);
    }
    CHECK(residual == with_shortcut);
    CHECK(covered.size() == 17);
  }
}

// Block counts from the architectures: the units whose merge is an add (shortcut) or a cat.
static void check_blocks(const std::string& name, BlockKind kind, int count) {
  for (const EquivResult& r : check_both(name)) CHECK(count_blocks(r.blocks, kind) == count);
}

TEST_CASE("import equivalence: mobilenet_v3_small (6 of 11 inverted residuals with shortcut)") {
  check_blocks("mobilenet_v3_small", BlockKind::Residual, 6);
}
TEST_CASE("import equivalence: efficientnet_b0 (9 of 16 MBConv with shortcut)") {
  check_blocks("efficientnet_b0", BlockKind::Residual, 9);
}
TEST_CASE("import equivalence: regnet_x_400mf (22 residual blocks: 1+2+7+12)") {
  check_blocks("regnet_x_400mf", BlockKind::Residual, 22);
}
TEST_CASE("import equivalence: shufflenet_v2_x0_5 (16 units: 4+8+4)") {
  check_blocks("shufflenet_v2_x0_5", BlockKind::Concat, 16);
}
TEST_CASE("import equivalence: mnasnet0_5 (10 of 16 inverted residuals with shortcut)") {
  check_blocks("mnasnet0_5", BlockKind::Residual, 10);
}
TEST_CASE("import equivalence: squeezenet1_1 (8 fire modules)") { check_blocks("squeezenet1_1", BlockKind::Concat, 8); }
TEST_CASE("import equivalence: googlenet (9 inception modules)") { check_blocks("googlenet", BlockKind::Concat, 9); }
