// The data-free synthesis on the zoo models (imported unfolded through src/import) against PyTorch:
// the ZeroQ loss and its gradient with respect to the images, at the same images, from torch autograd
// in float64 (bench/synthesis/synthesis_torch.py grad, run with /usr/bin/python3).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "import/torchscript_import.h"
#include "reconstruction/synthesis.h"

using namespace mqcalib;

namespace {

constexpr int64_t kBatch = 8;
constexpr double kLossRelTol = 1e-4;  // float32 network vs float64 torch, ~60 layers deep
constexpr double kGradRelTol = 2e-3;  // max |engine - torch| over max |torch| of dL/dx

std::string root() {
  const char* r = std::getenv("MQCALIB_SOURCE_ROOT");
  return r ? r : ".";
}

struct TorchSide {
  double bn = 0, total = 0;
  std::vector<float> grad;
};

TorchSide torch_grad(const std::string& model, const TensorF32& x) {
  const std::string in = "synthesis_zoo_" + model + "_in.bin", out = "synthesis_zoo_" + model + "_grad.bin";
  std::ofstream(in, std::ios::binary)
      .write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * 4));
  const std::string cmd = "/usr/bin/python3 '" + root() + "/bench/synthesis/synthesis_torch.py' grad '" + root() +
                          "/examples/zoo' " + model + " " + in + " " + std::to_string(kBatch) + " " + out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[256] = {0};
  std::string line = std::fgets(buf, sizeof buf, p) ? buf : "";
  REQUIRE(pclose(p) == 0);
  TorchSide t;
  std::istringstream(line) >> t.bn >> t.total;
  t.grad.resize(static_cast<size_t>(x.size()));
  std::ifstream f(out, std::ios::binary);
  f.read(reinterpret_cast<char*>(t.grad.data()), static_cast<std::streamsize>(t.grad.size() * 4));
  REQUIRE(f.gcount() == static_cast<std::streamsize>(t.grad.size() * 4));
  std::remove(in.c_str());
  std::remove(out.c_str());
  return t;
}

}  // namespace

TEST_CASE("synthesis on the zoo models: the ZeroQ loss and dL/dx equal torch autograd's") {
  for (const char* model : {"resnet20", "mobilenetv2"}) {
    CAPTURE(model);
    ImportOptions io;
    io.input_shape = {1, 1, 28, 28};
    const Graph g = import_torchscript(root() + "/examples/zoo/" + model + ".pt", io);
    const TensorF32 x = synthesis_initial_images({kBatch, 1, 28, 28}, 7, 0);
    SynthesisOptions o;
    o.samples = kBatch;
    SynthesisBatch b(g, x, 0, o);
    std::vector<float> grad;
    const SynthesisLoss l = b.loss_and_grad(grad);
    const TorchSide t = torch_grad(model, x);
    CHECK(std::fabs(l.bn - t.bn) <= kLossRelTol * t.bn);
    CHECK(std::fabs(l.total - t.total) <= kLossRelTol * t.total);
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < grad.size(); ++i) {
      d = std::max(d, static_cast<double>(std::fabs(grad[i] - t.grad[i])));
      m = std::max(m, static_cast<double>(std::fabs(t.grad[i])));
    }
    CHECK(m > 0.0);
    CHECK(d <= kGradRelTol * m);
  }
}
