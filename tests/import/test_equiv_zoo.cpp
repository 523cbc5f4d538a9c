// Equivalence of the trained zoo models (examples/zoo, scripted and traced, input 1x28x28) with
// LibTorch's own forward, BN folding and the block partition of the folded graphs.
#include <doctest/doctest.h>

#include "equiv_check.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {
const Shape kZooInput = {1, 1, 28, 28};
const char* const kFiles[] = {"", "_traced"};
}  // namespace

TEST_CASE("import equivalence: zoo resnet20 (21 BN folds, 9 residual blocks)") {
  for (const char* suffix : kFiles) {
    const std::string path = zoo_dir() + "/resnet20" + suffix + ".pt";
    const EquivResult r = check_equivalence(std::string("zoo resnet20") + suffix, path, kZooInput);
    CHECK(r.fold.folded.size() == 21);
    CHECK(r.fold.unfolded.empty());
    CHECK(count_blocks(r.blocks, BlockKind::Residual) == 9);
  }
}

TEST_CASE("import equivalence: zoo mobilenetv2 (34 BN folds, 6 inverted residuals with shortcut)") {
  // MobileNetV2S: stem, 11 inverted residuals (the 2nd..nth of each stage have a shortcut: 6),
  // the 1x1 head; 1 + 2 + 10 * 3 + 1 = 34 BatchNorms, each after a conv.
  for (const char* suffix : kFiles) {
    const std::string path = zoo_dir() + "/mobilenetv2" + suffix + ".pt";
    const EquivResult r = check_equivalence(std::string("zoo mobilenetv2") + suffix, path, kZooInput);
    CHECK(r.fold.folded.size() == 34);
    CHECK(r.fold.unfolded.empty());
    CHECK(count_blocks(r.blocks, BlockKind::Residual) == 6);
  }
}
