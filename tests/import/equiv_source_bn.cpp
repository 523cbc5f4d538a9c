// mqcalib/tests/import/equiv_source_bn.cpp: BatchNorm count of a TorchScript file, from LibTorch
// (tests of src/import may include LibTorch, docs/STYLE.md).
#include <torch/script.h>

#include "core/error.h"
#include "equiv_check.h"

namespace mqcalib::test {

int count_source_bn(const std::string& path) {
  torch::jit::Module m;
  try {
    m = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error("test: cannot load '" + path + "': " + e.what_without_backtrace());
  }
  int n = 0;
  for (const auto& sub : m.named_modules()) {
    const auto& name = sub.value.type()->name();
    if (!name) continue;
    const std::string& cls = name->name();  // e.g. "BatchNorm2d" (qualifier and mangling stripped)
    if (cls == "BatchNorm1d" || cls == "BatchNorm2d" || cls == "BatchNorm3d") ++n;
  }
  return n;
}

}  // namespace mqcalib::test
