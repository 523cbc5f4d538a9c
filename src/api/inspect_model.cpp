// mqcalib/src/api/inspect_model.cpp: see inspect_model.h.
#include "api/inspect_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/input_file.h"
#include "exec/executor.h"
#include "import/libtorch_reference.h"
#include "import/torchscript_import.h"

namespace mqcalib::inspection {

LoadedModel load_model(const std::string& path, const Shape& input_shape) {
  (void)InputFile(path, "--model");  // names a missing file, a directory, a FIFO or a device
  LoadedModel m;
  m.path = path;
  ImportOptions io;
  io.input_shape = input_shape;
  m.graph = import_torchscript(path, io);
  m.reference = std::make_shared<LibTorchModel>(path);
  return m;
}

FpCheck fp_check(const LoadedModel& m, const Shape& input_shape, int samples, unsigned seed) {
  FpCheck r;
  if (samples <= 0) return r;
  const auto* ref = static_cast<const LibTorchModel*>(m.reference.get());
  if (!ref) throw Error("fp_check: model '" + m.path + "' has no LibTorch reference loaded");
  Executor ex(m.graph);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int s = 0; s < samples; ++s) {
    TensorF32 x(input_shape);
    for (int64_t i = 0; i < x.size(); ++i) x[i] = normal(rng);
    const std::vector<TensorF32> out = ex.run({x});
    const TensorF32 want = ref->forward(x);
    if (out.empty() || out[0].size() != want.size())
      throw Error("fp_check: engine output of '" + m.path + "' has " +
                  (out.empty() ? std::string("no tensor") : shape_to_string(out[0].shape())) + ", LibTorch's " +
                  shape_to_string(want.shape()));
    for (int64_t i = 0; i < want.size(); ++i) {
      r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(static_cast<double>(out[0][i]) - want[i]));
      r.max_abs_reference = std::max(r.max_abs_reference, std::fabs(static_cast<double>(want[i])));
    }
    ++r.samples;
  }
  r.max_rel_diff = r.max_abs_reference > 0 ? r.max_abs_diff / r.max_abs_reference : r.max_abs_diff;
  return r;
}

}  // namespace mqcalib::inspection
