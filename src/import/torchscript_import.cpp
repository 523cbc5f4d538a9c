// mqcalib/src/import/torchscript_import.cpp: import_torchscript(), see torchscript_import.h. The walk
// is the Importer (ts_importer.h); lowering to IR is the table of ts_lowering.h.
#include "import/torchscript_import.h"

#include "core/error.h"
#include "import/checked_load.h"
#include "import/omp_threads_guard.h"
#include "import/ts_importer.h"

namespace mqcalib {

namespace {

// Recurrent layers (torch.nn.LSTM / GRU / RNN) are named as such, not by the first op the walk cannot
// lower inside them (a scripted LSTM fails on prim::dtype control flow, a traced one on aten::lstm).
void refuse_recurrent_modules(const torch::jit::Module& module, const std::string& path) {
  for (const auto& m : module.named_modules()) {
    const auto type = m.value.type()->name();
    if (!type) continue;
    // e.g. __torch__.torch.nn.modules.rnn.LSTM, or ...rnn.___torch_mangle_0.LSTM when traced
    const std::string q = type->qualifiedName();
    if (q.find("torch.nn.modules.rnn.") == std::string::npos) continue;
    throw Error("import: '" + path + "': module '" + (m.name.empty() ? "<root>" : m.name) + "' is a torch.nn." +
                type->name() + ": recurrent layers are not supported (mqcalib quantizes feed-forward networks: " +
                "convolutions, linear layers, pooling, element-wise ops; README, Supported models)");
  }
}

}  // namespace

Graph import_torchscript(const std::string& path, const ImportOptions& options) {
  namespace tj = torch::jit;
  const import_detail::OmpThreadsGuard keep_engine_threads;
  tj::Module module = import_detail::load_checked_module("import", path);
  refuse_recurrent_modules(module, path);
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
