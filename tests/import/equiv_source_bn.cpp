// mqcalib/tests/import/equiv_source_bn.cpp: the BatchNorm module paths of a TorchScript file, from LibTorch
// (tests of src/import may include LibTorch, docs/STYLE.md).
#include <torch/script.h>

#include "core/error.h"
#include "equiv_check.h"

namespace mqcalib::test {

std::vector<std::string> source_bn_paths(const std::string& path) {
  torch::jit::Module m;
  try {
    m = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error("test: cannot load '" + path + "': " + e.what_without_backtrace());
  }
  std::vector<std::string> out;
  for (const auto& sub : m.named_modules()) {
    const auto& name = sub.value.type()->name();
    if (!name) continue;
    const std::string& cls = name->name();  // e.g. "BatchNorm2d" (qualifier and mangling stripped)
    if (cls == "BatchNorm1d" || cls == "BatchNorm2d" || cls == "BatchNorm3d") out.push_back(sub.name);
  }
  return out;
}

}  // namespace mqcalib::test
