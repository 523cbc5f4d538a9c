// mqcalib/src/import/torchscript_import.cpp: import_torchscript(), see torchscript_import.h. The walk
// is the Importer (ts_importer.h); lowering to IR is the table of ts_lowering.h.
#include "import/torchscript_import.h"

#include "core/error.h"
#include "import/omp_threads_guard.h"
#include "import/ts_importer.h"

namespace mqcalib {

Graph import_torchscript(const std::string& path, const ImportOptions& options) {
  namespace tj = torch::jit;
  const import_detail::OmpThreadsGuard keep_engine_threads;
  tj::Module module;
  try {
    module = tj::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error("import: cannot load TorchScript model '" + path + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    // LibTorch's TorchScript parser throws torch::jit::ErrorReport, not a c10::Error (fuzz_torchscript).
    throw Error("import: cannot load TorchScript model '" + path + "': " + e.what());
  }
  module.eval();
  torch::NoGradGuard no_grad;
  try {
    import_detail::Importer imp(std::move(module), path, options.input_shape);
    return imp.run();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error("import: '" + path + "': LibTorch error: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error("import: '" + path + "': LibTorch error: " + e.what());
  }
}

}  // namespace mqcalib
