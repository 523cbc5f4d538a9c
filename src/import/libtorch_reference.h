// mqcalib/src/import/libtorch_reference.h: LibTorch's own forward of a TorchScript model, the
// reference the engine is checked against (equivalence tests, `mqcalib inspect`'s FP check,
// benchmarks). No LibTorch header here (the LibTorch boundary, docs/STYLE.md).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace mqcalib {

// Sets LibTorch's intra-op thread count (at::set_num_threads). Note: Debian's LibTorch uses
// OpenMP, so this also sets the OpenMP default thread count of the process.
void set_libtorch_threads(int threads);
int libtorch_threads();

class LibTorchModel {
 public:
  // Loads on the CPU, eval mode. freeze_for_speed: torch::jit::freeze (default options, which fold
  // conv+BN and prepack) for benchmarks; the numbers then differ from the unfrozen model by rounding.
  explicit LibTorchModel(const std::string& path, bool freeze_for_speed = false);
  ~LibTorchModel();
  LibTorchModel(LibTorchModel&&) noexcept;
  LibTorchModel& operator=(LibTorchModel&&) noexcept;

  // Forward under torch::InferenceMode on a float32 NCHW batch. A tuple/list output returns its
  // first tensor (e.g. GoogLeNetOutputs.logits). Throws mqcalib::Error on a LibTorch error.
  TensorF32 forward(const TensorF32& x) const;

  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace mqcalib
